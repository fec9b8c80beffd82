"""The reminder engine and the outbox sender, against a real database and the fake Slack Web API.
Time is injected: every pass gets its `now`."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlmodel import select

from bot.monitor import as_utc, reschedule
from bot.schedule import timezone
from handlers.slack.delivery import SlackTransport
from handlers.slack.installations import OneWorkspace
from models import Indicator, Intervention, OutboxMessage, Reminder
from reminders.engine import Engine
from reminders.outbox import OutboxSender
from tests.fakes.slack_api import TOKEN
from tests.monitoring import BASE, published, slack_person

AMS = timezone("Europe/Amsterdam")
ON_29TH = {"remind_day": 29}  # Friday 29 January 2027, 09:00


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


def outbox_ids(calls) -> list[int]:
    return [c.args["metadata"]["event_payload"]["outbox_id"] for c in calls]


def test_a_due_indicator_is_reminded_once_in_the_owners_morning(db, fake_slack, world):
    anna = slack_person(db, "U1", "Anna Jansen")
    _, (ind_id,) = published(db, anna, [{"remind_day": 29, "remind_time": "09:00", "target": 20, "baseline": 5}])
    with db.transaction() as s:
        ind = s.get(Indicator, ind_id)
        due = ind.next_due_at.astimezone(AMS)
    assert (due.date(), due.hour) == (date(2027, 1, 29), 9)  # Friday 29 January, 09:00 in Amsterdam

    assert run(world, due - timedelta(minutes=1)) == 0
    assert fake_slack.posts() == []
    assert run(world, due) == 1
    (post,) = fake_slack.posts()
    assert post.args["channel"] == "U1"
    text = " ".join(str(b) for b in post.args["blocks"])
    assert "Deelnemers" in text and "januari 2027" in text and "Streefwaarde: 20" in text
    labels = [e["text"]["text"] for b in post.args["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert labels == ["Waarde invullen", "Later", "Geen meting deze periode", "Overslaan"]
    # Nothing more at the same moment, nor on a second pass; the next one is February's.
    assert run(world, due + timedelta(minutes=5)) == 0
    assert len(fake_slack.posts()) == 1
    with db.transaction() as s:
        ind = s.get(Indicator, ind_id)
        assert ind.next_period == date(2027, 2, 1)
        # February has no 29th: its last day, a Sunday, so Monday 1 March at 09:00.
        assert ind.next_due_at.astimezone(AMS) == datetime(2027, 3, 1, 9, 0, tzinfo=AMS)


def test_after_downtime_each_missed_period_is_reminded_once(db, fake_slack, world):
    anna = slack_person(db, "U1")
    published(db, anna, [{"frequency": "monthly"}])
    # The engine was down from January to mid-April: January, February and March were missed.
    later = datetime(2027, 4, 14, 10, 0, tzinfo=AMS)
    for offset in range(4):  # passes close together: pacing spreads the messages out
        run(world, later + timedelta(seconds=2 * offset))
    with db.transaction() as s:
        periods = [r.period_start for r in s.exec(select(Reminder).order_by(Reminder.period_start))]
    assert periods == [date(2027, 1, 1), date(2027, 2, 1), date(2027, 3, 1)]
    assert len(fake_slack.posts()) == 3
    assert len(set(outbox_ids(fake_slack.posts()))) == 3


def test_a_429_is_waited_out_and_the_message_delivered_once(db, fake_slack, world):
    anna = slack_person(db, "U1")
    published(db, anna, [ON_29TH])
    due = datetime(2027, 1, 29, 9, 0, tzinfo=AMS)
    fake_slack.fail("chat.postMessage", 429, headers={"Retry-After": "30"})
    run(world, due)
    assert fake_slack.posts() == [] and len(fake_slack.of("chat.postMessage:failed")) == 1
    with db.transaction() as s:
        msg = s.exec(select(OutboxMessage)).one()
        assert (msg.status, msg.error) == ("pending", "ratelimited")
    assert run(world, due + timedelta(seconds=29)) == 0  # Retry-After is honoured
    assert run(world, due + timedelta(seconds=30)) == 1
    assert run(world, due + timedelta(seconds=90)) == 0
    assert len(fake_slack.posts()) == 1


def test_a_rhythm_changed_while_a_reminder_is_due_stops_nobody_elses_reminders(db, fake_slack, world):
    """Monthly becomes quarterly just as February's reminder is due: under the new rhythm that is
    the first quarter, which January's reminder already covers. That one is skipped (January's
    stays open, and is nudged as before); Bram's reminder in the same batch goes out."""
    anna, bram = slack_person(db, "U1"), slack_person(db, "U2")
    iv_anna, (mine,) = published(db, anna, [{"frequency": "monthly"}])
    published(db, bram, [{"frequency": "monthly", "name": "Bezoekers"}], title="Andere")
    with db.transaction() as s:
        january = as_utc(s.get(Indicator, mine).next_due_at)
    run(world, january + timedelta(minutes=1))
    with db.transaction() as s:
        february = max(as_utc(s.get(Indicator, i.id).next_due_at) for i in s.exec(select(Indicator)))
        s.get(Indicator, mine).frequency = "quarterly"
        reschedule(s, s.get(Intervention, iv_anna), february, "Europe/Amsterdam")
    before = len(fake_slack.posts())
    run(world, february + timedelta(seconds=10))
    to_bram = [p for p in fake_slack.posts()[before:] if p.args["channel"] == "U2"]
    assert len(to_bram) == 1 and "Bezoekers" in to_bram[0].args["text"]
    with db.transaction() as s:
        assert len(s.exec(select(Reminder).where(Reminder.indicator_id == mine)).all()) == 1
        assert s.get(Indicator, mine).next_period is not None  # it goes on with the next quarter


