"""Turning typed answers into stored values, one parser per field kind.

Every parser takes the raw text and returns the value to store, or raises `Invalid` with a
message key from the catalogue, so the wizard can say what it expected.
"""

from __future__ import annotations

import math
import re
from datetime import date
from urllib.parse import urlsplit

from bot.definition import Field, Option
from bot.formatting import number
from bot.names import named_by, naming

ME = {"ik", "me", "mij", "zelf", "myself", "i", "mijzelf"}  # an owner who is the writer
OWNER_SEPARATOR = r"[,;&]|\s+(?:en|and)\s+"  # "Anna, Piet en ik" names three


def owner_parts(text: str | None) -> list[str]:
    """The names in an indicator's owner text."""
    return re.split(OWNER_SEPARATOR, text or "")


def owners_shown(text: str, me: str, people: list = ()) -> str:
    """The owner text with "ik" as the writer's name, separators as written ("Karin en Anna"),
    and each name that means one of `people` marked as naming them (bot.names.naming)."""
    pieces = re.split(f"({OWNER_SEPARATOR})", text)
    for i in range(0, len(pieces), 2):
        name = pieces[i].strip()
        if name.casefold() in ME:
            pieces[i] = pieces[i].replace(name, me)
        elif name and (person := named_by(name, people)) is not None:
            pieces[i] = pieces[i].replace(name, naming(person.id, name))
    return "".join(pieces)


MONTHS = {
    # Dutch and English month names and their usual abbreviations.
    **{
        m: i
        for i, m in enumerate(
            [
                "januari",
                "februari",
                "maart",
                "april",
                "mei",
                "juni",
                "juli",
                "augustus",
                "september",
                "oktober",
                "november",
                "december",
            ],
            start=1,
        )
    },
    **{
        m: i
        for i, m in enumerate(
            [
                "january",
                "february",
                "march",
                "april",
                "may",
                "june",
                "july",
                "august",
                "september",
                "october",
                "november",
                "december",
            ],
            start=1,
        )
    },
    **{
        m: i
        for i, m in enumerate(
            ["jan", "feb", "mrt", "apr", "mei", "jun", "jul", "aug", "sep", "okt", "nov", "dec"], start=1
        )
    },
    "mar": 3,
    "oct": 10,
    "sept": 9,
}


# Control characters, and the private-use characters that mark names in replies (bot/names.py):
# typed, they could make a reply say it names someone.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ue000-\ue019]")
MAX_INTEGER = 2**31 - 1  # what an INTEGER column holds on every database we support


class Invalid(ValueError):
    """An answer that does not fit its field; `key` names the catalogue text explaining why."""

    def __init__(self, key: str, **params):
        super().__init__(key)
        self.key = key
        self.params = params


def clean(text: str) -> str:
    """Text as we store it: Unix line ends, no control characters (PostgreSQL refuses NUL)."""
    return CONTROL.sub("", (text or "").replace("\r\n", "\n").replace("\r", "\n")).strip()


def parse(field: Field, text: str, locale: str, options: tuple[Option, ...] | None = None):
    text = clean(text)
    if not text:
        raise Invalid("invalid.empty")
    # A multiple choice is measured as stored ("a, b, c"), so typing "a,b,c" and editing it later agree.
    limit = field.limit * 4 if field.kind == "multichoice" and field.limit else field.limit
    if limit and len(text) > limit:
        raise Invalid("invalid.too_long", limit=field.limit, length=len(text))
    parser = PARSERS[field.kind]
    return parser(field, text, locale, options if options is not None else field.options)


def _text(field, text, locale, options):
    return text


