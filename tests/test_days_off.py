"""Days off: public holidays and a person's announced absence, in the reminder engine (time
injected, against a real database and the fake Slack Web API) and typed in the chat."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import select

from bot.absence import replan_person
from bot.formatting import language
from bot.monitor import as_utc
from bot.replies import Turn
from bot.schedule import timezone
from bot.wizard import Wizard
from handlers.slack.delivery import SlackTransport
from handlers.slack.installations import OneWorkspace
from models import Indicator, Person, Reminder
from models.tables import utcnow
from reminders.engine import Engine
from reminders.outbox import OutboxSender
from tests.fakes.slack_api import TOKEN
from tests.helpers import Chat
from tests.monitoring import BASE, published, slack_person
from tests.slack_driver import texts

AMS = timezone("Europe/Amsterdam")
WITH_BRAM = {"owner": "ik, Bram de Boer", "remind_day": 27}  # Wednesday 27 January 2027, 09:00


@pytest.fixture
def world(db, fake_slack):
    engine = Engine(db)
    sender = OutboxSender(db, {"slack": SlackTransport(OneWorkspace(TOKEN), fake_slack.url)}, workers=4)
    yield engine, sender
    sender.close()


def run(world, now: datetime) -> int:
    engine, sender = world
    engine.run(now)
    return sender.drain(now)


def at(month: int, day: int, hour: int = 9, minute: int = 0, year: int = 2027) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=AMS)


def away(db, person_id: int, until: date | None, now: datetime) -> None:
    """What `afwezig tot …` stores (the chat test below types it)."""
    with db.transaction() as s:
        person = s.get(Person, person_id)
        person.away_until = until
        replan_person(s, person, now, "Europe/Amsterdam")


def channels(fake_slack) -> list[str]:
    return [p.args["channel"] for p in fake_slack.posts()]


# --- public holidays ---------------------------------------------------------------------------


def test_a_reminder_due_on_koningsdag_comes_the_next_working_day(db, fake_slack, world):
    anna = slack_person(db, "U1")
    _, (ind_id,) = published(
        db, anna, [{"remind_day": 27}], now=datetime(2027, 4, 1, 10, tzinfo=UTC), start_date=date(2027, 4, 1)
    )
    run(world, at(4, 27))  # Tuesday 27 April 2027: Koningsdag
    assert fake_slack.posts() == []
    run(world, at(4, 28))
    assert channels(fake_slack) == ["U1"] and "april 2027" in fake_slack.posts()[0].args["text"]


def test_nudges_and_escalations_do_not_count_christmas_or_new_year(db, fake_slack, world):
    anna = slack_person(db, "U1", "Anna Jansen")
    slack_person(db, "U2", "Bram de Boer")
    december = datetime(2026, 12, 1, 10, tzinfo=UTC)
    published(db, anna, [{**WITH_BRAM, "remind_day": 24}], now=december, start_date=date(2026, 12, 1))
    run(world, at(12, 24, year=2026))  # Thursday, Christmas Eve
    assert channels(fake_slack) == ["U1"]
    # Two working days: not Friday 25 (Christmas) and Monday 28, but Monday 28 and Tuesday 29.
    run(world, at(12, 28, year=2026))
    assert len(fake_slack.posts()) == 1
    run(world, at(12, 29, year=2026))
    assert channels(fake_slack) == ["U1", "U1"]
    # The period is over on 31 December; Bram hears on the first working day after, not on New Year's Day.
    run(world, at(1, 1, 8))
    assert len(fake_slack.posts()) == 2
    run(world, at(1, 4, 8))
    assert channels(fake_slack) == ["U1", "U1", "U2"]


# --- an absence -----------------------------------------------------------------------------------


def test_while_away_nothing_comes_and_nothing_is_missed_then_reminders_resume(db, fake_slack, world):
    anna = slack_person(db, "U1", "Anna Jansen")
    slack_person(db, "U2", "Bram de Boer")
    _, (ind_id,) = published(db, anna, [WITH_BRAM])
    away(db, anna, date(2027, 2, 5), BASE)  # up to and including Friday 5 February
    with db.transaction() as s:
        assert as_utc(s.get(Indicator, ind_id).next_due_at).astimezone(AMS) == at(2, 8)
    for moment in [at(1, day) for day in (27, 28, 29)] + [at(2, day, 17) for day in range(1, 6)]:
        run(world, moment)
    assert fake_slack.posts() == []  # no reminder, so no nudge, and Bram hears nothing
    with db.transaction() as s:
        assert s.exec(select(Reminder)).all() == []
    # Back on Monday: January's reminder, then the nudge two working days later, then Bram.
    run(world, at(2, 8))
    assert channels(fake_slack) == ["U1"] and "januari 2027" in fake_slack.posts()[0].args["text"]
    run(world, at(2, 10, 8, 59))
    assert len(fake_slack.posts()) == 1
    run(world, at(2, 10))
    assert channels(fake_slack) == ["U1", "U1"] and "Geheugensteuntje" in str(fake_slack.posts()[1].args["blocks"])
    run(world, at(2, 12))
    assert channels(fake_slack) == ["U1", "U1", "U2"]
    run(world, at(3, 1))  # and February's reminder as always, on Monday 1 March (the 27th is a Saturday)
    assert channels(fake_slack) == ["U1", "U1", "U2", "U1"]


def test_an_absence_announced_after_the_reminder_holds_its_nudge_and_escalation(db, fake_slack, world):
    anna = slack_person(db, "U1", "Anna Jansen")
    slack_person(db, "U2", "Bram de Boer")
    published(db, anna, [WITH_BRAM])
    run(world, at(1, 27))
    assert channels(fake_slack) == ["U1"]
    away(db, anna, date(2027, 2, 5), at(1, 28, 10))  # planned nudge: 29 Jan; escalation: 2 Feb
    for moment in (at(1, 29), at(2, 2), at(2, 5), at(2, 8)):
        run(world, moment)
    assert len(fake_slack.posts()) == 1
    # The days away are no working days: the nudge comes on the second day back, then Bram.
    run(world, at(2, 9))
    assert channels(fake_slack) == ["U1", "U1"]
    run(world, at(2, 11))
    assert channels(fake_slack) == ["U1", "U1", "U2"]


def test_a_co_owner_who_is_away_hears_when_back(db, fake_slack, world):
    anna = slack_person(db, "U1", "Anna Jansen")
    bram = slack_person(db, "U2", "Bram de Boer")
    published(db, anna, [WITH_BRAM])
    away(db, bram, date(2027, 2, 12), BASE)
    for moment in (at(1, 27), at(1, 29), at(2, 2), at(2, 12)):
        run(world, moment)
    assert channels(fake_slack) == ["U1", "U1"]  # the reminder and the nudge; Bram is away
    run(world, at(2, 15, 8))  # Monday, when Bram's working day starts
    assert channels(fake_slack) == ["U1", "U1", "U2"]
    assert "Anna Jansen heeft Deelnemers over januari 2027 nog niet ingevuld" in texts(fake_slack.posts()[-1].args)


def test_ending_an_absence_early_sends_what_was_held_at_once(db, fake_slack, world):
    anna = slack_person(db, "U1")
    published(db, anna, [WITH_BRAM])
    away(db, anna, date(2027, 2, 26), BASE)
    run(world, at(2, 3))
    assert fake_slack.posts() == []
    away(db, anna, None, at(2, 3, 10))  # "weer aanwezig" on Wednesday 3 February
    run(world, at(2, 3, 10, 1))
    assert channels(fake_slack) == ["U1"] and "januari 2027" in fake_slack.posts()[0].args["text"]


def test_ending_an_absence_early_brings_the_held_nudge_and_escalation_back(db, fake_slack, world):
    anna = slack_person(db, "U1", "Anna Jansen")
    slack_person(db, "U2", "Bram de Boer")
    published(db, anna, [WITH_BRAM])
    run(world, at(1, 27))
    away(db, anna, date(2027, 2, 26), at(1, 28, 10))
    run(world, at(1, 29))  # the nudge waits for the end of February
    assert channels(fake_slack) == ["U1"]
    away(db, anna, None, at(2, 3, 10))  # back early, on Wednesday 3 February
    run(world, at(2, 3, 10, 1))
    assert channels(fake_slack) == ["U1", "U1"] and "Geheugensteuntje" in str(fake_slack.posts()[1].args["blocks"])
    run(world, at(2, 5, 10, 1))  # two working days after the nudge: Bram
    assert channels(fake_slack) == ["U1", "U1", "U2"]


def test_a_colleague_back_early_hears_the_escalation_that_waited_for_them(db, fake_slack, world):
    anna = slack_person(db, "U1", "Anna Jansen")
    bram = slack_person(db, "U2", "Bram de Boer")
    published(db, anna, [WITH_BRAM])
    away(db, bram, date(2027, 2, 26), BASE)
    for moment in (at(1, 27), at(1, 29), at(2, 2)):
        run(world, moment)
    assert channels(fake_slack) == ["U1", "U1"]  # the escalation waits for Bram, until March
    away(db, bram, None, at(2, 3, 10))
    run(world, at(2, 3, 10, 1))
    assert channels(fake_slack) == ["U1", "U1", "U2"]


def test_a_snoozed_reminder_is_nudged_counting_from_when_it_came_again(db, fake_slack, world):
    anna = slack_person(db, "U1", "Anna Jansen")
    slack_person(db, "U2", "Bram de Boer")
    published(db, anna, [WITH_BRAM])
    run(world, at(1, 27))
    with db.transaction() as s:
        (reminder_id,) = s.exec(select(Reminder.id)).all()
    Wizard(db).handle(anna, Turn(action=f"rem:later:{reminder_id}"))  # "Later": it comes again
    run(world, at(1, 28))  # on Thursday: its nudge two working days on, Monday
    away(db, anna, date(2027, 2, 26), at(1, 28, 10))
    away(db, anna, None, at(1, 28, 11))  # days off announced and taken back: nothing moves earlier
    run(world, at(1, 29, 10))
    assert channels(fake_slack) == ["U1", "U1"]
    run(world, at(2, 1, 10))
    assert channels(fake_slack) == ["U1", "U1", "U1"]
    assert "Geheugensteuntje" in str(fake_slack.posts()[2].args["blocks"])


# --- typed in the chat ------------------------------------------------------------------------------


def long_nl(day: date) -> str:
    return f"{day.day} {language('nl').months[day.month]} {day.year}"


def stored(db, person_id: int) -> date | None:
    with db.transaction() as s:
        return s.get(Person, person_id).away_until


def next_due(db, ind_id: int) -> datetime:
    with db.transaction() as s:
        return as_utc(s.get(Indicator, ind_id).next_due_at)


def test_away_until_typed_in_the_chat(db):
    chat = Chat(db)
    chat.say("hallo")
    today = utcnow().astimezone(AMS).date()
    _, (ind_id,) = published(db, chat.person_id, [{"frequency": "weekly"}], now=utcnow(), start_date=today)
    planned = next_due(db, ind_id)
    assert "'afwezig tot 12 januari'" in chat.say("help")[-1].text  # listed with the other commands

    until = today + timedelta(days=10)
    reply = chat.say(f"afwezig tot {until.day}-{until.month}")[-1]
    assert reply.kind == "info"
    assert f"Je bent afwezig tot en met {long_nl(until)}. Tot dan krijg je geen herinneringen" in reply.text
    assert stored(db, chat.person_id) == until
    assert next_due(db, ind_id).astimezone(AMS).date() > until  # this week's reminder waits
    note = f"Afwezig tot en met {long_nl(until)}"
    assert note in chat.say("werktijden")[-1].note  # shown where a person's settings are
    assert note in chat.say("indicatoren")[-1].note
    assert f"tot en met {long_nl(until)}" in chat.say("afwezig")[-1].text

    later = until + timedelta(days=1)
    for typed in (
        f"afwezig t/m {later:%d-%m-%Y}",
        f"Afwezig tot en met {later.day} {language('nl').months[later.month]}",
        f"away until {later.day} {language('en').months[later.month]}",
    ):
        assert long_nl(later) in chat.say(typed)[-1].text
        assert stored(db, chat.person_id) == later

    # Ending it early: the reminder comes as planned again.
    assert "Welkom terug" in chat.say("weer aanwezig")[-1].text
    assert stored(db, chat.person_id) is None and next_due(db, ind_id) == planned
    assert "niet als afwezig genoteerd" in chat.say("weer aanwezig")[-1].text

    # What cannot be an absence is answered kindly and changes nothing.
    past = today - timedelta(days=3)
    far = today + timedelta(days=400)
    for typed, expected in (
        (f"afwezig tot {past:%d-%m-%Y}", f"{long_nl(past)} is al voorbij"),
        (f"afwezig tot {far:%d-%m-%Y}", "hoogstens een jaar"),
        ("afwezig tot ooit", "Die datum begrijp ik niet"),
        ("afwezig tot 31-2", "Die datum begrijp ik niet"),
    ):
        reply = chat.say(typed)[-1]
        assert reply.kind == "error" and expected in reply.text, typed
    assert stored(db, chat.person_id) is None


def test_away_in_english(db):
    chat = Chat(db)
    chat.say("language en")
    until = utcnow().astimezone(AMS).date() + timedelta(days=20)
    reply = chat.say(f"away until {until:%d-%m-%Y}")[-1]
    english = f"{until.day} {language('en').months[until.month]} {until.year}"
    assert f"You are away up to and including {english}. Until then you get no reminders" in reply.text
    assert "Welcome back" in chat.say("back in office")[-1].text


def test_away_by_slash_command_in_slack(slack, db, fake_slack):
    anna = slack.user("U1")
    until = utcnow().astimezone(AMS).date() + timedelta(days=5)
    assert anna.command(f"afwezig tot {until:%d-%m-%Y}", channel="DU1").status_code == 200
    reply = fake_slack.wait_for("chat.postMessage", channel="U1")[-1].args
    assert f"Je bent afwezig tot en met {long_nl(until)}" in texts(reply)
    anna.command("weer aanwezig", channel="DU1")
    assert "Welkom terug" in texts(fake_slack.wait_for("chat.postMessage", channel="U1", count=2)[-1].args)
