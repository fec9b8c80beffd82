"""The eight description steps and the effect catalogue, loaded from `bot/data/*.toml`.

The wizard engine only knows these dataclasses; adding or changing a question is an edit of
`steps.toml`, not of code.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

DATA = Path(__file__).parent / "data"
KINDS = {"text", "longtext", "number", "date", "time", "choice", "multichoice", "list", "link"}
DEFAULT_MAX_LEN = {"text": 200, "longtext": 10_000, "choice": 150, "multichoice": 500, "link": 2_000}


@dataclass(frozen=True)
class Option:
    key: str
    nl: str
    en: str
    group: Option | None = None  # the group it is shown under (an effect's group of the ordering)

    def label(self, locale: str) -> str:
        return self.en if locale == "en" else self.nl


@dataclass(frozen=True)
class Field:
    key: str
    kind: str
    nl: str
    en: str
    help_nl: str = ""
    help_en: str = ""
    # What only one way of answering needs: typing in a chat ("typ 'overslaan'") or a form.
    chat_help_nl: str = ""
    chat_help_en: str = ""
    form_help_nl: str = ""
    form_help_en: str = ""
    label_nl: str = ""  # a short name for reviews and documents; defaults to the question
    label_en: str = ""
    required: bool = False
    max_len: int | None = None
    options: tuple[Option, ...] = ()
    options_from: str | None = None  # "effects" or "indicators": options come from the catalogue
    allow_other: bool = False
    other: str | None = None  # how a typed other answer is checked (values.OTHER_CHECKS), if at all
    chat: bool = True  # False: only in forms; the chat walk leaves it at its default
    internal: bool = False  # the author's setting (visibility): in the review, not in the document
    integer: bool = False
    min: float | None = None
    max: float | None = None
    unit: str | None = None  # "euro", or a key of [unit] in the locale files ("hours": "320 uur")
    after: str | None = None  # a date field that must not come before the named field
    items: tuple[Field, ...] = ()  # for kind == "list": the fields of one item
    max_items: int = 20
    item_nl: str = ""
    item_en: str = ""
    more_nl: str = ""
    more_en: str = ""

    def question(self, locale: str) -> str:
        return self.en if locale == "en" else self.nl

    def help(self, locale: str, form: bool = False) -> str:
        """The hint for this field, in a chat or (`form`) in a form, modal or card."""
        en = locale == "en"
        common = self.help_en if en else self.help_nl
        if form:
            extra = self.form_help_en if en else self.form_help_nl
        else:
            extra = self.chat_help_en if en else self.chat_help_nl
        return " ".join(part for part in (common, extra) if part)

    def label(self, locale: str) -> str:
        short = self.label_en if locale == "en" else self.label_nl
        return short or self.question(locale).split("?")[0].split("(")[0].strip()

    def item_label(self, locale: str) -> str:
        return self.item_en if locale == "en" else self.item_nl

    def more(self, locale: str) -> str:
        return self.more_en if locale == "en" else self.more_nl

    @property
    def limit(self) -> int | None:
        return self.max_len or DEFAULT_MAX_LEN.get(self.kind)

    def item(self, key: str) -> Field:
        return next(f for f in self.items if f.key == key)


@dataclass(frozen=True)
class Step:
    no: int
    key: str
    nl: str
    en: str
    fields: tuple[Field, ...]

    def title(self, locale: str) -> str:
        return self.en if locale == "en" else self.nl

    def field(self, key: str) -> Field:
        return next(f for f in self.fields if f.key == key)


@dataclass(frozen=True)
class SuggestedIndicator:
    nl: str
    en: str
    kind: str
    unit: str

    def label(self, locale: str) -> str:
        return self.en if locale == "en" else self.nl


@dataclass(frozen=True)
class Effect:
    key: str
    nl: str
    en: str
    indicators: tuple[SuggestedIndicator, ...] = field(default_factory=tuple)
    group: Option | None = None
    beneficiaries: tuple[Option, ...] = ()  # who typically counts on it (incasseerders)
    source: str = "eigen"  # where its wording comes from (see effects.toml)

    def label(self, locale: str) -> str:
        return self.en if locale == "en" else self.nl

    def option(self) -> Option:
        return Option(self.key, self.nl, self.en, self.group)


def _field(raw: dict) -> Field:
    raw = dict(raw)
    if raw["kind"] not in KINDS:
        raise ValueError(f"unknown field kind {raw['kind']!r} for {raw['key']!r}")
    raw["options"] = tuple(Option(**o) for o in raw.pop("option", ()))
    raw["items"] = tuple(_field(i) for i in raw.pop("item", ()))
    return Field(**raw)


@cache
def steps() -> tuple[Step, ...]:
    data = tomllib.loads((DATA / "steps.toml").read_text("utf-8"))
    result = tuple(
        Step(no=s["no"], key=s["key"], nl=s["nl"], en=s["en"], fields=tuple(_field(f) for f in s["field"]))
        for s in data["step"]
    )
    if [s.no for s in result] != list(range(1, len(result) + 1)):
        raise ValueError("steps must be numbered 1, 2, 3, … in order")
    return result


def step(no: int) -> Step:
    return steps()[no - 1]


def find_field(key: str) -> tuple[Step, Field]:
    for s in steps():
        for f in s.fields:
            if f.key == key:
                return s, f
    raise KeyError(key)


# An archetype describes a kind of intervention: what belongs to one project is never part of it.
PROJECT_SPECIFIC = frozenset(
    {
        "title", "neighbourhood", "municipality", "partner_organisations", "start_date", "end_date",
        "project_status", "target_group_size", "budget", "hours", "reports", "results_lessons", "visibility",
    }
)  # fmt: skip
PROJECT_SPECIFIC_ITEM = frozenset(
    {"baseline", "baseline_date", "target", "target_date", "owner", "remind_day", "remind_time", "starts_on", "ends_on"}
)
ARCHETYPE = "archetype"  # Intervention.kind of a curator's archetype draft


def asked(f: Field, kind: str, item: bool = False) -> bool:
    """Whether a description of `kind` has field `f` (`item`: a field of a list item). An archetype
    draft keeps the title, as the archetype's name."""
    if kind != ARCHETYPE:
        return True
    return f.key not in PROJECT_SPECIFIC_ITEM if item else f.key == "title" or f.key not in PROJECT_SPECIFIC


