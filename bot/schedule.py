"""The calendar: measurement periods and rhythms, due moments in a person's own time zone,
working hours and days off, and when a channel's digest is due.

Pure functions of dates and times, so every rule (daylight saving, "monthly on the 31st", quiet
hours) is tested without a clock. A period is a whole number of weeks (starting on Monday) or of
months (monthly from the start month, quarters and years on the calendar). Its reminder is due
on the chosen day of the period's last week or month, at the chosen time; a day past the end of a
short month means its last day.

Whether a day is a working day is one decision, `WorkingHours.works_on`: one of the person's
weekdays, no Dutch public holiday, and not within an absence they announced. Due moments, nudges,
escalations and "later" all ask it.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

from bot.values import parse_rhythm

DEFAULT_TZ = "Europe/Amsterdam"  # for people whose own zone is unknown (WWIDW_TIMEZONE)
DEFAULT_TIME = time(9, 0)
DEFAULT_HOURS = (time(8, 0), time(18, 0))
DEFAULT_DAYS = frozenset({1, 2, 3, 4, 5})  # ISO weekdays: Monday to Friday
CALENDAR_ALIGNED = {3, 6, 12, 24}  # quarters, half years, years: counted from January
HOLIDAY_COUNTRY = "NL"  # the organisations are Dutch, wherever a person's clock is


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive


@cache
def public_holidays(year: int) -> frozenset[date]:
    """The country's public holidays of one year (the library's own list), read once per year."""
    return frozenset(holidays.country_holidays(HOLIDAY_COUNTRY, years=year))


@dataclass(frozen=True)
class WorkingHours:
    start: time = DEFAULT_HOURS[0]
    end: time = DEFAULT_HOURS[1]
    days: frozenset[int] = DEFAULT_DAYS
    away_until: date | None = None  # the last day of an announced absence, inclusive, in the person's zone

    @classmethod
    def parse(cls, hours: str | None, days: str | None, away_until: date | None = None) -> WorkingHours:
        """From a person's settings ("08:00-18:00", "12345"); the default where unset or unreadable."""
        start, end = DEFAULT_HOURS
        if hours and "-" in hours:
            try:
                a, b = (time.fromisoformat(p.strip()) for p in hours.split("-", 1))
                if a < b:
                    start, end = a, b
            except ValueError:
                pass
        chosen = frozenset(int(d) for d in (days or "") if d in "1234567") or DEFAULT_DAYS
        return cls(start, end, chosen, away_until)

    def works_on(self, day: date) -> bool:
        """Whether `day` (in the person's zone) is a working day: the one place that decides it."""
        if self.away_until is not None and day <= self.away_until:
            return False
        return day.isoweekday() in self.days and day not in public_holidays(day.year)

    def next_working_day(self, day: date) -> date:
        """The first working day after `day`."""
        if self.away_until is not None:
            day = max(day, self.away_until)  # an absence of months is one step, not a walk
        for _ in range(31):  # weekends and holidays together never fill a month
            day += timedelta(days=1)
            if self.works_on(day):
                return day
        return day


@dataclass(frozen=True)
class Schedule:
    unit: str  # week | month
    count: int  # a period is `count` units long
    anchor: date  # the first period starts here (a Monday, or the 1st of a month)
    # Weekday 1-7 (default Friday) or day of the month 1-31 (default the last) in the period's last unit.
    day: int | None
    at: time
    zone: ZoneInfo
    ends: date | None = None  # no periods start after this date

    @classmethod
    def build(
        cls,
        rhythm: str,
        starts: date,
        zone: str,
        day: int | None = None,
        at: str | None = None,
        ends: date | None = None,
    ) -> Schedule:
        """A schedule from an indicator's settings; raises Invalid for an unknown rhythm."""
        unit, count = parse_rhythm(rhythm)
        if unit == "week":
            anchor = starts - timedelta(days=starts.weekday())
        elif count in CALENDAR_ALIGNED:
            months_in = (starts.month - 1) % count if count < 12 else starts.month - 1
            anchor = add_months(starts.replace(day=1), -months_in)
        else:
            anchor = starts.replace(day=1)
        return cls(unit, count, anchor, day, parse_clock(at), timezone(zone), ends)

    def period(self, index: int) -> Period:
        if self.unit == "week":
            start = self.anchor + timedelta(weeks=self.count * index)
            return Period(start, start + timedelta(weeks=self.count, days=-1))
        start = add_months(self.anchor, self.count * index)
        return Period(start, add_months(start, self.count) - timedelta(days=1))

    def index_of(self, day: date) -> int:
        """The index of the period holding `day` (negative before the anchor)."""
        if self.unit == "week":
            return (day - self.anchor).days // (7 * self.count)
        months = (day.year - self.anchor.year) * 12 + day.month - self.anchor.month
        return months // self.count

    def due_day(self, period: Period) -> date:
        if self.unit == "week":
            last_monday = period.end - timedelta(days=6)
            return last_monday + timedelta(days=min(self.day or 5, 7) - 1)  # default: Friday
        last_month = period.end.replace(day=1)
        if self.day is None:
            return period.end
        return last_month.replace(day=min(self.day, calendar.monthrange(last_month.year, last_month.month)[1]))

    def due_at(self, period: Period, hours: WorkingHours) -> datetime:
        """When the reminder for `period` is sent (UTC): the due day at the chosen local time,
        moved to the next working moment when that falls outside working hours."""
        local = datetime.combine(self.due_day(period), self.at, tzinfo=self.zone)
        return next_working_moment(local, hours).astimezone(UTC)

    def first_due_after(self, moment: datetime, hours: WorkingHours, after: date | None = None) -> Period | None:
        """The first period whose reminder is due at or after `moment` and which starts after
        `after` (a period already reminded); None when the schedule has ended."""
        index = self.index_of(moment.astimezone(self.zone).date()) - 1
        if after is not None:
            index = max(index, self.index_of(after) + 1)
        index = max(index, 0)
        for _ in range(3):  # the period holding `moment` or the next one; one more for safety
            period = self.period(index)
            if self.ends is not None and period.start > self.ends:
                return None
            if self.due_at(period, hours) >= moment:
                return period
            index += 1
        return self.period(index)

    def following(self, period: Period) -> Period | None:
        nxt = self.period(self.index_of(period.start) + 1)
        return None if self.ends is not None and nxt.start > self.ends else nxt


