"""Monitoring decisions: who measures an indicator, when its next reminder is due, what a reminder
says, and how a value becomes a measurement (checked for plausibility, with history).

The reminder engine (reminders/engine.py) asks here what a reminder says and when its follow-ups
are due; a wizard turn (bot/measuring.py) for the reminder buttons, typed values and the
`meting` / `voortgang` commands.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import func
from sqlmodel import Session, select

from bot import formatting, store
from bot.i18n import t
from bot.names import named_by, naming
from bot.replies import Choice, Reply
from bot.schedule import (
    Period,
    Schedule,
    WorkingHours,
    add_working_days,
    as_utc,
    next_working_moment,
    timezone,
)
from bot.values import ME, Invalid, clean, owner_parts, parse_number
from models import Identity, Indicator, IndicatorOwner, Intervention, Measurement, Person, Reminder
from models.tables import utcnow

JUMP = 3  # a value more than 3× (or less than a third of) the last one is confirmed first
NOTE_MAX = 1000
VALUE = re.compile(r"\s*(?P<value>[-+]?\s*€?\s*\d[\d.,]*\s*%?)(?:\s+(?P<note>.+))?", re.S)


# --- owners and schedules ----------------------------------------------------------------


def resolve_owners(session: Session, iv: Intervention, text: str | None) -> list[int]:
    """The people an indicator's owner text names: "ik", Slack mentions, names of colleagues.
    The author when it names nobody we know."""
    people: list[int] = []
    org_people = None
    for part in owner_parts(text):
        name = part.strip().strip("@").strip()
        if not name:
            continue
        found: int | None = None
        if name.casefold() in ME:
            found = iv.author_id
        elif m := re.fullmatch(r"<@([UW][A-Z0-9]{2,30})(?:\|[^>]*)?>", part.strip()):
            found = slack_colleague(session, iv, m[1])  # None: plain text from outside Slack
        else:
            if org_people is None:
                org_people = store.organisation_people(session, iv.organisation_id)
            # By how names look: a colleague whose name imitates another's makes both ambiguous,
            # and an ambiguous name names no one (the author measures it until they choose).
            colleague = named_by(name, org_people)
            found = colleague.id if colleague else None
        if found is not None and found not in people:
            people.append(found)
    return people or [iv.author_id]


def slack_colleague(session: Session, iv: Intervention, user_id: str) -> int | None:
    """The person behind a Slack mention in the author's workspace, known from then on. None when
    the author is no member of a Slack workspace: a mention typed elsewhere (the web chat, Teams)
    names no one, or anyone could have the bot message any Slack user."""
    author_identity = session.exec(
        select(Identity).where(Identity.person_id == iv.author_id, Identity.platform == "slack")
    ).first()
    if author_identity is None:
        return None
    workspace = author_identity.workspace
    identity = session.exec(
        select(Identity).where(
            Identity.platform == "slack", Identity.workspace == workspace, Identity.external_id == user_id
        )
    ).first()
    if identity is not None:
        return identity.person_id
    person = Person(organisation_id=iv.organisation_id, display_name=user_id)
    session.add(person)
    session.flush()
    session.add(Identity(person_id=person.id, platform="slack", workspace=workspace, external_id=user_id))
    session.flush()
    return person.id


def owners_of(session: Session, indicator_id: int) -> list[int]:
    return list(
        session.exec(
            select(IndicatorOwner.person_id)
            .where(IndicatorOwner.indicator_id == indicator_id)
            .order_by(IndicatorOwner.position)
        )
    )


def sync_owners(session: Session, iv: Intervention, ind: Indicator) -> list[int]:
    wanted = resolve_owners(session, iv, ind.owner)
    rows = list(session.exec(select(IndicatorOwner).where(IndicatorOwner.indicator_id == ind.id)))
    if [r.person_id for r in sorted(rows, key=lambda r: r.position)] != wanted:
        for row in rows:
            session.delete(row)
        session.flush()
        for position, person_id in enumerate(wanted):
            session.add(IndicatorOwner(indicator_id=ind.id, person_id=person_id, position=position))
        session.flush()
    return wanted


def indicators_of(session: Session, person: Person, limit: int = 60) -> list[tuple[Indicator, Intervention]]:
    """The indicators a person measures or whose description they wrote, by description."""
    owned = select(IndicatorOwner.indicator_id).where(IndicatorOwner.person_id == person.id)
    return list(
        session.exec(
            select(Indicator, Intervention)
            .join(Intervention, Intervention.id == Indicator.intervention_id)
            .where((Indicator.id.in_(owned)) | (Intervention.author_id == person.id))
            .where(Indicator.name.is_not(None))
            .order_by(Intervention.id, Indicator.position)
            .limit(limit)
        )
    )


def hours_of(person: Person) -> WorkingHours:
    """When reminders may reach this person: their hours, weekdays, public holidays and absence."""
    return WorkingHours.parse(person.working_hours, person.working_days, person.away_until)


def schedule_of(ind: Indicator, iv: Intervention, owner: Person, default_tz: str, today: date) -> Schedule | None:
    """The indicator's schedule in its first owner's time zone; None when nothing is to be sent
    (a draft, no rhythm, an unreadable rhythm)."""
    if iv.status != "published" or not ind.frequency:
        return None
    starts = ind.starts_on or iv.start_date or today
    try:
        return Schedule.build(
            ind.frequency,
            starts,
            owner.timezone or default_tz,
            ind.remind_day,
            ind.remind_time,
            ind.ends_on or iv.end_date,
        )
    except Invalid:
        return None


def reschedule(session: Session, iv: Intervention, now: datetime, default_tz: str) -> None:
    """Bring every indicator's owners and next due moment in line with the description, after it
    was published or changed. A reminder already due is left for the engine to send."""
    for ind in session.exec(select(Indicator).where(Indicator.intervention_id == iv.id)):
        owners = sync_owners(session, iv, ind)
        if ind.next_due_at is not None and as_utc(ind.next_due_at) <= now and iv.status == "published":
            continue
        owner = session.get(Person, owners[0])
        schedule = schedule_of(ind, iv, owner, default_tz, now.date())
        period = None
        if schedule is not None and owner.unreachable_since is None:  # else paused until they are back
            last = session.exec(select(func.max(Reminder.period_start)).where(Reminder.indicator_id == ind.id)).one()
            period = schedule.first_due_after(now, hours_of(owner), after=last)
        ind.next_period = period.start if period else None
        ind.next_due_at = schedule.due_at(period, hours_of(owner)) if period else None


def reschedule_person(session: Session, person_id: int, now: datetime, default_tz: str) -> None:
    """Reschedule every indicator this person measures, after their zone, hours or reach changed."""
    ids = session.exec(
        select(Indicator.intervention_id)
        .join(IndicatorOwner, IndicatorOwner.indicator_id == Indicator.id)
        .where(IndicatorOwner.person_id == person_id)
        .distinct()
    )
    for iv in [session.get(Intervention, iv_id) for iv_id in list(ids)]:
        reschedule(session, iv, now, default_tz)


def period_of(session: Session, reminder: Reminder) -> Period:
    return Period(reminder.period_start, reminder.period_end)


# --- measurements --------------------------------------------------------------------------


def current_measurements(session: Session, indicator_id: int) -> list[Measurement]:
    return list(
        session.exec(
            select(Measurement)
            .where(Measurement.indicator_id == indicator_id, Measurement.replaced_at.is_(None))
            .order_by(Measurement.period_start)
        )
    )


def last_value(session: Session, indicator_id: int, before: date | None = None) -> Measurement | None:
    query = select(Measurement).where(
        Measurement.indicator_id == indicator_id, Measurement.replaced_at.is_(None), Measurement.value.is_not(None)
    )
    if before is not None:
        query = query.where(Measurement.period_start < before)
    return session.exec(query.order_by(Measurement.period_start.desc()).limit(1)).first()


def reference(session: Session, ind: Indicator, before: date) -> float | None:
    """What a new value is compared with: the last measured value, else the baseline."""
    last = last_value(session, ind.id, before=before)
    return last.value if last is not None else ind.baseline


def implausible(ind: Indicator, value: float, last: float | None) -> Invalid | None:
    """Why a value looks wrong for its indicator, or None. It may still be right: people confirm."""
    unit = (ind.unit or "").casefold()
    if value < 0 and unit in ("aantal", "count", "euro", "procent", "percent", "cijfer"):
        return Invalid("monitor.implausible.negative")
    if unit in ("procent", "percent") and value > 100:
        return Invalid("monitor.implausible.percent")
    if unit == "cijfer" and not 1 <= value <= 10:
        return Invalid("monitor.implausible.score")
    if last:
        ratio = value / last
        if ratio > JUMP or 0 <= ratio < 1 / JUMP:
            return Invalid("monitor.implausible.jump", last=last)
    return None


def record(
    session: Session,
    ind: Indicator,
    period: Period,
    value: float | None,
    note: str | None,
    person_id: int,
) -> Measurement:
    """Store a period's value; an earlier value for the same period is kept as history."""
    now = utcnow()
    for old in session.exec(
        select(Measurement).where(
            Measurement.indicator_id == ind.id,
            Measurement.period_start == period.start,
            Measurement.replaced_at.is_(None),
        )
    ):
        old.replaced_at = now
    session.flush()
    row = Measurement(
        indicator_id=ind.id,
        period_start=period.start,
        period_end=period.end,
        value=value,
        note=(clean(note)[:NOTE_MAX] or None) if note else None,
        entered_by=person_id,
        entered_at=now,
    )
    session.add(row)
    session.flush()
    return row


