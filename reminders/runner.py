"""Running the reminder engine, the digest run and the outbox sender on a timer, in every replica.

APScheduler runs interval jobs in background threads: the engine (which reminders are due), the
digests (which channels are due), the sender (what is waiting) and, hourly, the removal of
delivered replies. None keeps state of its own: every replica may run them, and the database
makes sure each reminder, each digest and each message is handled once. The program's assembly
hands over the platforms' transports.
"""

from __future__ import annotations

import logging

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from bot.settings import Settings
from models.db import Database
from models.tables import utcnow
from reminders.digests import Digests, channel_unreachable
from reminders.engine import Engine
from reminders.outbox import Envelope, OnUnreachable, OutboxSender, Transport, forget_old_replies

log = logging.getLogger("wwidw.reminders")
ENGINE_EVERY = 30  # seconds; a reminder is at most this late
DIGESTS_EVERY = 60
SENDER_EVERY = 1
TIDY_EVERY = 3600


def unreachable_handler(engine: Engine) -> OnUnreachable:
    """What the sender does when the platform shuts a recipient out: a channel that is gone pauses
    its subscription, a person who is gone their reminders."""

    def handle(session, message: Envelope, reason: str, now) -> None:
        if message.subscription_id:
            channel_unreachable(session, message.subscription_id, reason, now)
        elif message.person_id:
            engine.unreachable(session, message.person_id, reason, now)

    return handle


class Reminders:
    def __init__(self, settings: Settings, db: Database, transports: dict[str, Transport], blocking: bool = False):
        self.engine = Engine(db, settings.wwidw_timezone, settings.wwidw_locale)
        self.digests = Digests(db)
        self.sender = OutboxSender(db, transports, on_unreachable=unreachable_handler(self.engine))
        self.scheduler = (BlockingScheduler if blocking else BackgroundScheduler)(timezone="UTC")
        self.scheduler.add_job(self.run_engine, "interval", seconds=ENGINE_EVERY, max_instances=1, coalesce=True)
        self.scheduler.add_job(self.run_digests, "interval", seconds=DIGESTS_EVERY, max_instances=1, coalesce=True)
        self.scheduler.add_job(self.run_sender, "interval", seconds=SENDER_EVERY, max_instances=1, coalesce=True)
        self.scheduler.add_job(self.tidy, "interval", seconds=TIDY_EVERY, max_instances=1, coalesce=True)

    def run_engine(self) -> None:
        try:
            done = self.engine.run()
            if done:
                log.info("reminder engine: %d reminders and follow-ups queued", done)
        except Exception:
            log.exception("reminder engine pass failed; the next pass retries")

    def run_digests(self) -> None:
        try:
            handled, messages = self.digests.run()
            if handled:
                log.info("digests: %d subscriptions due, %d messages queued", handled, messages)
        except Exception:
            log.exception("digest pass failed; the next pass retries")

    def run_sender(self) -> None:
        try:
            self.sender.drain(passes=50)
        except Exception:
            log.exception("outbox pass failed; the next pass retries")

    def tidy(self) -> None:
        try:
            gone = forget_old_replies(self.sender.db, utcnow())
            if gone:
                log.info("outbox: %d delivered replies older than two days removed", gone)
        except Exception:
            log.exception("tidying the outbox failed; the next hour retries")

    def start(self) -> None:
        self.run_engine()  # catch up at once after a start, not 30 seconds later
        self.run_digests()
        self.scheduler.start()

    def stop(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)
        self.sender.close()
