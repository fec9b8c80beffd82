"""An engine replica in its own process, on a simulated clock, for the multi-process tests:

    python -m tests.engine_process DATABASE_URL SLACK_API_URL START_ISO

It runs the engine and the sender until nothing is left to send, moving its clock one second
whenever it has to wait (for pacing or a retry)."""

from __future__ import annotations

import sys
from datetime import datetime, timedelta

from sqlalchemy import func, select

from handlers.slack.delivery import SlackTransport
from handlers.slack.installations import OneWorkspace
from models import OutboxMessage
from models.db import Database
from reminders.engine import Engine
from reminders.outbox import OutboxSender
from tests.fakes.slack_api import TOKEN


def main(url: str, slack_url: str, start: str) -> int:
    db = Database(url)
    engine = Engine(db, batch=100)
    sender = OutboxSender(db, {"slack": SlackTransport(OneWorkspace(TOKEN), slack_url)}, batch=100, workers=8)
    now = datetime.fromisoformat(start)
    idle = 0
    while idle < 300:
        engine.run(now)
        if sender.run_once(now):
            idle = 0
            continue
        with db.transaction() as s:
            waiting = s.exec(
                select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status.in_(("pending", "sending")))
            ).one()[0]
        if not waiting:
            break
        idle += 1
        now += timedelta(seconds=1)
    sender.close()
    db.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
