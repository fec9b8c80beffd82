"""The wizard in Slack: signed events and clicks through the real slack-bolt request path."""

import logging
import re
import time

from sqlmodel import select

from bot.settings import SLACK_SCOPES
from handlers.web import providers
from models import Intervention, Person, Report
from tests.helpers import FULL_WALK
from tests.slack_driver import SlackSender, texts


def test_full_walk_by_dm_then_publish(slack, db, fake_slack):
    anna = slack.user("U1")
    message = anna.say("hallo")
    assert "Hoi Anna Jansen" in texts(message)
    message = anna.click("Nieuwe beschrijving")
    assert "Wat is de titel" in texts(message)
    for answer in FULL_WALK:
        message = anna.say(answer)
        assert "Dat is geen" not in texts(message), (answer, texts(message))
    assert "Alles wat nodig is, is ingevuld" in texts(message)
    before = fake_slack.last_seq
    message = anna.click("Publiceren")
    assert "Gepubliceerd!" in texts(message)
    with db.transaction() as s:
        iv = s.exec(select(Intervention)).one()
        assert iv.status == "published" and iv.title == "Buurtmoestuin Kruiskamp"
        person = s.get(Person, iv.author_id)
        assert person.display_name == "Anna Jansen" and person.timezone == "Europe/Amsterdam"
    # The clicked message lost its buttons and says what was chosen.
    update = fake_slack.wait_for("chat.update", after=before)[-1].args
    assert "Gekozen: Publiceren" in texts(update)
    assert not any(b["type"] == "actions" for b in update["blocks"])


def current(db):
    with db.transaction() as s:
        return s.exec(select(Intervention).order_by(Intervention.id.desc())).first()


def test_buttons_back_skip_edit_pause_and_resume(slack, db):
    anna = slack.user("U1")
    anna.say("nieuw")
    anna.say("Klushuizen Oost")
    message = anna.click("Terug")
    assert "Wat is de titel" in texts(message) and "Al ingevuld: Klushuizen Oost" in texts(message)
    message = anna.click("Overslaan")
    assert "In welke wijk" in texts(message)
    anna.say("Oost")
    message = anna.click("Pauze")
    assert "Gepauzeerd" in texts(message)
    message = anna.say("verder")
    assert "In welke gemeente" in texts(message)
    message = anna.say("overzicht")
    assert "Klushuizen Oost" in texts(message) and "Nog verplicht voor publicatie" in texts(message)
    message = anna.pick("Bewerk stap 1 · Basisgegevens")
    assert "Wat is de titel" in texts(message)
    anna.say("Klushuizen Oost-Kwartier")
    assert current(db).title == "Klushuizen Oost-Kwartier"


def test_choices_by_select_and_multi_select(slack, db):
    anna = slack.user("U1")
    anna.say("nieuw")
    for answer in ["T", "W", "G", "overslaan", "overslaan", "overslaan"]:
        anna.say(answer)
    message = anna.click("Afgerond")
    assert "thema" in texts(message)
    message = anna.pick_many(["Veiligheid en overlast", "Armoede en schulden"])
    assert "Stap 1 is bewaard" in texts(message)
    iv = current(db)
    assert iv.project_status == "afgerond" and iv.themes == ["veiligheid", "armoede"]


