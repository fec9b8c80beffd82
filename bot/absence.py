"""Days off in the chat: `afwezig tot 12 januari` (`away until 12 January`) and `weer aanwezig`
(`back in office`). A part of a wizard turn (bot/turn.py), in its transaction.

The date typed is the last day away, inclusive, in the person's own calendar (their time zone):
reminders, nudges and escalations for them wait until the first working day after it
(bot/schedule.py decides working days, bot/monitor.py what waits). A date without a year is
the next one to come, unless it passed only recently: then it is a slip, and said so.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from bot import formatting
from bot.i18n import t
from bot.monitor import back_at, replan_person
from bot.parts import TurnPart
from bot.schedule import add_months, timezone
from bot.values import MONTHS, Invalid, parse_date
from models import Person
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
