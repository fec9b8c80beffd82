"""Everything a person reads as a number, amount, date, moment, period or option label, in `nl` or `en`.

Babel (CLDR) knows each language's separators and its month and day names. Our own rules are
the method's: at most two decimals, a date as 1-3-2027 in both languages (as people type it
back), an amount in euros as "€ 12.500", and periods as the programme names them ("oktober
2026", "week 42 2026", "3e kwartaal 2026").
"""

from __future__ import annotations

import calendar
import decimal
from datetime import date, datetime, time, timedelta
from functools import cache

from babel import Locale, dates, numbers

from bot.definition import Field, Option

DECIMAL = numbers.parse_pattern("#,##0.##")  # grouped, at most two decimals
MONEY = numbers.parse_pattern("¤ #,##0.##")
DAY = "d-M-y"
SHORT_DAY = "d LLL y"  # stand-alone month abbreviations: "mrt", not "mrt."
MONTH = "LLLL y"
MOMENT = "EEE d LLL y HH:mm"
PERCENT_UNITS = ("procent", "percent")
HALF_UP = decimal.Context(rounding=decimal.ROUND_HALF_UP)  # 12,345 reads as 12,35, as people round


@cache
def language(locale: str) -> Locale:
    return Locale.parse("en" if locale == "en" else "nl")


# --- numbers and amounts ---------------------------------------------------------------------


def number(value: float, locale: str) -> str:
    """12.500,5 in Dutch, 12,500.5 in English."""
    with decimal.localcontext(HALF_UP):
        text = DECIMAL.apply(value, language(locale))
    return "0" if text == "-0" else text


def money(value: float, locale: str) -> str:
    """ "€ 12.500,5" """
    with decimal.localcontext(HALF_UP):
        return MONEY.apply(value, language(locale), currency="EUR", currency_digits=False)


def amount(value: float | None, unit: str | None, locale: str) -> str:
    """A measured value in its indicator's unit: "€ 1.250", "45%", "12"; "–" for none."""
    if value is None:
        return "–"
    unit = (unit or "").casefold()
    if unit == "euro":
        return money(value, locale)
    if unit in PERCENT_UNITS:
        return f"{number(value, locale)}%"
    return number(value, locale)


def editable_number(value: float, locale: str) -> str:
    """A stored number as text to edit, every digit kept: saving an unchanged form changes nothing."""
    s = repr(float(value))
    if "e" in s:
        s = f"{value:.20f}".rstrip("0")
    s = s.removesuffix(".0").rstrip(".")
    return s if locale == "en" else s.replace(".", ",")


# --- dates, moments and periods --------------------------------------------------------------


def day(value: date | datetime, locale: str) -> str:
    """ "1-3-2027" """
    return dates.format_date(value, DAY, locale=language(locale))


def short_day(value: date, locale: str) -> str:
    """ "1 mrt 2027" """
    return dates.format_date(value, SHORT_DAY, locale=language(locale))


def moment(value: datetime, locale: str) -> str:
    """A moment in the zone it carries: "vr 29 jan 2027 09:00" / "Fri 29 Jan 2027 09:00"."""
    return dates.format_datetime(value, MOMENT, locale=language(locale))


def clock(value: datetime | time) -> str:
    """ "09:00" """
    return f"{value:%H:%M}"


def weekday(iso_day: int, locale: str) -> str:
    """ "maandag" for 1 … "zondag" for 7."""
    return dates.get_day_names("wide", locale=language(locale))[iso_day - 1]


def weekdays(iso_days, locale: str) -> str:
    return ", ".join(weekday(d, locale) for d in sorted(iso_days))


def period(start: date, end: date, locale: str) -> str:
    """A measurement period, named by what its dates cover: "oktober 2026", "week 42 2026",
    "3e kwartaal 2026" (Q3 2026), "2026", otherwise its first and last day."""
    length = end - start + timedelta(days=1)
    if length == timedelta(days=7) and start.isoweekday() == 1:
        week = start.isocalendar()
        return f"week {week.week} {week.year}"
    if start.day == 1 and end.day == calendar.monthrange(end.year, end.month)[1]:
        months = (end.year - start.year) * 12 + end.month - start.month + 1
        if months == 1:
            return dates.format_date(start, MONTH, locale=language(locale))
        if months == 3 and start.month % 3 == 1:
            quarter = start.month // 3 + 1
            return f"Q{quarter} {start.year}" if locale == "en" else f"{quarter}e kwartaal {start.year}"
        if months == 12 and start.month == 1:
            return str(start.year)
    return f"{short_day(start, locale)} – {short_day(end, locale)}"


# --- answers as stored ----------------------------------------------------------------------


def option_label(options: tuple[Option, ...], key: str, locale: str) -> str:
    return next((o.label(locale) for o in options if o.key == key), key)


def field_value(f: Field, value, locale: str) -> str:
    """A stored answer as a reader sees it: 1-3-2027, 12.500,5, labels instead of keys."""
    if value is None or value == "" or value == []:
        return ""
    if f.kind == "date" and isinstance(value, date):
        return day(value, locale)
    if f.kind == "number":
        return money(float(value), locale) if f.unit == "euro" else number(float(value), locale)
    if f.kind == "choice":
        return option_label(f.options, value, locale)
    if f.kind == "multichoice":
        return ", ".join(option_label(f.options, v, locale) for v in value)
    return str(value)
