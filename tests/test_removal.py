"""Taking a description back: withdrawn, it leaves search, digests and reminders but keeps its
measurements; deleted, nothing of it is left. Both ask first."""

from datetime import timedelta

from sqlmodel import func, select

from bot import search
from bot.digests import Candidates
from bot.messages import enqueue
from bot.replies import Reply
from models import Comment, Indicator, Intervention, Measurement, Organisation, OutboxMessage, Person, Reminder
from models.tables import utcnow
from tests.helpers import FULL_WALK, Browser, Chat
from tests.test_web_chat import web_app


def published(db, chat):
    chat.say("nieuw")
    for answer in FULL_WALK:
        chat.say(answer)
    chat.say("publiceer")
    with db.transaction() as s:
        return s.exec(select(Intervention).order_by(Intervention.id.desc())).first().id


def test_a_withdrawn_description_leaves_search_digests_and_reminders_but_keeps_its_measurements(db):
    anna = Chat(db)
    iv_id = published(db, anna)
    with db.transaction() as s:
        ind = s.exec(select(Indicator)).one()
        person = s.get(Person, anna.person_id)
        s.add(
            Measurement(
                indicator_id=ind.id,
                period_start=utcnow().date(),
                period_end=utcnow().date(),
                value=6,
                entered_by=person.id,
            )
        )
        reminder = Reminder(
            indicator_id=ind.id,
            person_id=person.id,
            period_start=utcnow().date(),
            period_end=utcnow().date(),
            due_at=utcnow(),
        )
        s.add(reminder)
        s.flush()
        enqueue(s, person, f"reminder:{reminder.id}", [Reply(text="Tijd voor een meting")], "nl", utcnow())
        org = s.get(Organisation, person.organisation_id)
        assert [hit.intervention_id for hit in search.search(s, org, "moestuin")] == [iv_id]
        day = (utcnow() - timedelta(days=1), utcnow() + timedelta(minutes=1))
        assert list(Candidates(s, *day).items) == [iv_id]  # in the next digest

    anna.say("intrekken")
    ask = anna.last[-1]
    assert ask.kind == "confirm" and "verdwijnt uit de kennisbank" in ask.text
    with db.transaction() as s:
        assert s.get(Intervention, iv_id).status == "published"  # nothing yet: it asks first
    anna.say("ja")  # typed, as the button
    assert "Ingetrokken" in anna.texts()
    with db.transaction() as s:
        iv = s.get(Intervention, iv_id)
        org = s.get(Organisation, iv.organisation_id)
        assert iv.status == "draft"
        assert search.search(s, org, "moestuin") == []
        assert Candidates(s, *day).items == {}  # in no digest
        assert s.exec(select(func.count()).select_from(Measurement)).one() == 1  # kept
        assert s.exec(select(Indicator)).one().next_due_at is None  # no more reminders
        assert s.exec(select(OutboxMessage)).all() == []  # the reminder not yet sent stays unsent
    home = anna.wizard.home(anna.person_id).replies[0]
    assert "(concept," in home.options[0].label
    anna.say("intrekken")  # once more: nothing to withdraw
    assert "niet gepubliceerd" in anna.texts()


def test_a_deleted_draft_leaves_nothing_and_a_published_one_must_be_withdrawn_first(db):
    anna = Chat(db)
    karin = Chat(db, name="Karin", external_id="U_KARIN")
    iv_id = published(db, anna)
    karin.say(f"reageer {iv_id} stap 2: Mooi project")
    with db.transaction() as s:
        ind = s.exec(select(Indicator)).one()
        s.add(
            Measurement(
                indicator_id=ind.id,
                period_start=utcnow().date(),
                period_end=utcnow().date(),
                value=6,
                entered_by=anna.person_id,
            )
        )
    anna.say(f"verwijder beschrijving {iv_id}")
    assert "Trek haar eerst in" in anna.texts()
    anna.say(f"intrekken {iv_id}")
    yes = anna.last[-1].options[0]
    anna.say(action=yes.value)
    anna.say("verwijder beschrijving")
    ask = anna.last[-1]
    assert ask.kind == "confirm" and "kan niet ongedaan" in ask.text
    anna.say("nee")
    with db.transaction() as s:
        assert s.get(Intervention, iv_id) is not None  # "nee" keeps it
    anna.say("verwijder beschrijving")
    anna.say(action=anna.last[-1].options[0].value)
    assert "Verwijderd" in anna.texts() and "error" not in anna.kinds()
    with db.transaction() as s:
        for table in (Intervention, Indicator, Measurement, Comment, Reminder):
            assert s.exec(select(func.count()).select_from(table)).one() == 0, table
    anna.say("mijn")
    assert "Je hebt nog geen beschrijvingen" in anna.texts()
    anna.say(action=yes.value)  # the old button: nothing happens
    assert "eerdere vraag" in anna.texts()


def test_a_web_visitor_leaves_and_the_cookie_lives_a_month(db, make_server):
    server = make_server(web_app(db))
    with Browser(base_url=server.url) as visitor:
        started = visitor.post("/start", data={"name": "Fatima de Vries"})
        cookie = started.headers["set-cookie"]
        assert "Max-Age=2592000" in cookie and "HttpOnly" in cookie  # 30 days, not a year
        visitor.post("/say", data={"text": "nieuw"})
        visitor.post("/say", data={"text": "Buurtmoestuin Zuid"})
        page = visitor.get("/")
        assert "Max-Age=2592000" in page.headers["set-cookie"]  # each visit keeps it a month longer
        assert 'href="/vergeten"' in page.text
        assert "niet ongedaan" in visitor.get("/vergeten").text  # it asks first
        forged = visitor.post("/vergeten", data={"csrf": "x"})
        assert forged.status_code == 403
        left = visitor.post("/vergeten", data={})
        assert left.status_code == 303 and 'wwidw_web=""' in left.headers["set-cookie"]
    with db.transaction() as s:
        assert s.exec(select(Intervention)).all() == []  # her draft went with her
        assert s.exec(select(func.count()).select_from(Person)).one() == 1
        assert s.exec(select(Person)).one().display_name == "(verwijderde gebruiker)"
