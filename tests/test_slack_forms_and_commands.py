"""Form mode in modals, the /wwidw slash command and the App Home tab."""

import json

from sqlmodel import select

from models import Effect, Indicator, Intervention
from tests.slack_driver import texts

STEPS = {
    1: {
        "title": "Buurtmoestuin",
        "neighbourhood": "Kruiskamp",
        "municipality": "Amersfoort",
        "partner_organisations": "gemeente, welzijn",
        "start_date": "2027-03-01",
        "end_date": "2028-12-31",
        "project_status": "Lopend",
        "themes": ["Sociale cohesie en ontmoeting"],
    },
    2: {"situation": "Weinig contact", "evidence": "Enquête", "baseline_alternative": "Blijft zo"},
    3: {"final_target_group": "Bewoners", "target_group_size": "250"},
    4: {"effects.0.name": "Sociale cohesie", "effects.0.success_criterion": "Cijfer naar 6,5"},
    5: {"approach": "Tuindagen", "executors": "Opbouwwerker"},
    6: {"theory_of_change": "Samen tuinieren verbindt"},
    7: {"budget": "12.500", "hours": "320"},
    8: {
        "indicators.0.name": "Rapportcijfer sociale samenhang",
        "indicators.0.kind": "Outcome",
        "indicators.0.unit": "Rapportcijfer 1-10",
        "indicators.0.baseline": "5,8",
        "indicators.0.target": "6,5",
        "indicators.0.frequency": "Jaarlijks",
        "indicators.0.owner": "Anna",
        "reports.0.title": "Projectplan",
        "reports.0.url": "https://example.nl/plan.pdf",
        "visibility": "Openbaar",
    },
}


def test_full_walk_by_modals(slack, db, fake_slack):
    anna = slack.user("U1")
    response = anna.command("formulier")
    assert response.status_code == 200
    fake_slack.wait_for("views.open")
    view = anna.open_view()
    assert view["title"]["text"] == "Stap 1 van 8"
    for step in range(1, 9):
        response = anna.submit(view, STEPS[step])
        assert response.status_code == 200, response.text
        answer = response.json() if response.content else {}
        if step < 8:
            assert answer["response_action"] == "update", answer
            view = answer["view"]
            assert view["title"]["text"] == f"Stap {step + 1} van 8"
            assert json.loads(view["private_metadata"])["step"] == step + 1
        else:
            assert answer == {"response_action": "clear"}
    review = fake_slack.wait_for("chat.postMessage", channel="U1")[-1].args
    assert "Alles wat nodig is, is ingevuld" in texts(review)
    with db.transaction() as s:
        iv = s.exec(select(Intervention)).one()
        assert (iv.title, iv.project_status, iv.themes, iv.visibility) == (
            "Buurtmoestuin",
            "lopend",
            ["sociale-cohesie"],
            "public",
        )
        assert iv.partner_organisations == ["gemeente", "welzijn"] and iv.budget == 12500
        assert str(iv.start_date) == "2027-03-01"
        assert s.exec(select(Effect)).one().name == "Sociale cohesie"
        indicator = s.exec(select(Indicator)).one()
        assert (indicator.kind, indicator.unit, indicator.baseline, indicator.frequency) == (
            "outcome",
            "cijfer",
            5.8,
            "yearly",
        )


def test_modal_validation_errors_are_shown_in_the_modal_and_store_nothing(slack, db, fake_slack):
    anna = slack.user("U1")
    anna.command("formulier")
    fake_slack.wait_for("views.open")
    view = anna.open_view()
    response = anna.submit(view, {"title": "Titel", "start_date": "2027-03-01", "end_date": "2026-01-01"})
    assert response.json()["response_action"] == "errors"
    assert "ligt voor 1-3-2027" in response.json()["errors"]["end_date"]
    with db.transaction() as s:
        assert s.exec(select(Intervention)).one().title is None
    assert anna.submit(view, {"title": "Titel", "start_date": "2027-03-01"}).json()["response_action"] == "update"
    with db.transaction() as s:
        assert s.exec(select(Intervention)).one().title == "Titel"


