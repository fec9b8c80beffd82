"""Indicators after step 8: the overview with each next reminder (chat, web page, App Home), one
indicator's card, adding one to a published description, and a changed rhythm rescheduling it."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from html.parser import HTMLParser

import httpx
from sqlmodel import select

from bot.schedule import timezone
from bot.settings import Settings
from models import Identity, Indicator, IndicatorOwner, Person
from tests.helpers import Browser
from tests.monitoring import published, slack_person
from tests.slack_driver import texts
from wwidw.app import Core, create_app

AMS = timezone("Europe/Amsterdam")
LATER = date(2030, 1, 1)  # the descriptions start in 2030: the dates below hold whenever the tests run


class FormValues(HTMLParser):
    """What a browser would post back from the first form on a page, unchanged."""

    def __init__(self, html: str):
        super().__init__()
        self.values: dict[str, str | list[str]] = {}
        self.select: str | None = None
        self.textarea: str | None = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        name = a.get("name")
        if tag == "input" and name and a.get("type") in ("text", "hidden", None):
            self.values.setdefault(name, a.get("value") or "")
        elif tag == "input" and name and a.get("type") == "checkbox" and "checked" in a:
            self.values[name] = [*self.values.get(name, []), a["value"]]
        elif tag == "select":
            self.select = name
            self.values[name] = ""
        elif tag == "option" and self.select and "selected" in a:
            self.values[self.select] = a.get("value") or ""
        elif tag == "textarea":
            self.textarea = name
            self.values[name] = ""

    def handle_endtag(self, tag):
        if tag == "select":
            self.select = None
        if tag == "textarea":
            self.textarea = None

    def handle_data(self, data):
        if self.textarea:
            self.values[self.textarea] += data


def browser(server, name: str) -> httpx.Client:
    client = Browser(base_url=server.url, follow_redirects=True)
    assert client.post("/start", data={"name": name}).status_code == 200
    return client


def web_person(db, name: str) -> int:
    with db.transaction() as s:
        return s.exec(select(Person).where(Person.display_name == name)).one().id


def next_due(db, ind_id: int) -> datetime:
    with db.transaction() as s:
        moment = s.get(Indicator, ind_id).next_due_at
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def test_indicators_in_the_web_chat_and_on_their_page(db, make_server):
    server = make_server(create_app(core=Core(Settings(database_url=db.url, _env_file=None))))
    anna, bram = browser(server, "Anna"), browser(server, "Bram")
    iv_id, (ind_id,) = published(
        db,
        web_person(db, "Anna"),
        [{"name": "Vrijwilligers", "remind_day": 29, "baseline": 4, "target": 8}],
        start_date=LATER,
    )

    page = anna.get("/indicatoren").text
    assert "Vrijwilligers" in page and "Maandelijks" in page
    assert "volgende herinnering: di 29 jan 2030 09:00" in page  # Amsterdam time
    assert f'href="/formulier/{iv_id}/8"' in page and f'value="ind:{ind_id}"' in page

    page = anna.post("/say", data={"text": "indicatoren"}).text
    assert f'value="indicator:{ind_id}"' in page
    page = anna.post("/say", data={"action": f"indicator:{ind_id}"}).text
    card = page[page.rindex("Vrijwilligers") :]
    assert f"Beschrijving #{iv_id}: Buurtmoestuin Kruiskamp" in card
    assert "Gemeten door: Anna" in card and "Volgende herinnering: di 29 jan 2030 09:00" in card
    assert "4 → nog geen meting → streefwaarde 8" in card

    # A new rhythm in the step-8 form reschedules the reminder: the end of the first quarter.
    form = FormValues(anna.get(f"/formulier/{iv_id}/8").text).values
    assert form["indicators.0.frequency"] == "monthly"
    response = anna.post(
        f"/formulier/{iv_id}/8", data={**form, "indicators.0.frequency": "quarterly"}, follow_redirects=False
    )
    assert response.status_code == 303, response.text
    assert next_due(db, ind_id) == datetime(2030, 3, 29, 8, 0, tzinfo=UTC)  # 09:00 CET
    assert "vr 29 mrt 2030 09:00" in anna.get("/indicatoren").text

    # Bram sees none of it: not his description, not his indicator.
    assert "Je hebt nog geen indicatoren" in bram.get("/indicatoren").text
    page = bram.post("/say", data={"action": f"indicator:{ind_id}"}).text
    assert f"Ik vind geen indicator {ind_id}" in page and "Vrijwilligers" not in page
    assert "Ik vind geen indicator" in bram.post("/say", data={"text": f"indicator {ind_id}"}).text
    assert httpx.get(f"{server.url}/indicatoren", follow_redirects=False).status_code == 303  # no cookie


def test_adding_an_indicator_to_a_published_description(db, make_server):
    server = make_server(create_app(core=Core(Settings(database_url=db.url, _env_file=None))))
    anna = browser(server, "Anna")
    iv_id, _ = published(db, web_person(db, "Anna"), [{"name": "Vrijwilligers"}], start_date=LATER)

    page = anna.post("/say", data={"text": "indicator nieuw"}).text
    assert "Aan welke beschrijving" in page and f'value="cmd:indicator_new:{iv_id}"' in page
    page = anna.post("/say", data={"action": f"cmd:indicator_new:{iv_id}"}).text
    assert f'href="/formulier/{iv_id}/8"' in page
    assert f'href="/formulier/{iv_id}/8"' in anna.post("/say", data={"text": f"indicator nieuw {iv_id}"}).text

    form = FormValues(anna.get(f"/formulier/{iv_id}/8").text).values
    assert form["indicators.1.name"] == ""  # the empty block for a new indicator
    new = {
        "indicators.1.name": "Bezoekers buurthuis",
        "indicators.1.kind": "outcome",
        "indicators.1.unit": "aantal",
        "indicators.1.frequency": "weekly",
        "indicators.1.baseline": "20",
        "indicators.1.target": "35",
    }
    response = anna.post(f"/formulier/{iv_id}/8", data={**form, **new}, follow_redirects=False)
    assert response.status_code == 303, response.text
    with db.transaction() as s:
        added = s.exec(select(Indicator).where(Indicator.name == "Bezoekers buurthuis")).one()
    assert added.frequency == "weekly" and added.next_due_at is not None
    assert next_due(db, added.id).astimezone(AMS).weekday() == 4  # weekly reminders come on Friday
    page = anna.get("/indicatoren").text
    assert "Vrijwilligers" in page and "Bezoekers buurthuis" in page and "Wekelijks" in page


def test_the_app_home_lists_indicators_with_their_next_reminder(db, slack, fake_slack):
    anna = slack.user("U1")
    anna.say("hallo")
    iv_id, (ind_id,) = published(
        db, slack_person(db, "U1", "Anna Jansen"), [{"name": "Deelnemers tuindag", "remind_day": 29}], start_date=LATER
    )
    home = anna.open_home()
    shown = json.dumps(home["view"], ensure_ascii=False)
    assert "Indicatoren" in shown and "Deelnemers tuindag" in shown and "di 29 jan 2030 09:00" in shown
    row = next(b for b in home["view"]["blocks"] if "Deelnemers tuindag" in (b.get("text") or {}).get("text", ""))
    assert row["accessory"]["value"] == f"indicator:{ind_id}"
    before = fake_slack.last_seq
    anna.click_home(home["view"], row["accessory"])
    card = fake_slack.wait_for("chat.postMessage", after=before, channel="U1")[-1].args
    assert "Volgende herinnering: di 29 jan 2030 09:00" in texts(card)
    assert f"Beschrijving #{iv_id}" in texts(card) and f"form:{iv_id}:8" in json.dumps(card["blocks"])

    reply = anna.command("indicatoren")
    assert reply.status_code == 200
    listing = fake_slack.wait_for("chat.postMessage", after=before, channel="U1", count=2)[-1].args
    assert "Deelnemers tuindag" in texts(listing) and re.search(r"indicator:\d+", json.dumps(listing["blocks"]))
    with db.transaction() as s:
        assert s.exec(select(Identity).where(Identity.external_id == "U1")).one()


def test_a_slack_mention_typed_in_the_web_chat_names_no_one(db, make_server):
    """A web visitor is no member of a Slack workspace: `<@U777>` as an owner is plain text, so the
    bot never messages a Slack user a stranger chose; the reminder stays the author's."""
    server = make_server(create_app(core=Core(Settings(database_url=db.url, _env_file=None))))
    eve = browser(server, "Eve")
    eve_id = web_person(db, "Eve")
    iv_id, _ = published(db, eve_id, [{"name": "Vrijwilligers"}], start_date=LATER)
    form = FormValues(eve.get(f"/formulier/{iv_id}/8").text).values
    new = {
        "indicators.1.name": "Bezoekers",
        "indicators.1.kind": "output",
        "indicators.1.unit": "aantal",
        "indicators.1.frequency": "monthly",
        "indicators.1.owner": "<@U777>, <@W12345|baas>",
    }
    assert eve.post(f"/formulier/{iv_id}/8", data={**form, **new}, follow_redirects=False).status_code == 303
    with db.transaction() as s:
        added = s.exec(select(Indicator).where(Indicator.name == "Bezoekers")).one()
        owners = s.exec(select(IndicatorOwner.person_id).where(IndicatorOwner.indicator_id == added.id)).all()
        assert owners == [eve_id]
        assert s.exec(select(Identity).where(Identity.platform == "slack")).all() == []
