"""Names of people and organisations: cleaned of what hides or imitates, compared by how they look.

NFKC folds full-width and other compatibility forms ("Ｗoonstad" → "Woonstad"); invisible and
control characters go (zero-width spaces, direction overrides: Unicode's C categories). Two names
that look alike have one skeleton: case, accents and letters of another script that imitate
Latin ones (a Cyrillic "о" in "Wооnstad", a "1" for an "l") are set aside, with Unicode's TR39
confusables data (confusable_homoglyphs). Names are shown as cleaned, never as skeletons.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

from confusable_homoglyphs import confusables

from bot.i18n import t

FORGOTTEN = "(verwijderde gebruiker)"  # an erased person's stored name; shown in the reader's language


def shown_name(name: str, locale: str) -> str:
    return t(locale, "forgotten_person") if name == FORGOTTEN else name


def clean_name(text: str | None) -> str:
    folded = unicodedata.normalize("NFKC", text or "")
    visible = "".join(c for c in folded if unicodedata.category(c)[0] != "C")
    return " ".join(visible.split())


@lru_cache(maxsize=8192)  # names recur: every colleague's, at every owner looked up
def skeleton(name: str | None) -> str:
    """What a name looks like: equal for names a reader cannot tell apart."""
    text = clean_name(name).casefold()
    found = confusables.is_confusable(text, greedy=True, preferred_aliases=["latin"]) or []
    latin = {f["character"]: next((h["c"] for h in f["homoglyphs"] if h["c"].isascii()), None) for f in found}
    text = "".join(latin.get(c) or c for c in text)
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c)).casefold()
