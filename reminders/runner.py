"""Running the reminder engine and the outbox sender on a timer, in every replica.

APScheduler runs two interval jobs in background threads: the engine (what is due) and the
sender (what is waiting). Neither keeps state of its own: every replica may run them, and the
database makes sure each reminder and each message is handled once.
"""

from __future__ import annotations

import logging

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from bot.settings import Settings
from models.db import Database
from reminders.engine import Engine
from reminders.outbox import OutboxSender, Transport

log = logging.getLogger("wwidw.reminders")
ENGINE_EVERY = 30  # seconds; a reminder is at most this late
SENDER_EVERY = 1


def transports(settings: Settings, db: Database) -> dict[str, Transport]:
    from handlers.web.delivery import WebTransport

    found: dict[str, Transport] = {"web": WebTransport(db)}
    if settings.slack_enabled:
        from handlers.slack.delivery import SlackTransport

        found["slack"] = SlackTransport(settings.slack_bot_token.get_secret_value(), settings.slack_api_url)
    return found


class Reminders:
    def __init__(self, settings: Settings, db: Database, blocking: bool = False):
        self.engine = Engine(db, settings.wwidw_timezone, settings.wwidw_locale)
        self.sender = OutboxSender(db, transports(settings, db), on_unreachable=self.engine.unreachable)
        self.scheduler = (BlockingScheduler if blocking else BackgroundScheduler)(timezone="UTC")
        self.scheduler.add_job(self.run_engine, "interval", seconds=ENGINE_EVERY, max_instances=1, coalesce=True)
        self.scheduler.add_job(self.run_sender, "interval", seconds=SENDER_EVERY, max_instances=1, coalesce=True)

    def run_engine(self) -> None:
        try:
            done = self.engine.run()
            if done:
                log.info("reminder engine: %d reminders and follow-ups queued", done)
        except Exception:
            log.exception("reminder engine pass failed; the next pass retries")

    def run_sender(self) -> None:
        try:
            self.sender.drain(passes=50)
        except Exception:
            log.exception("outbox pass failed; the next pass retries")

    def start(self) -> None:
        self.run_engine()  # catch up at once after a start, not 30 seconds later
        self.scheduler.start()

    def stop(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)
        self.sender.close()