def test_form_step_numbers_and_values_survive_a_round_trip(slack, db, fake_slack):
    anna = slack.user("U1")
    anna.say("nieuw")
    anna.say("Titel")
    anna.command("formulier 7")
    fake_slack.wait_for("views.open")
    view = anna.open_view()
    assert view["title"]["text"] == "Stap 7 van 8"
    answer = anna.submit(view, {"budget": "veel"}).json()
    assert answer["response_action"] == "errors" and "budget" in answer["errors"]
    answer = anna.submit(view, {"budget": "1.250,50"}).json()
    assert answer["response_action"] == "update"
    anna.say("bewerk stap 7")
    anna.command("formulier 7")
    fake_slack.wait_for("views.open", count=2)
    budget = next(b for b in anna.open_view()["blocks"] if b.get("block_id") == "budget")
    assert budget["element"]["initial_value"] == "1250,5"


def test_slash_commands(slack, db, fake_slack):
    anna = slack.user("U1")
    response = anna.command("nieuw")
    assert response.status_code == 200 and "privégesprek" in response.text
    question = fake_slack.wait_for("chat.postMessage", channel="U1")[-1].args
    assert "Wat is de titel" in texts(question)
    anna.say("Mijn titel")
    response = anna.command("mijn", channel="DU1")
    listing = fake_slack.wait_for("chat.postMessage", channel="U1", count=2)[-1].args
    assert "Mijn titel" in texts(listing)
    anna.command("export")
    document = fake_slack.wait_for("chat.postMessage", channel="U1", count=3)[-1].args
    assert "# Mijn titel" in texts(document) and "## 8. Meten en delen" in texts(document)
    for unknown in ["", "blabla", "help"]:
        response = anna.command(unknown)
        assert response.status_code == 200
    assert "Gebruik: /wwidw nieuw" in anna.command("onbekend").text


def test_app_home_lists_drafts_with_buttons_to_continue(slack, db, fake_slack):
    anna = slack.user("U1")
    anna.say("nieuw")
    anna.say("Eerste project")
    anna.say("nieuw")
    anna.say("Tweede project")
    home = anna.open_home()
    assert home["user_id"] == "U1"
    shown = json.dumps(home["view"], ensure_ascii=False)
    assert "Eerste project" in shown and "Tweede project" in shown
    first = next(b for b in home["view"]["blocks"] if "Eerste project" in (b.get("text") or {}).get("text", ""))
    before = fake_slack.last_seq
    anna.click_home(home["view"], first["accessory"])
    message = fake_slack.wait_for("chat.postMessage", after=before, channel="U1")[-1].args
    assert "Eerste project" in texts(message) and "In welke wijk" in texts(message)
    fake_slack.wait_for("views.publish", after=before)  # the home tab is refreshed


def test_form_buttons_in_the_dm_and_on_the_app_home_open_modals(slack, db, fake_slack):
    anna = slack.user("U1")
    anna.say("nieuw")
    message = anna.say("formulier 3")
    assert "Vul stap 3 in als formulier" in texts(message)
    before = fake_slack.last_seq
    anna.click("Open formulier stap 3", wait=False)
    view = fake_slack.wait_for("views.open", after=before)[-1].args["view"]
    assert view["title"]["text"] == "Stap 3 van 8"
    assert {b["block_id"] for b in view["blocks"] if b["type"] == "input"} == {
        "final_target_group",
        "intermediate_target_group",
        "target_group_size",
    }
    before = fake_slack.last_seq
    home = anna.open_home()["view"]
    form_button = next(
        e for b in home["blocks"] if b["type"] == "actions" for e in b["elements"] if e["value"] == "cmd:form"
    )
    anna.click_home(home, form_button, trigger_id="trigger.home.form")
    opened = fake_slack.wait_for("views.open", after=before)[-1].args
    assert opened["trigger_id"] == "trigger.home.form"
    assert opened["view"]["title"]["text"] == "Stap 1 van 8"  # where the chat was: the current step


def test_a_form_slack_would_not_open_leaves_its_button_in_the_chat(slack, db, fake_slack):
    anna = slack.user("U1")
    anna.say("nieuw")
    fake_slack.fail("views.open", 200, body={"ok": False, "error": "expired_trigger_id"})
    before = fake_slack.last_seq
    anna.command("formulier 2")
    (message,) = fake_slack.wait_for("chat.postMessage", after=before)
    assert "Open formulier stap 2" in texts(message.args)
    before = fake_slack.last_seq
    anna.click("Open formulier stap 2", wait=False)  # a fresh trigger: now it opens
    assert fake_slack.wait_for("views.open", after=before)[-1].args["view"]["title"]["text"] == "Stap 2 van 8"


