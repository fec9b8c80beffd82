"""The reminder engine: turns due schedules and follow-ups into outbox messages.

The database is the truth. Each indicator carries its next due moment; `Engine.run` claims due
indicators and open reminders in small batches (PostgreSQL: `FOR UPDATE SKIP LOCKED`, so replicas
share the work; SQLite: one writer at a time), writes the reminder, its message and the next due
moment in one transaction, and so never sends a period twice. After downtime each missed period
is reminded once, oldest first.

When something is due is bot/'s decision (bot/schedule.py, bot/monitor.py): working hours and
days, public holidays and a person's absence. Here it is only asked, again when the moment comes,
so an absence announced after a reminder was planned holds it until the person is back.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import date, datetime

from sqlalchemy import bindparam, insert, update
from sqlmodel import Session, select

from bot.i18n import t
from bot.messages import enqueue, person_row, reach_order
from bot.monitor import (
    Context,
    compose_reminder,
    context,
    escalation_at,
    escalation_recipients,
    follow_up_wait,
    hours_of,
    next_follow_up,
    nudge_at,
    owners_of,
    reminder_reply,
    schedule_of,
)
from bot.names import naming
from bot.replies import Choice, Reply
from bot.schedule import as_utc
from models import (
    Conversation,
    Identity,
    Indicator,
    IndicatorOwner,
    Intervention,
    Measurement,
    OutboxMessage,
    Person,
    Reminder,
)
from models.db import Database, insert_missing
from models.tables import utcnow

log = logging.getLogger("wwidw.reminders")
REMINDER, OUTBOX, CONVERSATION = Reminder.__table__, OutboxMessage.__table__, Conversation.__table__


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
        """Claim due indicators and write their reminders. What the messages need is read once
        per batch and the rows are written in bulk: a replica does thousands of these a minute."""
        with self.db.transaction() as s:
            due = self.claim(
                s,
                select(Indicator)
                .where(Indicator.next_due_at.is_not(None), Indicator.next_due_at <= now)
                .order_by(Indicator.next_due_at, Indicator.id),
            )
            if not due:
                return 0
            facts = Facts(s, due)
            planned = []  # (indicator, owner, period, due moment, hours)
            for ind in due:
                iv = facts.interventions[ind.intervention_id]
                owner = facts.people[facts.owners.get(ind.id, [iv.author_id])[0]]
                schedule = schedule_of(ind, iv, owner, self.default_tz, now.date())
                if schedule is None or ind.next_period is None or owner.unreachable_since is not None:
                    ind.next_due_at = ind.next_period = None
                    continue
                hours = hours_of(owner)
                period = schedule.period(schedule.index_of(ind.next_period))
                due_at = schedule.due_at(period, hours)
                if due_at > now:  # days off announced since it was planned: it waits for them
                    ind.next_due_at = due_at
                    continue
                if (ind.id, period.start) not in facts.reminded:
                    planned.append((ind, owner, period, as_utc(ind.next_due_at)))
                following = schedule.following(period)
                ind.next_period = following.start if following else None
                ind.next_due_at = schedule.due_at(following, hours) if following else None
            s.flush()
            self.write_reminders(s, facts, planned, now)
            return len(due)

    def write_reminders(self, s: Session, facts: Facts, planned: list, now: datetime) -> None:
        if not planned:
            return
        conn = s.connection()
        # A period that already has its reminder (the rhythm changed while a reminder was due) is
        # left out rather than failing the whole batch.
        inserted = conn.execute(
            insert_missing(conn.dialect.name, REMINDER, "indicator_id", "period_start").returning(
                REMINDER.c.indicator_id, REMINDER.c.id
            ),
            [
                {
                    "indicator_id": ind.id,
                    "person_id": owner.id,
                    "period_start": period.start,
                    "period_end": period.end,
                    "due_at": due_at,
                    "status": "open",
                    "snoozed": False,
                    "follow_up_at": nudge_at(now, owner, self.default_tz),
                    "created_at": now,
                }
                for ind, owner, period, due_at in planned
            ],
        )
        ids = dict(inserted.all())  # indicator id -> its new reminder (a batch holds an indicator once)
        messages, awaiting = [], {}
        for ind, owner, period, _ in planned:
            reminder_id = ids.get(ind.id)
            if reminder_id is None:
                continue
            locale = owner.locale or self.default_locale
            ctx = Context(ind, facts.interventions[ind.intervention_id])
            last = facts.last_before(ind.id, period.start)
            reply = compose_reminder(reminder_id, period, ctx, locale, "reminder", last, owner.display_name)
            message = person_row(facts.identities.get(owner.id), owner, f"reminder:{reminder_id}", [reply], locale, now)
            if message is not None:
                messages.append(message)
            awaiting[owner.id] = reminder_id  # a typed value answers the latest one
        if messages:
            conn.execute(insert(OUTBOX), messages)
        await_answers(conn, awaiting, facts.conversations, now)

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
        wait = follow_up_wait(reminder, owner, now, self.default_tz)
        if wait is not None:  # the owner is away (or off today): nothing is sent or counted as missed
            reminder.follow_up_at = wait
            return
        if reminder.snoozed:
            reminder.snoozed, reminder.resent_at = False, now
            self.send(s, owner, f"reminder:{reminder.id}:{moment}", reminder, "reminder", now, awaiting=True)
            reminder.follow_up_at = next_follow_up(reminder, owner, self.default_tz)
        elif reminder.nudged_at is None:
            reminder.nudged_at = now
            self.send(s, owner, f"nudge:{reminder.id}", reminder, "nudge", now, awaiting=True)
            reminder.follow_up_at = escalation_at(reminder, now, owner, self.default_tz)
        elif reminder.escalated_at is None:
            told, wait = escalation_recipients(s, reminder, ctx, now, self.default_tz)
            if wait is not None:
                reminder.follow_up_at = wait
                return
            reminder.escalated_at = now
            for person in told:
                self.send(s, person, f"escalation:{reminder.id}:{person.id}", reminder, "escalation", now)

    # --- people the platform will not let us reach ------------------------------------------

    def unreachable(self, s: Session, person_id: int, reason: str, now: datetime) -> None:
        """A message to this person failed for good (account gone, app blocked): pause the
        reminders they would get, and tell each description's coordinator (its author, or the
        co-owners when the author is the one we lost). They resume when the person talks to us."""
        person = s.get(Person, person_id)
        if person is None or person.unreachable_since is not None:
            return
        person.unreachable_since, person.unreachable_reason = now, reason[:200]
        log.warning("person %s unreachable (%s); their reminders pause", person_id, reason)
        paused: dict[int, list[Indicator]] = defaultdict(list)
        for ind in first_owned(s, person_id):
            ind.next_due_at = ind.next_period = None
            paused[ind.intervention_id].append(ind)
        for iv_id, indicators in paused.items():
            iv = s.get(Intervention, iv_id)
            told = {iv.author_id} - {person_id} or {
                p for ind in indicators for p in owners_of(s, ind.id) if p != person_id
            }
            for coordinator in [s.get(Person, p) for p in sorted(told)]:
                locale = coordinator.locale or self.default_locale
                notice = Reply(
                    kind="info",
                    title=t(locale, "monitor.unreachable_title"),
                    text=t(
                        locale,
                        "monitor.unreachable",
                        name=naming(person.id, person.display_name),
                        indicators=", ".join(ind.name or "?" for ind in indicators),
                        title=iv.title or t(locale, "untitled"),
                    ),
                    note=reason,
                    actions=[Choice(t(locale, "indicators.edit"), f"form:{iv.id}:8")]
                    if coordinator.id == iv.author_id
                    else [],
                    intervention_id=iv.id,
                )
                key = f"unreachable:{person_id}:{int(now.timestamp())}:{iv.id}:{coordinator.id}"
                enqueue(s, coordinator, key, [notice], locale, now)

    # --- messages ----------------------------------------------------------------------------

    def send(
        self, s: Session, person: Person, key: str, reminder: Reminder, kind: str, now: datetime, awaiting=False
    ) -> None:
        ctx = context(s, reminder.indicator_id)
        locale = person.locale or self.default_locale
        enqueue(s, person, key, [reminder_reply(s, reminder, ctx, locale, kind)], locale, now)
        if awaiting:
            s.flush()
            await_answers(s.connection(), {person.id: reminder.id}, set(), now)


def await_answers(conn, awaiting: dict[int, int], have_conversation: set[int], now: datetime) -> None:
    """Make each person's typed value answer their reminder (person id -> reminder id): a list
    offered before the reminder came no longer takes a typed number."""
    missing = [p for p in awaiting if p not in have_conversation]
    if missing:
        conn.execute(
            insert_missing(conn.dialect.name, CONVERSATION, "person_id"),
            [Conversation.new_row(p, now) for p in missing],
        )
    conn.execute(
        update(CONVERSATION)
        .where(CONVERSATION.c.person_id == bindparam("owner"))
        .values(reminder_id=bindparam("rid"), offered=None),
        [{"owner": p, "rid": r} for p, r in awaiting.items()],
    )


class Facts:
    """What the reminders of a batch of indicators need, read in a handful of queries."""

    def __init__(self, s: Session, indicators: list[Indicator]):
        ids = [i.id for i in indicators]
        self.interventions = {
            iv.id: iv
            for iv in s.exec(select(Intervention).where(Intervention.id.in_({i.intervention_id for i in indicators})))
        }
        self.owners: dict[int, list[int]] = defaultdict(list)
        for ind_id, person_id in s.exec(
            select(IndicatorOwner.indicator_id, IndicatorOwner.person_id)
            .where(IndicatorOwner.indicator_id.in_(ids))
            .order_by(IndicatorOwner.indicator_id, IndicatorOwner.position)
        ):
            self.owners[ind_id].append(person_id)
        people = {p for ps in self.owners.values() for p in ps} | {iv.author_id for iv in self.interventions.values()}
        self.people = {p.id: p for p in s.exec(select(Person).where(Person.id.in_(people)))}
        self.identities: dict[int, Identity] = {}
        for identity in s.exec(select(Identity).where(Identity.person_id.in_(people))):
            best = self.identities.get(identity.person_id)
            if best is None or reach_order(identity) < reach_order(best):
                self.identities[identity.person_id] = identity
        self.conversations = set(
            s.exec(select(Conversation.person_id).where(Conversation.person_id.in_(list(self.people))))
        )
        self.reminded = set(
            s.exec(
                select(Reminder.indicator_id, Reminder.period_start).where(
                    Reminder.indicator_id.in_(ids),
                    Reminder.period_start.in_({i.next_period for i in indicators if i.next_period}),
                )
            )
        )
        self.values: dict[int, list[Measurement]] = defaultdict(list)  # oldest first
        for m in s.exec(
            select(Measurement)
            .where(Measurement.indicator_id.in_(ids), Measurement.replaced_at.is_(None), Measurement.value.is_not(None))
            .order_by(Measurement.period_start)
        ):
            self.values[m.indicator_id].append(m)

    def last_before(self, indicator_id: int, day: date) -> Measurement | None:
        earlier = [m for m in self.values.get(indicator_id, ()) if m.period_start < day]
        return earlier[-1] if earlier else None


def first_owned(s: Session, person_id: int) -> list[Indicator]:
    """The indicators whose reminders go to this person: they are the first owner (or, without
    owners, the author)."""
    first = select(IndicatorOwner.indicator_id).where(
        IndicatorOwner.person_id == person_id, IndicatorOwner.position == 0
    )
    ownerless = (
        select(Indicator.id)
        .join(Intervention, Intervention.id == Indicator.intervention_id)
        .where(Intervention.author_id == person_id)
        .where(~Indicator.id.in_(select(IndicatorOwner.indicator_id)))
    )
    return list(s.exec(select(Indicator).where(Indicator.id.in_(first) | Indicator.id.in_(ownerless))))