def test_a_refused_token_blames_nobody_and_the_message_waits(db, fake_slack, world):
    """Our own token refused (revoked, the app or workspace deactivated): no person is marked
    unreachable, and the message waits for a new token instead of failing at once."""
    from models import Person

    anna = slack_person(db, "U1")
    published(db, anna, [ON_29TH])
    due = datetime(2027, 1, 29, 9, 0, tzinfo=AMS)
    fake_slack.fail("chat.postMessage", 200, body={"ok": False, "error": "account_inactive"})
    run(world, due)
    with db.transaction() as s:
        msg = s.exec(select(OutboxMessage)).one()
        assert (msg.status, msg.error) == ("pending", "account_inactive")
        assert s.get(Person, anna).unreachable_since is None
    assert run(world, due + timedelta(minutes=5)) == 0
    assert run(world, due + timedelta(minutes=10)) == 1
    assert len(fake_slack.posts()) == 1


def test_server_errors_are_retried_with_backoff_and_hopeless_ones_given_up(db, fake_slack, world):
    anna = slack_person(db, "U1")
    bram = slack_person(db, "U2")
    published(db, anna, [ON_29TH])
    published(db, bram, [ON_29TH], title="Klushuizen")
    due = datetime(2027, 1, 29, 9, 0, tzinfo=AMS)
    fake_slack.fail("chat.postMessage", 500, times=2)
    run(world, due)
    assert fake_slack.posts() == []
    for seconds in (5, 20, 60):
        run(world, due + timedelta(seconds=seconds))
    assert sorted(c.args["channel"] for c in fake_slack.posts()) == ["U1", "U2"]
    # A channel Slack does not know fails for good, without holding up the others.
    before = fake_slack.last_seq
    fake_slack.fail("chat.postMessage", 200, body={"ok": False, "error": "channel_not_found"})
    for seconds in range(4):
        run(world, datetime(2027, 3, 1, 9, 0, seconds, tzinfo=AMS))
    with db.transaction() as s:
        failed = s.exec(select(OutboxMessage).where(OutboxMessage.status == "failed")).one()
        assert failed.error == "channel_not_found"
        assert (
            s.exec(select(OutboxMessage).where(OutboxMessage.status != "sent", OutboxMessage.id != failed.id)).all()
            == []
        )
    february = [c for c in fake_slack.posts(after=before) if "februari 2027" in c.args["text"]]
    assert [c.args["channel"] for c in february] == ["U2" if failed.channel == "U1" else "U1"]


def test_one_message_per_second_per_channel(db, fake_slack, world):
    anna = slack_person(db, "U1")
    published(db, anna, [{**ON_29TH, "name": f"Indicator {n}"} for n in range(3)])
    due = datetime(2027, 1, 29, 9, 0, tzinfo=AMS)
    engine, sender = world
    engine.run(due)
    assert sender.run_once(due) == 1  # one per channel per pass …
    assert sender.run_once(due) == 0  # … and the next one waits a second
    assert sender.run_once(due + timedelta(seconds=1)) == 1
    assert len(fake_slack.posts()) == 2


def test_a_message_of_several_slack_messages_sends_each_once_around_a_429(db, fake_slack, world):
    """A retry goes on from the part that did not arrive; a sender that died after all parts
    arrived is not repeated either."""
    from bot.messages import enqueue
    from bot.replies import Reply
    from models import Person

    anna = slack_person(db, "U1")
    due = datetime(2027, 1, 29, 9, 0, tzinfo=AMS)
    lines = [Reply(title=f"Regel {n}", text="x" * 200) for n in range(80)]
    with db.transaction() as s:
        enqueue(s, s.get(Person, anna), "lang", lines, "nl", due)

    def busy_after_the_first(call):
        if call.method == "chat.postMessage" and len(fake_slack.posts()) == 1:
            fake_slack.fail("chat.postMessage", 429, headers={"Retry-After": "5"})

    fake_slack.listener = busy_after_the_first
    run(world, due)
    with db.transaction() as s:
        assert s.exec(select(OutboxMessage.parts_sent, OutboxMessage.status)).one() == (1, "pending")
    run(world, due + timedelta(seconds=5))
    posts = fake_slack.posts()
    assert len(posts) >= 2 and [p.args["metadata"]["event_payload"]["part"] for p in posts] == list(range(len(posts)))
    shown = " ".join(str(p.args["blocks"]) for p in posts)
    assert all(shown.count(f"Regel {n}*") == 1 for n in range(80))
    with db.transaction() as s:
        msg = s.exec(select(OutboxMessage)).one()
        assert (msg.status, msg.external_ref) == ("sent", posts[0].result["ts"])


