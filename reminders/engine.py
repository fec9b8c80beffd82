"""The reminder engine: turns due schedules and follow-ups into outbox messages.

The database is the truth. Each indicator carries its next due moment; `Engine.run` claims due
indicators and open reminders in small batches (PostgreSQL: `FOR UPDATE SKIP LOCKED`, so replicas
share the work; SQLite: one writer at a time), writes the reminder, its message and the next due
moment in one transaction, and so never sends a period twice. After downtime each missed period
is reminded once, oldest first.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlmodel import Session, select

from bot.monitor import (
    as_utc,
    context,
    escalation_at,
    hours_of,
    nudge_at,
    owners_of,
    reminder_reply,
    schedule_of,
)
from bot.replies import Reply, reply_to_dict
from models import Conversation, Identity, Indicator, Intervention, OutboxMessage, Person, Reminder
from models.db import Database
from models.tables import utcnow
from reminders.schedule import next_working_morning, timezone

log = logging.getLogger("wwidw.reminders")
PLATFORM_ORDER = {"slack": 0, "teams": 1, "web": 2}  # where a person with several identities is reached


class Engine:
    def __init__(self, db: Database, default_tz: str = "Europe/Amsterdam", default_locale: str = "nl", batch=200):
        self.db = db
        self.default_tz = default_tz
        self.default_locale = default_locale
        self.batch = batch

    def run(self, now: datetime | None = None) -> int:
        """Everything due at `now`; returns how many reminders and follow-ups were handled."""
        now = now or utcnow()
        total = 0
        while True:
            done = self.schedule_batch(now) + self.follow_up_batch(now)
            total += done
            if done == 0:
                return total

    def claim(self, session: Session, query):
        if not self.db.is_sqlite:
            query = query.with_for_update(skip_locked=True)
        return list(session.exec(query.limit(self.batch)))

    # --- scheduled reminders ---------------------------------------------------------------

    def schedule_batch(self, now: datetime) -> int:
        with self.db.transaction() as s:
            due = self.claim(
                s,
                select(Indicator)
                .where(Indicator.next_due_at.is_not(None), Indicator.next_due_at <= now)
                .order_by(Indicator.next_due_at, Indicator.id),
            )
            for ind in due:
                self.remind(s, ind, now)
            return len(due)

    def remind(self, s: Session, ind: Indicator, now: datetime) -> None:
        iv = s.get(Intervention, ind.intervention_id)
        owner = s.get(Person, (owners_of(s, ind.id) or [iv.author_id])[0])
        schedule = schedule_of(ind, iv, owner, self.default_tz, now.date())
        if schedule is None or ind.next_period is None:
            ind.next_due_at = ind.next_period = None
            return
        hours = hours_of(owner)
        period = schedule.period(schedule.index_of(ind.next_period))
        exists = s.exec(
            select(Reminder.id).where(Reminder.indicator_id == ind.id, Reminder.period_start == period.start)
        ).first()
        if exists is None:
            reminder = Reminder(
                indicator_id=ind.id,
                person_id=owner.id,
                period_start=period.start,
                period_end=period.end,
                due_at=as_utc(ind.next_due_at),
            )
            reminder.follow_up_at = nudge_at(reminder, now, owner, self.default_tz)
            s.add(reminder)
            s.flush()
            self.send(s, owner, f"reminder:{reminder.id}", reminder, "reminder", now, awaiting=True)
        following = schedule.following(period)
        ind.next_period = following.start if following else None
        ind.next_due_at = schedule.due_at(following, hours) if following else None

    # --- snoozes, nudges, escalations --------------------------------------------------------

    def follow_up_batch(self, now: datetime) -> int:
        with self.db.transaction() as s:
            rows = self.claim(
                s,
                select(Reminder)
                .where(Reminder.follow_up_at.is_not(None), Reminder.follow_up_at <= now)
                .order_by(Reminder.follow_up_at, Reminder.id),
            )
            for reminder in rows:
                self.follow_up(s, reminder, now)
            return len(rows)

    def follow_up(self, s: Session, reminder: Reminder, now: datetime) -> None:
        moment = int(as_utc(reminder.follow_up_at).timestamp())
        reminder.follow_up_at = None
        ctx = context(s, reminder.indicator_id)
        if reminder.status != "open" or ctx is None or ctx.iv.status != "published":
            return
        owner = s.get(Person, reminder.person_id)
        if reminder.snoozed:
            reminder.snoozed = False
            self.send(s, owner, f"reminder:{reminder.id}:{moment}", reminder, "reminder", now, awaiting=True)
            reminder.follow_up_at = (
                nudge_at(reminder, now, owner, self.default_tz)
                if reminder.nudged_at is None
                else escalation_at(reminder, now, owner, self.default_tz)
            )
        elif reminder.nudged_at is None:
            reminder.nudged_at = now
            self.send(s, owner, f"nudge:{reminder.id}", reminder, "nudge", now, awaiting=True)
            reminder.follow_up_at = escalation_at(reminder, now, owner, self.default_tz)
        elif reminder.escalated_at is None:
            reminder.escalated_at = now
            others = [p for p in owners_of(s, ctx.ind.id) if p != owner.id]
            if not others and ctx.iv.author_id != owner.id:
                others = [ctx.iv.author_id]
            for person_id in others:
                self.send(
                    s, s.get(Person, person_id), f"escalation:{reminder.id}:{person_id}", reminder, "escalation", now
                )

    # --- messages ----------------------------------------------------------------------------

    def send(
        self, s: Session, person: Person, key: str, reminder: Reminder, kind: str, now: datetime, awaiting=False
    ) -> None:
        ctx = context(s, reminder.indicator_id)
        locale = person.locale or self.default_locale
        enqueue(s, person, key, [reminder_reply(s, reminder, ctx, locale, kind)], locale, now)
        if awaiting:
            conv = s.exec(select(Conversation).where(Conversation.person_id == person.id)).first()
            if conv is None:
                conv = Conversation(person_id=person.id)
                s.add(conv)
            conv.reminder_id = reminder.id


def enqueue(s: Session, person: Person, key: str, replies: list[Reply], locale: str, now: datetime) -> bool:
    """Put a message for `person` in the outbox, on the platform they are best reached on.
    False when they can be reached nowhere."""
    identities = list(s.exec(select(Identity).where(Identity.person_id == person.id)))
    if not identities:
        log.warning("person %s has no chat identity; message %s not sent", person.id, key)
        return False
    identity = min(identities, key=lambda i: (PLATFORM_ORDER.get(i.platform, 9), i.id))
    channel = str(identity.id) if identity.platform == "web" else identity.external_id
    s.add(
        OutboxMessage(
            dedupe_key=key[:120],
            platform=identity.platform,
            workspace=identity.workspace,
            channel=channel,
            person_id=person.id,
            body={"locale": locale, "replies": [reply_to_dict(r) for r in replies]},
            not_before=now,
        )
    )
    return True


def snooze_until(person: Person, now: datetime, default_tz: str) -> datetime:
    return next_working_morning(now, timezone(person.timezone, default_tz), hours_of(person))
