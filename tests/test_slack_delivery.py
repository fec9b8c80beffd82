"""Every reply the bot owes in Slack arrives, once and in order, however Slack fails.

The answering process makes the first try at once; what it cannot deliver, the outbox sender
(the same one `wwidw worker` and `wwidw serve` run) delivers later, driven here with a clock an
hour ahead so its back-off passes without waiting.
"""

import threading
import time
from datetime import timedelta

import pytest
from sqlmodel import select

from models import Intervention, OutboxMessage
from models.tables import utcnow
from tests.slack_driver import texts


def send(user, text: str) -> None:
    """A DM to the bot, without waiting for its answer (Slack may be down)."""
    response = user.sender.event(
        {"type": "message", "channel_type": "im", "channel": user.dm, "user": user.user, "text": text,
         "ts": f"{time.time():.6f}", "team": user.team}
    )  # fmt: skip
    assert response.status_code == 200


def first_try_done(db, fake_slack, before: int) -> None:
    """Wait until the answering process tried to post and wrote down how it went."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with db.transaction() as s:
            rows = s.exec(select(OutboxMessage).where(OutboxMessage.dedupe_key.like("reply:%"))).all()
            # A reply still held by its first try carries the answering process's lease (half a minute).
            held = [r for r in rows if r.status == "sending" and r.lease_until > utcnow() + timedelta(seconds=20)]
        tried = fake_slack.of("chat.postMessage", after=before) or fake_slack.of(
            "chat.postMessage:failed", after=before
        )
        if tried and not held:
            return
        time.sleep(0.02)
    raise AssertionError("the first try did not finish")


def later(slack, minutes: int = 30) -> None:
    """The outbox sender's passes over the next `minutes`, a minute apart."""
    start = utcnow() + timedelta(hours=1)
    for minute in range(minutes):
        slack.core.outbox.drain(now=start + timedelta(minutes=minute))


def delivered(fake_slack, before: int) -> list[dict]:
    return [c.args for c in fake_slack.of("chat.postMessage", after=before, channel="DU1")]


def test_every_question_arrives_once_and_in_order_while_slack_fails(slack, db, fake_slack):
    anna = slack.user("U1")
    anna.say("nieuw")
    storms = [
        ("Titel na een 502", dict(status=502), "In welke wijk"),
        ("Wijk na een 500 terwijl Slack wel plaatste", dict(status=500, done=True), "In welke gemeente"),
        ("Gemeente tijdens een storing", dict(status=503, times=5), "partnerorganisaties"),
        (
            "gemeente Amersfoort",
            dict(status=200, body={"ok": False, "error": "fatal_error"}, done=True),
            "Wanneer start",
        ),
        ("1-3-2027", dict(status=429, headers={"Retry-After": "1"}, times=2), "Wanneer eindigt"),
    ]
    for text, failure, question in storms:
        before = fake_slack.last_seq
        fake_slack.fail("chat.postMessage", **failure)
        send(anna, text)
        first_try_done(db, fake_slack, before)
        later(slack)
        posts = delivered(fake_slack, before)
        assert len(posts) == 1, (text, [texts(p) for p in posts])  # once: a post Slack made is looked up, not repeated
        assert question in texts(posts[0]), (text, texts(posts[0]))
        assert not fake_slack.failures.get("chat.postMessage")
    with db.transaction() as s:
        iv = s.exec(select(Intervention)).one()
        assert (iv.title, iv.neighbourhood, iv.municipality) == (
            "Titel na een 502",
            "Wijk na een 500 terwijl Slack wel plaatste",
            "Gemeente tijdens een storing",
        )
        rows = s.exec(select(OutboxMessage)).all()
        assert {r.status for r in rows} == {"sent"}


def test_replies_written_while_slack_is_down_arrive_in_the_order_they_were_given(slack, db, fake_slack):
    anna = slack.user("U1")
    anna.say("nieuw")
    before = fake_slack.last_seq
    fake_slack.fail("chat.postMessage", 503, times=3)
    send(anna, "Titel tijdens een storing")
    first_try_done(db, fake_slack, before)
    # The next message waits behind the undelivered one (a few seconds), then is left to the sender.
    send(anna, "Kruiskamp")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with db.transaction() as s:
            statuses = [r.status for r in s.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all()]
        if len(statuses) == 3 and statuses[2] == "pending":
            break
        time.sleep(0.05)
    assert statuses[1:] == ["sending", "pending"], statuses  # the first waits out its back-off, unsure
    assert len(fake_slack.of("chat.postMessage:failed", after=before)) == 1  # the second was not tried early
    later(slack)
    posts = delivered(fake_slack, before)
    assert [("In welke wijk" in texts(p), "In welke gemeente" in texts(p)) for p in posts] == [
        (True, False),
        (False, True),
    ]


