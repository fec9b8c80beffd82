"""Reminders in Slack, end to end: the engine sends, the person answers in the DM (typed, with the
buttons or in the modal), and the value becomes a measurement."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import update
from sqlmodel import select

from bot.schedule import timezone
from handlers.slack.delivery import SlackTransport
from handlers.slack.installations import OneWorkspace
from models import Indicator, Measurement, Person, Reminder
from reminders.engine import Engine
from reminders.outbox import OutboxSender
from reminders.runner import unreachable_handler
from tests.fakes.slack_api import TOKEN
from tests.monitoring import published, slack_person
from tests.slack_driver import texts

AMS = timezone("Europe/Amsterdam")
MAANDEN = "januari februari maart april mei juni juli augustus september oktober november december".split()
DUE = datetime(2027, 1, 29, 9, 0, tzinfo=AMS)


@pytest.fixture
def reminded(db, slack, fake_slack):
    """Anna, with a published description whose indicator has just been reminded (January)."""
    anna = slack.user("U1")
    anna.say("hallo")
    person_id = slack_person(db, "U1", "Anna Jansen")
    iv_id, (ind_id,) = published(
        db, person_id, [{"remind_day": 29, "baseline": 10, "target": 30, "name": "Deelnemers tuindag"}]
    )
    engine = Engine(db)
    sender = OutboxSender(db, {"slack": SlackTransport(OneWorkspace(TOKEN), fake_slack.url)}, workers=2)
    engine.run(DUE)
    sender.drain(DUE)
    yield anna, engine, sender, ind_id
    sender.close()


def values(db, ind_id: int) -> list[tuple[date, float | None, str | None]]:
    with db.transaction() as s:
        rows = s.exec(
            select(Measurement)
            .where(Measurement.indicator_id == ind_id, Measurement.replaced_at.is_(None))
            .order_by(Measurement.period_start)
        )
        return [(m.period_start, m.value, m.note) for m in rows]


def test_a_typed_number_answers_the_reminder(db, reminded):
    anna, _, _, ind_id = reminded
    reply = anna.say("12 na de kerstvakantie")
    assert "Genoteerd: 12 voor Deelnemers tuindag over januari 2027" in texts(reply)
    assert "10 → 12 (januari 2027) → streefwaarde 30" in texts(reply)
    assert values(db, ind_id) == [(date(2027, 1, 1), 12.0, "na de kerstvakantie")]
    # The next number is a wizard answer again (or the menu), not a second measurement.
    anna.say("13")
    assert values(db, ind_id) == [(date(2027, 1, 1), 12.0, "na de kerstvakantie")]


def test_a_number_typed_after_the_reminder_answers_it_not_a_list_offered_before(db, slack, fake_slack):
    anna = slack.user("U1")
    person_id = slack_person(db, "U1", "Anna Jansen")
    _, (ind_id,) = published(db, person_id, [{"remind_day": 29, "baseline": 1, "target": 3}])
    anna.say("meting")  # "Voor welke indicator …?" offers the indicators: "1" would choose
    engine = Engine(db)
    sender = OutboxSender(db, {"slack": SlackTransport(OneWorkspace(TOKEN), fake_slack.url)}, workers=2)
    try:
        engine.run(DUE)
        sender.drain(DUE)
    finally:
        sender.close()
    reply = anna.say("1")  # the reminder came last: the number is January's value
    assert "Genoteerd: 1 voor Deelnemers" in texts(reply)
    assert values(db, ind_id) == [(date(2027, 1, 1), 1.0, None)]


def test_an_implausible_value_is_confirmed_before_it_is_stored(db, reminded):
    anna, _, _, ind_id = reminded
    reply = anna.say("45")
    assert "grote sprong" in texts(reply) and "(10)" in texts(reply)
    assert values(db, ind_id) == []
    reply = anna.click("Ja, 45 klopt")
    assert "Genoteerd: 45" in texts(reply)
    assert values(db, ind_id) == [(date(2027, 1, 1), 45.0, None)]


def test_the_value_modal_stores_the_value_and_note(db, reminded, fake_slack):
    anna, _, _, ind_id = reminded
    anna.click("Waarde invullen", wait=False)
    view = fake_slack.wait_for("views.open")[-1].args["view"]
    assert view["callback_id"] == "wwidw_measure" and "januari 2027" in texts(view)
    response = anna.submit(view, {"value": "veel", "note": ""})
    assert response.json()["response_action"] == "errors"
    response = anna.submit(view, {"value": "-3"})
    assert response.json()["response_action"] == "update"  # negative: confirm first
    confirm = response.json()["view"]
    assert "negatief" in texts(confirm) and json.loads(confirm["private_metadata"])["c"] == -3
    before = fake_slack.last_seq
    response = anna.submit(confirm, {"value": "14", "note": "Regen, minder mensen"})
    assert response.json() == {"response_action": "clear"}
    assert "Genoteerd: 14" in texts(fake_slack.wait_for("chat.postMessage", after=before)[-1].args)
    assert values(db, ind_id) == [(date(2027, 1, 1), 14.0, "Regen, minder mensen")]
    # An edit keeps the history.
    anna.click("Waarde invullen", wait=False)
    view = fake_slack.wait_for("views.open", count=2)[-1].args["view"]
    anna.submit(view, {"value": "15"})
    assert values(db, ind_id) == [(date(2027, 1, 1), 15.0, None)]
    with db.transaction() as s:
        assert len(s.exec(select(Measurement)).all()) == 2


def test_later_snoozes_until_the_next_working_morning(db, reminded, fake_slack):
    anna, engine, sender, _ = reminded
    reply = anna.click("Later")
    assert "Goed, ik herinner je er" in texts(reply)
    with db.transaction() as s:
        reminder = s.exec(select(Reminder)).one()
        assert reminder.snoozed
        morning = reminder.follow_up_at.astimezone(AMS)
    assert morning.hour == 8 and morning.isoweekday() <= 5
    before = fake_slack.last_seq
    engine.run(morning - timedelta(minutes=1))
    sender.drain(morning - timedelta(minutes=1))
    assert fake_slack.posts(after=before) == []
    engine.run(morning)
    sender.drain(morning)
    (again,) = fake_slack.posts(after=before)
    assert "Tijd voor een meting" in texts(again.args)


def test_no_measurement_and_skip(db, reminded, fake_slack):
    anna, engine, sender, ind_id = reminded
    reply = anna.click("Geen meting deze periode")
    assert "geen meting voor Deelnemers tuindag over januari 2027" in texts(reply)
    assert values(db, ind_id) == [(date(2027, 1, 1), None, None)]
    # The same button again changes nothing.
    reply = anna.click("Geen meting deze periode")
    assert "al afgehandeld" in texts(reply)
    with db.transaction() as s:
        assert s.exec(select(Reminder)).one().follow_up_at is None  # no nudge for an answered period


def test_a_past_period_filled_in_later(db, reminded, fake_slack):
    anna, _, _, _ = reminded
    with db.transaction() as s:
        person_id = s.exec(select(Reminder)).one().person_id
    # A project that started a while ago (the periods on offer count back from today).
    _, (ind_id,) = published(
        db, person_id, [{"name": "Overlastmeldingen"}], title="Buurtbeheer", start_date=date(2020, 1, 1)
    )
    reply = anna.say("meting")
    assert "Voor welke indicator" in texts(reply)
    reply = anna.click("Overlastmeldingen · Buurtbeheer")
    assert "Over welke periode" in texts(reply)
    last_month = date.today().replace(day=1) - timedelta(days=1)
    label = f"{MAANDEN[last_month.month - 1]} {last_month.year}"
    before = fake_slack.last_seq
    anna.pick(label, wait=False)  # in Slack the value is asked in a modal
    view = fake_slack.wait_for("views.open", after=before)[-1].args["view"]
    assert f"Wat was 'Overlastmeldingen' in {label}?" in texts(view)
    assert anna.submit(view, {"value": "11"}).json() == {"response_action": "clear"}
    assert values(db, ind_id) == [(last_month.replace(day=1), 11.0, None)]
    reply = anna.say("meting")
    anna.click("Overlastmeldingen · Buurtbeheer")
    assert f"{label} ✓" in json.dumps(anna.reply(0), ensure_ascii=False)


def test_someone_else_cannot_answer_a_reminder(db, reminded, slack):
    _, _, _, ind_id = reminded
    bram = slack.user("U2")
    bram.say("hallo")
    with db.transaction() as s:
        reminder_id = s.exec(select(Reminder)).one().id
    bram_turn = bram.sender.interaction  # a forged click on Anna's reminder, by Bram
    response = bram_turn(
        {
            "type": "block_actions",
            "user": {"id": "U2", "team_id": "T1"},
            "team": {"id": "T1"},
            "api_app_id": "A1",
            "trigger_id": "trigger.forged",
            "channel": {"id": "DU2"},
            "container": {"type": "message", "message_ts": "1.0", "channel_id": "DU2"},
            "actions": [
                {"type": "button", "action_id": "wwidw:b0", "block_id": "b", "value": f"rem:none:{reminder_id}"}
            ],
        }
    )
    assert response.status_code == 200
    assert values(db, ind_id) == []


def test_progress_with_a_chart_and_the_csv_export(db, reminded, slack, fake_slack, capsys, monkeypatch):
    anna, _, _, ind_id = reminded
    anna.say("12")
    before = fake_slack.last_seq
    reply = anna.say("voortgang")
    assert "Voortgang · Buurtmoestuin Kruiskamp" in texts(reply)
    assert (
        "Deelnemers tuindag: 10 → 12 (januari 2027) → streefwaarde 30 · 10 % van de beoogde verbetering bereikt"
        in texts(reply)
    )
    fake_slack.wait_for("files.completeUploadExternal", after=before)
    (png,) = fake_slack.uploads.values()
    assert png.startswith(b"\x89PNG")
    # Someone outside the organisation gets no progress of a private description.
    with db.transaction() as s:
        iv_id = s.exec(select(Reminder)).one().indicator_id
    stranger = slack.user("U9", team="T9")
    assert "Ik vind geen beschrijving" in texts(stranger.say(f"voortgang {iv_id}"))

    from wwidw.cli import main

    monkeypatch.setenv("DATABASE_URL", db.url)
    assert main(["export-measurements"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("intervention_id,intervention,organisation,indicator_id")
    assert len(lines) == 2 and ",2027-01-01,2027-01-31,12.0," in lines[1]

    # Text that a spreadsheet would run as a formula is written as text; numbers stay numbers.
    with db.transaction() as s:
        s.exec(update(Measurement).values(note='=HYPERLINK("https://evil.example","klik")'))
        s.exec(update(Indicator).values(name="@SUM(A1)", baseline=-3.5))
    assert main(["export-measurements"]) == 0
    (row,) = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert row["note"] == '\'=HYPERLINK("https://evil.example","klik")' and row["indicator"] == "'@SUM(A1)"
    assert row["baseline"] == "-3.5" and row["value"] == "12.0"


def test_a_person_slack_cannot_reach_pauses_and_the_coordinator_is_told(db, slack, fake_slack):
    """Bram measures Anna's indicator; his account is deactivated. His reminders pause, Anna hears
    so (with a way to step 8), and when Bram talks to the bot again his reminders resume."""
    anna = slack.user("U1")
    anna.say("hallo")
    anna_id = slack_person(db, "U1", "Anna Jansen")
    slack_person(db, "UBRAM22", "Bram de Vries")
    iv_id, (ind_id,) = published(db, anna_id, [{"remind_day": 29, "name": "Bezoekers", "owner": "<@UBRAM22>"}])
    engine = Engine(db)
    sender = OutboxSender(
        db,
        {"slack": SlackTransport(OneWorkspace(TOKEN), fake_slack.url)},
        workers=2,
        on_unreachable=unreachable_handler(engine),
    )
    before = fake_slack.last_seq
    fake_slack.fail("chat.postMessage", 200, body={"ok": False, "error": "user_disabled"})
    engine.run(DUE)
    sender.drain(DUE)
    sender.drain(DUE + timedelta(seconds=5))
    with db.transaction() as s:
        bram = s.exec(select(Person).where(Person.display_name == "Bram de Vries")).one()
        assert bram.unreachable_since is not None and bram.unreachable_reason == "slack: user_disabled"
        assert s.get(Indicator, ind_id).next_due_at is None
    notice = fake_slack.wait_for("chat.postMessage", after=before, channel="U1")[-1].args
    assert "Herinneringen gepauzeerd" in texts(notice)
    assert "Ik kan Bram de Vries niet meer bereiken" in texts(notice) and "Bezoekers" in texts(notice)
    assert f"form:{iv_id}:8" in json.dumps(notice["blocks"])
    assert "gepauzeerd: Bram de Vries is niet bereikbaar" in texts(anna.say("indicatoren"))

    # February passes without a reminder to Bram, and without a second notice to Anna.
    february = datetime(2027, 3, 1, 9, 0, tzinfo=AMS)  # the 29th is the 28th, a Sunday: Monday
    engine.run(february)
    sender.drain(february)
    assert [c for c in fake_slack.posts(after=before) if c.args["channel"] == "UBRAM22"] == []
    assert len(fake_slack.posts(after=before)) == 2  # the notice and the indicator list

    # Bram is back (today, before February's reminder is due): his reminders resume.
    slack.user("UBRAM22").say("hallo")
    with db.transaction() as s:
        assert s.get(Person, bram.id).unreachable_since is None
        assert s.get(Indicator, ind_id).next_due_at.replace(tzinfo=UTC) == february.astimezone(UTC)
    engine.run(february)
    sender.drain(february)
    to_bram = [c.args["text"] for c in fake_slack.posts(after=before) if c.args["channel"] == "UBRAM22"]
    assert len(to_bram) == 1 and "februari 2027" in to_bram[0]
    sender.close()


def test_slack_names_and_zones_stay_current(db, slack, fake_slack):
    """A colleague named by mention gets their Slack name and zone as soon as the mention is made,
    before they ever talk to the bot; a zone changed in Slack later is picked up (here: when the
    App Home is opened) and moves the reminder to 09:00 in the new zone."""
    fake_slack.users["UCARLA1"] = "Carla Smit"
    fake_slack.zones["UCARLA1"] = "Europe/London"
    anna = slack.user("U1")
    anna.say("hallo")
    anna_id = slack_person(db, "U1", "Anna Jansen")
    _, (carlas, annas) = published(
        db, anna_id, [{"remind_day": 29, "name": "Bezoekers", "owner": "<@UCARLA1>"}, {"remind_day": 29}]
    )
    with db.transaction() as s:
        assert s.exec(select(Person).where(Person.display_name == "UCARLA1")).one().timezone is None
    anna.say("<@UCARLA1>")  # a message naming her (an owner typed in step 8, say)
    with db.transaction() as s:
        carla = s.exec(select(Person).where(Person.display_name == "Carla Smit")).one()
        assert carla.timezone == "Europe/London"
    assert next_due(db, carlas) == datetime(2027, 1, 29, 9, 0, tzinfo=UTC)  # 09:00 in London

    assert next_due(db, annas) == datetime(2027, 1, 29, 8, 0, tzinfo=UTC)  # 09:00 in Amsterdam
    fake_slack.zones["U1"] = "America/New_York"
    anna.open_home()
    assert next_due(db, annas) == datetime(2027, 1, 29, 14, 0, tzinfo=UTC)  # 09:00 in New York


def next_due(db, ind_id: int) -> datetime:
    with db.transaction() as s:
        return s.get(Indicator, ind_id).next_due_at.replace(tzinfo=UTC)