MAX_VALUE = 1e15  # larger is a typing slip; a float stays exact below it


def parse_value(text: str, locale: str) -> tuple[float, str | None]:
    """ "42", "3,5 na de zomer", "€ 1.250 huur" → (value, note). Raises Invalid."""
    m = VALUE.fullmatch(text or "")
    if not m:
        raise Invalid("invalid.number")
    value = parse_number(m["value"], locale)
    if not abs(value) < MAX_VALUE:
        raise Invalid("invalid.number")
    return value, (m["note"] or "").strip() or None


def looks_like_value(text: str) -> bool:
    return bool(VALUE.fullmatch(text or ""))


# --- what reminders say ------------------------------------------------------------------


@dataclass
class Context:
    """An indicator with its description, as messages about it need them."""

    ind: Indicator
    iv: Intervention

    def number(self, value: float | None, locale: str) -> str:
        """A value in this indicator's unit."""
        return formatting.amount(value, self.ind.unit, locale)


def reminder_reply(session: Session, reminder: Reminder, ctx: Context, locale: str, key: str = "reminder") -> Reply:
    """The reminder (or its nudge, or the note to a co-owner) with its four buttons."""
    owner = session.get(Person, reminder.person_id)
    return compose_reminder(
        reminder.id,
        period_of(session, reminder),
        ctx,
        locale,
        key,
        last=last_value(session, ctx.ind.id, before=reminder.period_start),
        owner_name=naming(owner.id, owner.display_name) if owner else "?",  # an escalation names them
    )