def test_a_reply_whose_process_died_before_its_first_try_is_delivered_by_the_sender(slack, db, fake_slack):
    from bot.messages import ReplyTo, owe_replies
    from bot.replies import Reply

    anna = slack.user("U1")
    anna.say("hallo")
    with db.transaction() as s:  # what a turn writes, by a process that dies before it posts
        person_id = s.exec(select(OutboxMessage.person_id)).first()
        owe_replies(s, ReplyTo("slack", "T1", "DU1"), person_id, [Reply(text="Waar waren we gebleven?")], "nl")
    before = fake_slack.last_seq
    slack.core.outbox.drain()  # the answering process still holds it: nobody else takes it
    assert delivered(fake_slack, before) == []
    later(slack)  # its lease ran out: looked up (not there), then sent
    posts = delivered(fake_slack, before)
    assert len(posts) == 1 and "Waar waren we gebleven?" in texts(posts[0])
    assert fake_slack.of("conversations.history", after=before)


def test_delivered_replies_leave_the_outbox_after_two_days_and_reminders_stay(slack, db, fake_slack):
    from bot.messages import enqueue
    from bot.replies import Reply
    from models import Person
    from reminders.outbox import forget_old_replies

    anna = slack.user("U1")
    anna.say("nieuw")
    fake_slack.fail("chat.postMessage", 503)
    before = fake_slack.last_seq
    send(anna, "Titel die nog wacht")
    first_try_done(db, fake_slack, before)
    with db.transaction() as s:
        enqueue(s, s.exec(select(Person)).one(), "reminder:1", [Reply(text="Je meting")], "nl", utcnow())
        for row in s.exec(select(OutboxMessage)):
            row.created_at = utcnow() - timedelta(days=3)
    assert forget_old_replies(db, utcnow()) == 1  # "nieuw"'s delivered reply
    with db.transaction() as s:
        left = sorted((r.dedupe_key.split(":")[0], r.status) for r in s.exec(select(OutboxMessage)))
    assert left == [("reminder", "pending"), ("reply", "sending")]  # the one still owed stays


def test_an_answer_given_while_the_reply_before_is_still_being_posted_gets_its_reply_after_it(slack, db, fake_slack):
    """People answer the instant a question appears, before Slack's answer to that post is back."""
    anna = slack.user("U1")
    anna.say("nieuw")
    before = fake_slack.last_seq
    slow = {"left": 1}

    def slow_answer(call):
        if call.method == "chat.postMessage" and slow["left"]:
            slow["left"] -= 1
            time.sleep(0.5)  # posted, but the answering process does not know yet

    fake_slack.listener = slow_answer
    send(anna, "Titel")
    fake_slack.wait_for("chat.postMessage", after=before, channel="DU1")
    send(anna, "Kruiskamp")  # while the first try of the reply before is under way
    fake_slack.wait_for("chat.postMessage", after=before, count=2, channel="DU1")
    posts = delivered(fake_slack, before)
    assert ["In welke wijk" in texts(p) for p in posts] == [True, False] and "In welke gemeente" in texts(posts[1])
    first_try_done(db, fake_slack, before)
    with db.transaction() as s:  # both by their first tries, no sender needed
        assert {r.status for r in s.exec(select(OutboxMessage))} == {"sent"}


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_delivery_is_recorded_when_the_database_restarted_while_it_was_posted(slack, db, fake_slack):
    """The connection that records the delivery was used a moment ago (so not pinged) and closed
    by the restart meanwhile: the record is written on a new one, and nothing is posted twice."""
    from tests.test_cli_and_storage import terminate_connections

    anna = slack.user("U1")
    anna.say("nieuw")
    before = fake_slack.last_seq
    restarted = threading.Event()

    def restart(call):
        if call.method == "chat.postMessage" and not restarted.is_set():
            terminate_connections(db.url)
            restarted.set()

    fake_slack.listener = restart
    send(anna, "Titel tijdens een herstart")
    assert restarted.wait(10)
    db.dispose()  # this test's own connections were closed too
    first_try_done(db, fake_slack, before)
    with db.transaction() as s:
        assert {r.status for r in s.exec(select(OutboxMessage)).all()} == {"sent"}
    assert len(delivered(fake_slack, before)) == 1