def fields_after(key: str) -> list[tuple[Step, Field]]:
    """The fields that must not come before field `key` (their `after` names it)."""
    return [(s, f) for s in steps() for f in s.fields if f.after == key]


EFFECT_SOURCES = {"wwidw", "eigen"}
INDICATOR_KINDS = {"output", "outcome", "cost"}


@cache
def effect_groups() -> tuple[Option, ...]:
    return tuple(Option(g["key"], g["nl"], g["en"]) for g in _effect_data()["group"])


@cache
def effects() -> tuple[Effect, ...]:
    """The effect ordering, group by group in the order of its groups (so a list's numbers and
    its grouped display agree). The file is checked as it is read: a typo fails loudly here."""
    data = _effect_data()
    groups = {g.key: g for g in effect_groups()}
    beneficiaries = {b["key"]: Option(b["key"], b["nl"], b["en"]) for b in data["beneficiary"]}
    units = {o.key for o in find_field("indicators")[1].item("unit").options}
    out, seen = [], set()
    for e in data["effect"]:
        names = {e["key"], e["nl"].casefold(), e["en"].casefold()}
        if problem := effect_problem(e, names & seen, groups, beneficiaries, units):
            raise ValueError(f"effects.toml, effect {e.get('key')!r}: {problem}")
        seen |= names
        out.append(
            Effect(
                key=e["key"],
                nl=e["nl"],
                en=e["en"],
                indicators=tuple(SuggestedIndicator(**i) for i in e.get("indicator", ())),
                group=groups[e["group"]],
                beneficiaries=tuple(beneficiaries[b] for b in e["beneficiaries"]),
                source=e["source"],
            )
        )
    order = {key: n for n, key in enumerate(groups)}
    return tuple(sorted(out, key=lambda e: order[e.group.key]))


def effect_problem(e: dict, twice: set, groups: dict, beneficiaries: dict, units: set) -> str | None:
    """What is wrong with one effect of effects.toml, if anything."""
    if twice:
        return f"key or name used twice: {sorted(twice)}"
    if e.get("group") not in groups:
        return f"no group {e.get('group')!r}"
    if unknown := [b for b in e.get("beneficiaries", ()) if b not in beneficiaries]:
        return f"no beneficiary {unknown[0]!r}"
    if e.get("source") not in EFFECT_SOURCES:
        return f"source {e.get('source')!r} is none of {sorted(EFFECT_SOURCES)}"
    for i in e.get("indicator", ()):
        if i["kind"] not in INDICATOR_KINDS or i["unit"] not in units:
            return f"indicator {i['nl']!r}: kind {i['kind']!r} or unit {i['unit']!r} unknown"
    return None


@cache
def _effect_data() -> dict:
    return tomllib.loads((DATA / "effects.toml").read_text("utf-8"))


def effect_by_name(name: str) -> Effect | None:
    """The catalogue effect a stored effect name refers to (in either language)."""
    folded = name.strip().casefold()
    return next((e for e in effects() if folded in (e.nl.casefold(), e.en.casefold(), e.key)), None)
