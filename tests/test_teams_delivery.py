"""A Teams reply the connector refuses is delivered later by the outbox sender, once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import select

from models import Intervention
from tests.teams_driver import texts


def test_a_reply_the_connector_refuses_arrives_once_later(db, teams):
    anna = teams.user()
    anna.say("nieuw")
    teams.connector.fail("send", 502)
    assert anna.say("Buurtmoestuin Kruiskamp") == []  # the answer is stored, the question not yet there
    before = teams.connector.last_seq
    teams.core.outbox.drain(datetime.now(UTC) + timedelta(hours=1))  # the senders' next passes
    teams.core.outbox.drain(datetime.now(UTC) + timedelta(hours=2))
    cards = [c.body for c in teams.connector.activities_sent(after=before) if c.conversation_id == anna.chat]
    assert len(cards) == 1 and "In welke wijk" in texts(cards)
    with db.transaction() as s:
        assert s.exec(select(Intervention)).one().title == "Buurtmoestuin Kruiskamp"