def parse_number(text: str, locale: str = "nl") -> float:
    """Dutch and English notations: 3,5 · 1.250 · 1.250,75 · 1,250.75 · € 12.500 · 15%."""
    cleaned = re.sub(r"(?i)\s|€|eur(o|os)?|%|\u00a0", "", text)
    if cleaned.startswith("+"):
        cleaned = cleaned[1:]
    if not re.fullmatch(r"-?[\d.,]*\d[\d.,]*", cleaned):
        raise Invalid("invalid.number")
    if "," in cleaned and "." in cleaned:
        decimal = "," if cleaned.rfind(",") > cleaned.rfind(".") else "."
    elif "," in cleaned:
        thousands_en = locale == "en" and re.fullmatch(r"-?\d{1,3}(,\d{3})+", cleaned)
        decimal = "." if thousands_en else ","
    elif "." in cleaned:
        thousands_nl = locale != "en" and re.fullmatch(r"-?\d{1,3}(\.\d{3})+", cleaned)
        decimal = "," if thousands_nl else "."
    else:
        decimal = "."
    thousands = "." if decimal == "," else ","
    if cleaned.count(decimal) > 1:
        raise Invalid("invalid.number")
    normal = cleaned.replace(thousands, "").replace(decimal, ".")
    try:
        return float(normal)
    except ValueError:
        raise Invalid("invalid.number") from None


def _number(field, text, locale, options):
    value = parse_number(text, locale)
    if not math.isfinite(value) or abs(value) >= 1e15:
        raise Invalid("invalid.number")
    if field.integer and abs(value) > MAX_INTEGER:
        raise Invalid("invalid.max", max=number(MAX_INTEGER, locale))
    if field.integer:
        if value != int(value):
            raise Invalid("invalid.integer")
        value = int(value)
    if field.min is not None and value < field.min:
        raise Invalid("invalid.min", min=number(field.min, locale))
    if field.max is not None and value > field.max:
        raise Invalid("invalid.max", max=number(field.max, locale))
    return value


def parse_date(text: str) -> date:
    """1-3-2027 · 01/03/2027 · 1.3.2027 · 2027-03-01 · 1 maart 2027 · 1 March 2027."""
    t = text.strip().lower().rstrip(".")
    try:
        if m := re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", t):
            return date(int(m[1]), int(m[2]), int(m[3]))
        if m := re.fullmatch(r"(\d{1,2})[-/.](\d{1,2})[-/.](\d{2}|\d{4})", t):
            year = int(m[3]) + (2000 if len(m[3]) == 2 else 0)
            return date(year, int(m[2]), int(m[1]))
        if m := re.fullmatch(r"(\d{1,2})\s+([a-z]+)\.?,?\s+(\d{4})", t):
            if m[2] in MONTHS:
                return date(int(m[3]), MONTHS[m[2]], int(m[1]))
        if m := re.fullmatch(r"([a-z]+)\.?\s+(\d{1,2}),?\s+(\d{4})", t):
            if m[1] in MONTHS:
                return date(int(m[3]), MONTHS[m[1]], int(m[2]))
    except ValueError:
        raise Invalid("invalid.date_impossible") from None
    raise Invalid("invalid.date")


def _date(field, text, locale, options):
    value = parse_date(text)
    if not 1900 <= value.year <= 2200:
        raise Invalid("invalid.date_range")
    return value


def is_number(text: str | None, digits: int = 9) -> bool:
    """A whole number written in ASCII digits, short enough for an id or a step ("²" is not one)."""
    return bool(text) and len(text) <= digits and text.isascii() and text.isdigit()


def match_option(text: str, options: tuple[Option, ...], locale: str) -> Option | None:
    """An option by its number in the list, its key or its label in either language."""
    t = text.strip().casefold()
    if is_number(t) and 1 <= int(t) <= len(options):
        return options[int(t) - 1]
    for o in options:
        if t in (o.key.casefold(), o.nl.casefold(), o.en.casefold()):
            return o
    starts = [o for o in options if o.label(locale).casefold().startswith(t)]
    return starts[0] if len(starts) == 1 and len(t) >= 3 else None


def _choice(field, text, locale, options):
    option = match_option(text, options, locale)
    if option is not None:
        return option.label(locale) if field.options_from else option.key
    if field.allow_other and not is_number(text):
        if field.other:
            OTHER_CHECKS[field.other](text)
        return text
    raise Invalid("invalid.choice")