def compose_reminder(
    reminder_id: int, period: Period, ctx: Context, locale: str, key: str, last: Measurement | None, owner_name: str
) -> Reply:
    """What `reminder_reply` says, from facts already read (the engine reads them per batch)."""
    ind, iv = ctx.ind, ctx.iv
    facts = []
    if last is not None:
        when = formatting.period(last.period_start, last.period_end, locale)
        facts.append(t(locale, "monitor.last", value=ctx.number(last.value, locale), period=when))
    elif ind.baseline is not None:
        facts.append(t(locale, "monitor.baseline", value=ctx.number(ind.baseline, locale)))
    if ind.target is not None:
        facts.append(t(locale, "monitor.target", value=ctx.number(ind.target, locale)))
    return Reply(
        kind="reminder",
        title=t(locale, f"monitor.{key}_title"),
        text=t(
            locale,
            f"monitor.{key}",
            indicator=ind.name or "?",
            title=iv.title or t(locale, "untitled"),
            period=formatting.period(period.start, period.end, locale, in_sentence=True),
            owner=owner_name,
        ),
        note=" · ".join(facts) or None,
        actions=reminder_actions(reminder_id, locale),
        input="number",
        intervention_id=iv.id,
    )


def reminder_actions(reminder_id: int, locale: str) -> list[Choice]:
    return [
        Choice(t(locale, "monitor.button.value"), f"rem:value:{reminder_id}", "primary"),
        Choice(t(locale, "monitor.button.later"), f"rem:later:{reminder_id}"),
        Choice(t(locale, "monitor.button.none"), f"rem:none:{reminder_id}"),
        Choice(t(locale, "monitor.button.skip"), f"rem:skip:{reminder_id}"),
    ]


