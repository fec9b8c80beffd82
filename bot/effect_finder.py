"""Finding an effect of the ordering by a word or two, as step 4 is answered in the chat.

"veiligheid" lists the effects of the group Veiligheid, "inbraak" finds "Minder woninginbraken":
every typed word must be in the effect's name or its group's, compared by their Dutch stems (the
stemmer of the knowledge bank's search, bot/search.py), so "woning" finds "woningen". A whole
name, a number or a sentence is answered as before (so is a name's beginning that finds nothing);
"eigen: …" is always one's own effect.
"""

from __future__ import annotations

import re
from functools import cache

from bot import search
from bot.definition import Option
from bot.values import is_number

OWN = re.compile(r"(?:eigen|own)\s*(?:effect)?\s*:\s*(.+)", re.IGNORECASE | re.DOTALL)
MAX_WORDS = 4  # more words than this are a description of one's own effect, not a search
MAX_SHOWN = 25


def own_effect(text: str) -> str | None:
    """ "eigen: Minder zwerfafval bij de flat" → the effect as typed, never looked up."""
    m = OWN.fullmatch(text.strip())
    return m[1].strip() if m else None


def find(text: str, options: tuple[Option, ...]) -> list[Option]:
    """The effects `text` names by its words; empty when it is an option already, a number, or
    too long to be a search (then it is an answer as typed)."""
    typed = text.strip().casefold()
    if is_number(typed) or any(typed in (o.key, o.nl.casefold(), o.en.casefold()) for o in options):
        return []  # a number or a whole name: the answer itself (a name's beginning is searched first)
    words = search.split_words(text)
    if not words or len(words) > MAX_WORDS:
        return []
    wanted = {search.stem(w) for w in words}
    return [o for o in options if wanted <= stems(o)]


@cache
def stems(option: Option) -> frozenset[str]:
    texts = [option.nl, option.en, *([option.group.nl, option.group.en] if option.group else [])]
    return frozenset(search.stem(w) for text in texts for w in search.split_words(text))
