"""Days off in the chat: `afwezig tot 12 januari` (`away until 12 January`) and `weer aanwezig`
(`back in office`). A part of a wizard turn (bot/turn.py), in its transaction.

The date typed is the last day away, inclusive, in the person's own calendar (their time zone):
reminders, nudges and escalations for them wait until the first working day after it
(bot/schedule.py decides working days, bot/monitor.py what waits). A date without a year is
the next one to come, unless it passed only recently: then it is a slip, and said so.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from sqlalchemy import or_
from sqlmodel import Session, select

from bot import formatting
from bot.i18n import t
from bot.monitor import back_at, hours_of, next_follow_up, schedule_of
from bot.parts import TurnPart
from bot.schedule import add_months, as_utc, next_working_morning, timezone
from bot.values import MONTHS, Invalid, parse_date
from models import Indicator, IndicatorOwner, Intervention, Person, Reminder
from models.tables import utcnow

RECENT = timedelta(days=31)  # "tot 12 januari" typed on 20 January means this January, gone by
AHEAD_MONTHS = 12  # an absence of more than a year is not what this is for


def parse_until(text: str, today: date) -> date:
    """ "12 januari", "12-1", "12-01-2027", "12 January", "January 12", "2027-01-12" → that day.
    Raises Invalid("away.unreadable") for what is no date."""
    typed = re.sub(r"\s+", " ", (text or "").strip().casefold()).rstrip(".")
    try:
        return parse_date(typed)
    except Invalid:
        pass
    day_month = None
    if m := re.fullmatch(r"(\d{1,2})[-/.](\d{1,2})", typed):
        day_month = int(m[1]), int(m[2])
    elif (m := re.fullmatch(r"(\d{1,2}) ([a-z]+)\.?", typed)) and m[2] in MONTHS:
        day_month = int(m[1]), MONTHS[m[2]]
    elif (m := re.fullmatch(r"([a-z]+)\.? (\d{1,2})", typed)) and m[1] in MONTHS:
        day_month = int(m[2]), MONTHS[m[1]]
    if day_month is None:
        raise Invalid("away.unreadable")
    for year in (today.year, today.year + 1):
        try:
            day = date(year, day_month[1], day_month[0])
        except ValueError:
            continue  # 29 February of a year without one, or no such day at all
        if day >= today - RECENT:
            return day
    raise Invalid("away.unreadable")


def long_day(day: date, locale: str) -> str:
    """ "12 januari 2027" / "12 January 2027" """
    return f"{day.day} {formatting.language(locale).months[day.month]} {day.year}"


class Absence(TurnPart):
    """`afwezig tot …`, `afwezig` (where things stand) and `weer aanwezig`."""

    def away(self, arg: str | None) -> None:
        if not (arg or "").strip():
            return self.status()
        today = today_of(self.person, self.default_tz)
        try:
            until = parse_until(arg, today)
        except Invalid:
            return self.say("away.unreadable", kind="error")
        if until < today:
            return self.say("away.past", kind="error", date=long_day(until, self.locale))
        latest = add_months(today, AHEAD_MONTHS)
        if until > latest:
            return self.say("away.too_far", kind="error", latest=long_day(latest, self.locale))
        self.person.away_until = until
        replan_person(self.s, self.person, utcnow(), self.default_tz)
        self.say("away.set", date=long_day(until, self.locale), back=self.back())

    def present(self) -> None:
        if away_until(self.person, self.default_tz) is None:
            return self.say("away.not_away")
        self.person.away_until = None
        replan_person(self.s, self.person, utcnow(), self.default_tz)  # what was held comes now
        self.say("away.ended")

    def status(self) -> None:
        until = away_until(self.person, self.default_tz)
        if until is None:
            return self.say("away.usage")
        self.say("away.set", date=long_day(until, self.locale), back=self.back())

    def back(self) -> str:
        """The first working moment after the absence, as the person reads it."""
        moment = back_at(self.person, utcnow(), self.default_tz)
        zone = timezone(self.person.timezone, self.default_tz)
        return formatting.moment(moment.astimezone(zone), self.locale) if moment else "–"


def replan_person(session: Session, person: Person, now: datetime, default_tz: str) -> None:
    """After a person's days off changed: each of their indicators asks for the same period as
    planned, due when the schedule now says. Rescheduling from scratch would drop a period whose
    reminder was held during an absence that ended early; this sends it on the next pass."""
    first = select(IndicatorOwner.indicator_id).where(
        IndicatorOwner.person_id == person.id, IndicatorOwner.position == 0
    )
    for ind in session.exec(select(Indicator).where(Indicator.id.in_(first), Indicator.next_period.is_not(None))):
        iv = session.get(Intervention, ind.intervention_id)
        schedule = schedule_of(ind, iv, person, default_tz, now.date())
        if schedule is not None and person.unreachable_since is None:
            ind.next_due_at = schedule.due_at(schedule.period(schedule.index_of(ind.next_period)), hours_of(person))
    replan_follow_ups(session, person, now, default_tz)


def replan_follow_ups(session: Session, person: Person, now: datetime, default_tz: str) -> None:
    """The nudges and escalations of open reminders come when the days off now say: held for an
    absence that ended early, they come now; a snooze by the next working morning at the latest
    ("later" means no more). Escalations that waited for this person as a colleague, too."""
    me, zone, hours = person.id, timezone(person.timezone, default_tz), hours_of(person)
    pending = select(Reminder).where(Reminder.status == "open", Reminder.follow_up_at.is_not(None))
    for reminder in session.exec(pending.where(Reminder.person_id == person.id)):
        if reminder.snoozed:
            reminder.follow_up_at = min(as_utc(reminder.follow_up_at), next_working_morning(now, zone, hours))
        elif reminder.nudged_at is None or reminder.escalated_at is None:
            reminder.follow_up_at = next_follow_up(reminder, person, default_tz)
    theirs = select(IndicatorOwner.indicator_id).where(IndicatorOwner.person_id == person.id)
    authored = select(Indicator.id).join(Intervention, Intervention.id == Indicator.intervention_id)
    colleagues = pending.where(
        Reminder.person_id != person.id,
        Reminder.nudged_at.is_not(None),
        Reminder.escalated_at.is_(None),
        Reminder.snoozed.is_(False),
        or_(Reminder.indicator_id.in_(theirs), Reminder.indicator_id.in_(authored.where(Intervention.author_id == me))),
    )
    for reminder in session.exec(colleagues):  # the engine asks again who is there to hear it
        reminder.follow_up_at = next_follow_up(reminder, session.get(Person, reminder.person_id), default_tz)


def today_of(person: Person, default_tz: str) -> date:
    return utcnow().astimezone(timezone(person.timezone, default_tz)).date()


def away_until(person: Person, default_tz: str) -> date | None:
    """The last day of an absence still to come or under way; None when there is none."""
    if person.away_until is None or person.away_until < today_of(person, default_tz):
        return None
    return person.away_until


def absence_note(person: Person, default_tz: str, locale: str) -> str | None:
    """One line on the absence for a person's overviews ("werktijden", "indicatoren"); else None."""
    until = away_until(person, default_tz)
    return t(locale, "away.note", date=long_day(until, locale)) if until else None
