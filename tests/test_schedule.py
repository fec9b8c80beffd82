"""Reminder schedules: periods, due moments in the owner's time zone, working hours."""

from datetime import UTC, date, datetime, timedelta

import pytest

from bot.schedule import Schedule, WorkingHours, add_working_days, next_working_morning, timezone
from bot.values import Invalid, parse_rhythm

AMS = "Europe/Amsterdam"
HOURS = WorkingHours()


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def local(moment: datetime, zone: str = AMS) -> datetime:
    return moment.astimezone(timezone(zone))


def test_monthly_on_the_31st_falls_on_each_months_last_day():
    s = Schedule.build("monthly", date(2027, 1, 1), AMS, day=31, at="10:00")
    days = [s.due_day(s.period(i)) for i in range(12)]
    assert [d.day for d in days] == [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
    # 31 July 2027 is a Saturday: the reminder waits for Monday at the same time, still for July.
    july = s.period(6)
    assert (july.start, july.end) == (date(2027, 7, 1), date(2027, 7, 31))
    assert local(s.due_at(july, HOURS)) == datetime(2027, 8, 2, 10, 0, tzinfo=timezone(AMS))


def test_leap_february_and_the_31st():
    s = Schedule.build("monthly", date(2028, 2, 10), AMS, day=31)
    assert s.due_day(s.period(0)) == date(2028, 2, 29)


def test_nine_oclock_stays_nine_oclock_across_daylight_saving_weeks():
    s = Schedule.build("weekly", date(2027, 3, 15), AMS, day=1, at="09:00")  # Mondays
    moments = [s.due_at(s.period(i), HOURS) for i in range(3)]
    # Summer time starts on Sunday 28 March 2027: the UTC hour moves, the local hour does not.
    assert [m.hour for m in moments] == [8, 8, 7]
    assert {local(m).hour for m in moments} == {9}
    # Monday 29 March 2027 is Easter Monday (Tweede paasdag): that one comes on Tuesday.
    assert [local(m).date() for m in moments] == [date(2027, 3, 15), date(2027, 3, 22), date(2027, 3, 30)]
    autumn = Schedule.build("weekly", date(2027, 10, 25), AMS, day=1, at="09:00")
    assert [autumn.due_at(autumn.period(i), HOURS).hour for i in (0, 1)] == [7, 8]  # 31 Oct: winter time


def test_quiet_hours_move_a_reminder_to_the_next_working_moment():
    evening = Schedule.build("monthly", date(2027, 1, 1), AMS, day=12, at="21:30")  # Tuesday 12 Jan
    assert local(evening.due_at(evening.period(0), HOURS)) == datetime(2027, 1, 13, 8, 0, tzinfo=timezone(AMS))
    early = Schedule.build("monthly", date(2027, 1, 1), AMS, day=12, at="06:00")
    assert local(early.due_at(early.period(0), HOURS)).hour == 8
    own = WorkingHours.parse("10:00-15:00", "1234")  # four days a week, from ten
    friday = Schedule.build("monthly", date(2027, 1, 1), AMS, day=15, at="09:00")  # Friday 15 Jan
    assert local(friday.due_at(friday.period(0), own)) == datetime(2027, 1, 18, 10, 0, tzinfo=timezone(AMS))


def test_each_person_is_reminded_in_their_own_time_zone():
    ams = Schedule.build("monthly", date(2027, 1, 1), AMS, day=12, at="09:00")
    ny = Schedule.build("monthly", date(2027, 1, 1), "America/New_York", day=12, at="09:00")
    assert ams.due_at(ams.period(0), HOURS) == utc(2027, 1, 12, 8, 0)
    assert ny.due_at(ny.period(0), HOURS) == utc(2027, 1, 12, 14, 0)
    unknown = Schedule.build("monthly", date(2027, 1, 1), "Mars/Olympus", day=12)
    assert unknown.zone.key == AMS


def test_quarters_and_years_follow_the_calendar():
    q = Schedule.build("quarterly", date(2027, 5, 20), AMS)
    assert (q.period(0).start, q.period(0).end) == (date(2027, 4, 1), date(2027, 6, 30))
    assert q.period(1).start == date(2027, 7, 1)
    y = Schedule.build("yearly", date(2027, 5, 20), AMS, day=15)
    assert y.due_day(y.period(0)) == date(2027, 12, 15)
    custom = Schedule.build("elke 3 weken", date(2027, 1, 6), AMS)  # a Wednesday
    assert custom.period(0).start == date(2027, 1, 4)
    assert custom.period(1).start == date(2027, 1, 25)
    assert custom.due_day(custom.period(0)) == date(2027, 1, 22)  # Friday of the last week


def test_first_due_after_skips_periods_already_reminded_and_respects_the_end():
    s = Schedule.build("monthly", date(2027, 1, 1), AMS, ends=date(2027, 3, 31))
    now = utc(2027, 2, 10, 12)
    assert s.first_due_after(now, HOURS).start == date(2027, 2, 1)
    assert s.first_due_after(now, HOURS, after=date(2027, 2, 1)).start == date(2027, 3, 1)
    assert s.first_due_after(utc(2027, 4, 30), HOURS) is None
    assert s.following(s.period(2)) is None
    # Before the start: the first period.
    assert s.first_due_after(utc(2026, 6, 1), HOURS).start == date(2027, 1, 1)


def test_rhythms_typed_in_dutch_and_english():
    assert parse_rhythm("Elke 3 weken") == ("week", 3)
    assert parse_rhythm("om de 6 maanden") == ("month", 6)
    assert parse_rhythm("every 2 years") == ("month", 24)
    assert parse_rhythm("tweewekelijks") == ("week", 2)
    assert parse_rhythm("quarterly") == ("month", 3)
    for bad in ("soms", "elke 0 weken", "elke 500 weken", "", "elke dag"):
        with pytest.raises(Invalid):
            parse_rhythm(bad)


def test_working_days_and_mornings():
    zone = timezone(AMS)
    friday_noon = datetime(2027, 1, 15, 12, 0, tzinfo=zone)
    assert add_working_days(friday_noon, 2, zone, HOURS).astimezone(zone) == datetime(2027, 1, 19, 12, 0, tzinfo=zone)
    late = datetime(2027, 1, 15, 17, 0, tzinfo=zone) + timedelta(hours=2)  # Friday 19:00
    assert next_working_morning(late, zone, HOURS).astimezone(zone) == datetime(2027, 1, 18, 8, 0, tzinfo=zone)
    assert WorkingHours.parse("nonsense", "xyz") == WorkingHours()


def test_public_holidays_are_no_working_days():
    zone = timezone(AMS)
    assert not HOURS.works_on(date(2027, 4, 27))  # Koningsdag, a Tuesday
    assert not HOURS.works_on(date(2027, 5, 6))  # Hemelvaartsdag
    assert HOURS.works_on(date(2027, 4, 28))
    # A reminder due on Koningsdag comes the next working day, at its own time.
    kings = Schedule.build("monthly", date(2027, 4, 1), AMS, day=27, at="09:00")
    assert local(kings.due_at(kings.period(0), HOURS)) == datetime(2027, 4, 28, 9, 0, tzinfo=zone)
    # Christmas 2026 is a Friday and Saturday: the 25th's reminder waits for Monday the 28th.
    christmas = Schedule.build("monthly", date(2026, 12, 1), AMS, day=25, at="10:00")
    assert local(christmas.due_at(christmas.period(0), HOURS)) == datetime(2026, 12, 28, 10, 0, tzinfo=zone)
    # Counting working days (nudges, escalations) passes over them too.
    eve = datetime(2026, 12, 24, 12, 0, tzinfo=zone)
    assert local(add_working_days(eve, 2, zone, HOURS)) == datetime(2026, 12, 29, 12, 0, tzinfo=zone)
    new_year = datetime(2026, 12, 31, 12, 0, tzinfo=zone)
    assert local(add_working_days(new_year, 1, zone, HOURS)) == datetime(2027, 1, 4, 12, 0, tzinfo=zone)
    # "Later" on the evening before Koningsdag: the Wednesday morning.
    monday_evening = datetime(2027, 4, 26, 19, 0, tzinfo=zone)
    assert local(next_working_morning(monday_evening, zone, HOURS)) == datetime(2027, 4, 28, 8, 0, tzinfo=zone)


def test_an_absence_is_days_off_up_to_and_including_its_last_day():
    zone = timezone(AMS)
    away = WorkingHours.parse(None, None, date(2027, 2, 5))  # back on Monday 8 February
    assert not away.works_on(date(2027, 2, 5)) and away.works_on(date(2027, 2, 8))
    s = Schedule.build("monthly", date(2027, 1, 1), AMS, day=27, at="09:00")
    assert local(s.due_at(s.period(0), away)) == datetime(2027, 2, 8, 9, 0, tzinfo=zone)
    assert s.due_at(s.period(2), away) == s.due_at(s.period(2), HOURS)  # after it, all as before
    # The days away do not count as working days: a nudge comes on the second day back.
    sent = datetime(2027, 1, 27, 9, 0, tzinfo=zone)
    assert local(add_working_days(sent, 2, zone, away)) == datetime(2027, 2, 9, 9, 0, tzinfo=zone)
    # Months away, in one step; a holiday on the first day back moves it one more day.
    summer = WorkingHours.parse("09:00-17:00", "12345", date(2027, 4, 26))
    assert local(s.due_at(s.period(0), summer)) == datetime(2027, 4, 28, 9, 0, tzinfo=zone)
    assert local(next_working_morning(sent, zone, summer)) == datetime(2027, 4, 28, 9, 0, tzinfo=zone)
    # An absence gone by changes nothing.
    over = WorkingHours.parse(None, None, date(2026, 12, 31))
    assert s.due_at(s.period(0), over) == s.due_at(s.period(0), HOURS)