def test_a_text_too_long_for_a_modal_input_is_kept_unchanged(slack, db, fake_slack):
    long_text = "Uitgebreide probleemanalyse. " * 200  # ~5,800 characters: more than an input holds
    anna = slack.user("U1")
    anna.say("nieuw")
    anna.say("bewerk stap 2")
    anna.say(long_text)
    anna.command("formulier 2")
    view = fake_slack.wait_for("views.open")[-1].args["view"]
    inputs = {b["block_id"] for b in view["blocks"] if b["type"] == "input"}
    assert "situation" not in inputs and {"evidence", "baseline_alternative"} <= inputs
    assert any("te lang voor het formulier" in (b.get("text") or {}).get("text", "") for b in view["blocks"])
    assert anna.submit(view, {"evidence": "Cijfers van de gemeente"}).json()["response_action"] == "update"
    with db.transaction() as s:
        iv = s.exec(select(Intervention)).one()
        assert iv.situation == long_text.strip() and iv.evidence == "Cijfers van de gemeente"


def test_secrets_never_reach_the_logs(slack, db, fake_slack, caplog):
    from tests.fakes.slack_api import TOKEN
    from tests.slack_driver import SECRET

    caplog.set_level("DEBUG")
    anna = slack.user("U1")
    anna.say("nieuw")
    fake_slack.fail("chat.postMessage", 500)
    anna.sender.event(
        {"type": "message", "channel_type": "im", "channel": "DU1", "user": "U1", "text": "Titel", "ts": "1.0"}
    )
    fake_slack.wait_for("chat.postMessage:failed")
    __import__("time").sleep(0.3)
    assert "not delivered yet: http 500" in caplog.text
    assert TOKEN not in caplog.text and SECRET not in caplog.text


def test_a_modal_left_open_while_the_chat_changed_things_comes_back_fresh(slack, db, fake_slack):
    anna = slack.user("U1")
    anna.command("formulier")
    view = fake_slack.wait_for("views.open")[-1].args["view"]
    anna.say("Titel uit de chat")  # the chat asks the title: answered there while the modal is open
    answer = anna.submit(view, {"title": "Titel uit het formulier"}).json()
    assert answer["response_action"] == "update"
    assert "Terwijl dit formulier openstond" in json.dumps(answer["view"], ensure_ascii=False)
    title = next(b for b in answer["view"]["blocks"] if b.get("block_id") == "title")
    assert title["element"]["initial_value"] == "Titel uit de chat"
    with db.transaction() as s:
        assert s.exec(select(Intervention)).one().title == "Titel uit de chat"
    assert anna.submit(answer["view"], {"title": "Nu wel"}).json()["response_action"] == "update"


def test_a_step_with_many_items_keeps_every_plain_field_in_the_modal(slack, db, fake_slack):
    anna = slack.user("U1")
    anna.say("nieuw")
    with db.transaction() as s:
        iv = s.exec(select(Intervention)).one()
        for n in range(12):
            s.add(Indicator(intervention_id=iv.id, position=n, name=f"Indicator {n}", kind="output"))
    anna.command("formulier 8")
    view = fake_slack.wait_for("views.open")[-1].args["view"]
    ids = [b.get("block_id") for b in view["blocks"]]
    assert len(view["blocks"]) <= 100
    assert {"results_lessons", "visibility", "reports.0.title"} <= set(ids)
    assert "Niet alle onderdelen passen" in json.dumps(view, ensure_ascii=False)
    assert anna.submit(view, {"visibility": "Openbaar"}).json() == {"response_action": "clear"}
    with db.transaction() as s:
        assert s.exec(select(Intervention)).one().visibility == "public"
        assert len(s.exec(select(Indicator)).all()) == 12  # the ones not shown are untouched


def test_a_double_clicked_new_button_on_the_app_home_makes_one_draft(slack, db, fake_slack):
    anna = slack.user("U1")
    before = fake_slack.last_seq
    home = anna.open_home()["view"]
    new = next(e for b in home["blocks"] if b["type"] == "actions" for e in b["elements"] if e["style"] == "primary")
    anna.click_home(home, new, trigger_id="trigger.home.new")
    anna.click_home(home, new, trigger_id="trigger.home.new")
    fake_slack.wait_for("chat.postMessage", after=before, channel="U1", count=2)
    with db.transaction() as s:
        assert len(s.exec(select(Intervention)).all()) == 1
