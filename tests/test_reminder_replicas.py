"""Replicas: engine processes sharing one database deliver every reminder exactly once, also when
one of them is killed in the middle of a batch."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest
from sqlmodel import select

from bot.schedule import timezone
from models import Person, Reminder
from tests.fakes.slack_api import FakeSlack
from tests.monitoring import published, slack_person

ROOT = Path(__file__).resolve().parent.parent
DUE = datetime(2027, 1, 29, 9, 0, tzinfo=timezone("Europe/Amsterdam"))


def many_due(db, people: int, each: int) -> None:
    for n in range(people):
        person_id = slack_person(db, f"U{n:05d}")
        published(
            db, person_id, [{"name": f"Indicator {i}", "remind_day": 29} for i in range(each)], title=f"Project {n}"
        )


def replica(db_url: str, slack: FakeSlack, start: datetime = DUE) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.engine_process", db_url, slack.url, start.isoformat()],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def delivered(slack: FakeSlack) -> Counter:
    return Counter(c.args["metadata"]["event_payload"]["outbox_id"] for c in slack.posts())


@pytest.fixture
def slack_api():
    fake = FakeSlack()
    yield fake
    fake.stop()


def test_two_replicas_share_a_thousand_reminders_each_delivered_once(pg_database, slack_api):
    from models.db import Database
    from tests.conftest import _truncate_all

    _truncate_all(pg_database)
    db = Database(pg_database)
    many_due(db, people=200, each=5)
    first, second = replica(pg_database, slack_api), replica(pg_database, slack_api)
    assert first.wait(timeout=300) == 0 and second.wait(timeout=300) == 0
    counts = delivered(slack_api)
    assert len(counts) == 1000 and set(counts.values()) == {1}
    with db.transaction() as s:
        assert len(s.exec(select(Reminder)).all()) == 1000
        assert len(s.exec(select(Person)).all()) == 200
    # Both replicas did part of the work.
    senders = Counter(c.args["metadata"]["event_payload"]["outbox_id"] % 2 for c in slack_api.posts())
    assert len(senders) == 2
    db.dispose()


def test_a_replica_killed_mid_batch_loses_and_doubles_nothing(db, slack_api):
    many_due(db, people=60, each=5)
    killed = threading.Event()
    victim: list[subprocess.Popen] = []

    def kill_on_the_100th(call):
        # Slack has the message; the replica dies before it hears so (or records it).
        if call.method == "chat.postMessage" and len(slack_api.posts()) == 100 and not killed.is_set():
            killed.set()
            os.kill(victim[0].pid, signal.SIGKILL)

    slack_api.listener = kill_on_the_100th
    victim.append(replica(db.url, slack_api))
    assert victim[0].wait(timeout=300) == -signal.SIGKILL
    assert len(delivered(slack_api)) < 300
    # A new replica, once the dead one's leases have run out (two minutes on its clock).
    after = DUE.replace(minute=5)
    assert replica(db.url, slack_api, after).wait(timeout=300) == 0
    counts = delivered(slack_api)
    assert len(counts) == 300 and set(counts.values()) == {1}
    with db.transaction() as s:
        assert len(s.exec(select(Reminder)).all()) == 300


def test_a_conversation_another_replica_made_meanwhile_is_kept(db):
    """Two replicas can claim indicators of one person in different batches: each reads that
    the person has no conversation yet, and both write one. The second must not fail."""
    from models import Conversation
    from reminders.engine import Engine, await_answers

    person = slack_person(db, "U1")
    published(db, person, [{"name": "A", "remind_day": 29}, {"name": "B", "remind_day": 29}])
    Engine(db, batch=1).run(DUE)
    with db.transaction() as s:
        first, latest = s.exec(select(Reminder.id).order_by(Reminder.id)).all()
        assert s.exec(select(Conversation.reminder_id)).all() == [latest]
    with db.transaction() as s:  # the other replica's view was taken before the row existed
        await_answers(s.connection(), {person: first}, set(), DUE)
    with db.transaction() as s:
        assert s.exec(select(Conversation.person_id, Conversation.reminder_id)).all() == [(person, first)]