def test_a_sender_that_died_mid_send_is_not_repeated(db, fake_slack, world):
    """The message reached Slack but the sender died before recording it: after its lease the
    next sender finds it in the DM's history (by its metadata) instead of sending it again."""
    anna = slack_person(db, "U1")
    published(db, anna, [ON_29TH])
    engine, sender = world
    due = datetime(2027, 1, 29, 9, 0, tzinfo=AMS)
    engine.run(due)
    (claimed,) = sender.claim(due)
    sender.transports["slack"].deliver(claimed)  # … and then the process is gone
    assert len(fake_slack.posts()) == 1
    assert sender.run_once(due + timedelta(seconds=60)) == 0  # still leased
    assert sender.run_once(due + timedelta(seconds=121)) == 1
    assert len(fake_slack.posts()) == 1
    assert len(fake_slack.of("conversations.history")) == 1
    with db.transaction() as s:
        msg = s.exec(select(OutboxMessage)).one()
        assert msg.status == "sent" and msg.external_ref == fake_slack.posts()[0].result["ts"]
    # Whereas a claim that never reached Slack is sent after the lease.
    engine.run(datetime(2027, 3, 1, 9, 0, tzinfo=AMS))
    sender.claim(datetime(2027, 3, 1, 9, 0, tzinfo=AMS))
    assert sender.run_once(datetime(2027, 3, 1, 9, 3, tzinfo=AMS)) == 1
    assert len(fake_slack.posts()) == 2


def test_nudge_after_two_working_days_then_the_co_owner_hears(db, fake_slack, world):
    anna = slack_person(db, "U1", "Anna Jansen")
    slack_person(db, "U2", "Bram de Boer")
    published(db, anna, [{"owner": "ik, Bram de Boer", "remind_day": 27}])
    due = datetime(2027, 1, 27, 9, 0, tzinfo=AMS)  # Wednesday
    run(world, due)
    assert [c.args["channel"] for c in fake_slack.posts()] == ["U1"]
    run(world, datetime(2027, 1, 29, 8, 59, tzinfo=AMS))
    assert len(fake_slack.posts()) == 1  # not before two working days
    run(world, datetime(2027, 1, 29, 9, 0, tzinfo=AMS))
    nudge = fake_slack.posts()[-1]
    assert nudge.args["channel"] == "U1" and "Geheugensteuntje" in str(nudge.args["blocks"])
    # Two working days after the nudge (a weekend in between), and the period over: Bram is told.
    run(world, datetime(2027, 2, 2, 8, 59, tzinfo=AMS))
    assert len(fake_slack.posts()) == 2
    run(world, datetime(2027, 2, 2, 9, 0, tzinfo=AMS))
    escalation = fake_slack.posts()[-1]
    assert escalation.args["channel"] == "U2"
    assert "Anna Jansen heeft Deelnemers over januari 2027 nog niet ingevuld" in str(escalation.args["blocks"])
    run(world, datetime(2027, 2, 10, 9, 0, tzinfo=AMS))
    assert len(fake_slack.posts()) == 3  # and then nothing more about January


def test_no_reminders_for_drafts_or_after_the_end(db, fake_slack, world):
    anna = slack_person(db, "U1")
    published(db, anna, [{}], end_date=date(2027, 2, 15))
    draft_id, _ = published(db, anna, [{}], title="Concept")
    with db.transaction() as s:
        draft = s.get(Intervention, draft_id)
        draft.status = "draft"
        reschedule(s, draft, BASE, "Europe/Amsterdam")
    run(world, datetime(2027, 6, 1, 9, 0, tzinfo=AMS))
    with db.transaction() as s:
        periods = [(r.indicator_id, r.period_start) for r in s.exec(select(Reminder).order_by(Reminder.period_start))]
        assert [i.next_due_at for i in s.exec(select(Indicator))] == [None, None]
    # January and February (the project ends mid-February); nothing for the draft.
    assert [p for _, p in periods] == [date(2027, 1, 1), date(2027, 2, 1)]
    assert len({i for i, _ in periods}) == 1