def add_months(day: date, months: int) -> date:
    """The same day `months` later (or earlier), on the month's last day when it is shorter."""
    total = day.year * 12 + day.month - 1 + months
    year, month = divmod(total, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def parse_clock(text: str | None) -> time:
    try:
        return time.fromisoformat(text) if text else DEFAULT_TIME
    except ValueError:
        return DEFAULT_TIME


def timezone(name: str | None, fallback: str = DEFAULT_TZ) -> ZoneInfo:
    for candidate in (name, fallback):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def next_working_moment(local: datetime, hours: WorkingHours) -> datetime:
    """`local` itself when it lies within working hours, else the next working moment: on a
    later day at the same time if that time is within working hours (a Saturday 09:00 reminder
    comes Monday 09:00), else when work starts. Wall-clock times in `local`'s zone, so a
    daylight-saving change keeps 09:00 at 09:00."""
    day, clock = local.date(), local.timetz().replace(tzinfo=None)
    if hours.works_on(day):
        if clock < hours.start:
            return datetime.combine(day, hours.start, tzinfo=local.tzinfo)
        if clock < hours.end:
            return local
    later = clock if hours.start <= clock < hours.end else hours.start
    return datetime.combine(hours.next_working_day(day), later, tzinfo=local.tzinfo)


def add_working_days(moment: datetime, days: int, zone: ZoneInfo, hours: WorkingHours) -> datetime:
    """`days` working days after `moment` (UTC), at the same local time, within working hours."""
    local = moment.astimezone(zone)
    day = local.date()
    for _ in range(days):
        day = hours.next_working_day(day)
    wall = datetime.combine(day, local.timetz().replace(tzinfo=None), tzinfo=zone)
    return next_working_moment(wall, hours).astimezone(UTC)


def next_working_morning(moment: datetime, zone: ZoneInfo, hours: WorkingHours) -> datetime:
    """The start of the next working day after `moment`: where "later" puts a reminder."""
    local = moment.astimezone(zone)
    day = local.date() + timedelta(days=1)
    return next_working_moment(datetime.combine(day, hours.start, tzinfo=zone), hours).astimezone(UTC)


def as_utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything we store is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


DIGEST_TIME = time(9, 0)  # local time of the subscriber
DIGEST_DAYS = {"weekly": (0,), "daily": (0, 1, 2, 3, 4)}  # Python weekdays: weekly on Monday, daily on working days


def next_digest(frequency: str, zone_name: str, after: datetime) -> datetime:
    """The first digest moment after `after`: 09:00 local on the rhythm's days, across daylight
    saving. A public holiday has none: the digest of that day comes on the next working day."""
    zone = timezone(zone_name)
    local = after.astimezone(zone)
    day = local.date()
    days = DIGEST_DAYS.get(frequency, DIGEST_DAYS["weekly"])
    owed = False
    for _ in range(15):
        moment = datetime.combine(day, DIGEST_TIME, tzinfo=zone)
        if moment > local:
            owed = owed or day.weekday() in days
            if owed and day.weekday() < 5 and day not in public_holidays(day.year):
                return moment.astimezone(UTC)
        day += timedelta(days=1)
    raise AssertionError("no digest day within two weeks")
