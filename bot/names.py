"""Names of people and organisations: cleaned of what hides or imitates, compared by how they look.

NFKC folds full-width and other compatibility forms ("Ｗoonstad" → "Woonstad"); invisible and
control characters go (zero-width spaces, direction overrides: Unicode's C categories). Two names
that look alike have one skeleton: case, accents and letters of another script that imitate
Latin ones (a Cyrillic "о" in "Wооnstad", a "1" for an "l") are set aside, with Unicode's TR39
confusables data (confusable_homoglyphs). Names are shown as cleaned, never as skeletons.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from confusable_homoglyphs import confusables

from bot.i18n import t

FORGOTTEN = "(verwijderde gebruiker)"  # an erased person's stored name; shown in the reader's language


def shown_name(name: str, locale: str) -> str:
    return t(locale, "forgotten_person") if name == FORGOTTEN else name


# A name in a message carries, until its reply is built (bot/replies.py), whom it names: forgetting
# that person later replaces exactly that span, never a title or a colleague that reads alike.
# Private-use characters, so a mark that ever slipped through would show as nothing.
START, END = "\ue000", "\ue001"
TO_MARK = str.maketrans("0123456789", "".join(chr(0xE010 + d) for d in range(10)))
FROM_MARK = {chr(0xE010 + d): str(d) for d in range(10)}
MARKED = re.compile("\ue000([^\ue000-\ue019]*)\ue001([\ue010-\ue019]+)")
STRAY = re.compile("[\ue000-\ue019]")


def naming(person_id: int, name: str) -> str:
    """`name` marked as naming this person."""
    return f"{START}{name}{END}{str(person_id).translate(TO_MARK)}"


def unmark(text: str) -> tuple[str, list[tuple[int, int, int]]]:
    """The text as shown, and where it names whom: (person id, start, end)."""
    out, spans, last, at = [], [], 0, 0
    for m in MARKED.finditer(text):
        between = STRAY.sub("", text[last : m.start()])  # a mark cut in half (a text shortened)
        spans.append((int("".join(FROM_MARK[c] for c in m[2])), at + len(between), at + len(between) + len(m[1])))
        out += [between, m[1]]
        at, last = spans[-1][2], m.end()
    out.append(STRAY.sub("", text[last:]))
    return "".join(out), spans


def unmarked(text: str) -> str:
    return unmark(text)[0] if START in text else text


def named_by(part: str, people: list):
    """The one of `people` a name in an owner text means: by their whole name, else by a first
    name only one of them has ("Karin"). None when it is no one's, or more than one's."""
    key = skeleton(part.strip().strip("@").strip())
    exact = [p for p in people if skeleton(p.display_name) == key]
    found = exact or [p for p in people if skeleton(p.display_name).split(" ")[0] == key]
    return found[0] if key and len(found) == 1 else None


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
