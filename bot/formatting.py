"""Everything a person reads as a number, amount, date, moment, period or option label, in `nl` or `en`.

Babel (CLDR) supplies what differs per language: decimal and group separators, the euro sign,
month and day names. The patterns are the method's own: at most two decimals, a date as 1-3-2027
in both languages (as people type it back), "€ 12.500", "vr 29 jan 2027 09:00", and periods as
the programme names them ("oktober 2026", "week 42 2026", "3e kwartaal 2026"). The CLDR data is
read once per language; formatting itself is plain string work, since digests format thousands
of values in one pass.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache

from babel import Locale, dates, numbers

from bot.definition import Field, Option
from bot.i18n import t

PERCENT_UNITS = ("procent", "percent")


@dataclass(frozen=True)
class Language:
    """What CLDR says about one language, as far as we print it."""

    separators: dict  # str.maketrans: Python's "," and "." to this language's group and decimal signs
    euro: str
    months: tuple[str, ...]  # "oktober" (index 1-12)
    short_months: tuple[str, ...]  # "okt" (stand-alone: without the abbreviation's dot)
    weekdays: tuple[str, ...]  # "maandag" (ISO weekday 1-7)
    short_weekdays: tuple[str, ...]  # "ma"


@cache
def language(locale: str) -> Language:
    cldr = Locale.parse("en" if locale == "en" else "nl")
    months = dates.get_month_names("wide", "stand-alone", cldr)
    short = dates.get_month_names("abbreviated", "stand-alone", cldr)
    days = dates.get_day_names("wide", "format", cldr)
    short_days = dates.get_day_names("abbreviated", "format", cldr)
    return Language(
        separators=str.maketrans(",.", numbers.get_group_symbol(cldr) + numbers.get_decimal_symbol(cldr)),
        euro=numbers.get_currency_symbol("EUR", cldr),
        months=("", *(months[m] for m in range(1, 13))),
        short_months=("", *(short[m] for m in range(1, 13))),
        weekdays=("", *(days[d] for d in range(7))),
        short_weekdays=("", *(short_days[d] for d in range(7))),
    )


# --- numbers and amounts ---------------------------------------------------------------------


def number(value: float, locale: str) -> str:
    """12.500,5 in Dutch, 12,500.5 in English."""
    text = f"{value:,.2f}".rstrip("0").rstrip(".")
    if text in ("-0", ""):
        return "0"
    return text.translate(language(locale).separators)


def money(value: float, locale: str) -> str:
    """ "€ 12.500,5" """
    return f"{language(locale).euro} {number(value, locale)}"


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
    return f"{value.day}-{value.month}-{value.year}"


def short_day(value: date, locale: str) -> str:
    """ "1 mrt 2027" """
    return f"{value.day} {language(locale).short_months[value.month]} {value.year}"


def month(value: date, locale: str) -> str:
    """ "oktober 2026" """
    return f"{language(locale).months[value.month]} {value.year}"


def moment(value: datetime, locale: str) -> str:
    """A moment in the zone it carries: "vr 29 jan 2027 09:00" / "Fri 29 Jan 2027 09:00"."""
    weekday = language(locale).short_weekdays[value.isoweekday()]
    return f"{weekday} {short_day(value, locale)} {clock(value)}"


def clock(value: datetime | time) -> str:
    """ "09:00" """
    return f"{value:%H:%M}"


def weekday(iso_day: int, locale: str) -> str:
    """ "maandag" for 1 … "zondag" for 7."""
    return language(locale).weekdays[iso_day]


def weekdays(iso_days, locale: str) -> str:
    return ", ".join(weekday(d, locale) for d in sorted(iso_days))


def period(start: date, end: date, locale: str, in_sentence: bool = False) -> str:
    """A measurement period, named by what its dates cover: "oktober 2026", "week 42 2026",
    "3e kwartaal 2026" (Q3 2026), "2026", otherwise its first and last day. `in_sentence`, after
    "in" or "over": "week 42 van 2026", "het 3e kwartaal van 2026"."""
    length = end - start + timedelta(days=1)
    of = (" of " if locale == "en" else " van ") if in_sentence else " "
    if length == timedelta(days=7) and start.isoweekday() == 1:
        week = start.isocalendar()
        return f"week {week.week}{of}{week.year}"
    if start.day == 1 and end.day == calendar.monthrange(end.year, end.month)[1]:
        months = (end.year - start.year) * 12 + end.month - start.month + 1
        if months == 1:
            return month(start, locale)
        if months == 3 and start.month % 3 == 1:
            quarter = start.month // 3 + 1
            if locale == "en":
                return f"Q{quarter} {start.year}"
            return f"het {quarter}e kwartaal van {start.year}" if in_sentence else f"{quarter}e kwartaal {start.year}"
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
        if f.unit == "euro":
            return money(float(value), locale)
        return t(locale, f"unit.{f.unit}", n=number(float(value), locale)) if f.unit else number(float(value), locale)
    if f.kind == "choice":
        return option_label(f.options, value, locale)
    if f.kind == "multichoice":
        return ", ".join(option_label(f.options, v, locale) for v in value)
    return str(value)
