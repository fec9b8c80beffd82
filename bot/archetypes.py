"""Archetypes: write-ups of a *kind* of intervention, the starting point of a new description.

Curators keep them in the database (bot/curation.py, bot/archetype_records.py); this module says
what one may hold. Each has a key, Dutch and English names and summaries, and values for step
fields of `steps.toml` (keyed by field key). Every value is checked against the step definition,
when a curator publishes one and again when it is read, so a draft is never filled with a value
the wizard could not have stored:

    check(raw)                      an Archetype from a record's values, or ArchetypeError
    find("klushuis", among)         one archetype by a forgiving name match, or None
    prefill(session, iv, a, "nl")   fill a draft's fields from archetype `a`
    snapshot(session, iv)           the values of a curator's draft, as `check` takes them

An archetype holds only generic content: nothing that belongs to one project (title, neighbourhood,
dates, budget, baseline and target numbers, owners, visibility) can be in it. Its texts are Dutch;
effects and indicators from the catalogue are stored in the reader's language, as the wizard does.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from difflib import SequenceMatcher
from types import MappingProxyType

from sqlmodel import Session

from bot import definition, store
from bot.definition import PROJECT_SPECIFIC, PROJECT_SPECIFIC_ITEM, Field, SuggestedIndicator
from bot.values import clean
from models import Intervention

# What every item of a list must have once loaded (kind and unit may come from the catalogue).
REQUIRED_ITEM = {
    "effects": ("name", "success_criterion"),
    "indicators": ("name", "kind", "unit", "frequency", "direction"),
}
OWN = "own"  # marks an effect or indicator that is deliberately not in the catalogue
TEXT_KINDS = {"text", "longtext"}
NAME_MAX = 150
SUMMARY_MAX = 300
KEY_PATTERN = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
TOP_LEVEL = {"key", "name_nl", "name_en", "summary_nl", "summary_en", "aliases", "fields"}

MAX_QUERY = 200  # longer input is not the name of an archetype
STOPWORDS = frozenset("de het een en in op van voor met aan of te bij the a an and of on for with to at by".split())


class ArchetypeError(ValueError):
    """An archetype that does not fit the step definition; the message says which and where."""


@dataclass(frozen=True, eq=False)
class Archetype:
    key: str
    name_nl: str
    name_en: str
    summary_nl: str
    summary_en: str
    # Field key -> value: a text, a list of option keys (multichoice), an option key (choice), or
    # for a list field a tuple of items (read-only mappings of item field key -> value).
    fields: Mapping[str, object]
    aliases: tuple[str, ...] = ()
    version_id: int | None = None  # the archetype_version record it was read from

    def name(self, locale: str) -> str:
        return self.name_en if locale == "en" else self.name_nl

    def summary(self, locale: str) -> str:
        return self.summary_en if locale == "en" else self.summary_nl


# --- checking -------------------------------------------------------------------------------


def check(raw: Mapping, version_id: int | None = None) -> Archetype:
    """An archetype from a record's values; raises ArchetypeError on anything the step definition
    does not allow, naming the entry."""
    return _archetype(1, dict(raw), version_id)


def check_names(found: list[Archetype]) -> None:
    """Keys and names must tell the archetypes apart: `find` relies on it."""
    seen_keys: set[str] = set()
    seen_names: dict[str, str] = {}
    for a in found:
        if a.key in seen_keys:
            raise ArchetypeError(f"archetype {a.key!r}: the key is used twice")
        seen_keys.add(a.key)
        for name in _names(a):
            if seen_names.setdefault(name, a.key) != a.key:
                raise ArchetypeError(f"archetype {a.key!r}: the name {name!r} is also used by {seen_names[name]!r}")


def _archetype(n: int, raw, version_id: int | None = None) -> Archetype:
    if not isinstance(raw, dict):
        raise ArchetypeError(f"archetype #{n}: expected a table")
    key = raw.get("key")
    if not isinstance(key, str) or not KEY_PATTERN.fullmatch(key):
        raise ArchetypeError(f"archetype #{n}: key must be a slug like 'verkoop-huurwoningen', not {key!r}")
    where = f"archetype {key!r}"
    unknown = sorted(set(raw) - TOP_LEVEL)
    if unknown:
        raise ArchetypeError(f"{where}: unknown entries {unknown}; allowed are {sorted(TOP_LEVEL)}")
    texts = {
        name: _plain(where, name, raw.get(name), NAME_MAX if name.startswith("name") else SUMMARY_MAX)
        for name in ("name_nl", "name_en", "summary_nl", "summary_en")
    }
    aliases = raw.get("aliases", [])
    if not isinstance(aliases, list):
        raise ArchetypeError(f"{where}: aliases must be a list of names")
    fields = raw.get("fields")
    if not isinstance(fields, dict) or not fields:
        raise ArchetypeError(f"{where}: [archetype.fields] is missing or empty")
    return Archetype(
        key=key,
        fields=MappingProxyType({k: _value(f"{where}, field {k!r}", k, v) for k, v in fields.items()}),
        aliases=tuple(_plain(where, "aliases", a, NAME_MAX) for a in aliases),
        version_id=version_id,
        **texts,
    )


def _plain(where: str, name: str, value, limit: int) -> str:
    if not isinstance(value, str) or not clean(value):
        raise ArchetypeError(f"{where}: {name} must be a non-empty text")
    value = clean(value)
    if len(value) > limit:
        raise ArchetypeError(f"{where}: {name} is {len(value)} characters, at most {limit} allowed")
    return value


def _value(where: str, key: str, raw):
    try:
        _, f = definition.find_field(key)
    except KeyError:
        raise ArchetypeError(f"{where}: there is no such field in steps.toml") from None
    if key in PROJECT_SPECIFIC:
        raise ArchetypeError(f"{where}: belongs to one project, not to an archetype")
    if f.kind == "list":
        if not isinstance(raw, list) or not raw:
            raise ArchetypeError(f"{where}: expected one or more [[archetype.fields.{key}]] items")
        if len(raw) > f.max_items:
            raise ArchetypeError(f"{where}: {len(raw)} items, at most {f.max_items} allowed")
        return tuple(_item(f"{where}, item {n}", f, item) for n, item in enumerate(raw, start=1))
    return _scalar(where, f, raw)


def _scalar(where: str, f: Field, raw):
    if f.kind in TEXT_KINDS:
        return _text(where, f, raw)
    if f.kind == "choice" and not f.options_from:
        return _option(where, f, raw)
    if f.kind == "multichoice":
        if not isinstance(raw, list) or not raw:
            raise ArchetypeError(f"{where}: expected a list of option keys")
        keys = [_option(where, f, v) for v in raw]
        if len(set(keys)) != len(keys):
            raise ArchetypeError(f"{where}: an option is listed twice")
        if f.limit and len(", ".join(keys)) > f.limit:
            raise ArchetypeError(f"{where}: too many options for {f.limit} characters")
        return keys
    raise ArchetypeError(f"{where}: a {f.kind} field is not something an archetype sets")


def _text(where: str, f: Field, raw) -> str:
    if not isinstance(raw, str) or not clean(raw):
        raise ArchetypeError(f"{where}: expected a non-empty text")
    value = clean(raw)
    if f.limit and len(value) > f.limit:
        raise ArchetypeError(f"{where}: {len(value)} characters, at most {f.limit} allowed")
    return value


def _option(where: str, f: Field, raw) -> str:
    keys = [o.key for o in f.options]
    if raw not in keys:
        raise ArchetypeError(f"{where}: {raw!r} is not an option; valid option keys are {keys}")
    return raw


def _item(where: str, f: Field, raw) -> Mapping[str, object]:
    if not isinstance(raw, dict):
        raise ArchetypeError(f"{where}: expected a table")
    raw = dict(raw)
    own = raw.pop(OWN, False)
    if not isinstance(own, bool):
        raise ArchetypeError(f"{where}: {OWN} must be true or false")
    subs = {sub.key: sub for sub in f.items}
    item: dict[str, object] = {}
    for key, value in raw.items():
        if key not in subs:
            raise ArchetypeError(f"{where}: {key!r} is not a field of {f.key}; fields are {sorted(subs)}")
        if key in PROJECT_SPECIFIC_ITEM:
            raise ArchetypeError(f"{where}: {key!r} belongs to one project, not to an archetype")
        sub = subs[key]
        if sub.options_from:
            item[key] = _catalogue_name(f"{where}, {key}", sub, value, own)
        else:
            item[key] = _scalar(f"{where}, {key}", sub, value)
    suggestion = _suggested_indicator(item.get("name", "")) if f.key == "indicators" else None
    if suggestion:
        # Like the wizard: a catalogue indicator brings its kind and unit, and the data may not contradict them.
        for key in ("kind", "unit"):
            expected = getattr(suggestion, key)
            if item.setdefault(key, expected) != expected:
                raise ArchetypeError(
                    f"{where}: {key} {item[key]!r} contradicts the catalogue's {expected!r} for {suggestion.nl!r}"
                )
    missing = [key for key in REQUIRED_ITEM.get(f.key, (f.items[0].key,)) if key not in item]
    if missing:
        raise ArchetypeError(f"{where}: missing {missing}")
    return MappingProxyType(item)


def _catalogue_name(where: str, sub: Field, raw, own: bool) -> str:
    name = _text(where, sub, raw)
    found = _catalogue_entry(sub, name)
    if found is None and not own:
        raise ArchetypeError(
            f"{where}: {name!r} is not in the catalogue (effects.toml); fix the name or mark it {OWN} = true"
        )
    if found is not None and own:
        raise ArchetypeError(f"{where}: {name!r} is in the catalogue; drop {OWN} = true")
    return name


def _catalogue_entry(sub: Field, name: str):
    """The catalogue effect or suggested indicator a name refers to, or None for an own one."""
    if sub.options_from == "effects":
        return definition.effect_by_name(name)
    if sub.options_from == "indicators":
        return _suggested_indicator(name)
    return None


def _suggested_indicator(name: str) -> SuggestedIndicator | None:
    folded = name.strip().casefold()
    return next(
        (s for e in definition.effects() for s in e.indicators if folded in (s.nl.casefold(), s.en.casefold())),
        None,
    )


# --- finding by name -----------------------------------------------------------------------------


def normal(text: str) -> str:
    """Lower case, accents off, words separated by single spaces: 'Buurtconciërge ' -> 'buurtconcierge'."""
    plain = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return " ".join(re.findall(r"[a-z0-9]+", plain.casefold()))


def _names(a: Archetype) -> set[str]:
    return {normal(n) for n in (a.key, a.name_nl, a.name_en, *a.aliases)} - {""}


def _index(among: list[Archetype]) -> list[tuple[Archetype, frozenset[str], frozenset[str]]]:
    """Per archetype: its whole names, and the words in them."""
    out = []
    for a in among:
        names = frozenset(_names(a))
        words = frozenset(w for n in names for w in n.split() if w not in STOPWORDS)
        out.append((a, names, words))
    return out


def _word_matches(query: str, word: str) -> bool:
    """'klushuis' ~ 'klushuizen', 'verkopen' ~ 'verkoop', 'woningen' ~ 'huurwoningen', small typos."""
    if query == word:
        return True
    if len(query) < 4:
        return False
    common = len(os.path.commonprefix((query, word)))
    if common >= max(4, min(len(query), len(word)) - 2):
        return True
    if len(query) >= 5 and query in word:
        return True
    return len(query) >= 6 and len(word) >= 6 and SequenceMatcher(None, query, word).ratio() >= 0.85


def find(words: str, among: list[Archetype]) -> Archetype | None:
    """The archetype of `among` that `words` names: its key, Dutch or English name or an alias, forgiving case,
    accents, spacing, word forms and small typos ("klushuis", "verkoop", "Achter de Voordeur").
    None when nothing matches, or when several archetypes match equally well."""
    if not isinstance(words, str) or len(words) > MAX_QUERY:
        return None
    query = normal(words)
    if not query:
        return None
    index = _index(among)
    for a, names, _ in index:
        if query in names:  # names are unique across archetypes (checked at load)
            return a
    terms = [t for t in query.split() if t not in STOPWORDS]
    if not terms:
        return None
    scored = [(sum(any(_word_matches(t, w) for w in vocabulary) for t in terms), a) for a, _, vocabulary in index]
    best = max((score for score, _ in scored), default=0)
    if best == 0 or best * 2 < len(terms):  # at least half of the words must fit
        return None
    winners = [a for score, a in scored if score == best]
    return winners[0] if len(winners) == 1 else None


# --- filling a draft -----------------------------------------------------------------------------


def prefill(session: Session, iv: Intervention, archetype: Archetype, locale: str) -> None:
    """Fill draft `iv` with the archetype's values: its fields are set (replacing what was there),
    its effects and indicators are added as list items. Fields the archetype does not have,
    such as the title, are left alone. Catalogue effects and indicators are stored by their name
    in `locale`, as the wizard stores a chosen option; the texts stay as written (Dutch)."""
    if iv.status != "draft":
        raise ValueError(f"intervention {iv.id} is not a draft; only a draft is filled from an archetype")
    plan = [(definition.find_field(key)[1], value) for key, value in archetype.fields.items()]
    for f, value in plan:  # check room for every list before writing anything
        if f.kind == "list" and len(store.items(session, iv, f)) + len(value) > f.max_items:
            raise ValueError(f"draft {iv.id} has no room for {len(value)} more {f.key} (at most {f.max_items})")
    for f, value in plan:
        if f.kind != "list":
            store.put(iv, f, list(value) if isinstance(value, list) else value)
            continue
        for item in value:
            store.add_item(session, iv, f, **{key: localised(f.item(key), v, locale) for key, v in item.items()})


def localised(sub: Field, value, locale: str):
    """A catalogue effect or indicator by its name in `locale`; anything else as it is."""
    entry = _catalogue_entry(sub, value) if sub.options_from and value else None
    return entry.label(locale) if entry is not None else value


# --- a curator's draft ---------------------------------------------------------------------------


def snapshot(session: Session, iv: Intervention) -> dict:
    """The values of curator's draft `iv` as an archetype holds them, the inverse of `prefill`:
    option keys, catalogue effects and indicators by their Dutch name (or marked own), and nothing
    that belongs to one project."""
    fields: dict[str, object] = {}
    for s in definition.steps():
        for f in s.fields:
            if f.key in PROJECT_SPECIFIC:
                continue
            if f.kind == "list":
                rows = [row for row in store.items(session, iv, f) if not store.item_is_empty(f, row)]
                if rows:
                    fields[f.key] = [_item_values(f, row) for row in rows]
                continue
            value = store.get(iv, f)
            if value not in (None, "", []):
                fields[f.key] = value
    return fields


def _item_values(f: Field, row) -> dict[str, object]:
    item: dict[str, object] = {}
    for sub in f.items:
        value = getattr(row, sub.key)
        if sub.key in PROJECT_SPECIFIC_ITEM or value in (None, ""):
            continue
        if sub.options_from:
            entry = _catalogue_entry(sub, value)
            if entry is None:
                item[OWN] = True
            else:
                value = entry.label("nl")
        item[sub.key] = value
    return item


def gaps(session: Session, iv: Intervention) -> list[tuple[int, Field, int | None, Field | None]]:
    """What `check` would refuse in curator's draft `iv`, where the wizard allowed it: an answer of
    one's own where an archetype holds option keys, an item without a part it needs. Each as
    (step, field, item number or None, the item's field or None)."""
    found = []
    for s in definition.steps():
        for f in s.fields:
            if f.key in PROJECT_SPECIFIC or f.kind == "list" and f.key not in REQUIRED_ITEM:
                continue
            if f.kind != "list":
                if not _fits(f, store.get(iv, f)):
                    found.append((s.no, f, None, None))
                continue
            rows = [row for row in store.items(session, iv, f) if not store.item_is_empty(f, row)]
            for n, row in enumerate(rows, start=1):
                catalogued = f.key == "indicators" and _suggested_indicator(row.name or "")
                needed = [k for k in REQUIRED_ITEM[f.key] if not (catalogued and k in ("kind", "unit"))]
                for sub in f.items:
                    value = getattr(row, sub.key)
                    empty = value in (None, "") and sub.key in needed
                    if empty or (value not in (None, "") and not sub.options_from and not _fits(sub, value)):
                        found.append((s.no, f, n, sub))
    return found


def _fits(f: Field, value) -> bool:
    """An empty value, or option keys where the field has options."""
    if value in (None, "", []) or f.kind not in ("choice", "multichoice") or f.options_from:
        return True
    keys = {o.key for o in f.options}
    return set(value if isinstance(value, list) else [value]) <= keys