def test_invalid_answers_get_a_reason_and_after_three_help_or_skip(slack, db):
    anna = slack.user("U1")
    anna.say("nieuw")
    for answer in ["T", "W", "G", "overslaan"]:
        anna.say(answer)
    message = anna.say("volgend jaar")
    assert "Dat is geen datum die ik herken" in texts(message)
    anna.say("ooit")
    message = anna.say("binnenkort")
    assert "Het lukt nog niet" in texts(message)
    labels = [e["text"]["text"] for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert "Hulp" in labels and "Overslaan" in labels
    message = anna.say("1-3-2027")
    assert "Wanneer eindigt" in texts(message)
    assert str(current(db).start_date) == "2027-03-01"


def test_forged_and_old_signatures_are_rejected_and_change_nothing(slack, db, fake_slack):
    from tests.slack_driver import SlackSender

    event = {"type": "message", "channel_type": "im", "channel": "DU1", "user": "U1", "text": "nieuw", "ts": "1.0"}
    forged = SlackSender(slack.server.url, secret="not-the-secret").event(event)
    assert forged.status_code == 401
    old = slack.sender.event(event, timestamp=int(__import__("time").time()) - 6 * 60)
    assert old.status_code == 401
    garbage = slack.sender.post("{not json", "application/json")
    assert garbage.status_code in (200, 400, 404)
    unsigned = slack.sender.http.post("/slack/events", content=b"{}", headers={"Content-Type": "application/json"})
    assert unsigned.status_code == 401
    __import__("time").sleep(0.3)
    assert current(db) is None
    assert not fake_slack.of("chat.postMessage")


def test_malformed_timestamps_and_forged_bodies_get_401_and_one_short_log_line(slack, db, fake_slack, caplog):
    from tests.slack_driver import sign

    body = "{" + '"type": "event_callback", "filler": "' + "FORGED-BODY" * 40_000 + '"}'  # 440 kB
    caplog.set_level(logging.INFO)
    for timestamp in ["", "abc", "²³".encode(), "1" * 40, "-5", "17.5"]:  # bytes: not ASCII on the wire
        headers = {**sign(body), "X-Slack-Request-Timestamp": timestamp, "Content-Type": "application/json"}
        assert slack.sender.http.post("/slack/events", content=body, headers=headers).status_code == 401
    forged = SlackSender(slack.server.url, secret="not-the-secret").post(body, "application/json")
    assert forged.status_code == 401
    lines = [r.getMessage() for r in caplog.records if r.name.startswith(("wwidw", "slack_bolt"))]
    assert len(lines) == 7 and all(len(line) < 120 and "FORGED" not in line for line in lines), lines
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert current(db) is None


def test_a_retried_event_is_handled_once(slack, db, fake_slack):
    anna = slack.user("U1")
    anna.say("nieuw")
    before = fake_slack.last_seq
    anna.say("Eerste titel", event_id="EvSAME")
    retried = slack.sender.event(
        {"type": "message", "channel_type": "im", "channel": "DU1", "user": "U1", "text": "Eerste titel", "ts": "2.0"},
        event_id="EvSAME",
        retry=1,
    )
    assert retried.status_code == 200
    __import__("time").sleep(0.5)
    assert len(fake_slack.of("chat.postMessage", after=before, channel="DU1")) == 1
    message = anna.say("Wijk")  # the next question is the municipality, not the neighbourhood again
    assert "In welke gemeente" in texts(message)
    assert (current(db).title, current(db).neighbourhood) == ("Eerste titel", "Wijk")


def test_a_new_app_after_a_crash_resumes_at_the_right_question(slack, db):
    anna = slack.user("U1")
    anna.say("nieuw")
    anna.say("Buurtbeheerbedrijf")
    anna.say("Selwerd")
    slack.restart()  # a new process on the same database: nothing was kept in memory
    anna = slack.user("U1")
    message = anna.say("Groningen")
    assert "partnerorganisaties" in texts(message)
    iv = current(db)
    assert (iv.title, iv.neighbourhood, iv.municipality) == ("Buurtbeheerbedrijf", "Selwerd", "Groningen")


def test_two_people_interleaving(slack, db):
    import threading

    anna, bram = slack.user("U1"), slack.user("U2")
    anna.say("nieuw")
    bram.say("nieuw")
    errors = []

    def walk(person, answers):
        try:
            for answer in answers:
                person.say(answer)
        except Exception as e:  # reported below, in the test's own thread
            errors.append(e)

    threads = [
        threading.Thread(target=walk, args=(anna, ["Anna's project", "Wijk A", "Gemeente A"])),
        threading.Thread(target=walk, args=(bram, ["Brams project", "Wijk B", "Gemeente B"])),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    with db.transaction() as s:
        rows = {iv.title: iv for iv in s.exec(select(Intervention))}
        assert (rows["Anna's project"].neighbourhood, rows["Anna's project"].municipality) == ("Wijk A", "Gemeente A")
        assert (rows["Brams project"].neighbourhood, rows["Brams project"].municipality) == ("Wijk B", "Gemeente B")
        assert rows["Anna's project"].author_id != rows["Brams project"].author_id


def test_english_on_request(slack, db):
    anna = slack.user("U1")
    message = anna.say("language en")
    assert "I now speak English" in texts(message)
    message = anna.say("new")
    assert "What is the title" in texts(message) and "Step 1 of 8" in texts(message)
    message = anna.say("skip")
    assert "In which neighbourhood" in texts(message) and "Needed to publish" in texts(message)
    message = anna.say("taal nl")
    assert "In welke wijk" in texts(message)


def test_user_text_is_escaped_and_long_texts_fit_block_kit(slack, db, fake_slack):
    anna = slack.user("U1")
    anna.say("nieuw")
    # Typed as text, Slack sends it escaped; typed as a real @channel and link, in markup. Either
    # way the bot's echo is plain text: it never notifies the channel or shows a disguised link.
    anna.say("&lt;!channel&gt; &amp; &lt;https://evil.example|klik&gt;")
    message = anna.say("terug")
    assert "&lt;!channel&gt; &amp; &lt;https://evil.example|klik&gt;" in texts(message)
    assert "<!channel>" not in texts(message)
    anna.say("<!channel> & <https://evil.example|klik>")
    message = anna.say("terug")
    assert "@channel &amp; klik (https://evil.example)" in texts(message)
    assert "<!channel>" not in texts(message) and "<https" not in texts(message)
    anna.say("bewerk stap 2")
    long_text = "Lange analyse van de wijk. " * 370  # ~10,000 characters
    anna.say(long_text.strip())
    message = anna.say("overzicht")
    assert current(db).situation == long_text.strip()  # stored in full
    assert "…" in texts(message)  # shown shortened
    too_long = anna.say("bewerk stap 2") and anna.say("x" * 12_000)
    assert "Dat is te lang" in texts(too_long)
    assert current(db).situation == long_text.strip()
    # the fake checks every message against Slack's limits (see the `slack` fixture)


def test_messages_from_bots_and_channels_are_ignored(slack, db, fake_slack):
    slack.sender.event(
        {
            "type": "message",
            "channel_type": "im",
            "channel": "DU1",
            "user": "U1",
            "bot_id": "B9",
            "text": "nieuw",
            "ts": "1.0",
        }
    )
    slack.sender.event(
        {"type": "message", "channel_type": "channel", "channel": "C1", "user": "U1", "text": "nieuw", "ts": "1.0"}
    )
    slack.sender.event(
        {"type": "message", "subtype": "message_changed", "channel_type": "im", "channel": "DU1", "ts": "1.0"}
    )
    slack.sender.event({"type": "reaction_added", "user": "U1", "reaction": "tada"})
    __import__("time").sleep(0.5)
    assert not fake_slack.of("chat.postMessage") and current(db) is None


def test_the_same_event_delivered_twice_at_once_is_handled_once(slack, db, fake_slack):
    import threading

    anna = slack.user("U1")
    anna.say("nieuw")
    before = fake_slack.last_seq
    event = {
        "type": "message",
        "channel_type": "im",
        "channel": "DU1",
        "user": "U1",
        "text": "Gelijktijdig",
        "ts": "5.0",
    }
    threads = [
        threading.Thread(target=slack.sender.event, args=(event,), kwargs={"event_id": "EvTWICE"}) for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    fake_slack.wait_for("chat.postMessage", after=before, channel="DU1")
    __import__("time").sleep(0.5)
    assert len(fake_slack.of("chat.postMessage", after=before, channel="DU1")) == 1
    assert current(db).title == "Gelijktijdig"


def test_signed_but_malformed_payloads_are_rejected_cleanly(slack, db, fake_slack):
    import json as jsonlib
    from urllib.parse import urlencode

    anna = slack.user("U1")
    anna.say("nieuw")
    anna.say("Bewaarde titel")
    before = fake_slack.last_seq
    bad = [
        slack.sender.event({"type": "message", "channel_type": "im", "text": "geen gebruiker"}),
        slack.sender.event({"type": "message", "channel_type": "im", "channel": "DU1", "user": ["U1"], "text": 5}),
        slack.sender.interaction({"type": "block_actions", "user": {"id": "U1"}, "team": {"id": "T1"}, "actions": []}),
        slack.sender.interaction(
            {
                "type": "view_submission",
                "user": {"id": "U1"},
                "team": {"id": "T1"},
                "view": {"callback_id": "wwidw_form", "private_metadata": "niet json", "state": {"values": {}}},
            }
        ),
        slack.sender.interaction(
            {
                "type": "view_submission",
                "user": {"id": "U1"},
                "team": {"id": "T1"},
                "view": {
                    "callback_id": "wwidw_form",
                    "private_metadata": '{"iv": 999, "step": 1}',
                    "state": {"values": {}},
                },
            }
        ),
        slack.sender.post(urlencode({"payload": "{kapot"}), "application/x-www-form-urlencoded"),
        slack.sender.post(jsonlib.dumps({"type": "url_verification", "challenge": "abc"}), "application/json"),
        slack.sender.post(b"\xff\xfe".decode("latin-1"), "application/json"),
        *[slack.sender.post(body, "application/json") for body in ("[1]", "1", '"x"', "null")],
        slack.sender.post(urlencode({"payload": "[1]"}), "application/x-www-form-urlencoded"),
    ]
    assert all(r.status_code < 500 for r in bad), [(r.status_code, r.text) for r in bad]
    assert bad[6].json() == {"challenge": "abc"}  # Slack's URL check when the app is set up
    __import__("time").sleep(0.3)
    assert current(db).title == "Bewaarde titel"
    assert not fake_slack.of("chat.postMessage", after=before)


def test_the_manifest_subscribes_to_what_the_bot_handles():
    from pathlib import Path

    import yaml

    manifest = yaml.safe_load((Path(__file__).parents[1] / "handlers/slack/manifest.yaml").read_text())
    events = set(manifest["settings"]["event_subscriptions"]["bot_events"])
    assert events == {"message.im", "app_home_opened", "app_uninstalled", "tokens_revoked"}
    assert manifest["features"]["slash_commands"][0]["command"] == "/wwidw"
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    # An install asks for exactly the scopes the manifest gives, and comes back to our redirect.
    assert manifest["oauth_config"]["scopes"]["bot"] == SLACK_SCOPES.split(",")
    assert manifest["oauth_config"]["redirect_urls"][0].endswith("/slack/oauth_redirect")
    # Sign in with Slack on the web: its own redirect, and only the user scopes it asks for.
    assert manifest["oauth_config"]["redirect_urls"][1].endswith("/inloggen/slack/terug")
    assert manifest["oauth_config"]["scopes"]["user"] == providers.SLACK_SCOPES
    assert manifest["settings"]["token_rotation_enabled"] is True


def test_a_killed_process_loses_nothing(db, fake_slack):
    """A real `wwidw serve` is killed with SIGKILL between two answers; a new one carries on."""
    import os
    import signal
    import socket
    import subprocess
    import sys
    import time

    import httpx

    from tests.fakes.slack_api import TOKEN
    from tests.slack_driver import SECRET, SlackSender, SlackUser

    def serve():
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        env = {
            **os.environ,
            "DATABASE_URL": db.url,
            "SLACK_BOT_TOKEN": TOKEN,
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": fake_slack.url,
        }
        process = subprocess.Popen(
            [sys.executable, "-m", "wwidw.cli", "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                httpx.get(url + "/healthz", timeout=1)
                return process, url
            except httpx.HTTPError:
                time.sleep(0.05)
        process.kill()
        raise AssertionError("wwidw serve did not start")

    first, url = serve()
    try:
        anna = SlackUser(SlackSender(url), fake_slack, "U1")
        anna.say("nieuw")
        anna.say("Buurtbemiddeling")
        anna.say("Hoograven")
    finally:
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
    second, url = serve()
    try:
        anna = SlackUser(SlackSender(url), fake_slack, "U1")
        before = fake_slack.last_seq
        anna.sender.event(
            {"type": "message", "channel_type": "im", "channel": anna.dm, "user": "U1", "text": "Utrecht", "ts": "9.0"}
        )
        # The killed process may have posted its last reply without writing that down: once its
        # claim runs out (30 s) that reply is looked up, not posted again, and this one follows.
        message = fake_slack.wait_for("chat.postMessage", after=before, timeout=60, channel=anna.dm)[-1].args
        assert "partnerorganisaties" in texts(message)
        assert len(fake_slack.of("chat.postMessage", channel=anna.dm)) == 4  # nothing arrived twice
    finally:
        second.terminate()
        second.wait()
    iv = current(db)
    assert (iv.title, iv.neighbourhood, iv.municipality) == ("Buurtbemiddeling", "Hoograven", "Utrecht")


def test_a_refused_old_button_leaves_its_message_as_it_was(slack, db, fake_slack):
    anna = slack.user("U1")
    anna.say("nieuw")
    for answer in ["T", "W", "G", "overslaan", "overslaan", "overslaan", "lopend", "1"]:
        anna.say(answer)
    message = anna.click("Afgerond")  # still on the old status question's message
    assert "hoort bij een eerdere vraag" in texts(message)
    time.sleep(0.3)
    assert not any("Gekozen: Afgerond" in texts(c.args) for c in fake_slack.of("chat.update"))
    assert current(db).project_status == "lopend"


def test_a_double_clicked_new_description_button_makes_one_draft(slack, db, fake_slack):
    anna = slack.user("U1")
    anna.say("hallo")
    anna.click("Nieuwe beschrijving")
    message = anna.click("Nieuwe beschrijving")
    assert "hoort bij een eerdere vraag" in texts(message)
    with db.transaction() as s:
        assert len(s.exec(select(Intervention)).all()) == 1


def as_slack_sends(text: str) -> str:
    """What a Slack client sends for typed text: `&`, `<`, `>` escaped, a typed link in brackets."""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return re.sub(r"https?://\S+", lambda m: f"<{m[0]}>", escaped)


def test_what_is_typed_in_a_dm_is_stored_as_typed_links_included(slack, db, fake_slack):
    from bot.documents import render_markdown

    anna = slack.user("U1")
    anna.say("nieuw")
    walk = ["Jan & Piet <3 de buurt", *FULL_WALK[1:]]
    walk[walk.index("Bewonersenquête 2026: 40% kent de buren niet.")] = "Enquête: 40% <50% & zie https://x.nl/enquete"
    for answer in walk:
        message = anna.say(as_slack_sends(answer))
        assert "Dat is geen" not in texts(message), (answer, texts(message))
    with db.transaction() as s:
        iv = s.exec(select(Intervention)).one()
        report = s.exec(select(Report)).one()
        assert iv.title == "Jan & Piet <3 de buurt"
        assert iv.evidence == "Enquête: 40% <50% & zie https://x.nl/enquete"
        assert report.url == "https://example.nl/projectplan.pdf"  # the link question took it
        markdown = render_markdown(s, iv, "nl")
    assert "Jan & Piet <3 de buurt" in markdown and "&amp;" not in markdown


def test_slack_markup_becomes_the_text_that_was_typed():
    from handlers.slack.markup import typed

    assert typed("Jan &amp; Piet &lt;3 &gt;") == "Jan & Piet <3 >"
    assert typed("&amp;lt; is hoe je &lt; schrijft") == "&lt; is hoe je < schrijft"
    assert typed("<https://x.nl/rapport.pdf>") == "https://x.nl/rapport.pdf"
    assert typed("zie <http://x.nl|x.nl> of <https://x.nl/plan.pdf|het plan>") == (
        "zie x.nl of het plan (https://x.nl/plan.pdf)"
    )
    assert typed("<mailto:a@b.nl|a@b.nl>") == "a@b.nl"
    assert typed("in <#C123|buurt> met <!here> en <!subteam^S1|@team>") == "in #buurt met @here en @team"
    assert typed("<@U123> en <@W9|bram>") == "<@U123> en <@W9>"  # people stay mentions for step 8
    assert typed("<" * 5000) == "<" * 5000 and typed("") == ""


def test_a_mention_is_stored_as_the_name_slack_shows_and_names_that_colleague_in_step_8(slack, db, fake_slack):
    from bot.monitor import resolve_owners

    fake_slack.users["UBRAM22"] = "Bram de Boer"
    anna = slack.user("U1")
    anna.say("nieuw")
    anna.say("Moestuin met <@UBRAM22> &amp; <#C1|buurt>")  # as Slack sends "Moestuin met @Bram de Boer & #buurt"
    assert current(db).title == "Moestuin met @Bram de Boer & #buurt"
    with db.transaction() as s:
        bram = s.exec(select(Person).where(Person.display_name == "Bram de Boer")).one()
        iv = s.exec(select(Intervention)).one()
        assert resolve_owners(s, iv, "@Bram de Boer") == [bram.id]  # known by that name from now on
