"""Finding an effect of the ordering by a word or two, as step 4 is answered in the chat.

"veiligheid" lists the effects of the group Veiligheid, "inbraak" finds "Minder woninginbraken":
every typed word must be in the effect's name or its group's, compared by their Dutch stems (the
stemmer of the knowledge bank's search, bot/search.py), so "woning" finds "woningen". A whole
name, a number or a sentence is answered as before (so is a name's beginning that finds nothing);
"eigen: …" is always one's own effect.
"""

from __future__ import annotations

import re
import threading
from functools import cache

import snowballstemmer

from bot import definition, search
from bot.definition import Option
from bot.values import is_number

OWN = re.compile(r"(?:eigen|own)\s*(?:effect)?\s*:\s*(.*)", re.IGNORECASE | re.DOTALL)
MAX_WORDS = 4  # more words than this are a description of one's own effect, not a search
MAX_SHOWN = 25
PREFIX = 4  # a typed word this long also finds words it begins or is part of
_local = threading.local()  # a stemmer keeps state while it works: one per thread, as bot/search.py


def own_effect(text: str) -> str | None:
    """ "eigen: Minder zwerfafval bij de flat" → the effect as typed, never looked up ("" when
    nothing follows)."""
    m = OWN.fullmatch(text.strip())
    return m[1].strip() if m else None


def is_found_list(offered: list | None) -> bool:
    """Whether the list offered last is one `find` made (its values answer the question)."""
    return bool(offered) and all(value.startswith("opt:") for _, value in offered)


def find(text: str, options: tuple[Option, ...]) -> list[Option]:
    """The effects `text` names by its words, in Dutch or English; empty when it is a whole name
    already, a number, or too long to be a search (then it is an answer as typed)."""
    typed = text.strip().casefold()
    if is_number(typed) or any(typed in (o.nl.casefold(), o.en.casefold()) for o in options):
        return []
    words = search.split_words(text)
    if not words or len(words) > MAX_WORDS:
        return []
    return [o for o in options if any(all(has(w, o, lang) for w in words) for lang in ("nl", "en"))]


def ordering() -> tuple[Option, ...]:
    return tuple(e.option() for e in definition.effects())


def matching(text: str, options: tuple[Option, ...], limit: int) -> list[Option]:
    """As someone types in a form's effect field: every option when nothing is typed yet, else
    those whose name or group holds every word (by stem or beginning), at most `limit`."""
    words = search.split_words(text)[:MAX_WORDS]
    found = [o for o in options if any(all(has(w, o, lang) for w in words) for lang in ("nl", "en"))]
    return found[:limit]


def has(word: str, option: Option, lang: str) -> bool:
    """Whether an effect's name or group holds `word`: its stem, or (typed long enough) a word it
    begins or a stem it is part of ("inbraak" in "woninginbraken")."""
    own_words, own_stems = words_of(option, lang)
    root = stem(word, lang)
    if root in own_stems:
        return True
    return len(word) >= PREFIX and (any(w.startswith(word) for w in own_words) or any(root in s for s in own_stems))


@cache
def words_of(option: Option, lang: str) -> tuple[tuple[str, ...], frozenset[str]]:
    """The words of an effect's name and group in one language, and their stems."""
    texts = [getattr(option, lang), getattr(option.group, lang, "")]
    words = tuple(w for text in texts for w in search.split_words(text))
    return words, frozenset(stem(w, lang) for w in words)


def stem(word: str, lang: str) -> str:
    if lang == "nl":
        return search.stem(word)  # the knowledge bank's Dutch stemmer
    stemmer = getattr(_local, "english", None)
    if stemmer is None:
        stemmer = _local.english = snowballstemmer.stemmer("english")
    return stemmer.stemWord(word)