RHYTHMS = {  # option key -> (unit, count): how long one measurement period is
    "weekly": ("week", 1),
    "biweekly": ("week", 2),
    "monthly": ("month", 1),
    "quarterly": ("month", 3),
    "halfyearly": ("month", 6),
    "yearly": ("month", 12),
    "biennial": ("month", 24),
}
RHYTHM_WORDS = {
    "tweewekelijks": ("week", 2),
    "halfjaarlijks": ("month", 6),
    "tweejaarlijks": ("month", 24),
    "fortnightly": ("week", 2),
    "half-yearly": ("month", 6),
}
UNIT_WORDS = {
    "week": "week",
    "weken": "week",
    "weeks": "week",
    "maand": "month",
    "maanden": "month",
    "month": "month",
    "months": "month",
    "jaar": "year",
    "jaren": "year",
    "year": "year",
    "years": "year",
}


def parse_rhythm(text: str) -> tuple[str, int]:
    """How often an indicator is measured, as (unit, count): an option key, or a custom rhythm
    typed as "elke 3 weken", "om de 6 maanden", "every 2 years", "tweewekelijks"."""
    t = re.sub(r"\s+", " ", (text or "").strip().casefold())
    if t in RHYTHMS:
        return RHYTHMS[t]
    if t in RHYTHM_WORDS:
        return RHYTHM_WORDS[t]
    m = re.fullmatch(r"(?:elke|iedere|om de|every|each)\s+(\d{1,3})?\s*([a-z]+)", t)
    if m and m[2] in UNIT_WORDS:
        count = int(m[1] or 1)
        unit = UNIT_WORDS[m[2]]
        if unit == "year":
            unit, count = "month", count * 12
        if 1 <= count <= (104 if unit == "week" else 60):
            return unit, count
    raise Invalid("invalid.rhythm")


def _rhythm(text: str) -> None:
    parse_rhythm(text)


OTHER_CHECKS = {"frequency": _rhythm}


def _multichoice(field, text, locale, options):
    values: list[str] = []
    for part in (p.strip() for p in re.split(r"[,;\n]", text)):
        if not part:
            continue
        option = match_option(part, options, locale)
        if option is not None:
            value = option.key
        elif field.allow_other and not is_number(part):
            value = part
        else:
            raise Invalid("invalid.multichoice", part=part)
        if value not in values:
            values.append(value)
    if not values:
        raise Invalid("invalid.empty")
    stored = ", ".join(values)
    if field.limit and len(stored) > field.limit:
        raise Invalid("invalid.too_long", limit=field.limit, length=len(stored))
    return values


def _link(field, text, locale, options):
    url = text if re.match(r"(?i)https?://", text) else f"https://{text}"
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not re.fullmatch(
        r"[\w.-]+\.[a-z]{2,}(:\d+)?", parts.netloc, re.I
    ):
        raise Invalid("invalid.link")
    if re.search(r"\s", url):
        raise Invalid("invalid.link")
    if field.limit and len(url) > field.limit:
        raise Invalid("invalid.too_long", limit=field.limit, length=len(url))
    return url


def parse_yes_no(text: str) -> bool | None:
    t = text.strip().casefold()
    if t in {"ja", "j", "yes", "y", "jazeker", "graag", "ok", "oké", "okay"}:
        return True
    if t in {"nee", "n", "no", "nope", "klaar", "done"}:
        return False
    return None


def parse_time(text: str) -> str:
    """9:00 · 09.30 · 9u · 14 uur · 2:30pm, as "HH:MM"."""
    t = text.strip().casefold().replace(" ", "")
    m = re.fullmatch(r"(\d{1,2})(?:[:.h](\d{2}))?(?:u|uur|h)?(am|pm)?", t)
    if not m:
        raise Invalid("invalid.time")
    hour, minute = int(m[1]), int(m[2] or 0)
    if m[3] == "pm" and hour < 12:
        hour += 12
    if m[3] == "am" and hour == 12:
        hour = 0
    if hour > 23 or minute > 59:
        raise Invalid("invalid.time")
    return f"{hour:02d}:{minute:02d}"


def _time(field, text, locale, options):
    return parse_time(text)


PARSERS = {
    "time": _time,
    "text": _text,
    "longtext": _text,
    "number": _number,
    "date": _date,
    "choice": _choice,
    "multichoice": _multichoice,
    "link": _link,
}
