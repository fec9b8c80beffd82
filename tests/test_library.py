"""The knowledge bank: searching, reading and commenting across organisations, archetypes, and
a sweep over every way to reach a description that proves a private one never leaks."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlmodel import select

from bot import search
from bot.people import ensure_person
from bot.settings import Settings
from bot.wizard import Wizard
from models import Analysis, Comment, Effect, Intervention, Organisation, OutboxMessage, Person
from reminders.digests import Digests
from tests.helpers import Browser, Chat
from tests.slack_driver import texts
from wwidw.app import Core, create_app

WHEN = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


def org_of(db, person_id: int, name: str, partner: bool = False) -> None:
    with db.transaction() as s:
        org = s.get(Organisation, s.get(Person, person_id).organisation_id)
        org.name, org.is_partner = name, partner


def publish(db, author_id: int, title: str, visibility: str, approach: str = "", **fields) -> int:
    """A published description, indexed for search as publishing in the wizard would."""
    with db.transaction() as s:
        author = s.get(Person, author_id)
        iv = Intervention(
            organisation_id=author.organisation_id,
            author_id=author_id,
            status="published",
            title=title,
            visibility=visibility,
            neighbourhood="Kruiskamp",
            municipality="Amersfoort",
            themes=["wonen"],
            approach=approach,
            published_at=WHEN,
            updated_at=WHEN,
            **fields,
        )
        s.add(iv)
        s.flush()
        s.add(Effect(intervention_id=iv.id, name="Minder leegstand"))
        s.flush()
        search.reindex(s, iv)
        return iv.id


def test_search_read_and_comment_in_slack(db, slack, fake_slack):
    anna, bram = slack.user("U1", team="T1"), slack.user("U2", team="T2")
    anna.say("hallo")
    bram.say("hallo")
    anna_id = ensure_person(db, "slack", "T1", "U1", "Anna")
    org_of(db, anna_id, "Woonstad")
    iv_id = publish(db, anna_id, "Klushuizen Kruiskamp", "public", approach="Verkoop van woningen aan klussers.")
    publish(db, anna_id, "Intern plan", "organisation", approach="Verkoop van woningen, vertrouwelijk.")

    before = fake_slack.last_seq
    assert bram.command("zoek woning verkopen", channel="DU2").status_code == 200
    found = texts(fake_slack.wait_for("chat.postMessage", after=before, channel="U2")[-1].args)
    assert "Klushuizen Kruiskamp" in found and "Woonstad" in found and "Intern plan" not in found

    # Reading opens a modal with the whole description and a place to comment.
    before = fake_slack.last_seq
    bram.click(f"#{iv_id} Klushuizen Kruiskamp · Woonstad · Kruiskamp, Amersfoort", wait=False)
    view = fake_slack.wait_for("views.open", after=before)[-1].args["view"]
    assert view["callback_id"] == "wwidw_comment" and "Minder leegstand" in str(view["blocks"])
    assert bram.submit(view, {"comment": "Mooi!", "step": None}).json()["response_action"] == "errors"
    before = fake_slack.last_seq
    assert bram.submit(view, {"comment": "Hoe vonden jullie de klussers?", "step": "5"}).status_code == 200
    assert "stap 5" in texts(fake_slack.wait_for("chat.postMessage", after=before, channel="U2")[-1].args)
    with db.transaction() as s:
        (comment,) = s.exec(select(Comment)).all()
        assert (comment.intervention_id, comment.step, comment.body) == (iv_id, 5, "Hoe vonden jullie de klussers?")
        notice = s.exec(select(OutboxMessage).where(OutboxMessage.dedupe_key == f"comment:{comment.id}")).one()
        assert notice.channel == "U1" and "stap 5" in notice.body["replies"][0]["text"]
    # An empty comment just closes the modal; the comment shows with the description next time.
    assert bram.submit(view, {"comment": "", "step": None}).text == ""
    reply = Wizard(db).handle(anna_id, turn_text(f"lees {iv_id}")).replies[-1]
    assert any("Hoe vonden jullie de klussers?" == line.value for line in reply.sections[4].lines)


def turn_text(text: str, command: bool = False):
    from bot.replies import Turn

    return Turn(text=text, command=command)


def test_a_digest_read_button_opens_the_description_for_the_clicker_only(db, slack, fake_slack):
    anna = slack.user("U1")
    anna.command("kanaal abonneer", channel="C_WIJK")
    anna_id = ensure_person(db, "slack", "T1", "U1", "Anna")
    with db.transaction() as s:
        from models import Subscription

        sub = s.exec(select(Subscription)).one()
        due, since = sub.next_due_at.replace(tzinfo=UTC), sub.since.replace(tzinfo=UTC)
    iv_id = publish(db, anna_id, "Buurtbeheer", "organisation")
    with db.transaction() as s:
        s.get(Intervention, iv_id).updated_at = since + timedelta(minutes=1)
    Digests(db).run(due)
    from tests.test_digests import deliver, sender_for

    deliver(sender_for(db, fake_slack), due)
    digest = [c for c in fake_slack.posts() if c.args["channel"] == "C_WIJK" and "Buurtbeheer" in texts(c.args)][-1]
    block = next(b for b in digest.args["blocks"] if b.get("accessory"))
    for user, team, opens in (("U1", "T1", True), ("U8", "T9", False)):  # a colleague; someone from elsewhere
        before = fake_slack.last_seq
        payload = {
            "type": "block_actions",
            "user": {"id": user, "team_id": team},
            "team": {"id": team},
            "api_app_id": "A1",
            "trigger_id": f"trigger.read.{user}",
            "channel": {"id": "C_WIJK"},
            "container": {"type": "message", "message_ts": digest.result["ts"], "channel_id": "C_WIJK"},
            "message": {"ts": digest.result["ts"], "blocks": digest.args["blocks"], "text": digest.args["text"]},
            "actions": [{**block["accessory"], "block_id": "b", "action_ts": "1.0"}],
        }
        assert slack.sender.interaction(payload).status_code == 200
        if opens:
            assert "Buurtbeheer" in str(fake_slack.wait_for("views.open", after=before)[-1].args["view"])
        else:
            refused = texts(fake_slack.wait_for("chat.postMessage", after=before, channel=user)[-1].args)
            assert "niet gedeeld met jouw organisatie" in refused
        # Nothing in the channel, and the digest keeps its buttons for everyone else.
        assert not [c for c in fake_slack.posts(before) if c.args["channel"] == "C_WIJK"]
        assert not fake_slack.of("chat.update", after=before)


def test_archetypes_start_a_prefilled_draft(db):
    chat = Chat(db)
    chat.say("archetypen")
    listed = chat.last[-1]
    assert listed.kind == "list" and len(listed.options) >= 4 and any("Klushuizen" in o.label for o in listed.options)
    chat.say("nieuw op basis van klushuis")
    assert "op basis van het archetype 'Klushuizen'" in chat.texts()
    assert chat.question.text.startswith("Wat is de titel")
    chat.say("Klushuizen Soesterkwartier")
    for _ in range(6):
        chat.say("overslaan")  # neighbourhood … status: project-specific, asked as usual
    chat.say("overslaan")  # themes: prefilled from the archetype, kept
    chat.say("overslaan")  # the situation: prefilled too
    assert "Al ingevuld: Gegevens over leegstand" in chat.texts()  # each question shows the example
    with db.transaction() as s:
        iv = s.exec(select(Intervention)).one()
        assert iv.title == "Klushuizen Soesterkwartier" and iv.approach and iv.themes
        assert s.exec(select(Effect).where(Effect.intervention_id == iv.id)).first() is not None
    # An unknown archetype lists the real ones; a stale list button does nothing twice.
    chat.say("pauze")  # while a question is open, this would be its answer
    chat.say("nieuw op basis van iets onbekends")
    assert "Ik weet niet welk archetype" in chat.texts()
    button = next(o.value for o in chat.last[-1].options if "Klushuizen" in o.label)
    chat.say(action=button)
    chat.say(action=button)
    with db.transaction() as s:
        assert len(s.exec(select(Intervention)).all()) == 2


def test_text_commands_are_answers_while_a_question_is_open(db):
    chat = Chat(db)
    chat.say("nieuw")
    chat.say("Zoek de verbinding")  # the title
    with db.transaction() as s:
        assert s.exec(select(Intervention)).one().title == "Zoek de verbinding"
    # As a slash command it searches, even mid-walk; the walk stays where it was.
    replies = chat.wizard.handle(chat.person_id, turn_text("zoek verbinding", command=True)).replies
    assert "Niets gevonden" in replies[-1].text
    assert "Wijk of buurt" in "".join(r.text for r in chat.say("verder")) or chat.question is not None


def test_web_search_comments_and_choosing_an_organisation(db, make_server):
    server = make_server(create_app(core=Core(Settings(database_url=db.url, _env_file=None))))
    anna = Browser(base_url=server.url, follow_redirects=True)
    page = anna.get("/").text
    assert 'name="organisation"' in page and 'value="Lokaal"' in page
    assert anna.post("/start", data={"name": "Anna", "organisation": "Woonstad Utrecht"}).status_code == 200
    bram = Browser(base_url=server.url, follow_redirects=True)
    assert "Woonstad Utrecht" in bram.get("/").text  # offered to the next person
    bram.post("/start", data={"name": "Bram", "organisation": "Gemeente Utrecht"})
    with db.transaction() as s:
        anna_id = s.exec(select(Person).where(Person.display_name == "Anna")).one().id
        orgs = {p.display_name: s.get(Organisation, p.organisation_id).name for p in s.exec(select(Person))}
    assert orgs == {"Anna": "Woonstad Utrecht", "Bram": "Gemeente Utrecht"}
    iv_id = publish(db, anna_id, "Buurtconciërge Overvecht", "public", approach="Een vaste conciërge in de flat.")
    publish(db, anna_id, "Geheime aanpak", "organisation", approach="Een conciërge, intern.")

    results = bram.get("/beschrijvingen", params={"q": "concierge"}).text
    assert "Buurtconciërge Overvecht" in results and "Geheime aanpak" not in results
    assert "Niets gevonden" in bram.get("/beschrijvingen", params={"q": '"NEAR( *'}).text

    assert bram.post(f"/beschrijvingen/{iv_id}/reactie", data={"step": "3", "text": "  "}).status_code == 400
    assert bram.post(f"/beschrijvingen/{iv_id}/reactie", data={"step": "99", "text": "x"}).status_code == 400
    page = bram.post(f"/beschrijvingen/{iv_id}/reactie", data={"step": "5", "text": "Werkt het ook <b>elders</b>?"})
    assert page.status_code == 200 and "Reactie van Bram" in page.text
    assert "Werkt het ook &lt;b&gt;elders&lt;/b&gt;?" in page.text
    private = publish(db, anna_id, "Nog geheimer", "organisation")
    assert bram.post(f"/beschrijvingen/{private}/reactie", data={"step": "5", "text": "hoi"}).status_code == 404
    with db.transaction() as s:
        assert [c.body for c in s.exec(select(Comment))] == ["Werkt het ook <b>elders</b>?"]


def test_no_path_shows_a_private_description_to_another_organisation(db, slack, fake_slack, make_server):
    """Woonstad keeps 'Geheim Kruiskamp' to itself. Someone of another (partner) organisation
    tries every way there is to see it: in Slack, in the web chat, in a digest."""
    anna_id = ensure_person(db, "slack", "T1", "U1", "Anna")
    org_of(db, anna_id, "Woonstad", partner=True)
    secret = publish(db, anna_id, "Geheim Kruiskamp", "organisation", approach="Zeldzaamwoord in de aanpak.")
    shared = publish(db, anna_id, "Gedeeld Kruiskamp", "partners", approach="Zeldzaamwoord, gedeeld.")
    with db.transaction() as s:
        s.add(Comment(intervention_id=secret, step=2, author_id=anna_id, body="Alleen voor ons"))
        s.add(Analysis(intervention_id=secret, expert_id=anna_id, judgement="Alleen voor ons", published_at=WHEN))

    # Slack: Bram of Gemeente Zwolle, a partner, in his DM and in a channel of his own.
    bram = slack.user("U2", team="T2")
    bram.say("hallo")
    bram_id = ensure_person(db, "slack", "T2", "U2", "Bram")
    org_of(db, bram_id, "Gemeente Zwolle", partner=True)
    start = fake_slack.last_seq
    for text in ("zoek zeldzaamwoord", f"lees {secret}", f"voortgang {secret}", f"reageer {secret} stap 2: hoi",
                 "mijn", "indicatoren", "export"):  # fmt: skip
        bram.command(text, channel="DU2")
    bram.say(f"lees {secret}")
    bram.command("kanaal abonneer", channel="C_ZWOLLE")
    with db.transaction() as s:
        from models import Subscription

        sub = s.exec(select(Subscription)).one()
        s.get(Intervention, secret).updated_at = s.get(Intervention, shared).updated_at = sub.since + timedelta(
            minutes=1
        )
        for analysis in s.exec(select(Analysis)):  # new in this digest's window too
            analysis.published_at = sub.since + timedelta(minutes=1)
        due = sub.next_due_at
    Digests(db).run(due.replace(tzinfo=UTC) if due.tzinfo is None else due)
    from tests.test_digests import deliver, sender_for

    deliver(sender_for(db, fake_slack), due.replace(tzinfo=UTC) if due.tzinfo is None else due)
    bram.open_home()
    seen_in_slack = "\n".join(str(c.args) for c in fake_slack.calls if c.seq > start)
    assert "Gedeeld Kruiskamp" in seen_in_slack  # the partner description does reach him
    assert "Geheim Kruiskamp" not in seen_in_slack and "Alleen voor ons" not in seen_in_slack

    # The web chat: Carla of another organisation, and a visitor without a cookie.
    server = make_server(create_app(core=Core(Settings(database_url=db.url, _env_file=None))))
    carla = Browser(base_url=server.url, follow_redirects=True)
    carla.post("/start", data={"name": "Carla", "organisation": "Welzijn Oost"})
    with db.transaction() as s:
        carla_org = s.get(
            Organisation, s.exec(select(Person).where(Person.display_name == "Carla")).one().organisation_id
        )
        carla_org.is_partner = True
    visitor = Browser(base_url=server.url, follow_redirects=True)
    pages = []
    for client in (carla, visitor):
        for path in ("/beschrijvingen", "/beschrijvingen?q=zeldzaamwoord", f"/beschrijvingen/{secret}",
                     f"/beschrijvingen/{secret}.md", f"/beschrijvingen/{secret}.json", f"/voortgang/{secret}.png",
                     "/indicatoren"):  # fmt: skip
            pages.append(client.get(path))
        pages.append(client.post(f"/beschrijvingen/{secret}/reactie", data={"step": "2", "text": "hoi"}))
    for text in ("zoek zeldzaamwoord", f"lees {secret}", f"voortgang {secret}", f"reageer {secret} stap 2: hoi"):
        carla.post("/say", data={"text": text})
    carla.post("/say", data={"action": f"read:{secret}"})
    pages.append(carla.get("/"))
    for page in pages:
        assert "Geheim Kruiskamp" not in page.text and "Alleen voor ons" not in page.text, page.url
    assert "Gedeeld Kruiskamp" in carla.get("/beschrijvingen?q=zeldzaamwoord").text
    assert "Gedeeld Kruiskamp" not in visitor.get("/beschrijvingen?q=zeldzaamwoord").text  # partners only

    # Nothing of the secret went into anyone else's outbox, and no comment was stored.
    with db.transaction() as s:
        others = s.exec(select(OutboxMessage).where(OutboxMessage.person_id != anna_id)).all()
        assert not any("Geheim Kruiskamp" in str(m.body) for m in others)
        assert [c.body for c in s.exec(select(Comment))] == ["Alleen voor ons"]
    assert re.search(r"Geheim Kruiskamp", str(Wizard(db).handle(anna_id, turn_text(f"lees {secret}")).replies))


def test_the_web_chat_cannot_take_a_workspace_organisations_name(db, make_server):
    anna_id = ensure_person(db, "slack", "T1", "U1", "Anna")
    org_of(db, anna_id, "Woonstad Rotterdam", partner=True)
    server = make_server(create_app(core=Core(Settings(database_url=db.url, _env_file=None))))
    web = Browser(base_url=server.url, follow_redirects=True)
    refused = web.post("/start", data={"name": "Eve", "organisation": "woonstad rotterdam"})
    assert refused.status_code == 400 and "al een organisatie" in refused.text
    org_of(db, ensure_person(db, "slack", "T2", "U2", "Bas"), "Ééndracht Wonen")
    refused = web.post("/start", data={"name": "Eve", "organisation": "ééndracht wonen"})  # case beyond A-Z too
    assert refused.status_code == 400 and "al een organisatie" in refused.text
    web.post("/start", data={"name": "Carla", "organisation": "Welzijn Oost"})
    web2 = Browser(base_url=server.url, follow_redirects=True)
    web2.post("/start", data={"name": "Dirk", "organisation": "welzijn oost"})  # the same one, typed differently
    with db.transaction() as s:
        names = {p.display_name: s.get(Organisation, p.organisation_id).name for p in s.exec(select(Person))}
    assert names == {
        "Anna": "Woonstad Rotterdam", "Bas": "Ééndracht Wonen", "Carla": "Welzijn Oost", "Dirk": "Welzijn Oost",
    }  # fmt: skip
