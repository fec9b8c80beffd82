"""The digest run: every due subscription gets its digest in the outbox, exactly once.

Like the reminder engine, it claims due subscriptions (PostgreSQL: `FOR UPDATE SKIP LOCKED`,
so replicas share them), writes the digest's messages and the next due moment in one
transaction, and the outbox's unique key per subscription and due moment makes a second copy
impossible. A digest with nothing new writes nothing but still moves on. After downtime a
channel gets one digest covering the whole gap, not one per missed period.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import insert, update
from sqlmodel import Session, select

from bot.digests import Candidates
from bot.i18n import t
from bot.messages import channel_row, enqueue
from bot.replies import Reply
from bot.schedule import as_utc, next_digest
from bot.subscriptions import command_of
from models import Organisation, OutboxMessage, Person, Subscription
from models.db import Database
from models.tables import utcnow
from reminders.outbox import CHANNEL_SHARED

log = logging.getLogger("wwidw.digests")
SETTLE = timedelta(minutes=1)
OUTBOX = OutboxMessage.__table__


class Digests:
    def __init__(self, db: Database, batch: int = 100):
        self.db = db
        self.batch = batch

    def run(self, now: datetime | None = None) -> tuple[int, int]:
        """Every digest due at `now`: (subscriptions handled, messages written)."""
        now = now or utcnow()
        handled = messages = 0
        while True:
            done, written = self.run_batch(now)
            handled, messages = handled + done, messages + written
            if not done:
                return handled, messages

    def run_batch(self, now: datetime) -> tuple[int, int]:
        with self.db.transaction() as s:
            query = (
                select(Subscription)
                .where(Subscription.status == "active", Subscription.next_due_at <= now)
                .order_by(Subscription.next_due_at, Subscription.id)
                .limit(self.batch)
            )
            if not self.db.is_sqlite:
                query = query.with_for_update(skip_locked=True)
            due = list(s.exec(query))
            if not due:
                return 0, 0
            organisations = {
                o.id: o
                for o in s.exec(select(Organisation).where(Organisation.id.in_({d.organisation_id for d in due})))
            }
            until = max(as_utc(d.next_due_at) for d in due)
            candidates = Candidates(s, min(as_utc(d.since) for d in due), until)
            pages_of = []
            for sub in due:
                due_at = as_utc(sub.next_due_at)
                # A change is stamped before its transaction commits: what was stamped in the last
                # minute may not be visible yet, so it waits for the next digest.
                cutoff = max(as_utc(sub.since), min(due_at, now - SETTLE))
                items = candidates.chosen(sub, organisations[sub.organisation_id], cutoff)
                if items:
                    pages_of.append((sub, due_at, candidates.pages(items, sub, cutoff)))
                sub.since = cutoff
                sub.next_due_at = next_digest(sub.frequency, sub.timezone, max(now, cutoff))
            s.flush()
            return len(due), write(s, pages_of, now)


def write(s: Session, pages_of: list, now: datetime) -> int:
    """Each digest's first page, then the rest as replies in its thread, in bulk. The outbox key
    names the subscription and its due moment: one digest per period, whoever writes it."""
    if not pages_of:
        return 0
    conn = s.connection()
    firsts = conn.execute(
        insert(OUTBOX).returning(OUTBOX.c.id, sort_by_parameter_order=True),
        [channel_row(sub, f"digest:{sub.id}:{due_at:%Y%m%dT%H%M}", pages[0], now) for sub, due_at, pages in pages_of],
    ).scalars()
    rest = [
        {**channel_row(sub, f"digest:{sub.id}:{due_at:%Y%m%dT%H%M}:{n}", page, now), "thread_of": first}
        for (sub, due_at, pages), first in zip(pages_of, firsts, strict=True)
        for n, page in enumerate(pages[1:], start=2)
    ]
    if rest:
        conn.execute(insert(OUTBOX), rest)
    return len(pages_of) + len(rest)


def channel_unreachable(s: Session, subscription_id: int, reason: str, now: datetime) -> None:
    """The platform will not let us post in a subscribed channel (gone, archived, the bot removed):
    pause the subscription, drop what else waits for that channel, and tell the subscriber."""
    sub = s.get(Subscription, subscription_id)
    if sub is None or sub.status != "active":
        return
    sub.status, sub.paused_reason, sub.next_due_at = "paused", reason[:200], None
    s.connection().execute(
        update(OUTBOX)
        .where(OUTBOX.c.subscription_id == sub.id, OUTBOX.c.status == "pending")
        .values(status="failed", error="channel unreachable")
    )
    subscriber = s.get(Person, sub.subscriber_id)
    if subscriber is None:
        return
    locale = subscriber.locale or sub.locale
    place = f"#{sub.channel_name}" if sub.channel_name else sub.channel
    notice = Reply(
        kind="error",
        title=t(locale, "channel.paused_title"),
        text=t(
            locale,
            "channel.paused_shared" if reason.endswith(CHANNEL_SHARED) else "channel.paused",
            channel=place,
            command=command_of(sub.platform, locale),
        ),
        note=reason,
    )
    enqueue(s, subscriber, f"channel-paused:{sub.id}:{int(now.timestamp())}", [notice], locale, now)