def context(session: Session, indicator_id: int) -> Context | None:
    ind = session.get(Indicator, indicator_id)
    iv = session.get(Intervention, ind.intervention_id) if ind else None
    return Context(ind, iv) if iv else None


def may_answer(session: Session, person_id: int, reminder: Reminder, ctx: Context) -> bool:
    """The reminded person, any owner of the indicator, or the description's author."""
    return person_id in (reminder.person_id, ctx.iv.author_id) or person_id in owners_of(session, ctx.ind.id)


def back_at(person: Person, now: datetime, default_tz: str) -> datetime | None:
    """While `person` is away: the first working moment after their absence (UTC); else None."""
    zone = timezone(person.timezone, default_tz)
    today = now.astimezone(zone).date()
    if person.away_until is None or today > person.away_until:
        return None
    start = datetime.combine(person.away_until, datetime.min.time(), tzinfo=zone)
    return next_working_moment(start, hours_of(person)).astimezone(UTC)


def follow_up_wait(reminder: Reminder, owner: Person, now: datetime, default_tz: str) -> datetime | None:
    """When a follow-up due now has to wait, and until when; None when it goes now. It is asked
    again with the owner's days off as they are now: an absence announced after it was planned
    holds it (a nudge comes two working days after the reminder, not counting the days away)."""
    zone = timezone(owner.timezone, default_tz)
    due = now if reminder.snoozed else next_follow_up(reminder, owner, default_tz) or now
    due = max(due, next_working_moment(now.astimezone(zone), hours_of(owner)).astimezone(UTC))
    return due if due > now else None


def next_follow_up(reminder: Reminder, owner: Person, default_tz: str) -> datetime | None:
    """When an open reminder that is not snoozed is followed up, counted from when the owner was
    last asked (the reminder, or its re-send after a snooze): the nudge, else the escalation."""
    asked = [as_utc(moment) for moment in (reminder.created_at, reminder.resent_at) if moment is not None]
    if reminder.nudged_at is None:
        return nudge_at(max(asked), owner, default_tz)
    if reminder.escalated_at is None:
        return escalation_at(reminder, max(as_utc(reminder.nudged_at), *asked), owner, default_tz)
    return None


def escalation_recipients(
    session: Session, reminder: Reminder, ctx: Context, now: datetime, default_tz: str
) -> tuple[list[Person], datetime | None]:
    """Who hears that a period stays open: the co-owners, else the description's author, leaving
    out whoever is away. (people, None), or ([], moment) when all of them are away: it waits for
    the first one back."""
    others = [p for p in owners_of(session, ctx.ind.id) if p != reminder.person_id]
    if not others and ctx.iv.author_id != reminder.person_id:
        others = [ctx.iv.author_id]
    people = [session.get(Person, p) for p in others]
    returns = {p.id: back_at(p, now, default_tz) for p in people}
    present = [p for p in people if returns[p.id] is None]
    if people and not present:
        back = min(returns.values())
        if back > now:  # always so; a moment already past would have the engine claim it forever
            return [], back
        present = people
    return present, None


def nudge_at(sent: datetime, owner: Person, default_tz: str) -> datetime:
    return add_working_days(sent, 2, timezone(owner.timezone, default_tz), hours_of(owner))


def escalation_at(reminder: Reminder, nudged: datetime, owner: Person, default_tz: str) -> datetime:
    """Two working days after the nudge, and not before the period has ended."""
    zone = timezone(owner.timezone, default_tz)
    after_nudge = add_working_days(nudged, 2, zone, hours_of(owner))
    period_over = datetime.combine(reminder.period_end, datetime.min.time(), tzinfo=zone)
    return max(after_nudge, add_working_days(period_over.astimezone(UTC), 1, zone, hours_of(owner)))
