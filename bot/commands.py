"""Recognising navigation and menu commands in typed text, in Dutch and English.

Only a whole message is a command: "stop" pauses, "Stop de overlast" is an answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

WORDS = {
    "back": {"terug", "vorige", "back", "previous"},
    "skip": {"overslaan", "sla over", "skip", "volgende", "next"},
    "pause": {"pauze", "stop", "pause", "later"},
    "help": {"hulp", "help", "?", "uitleg"},
    "help_all": {"hulp alles", "help alles", "help all", "alle commando's", "commando's", "commands", "all commands"},
    "summary": {"overzicht", "samenvatting", "summary", "overview", "review"},
    "new": {"nieuw", "new", "nieuwe beschrijving", "start"},
    "resume": {"verder", "ga verder", "continue", "resume", "doorgaan"},
    "mine": {"mijn", "mine", "my", "mijn beschrijvingen", "concepten", "drafts", "lijst", "list"},
    "publish": {"publiceer", "publiceren", "publish"},
    "export": {"export", "exporteer"},
    "remove": {"verwijder", "verwijderen", "remove", "delete"},
    "withdraw": {"intrekken", "trek in", "withdraw", "unpublish"},
    "delete": {
        "verwijder beschrijving", "verwijder concept", "beschrijving verwijderen", "concept verwijderen",
        "delete description", "delete draft",
    },
    "form": {"formulier", "form"},
    "menu": {"menu", "start menu", "hoi", "hallo", "hello", "hi"},
    "measure": {"meting", "metingen", "meten", "measure", "measurement", "invullen"},
    "progress": {"voortgang", "progress", "stand"},
    "hours": {"werktijden", "working hours", "hours"},
    "indicators": {"indicatoren", "indicators", "indicator", "mijn indicatoren", "my indicators"},
    "archetypes": {"archetypen", "archetypes", "archetype", "voorbeelden", "examples"},
    "new_archetype": {"nieuw archetype", "new archetype", "archetype nieuw", "archetype new"},
    "search": {"zoek", "zoeken", "search", "kennisbank", "knowledge bank"},
    "away": {"afwezig", "afwezigheid", "away", "out of office"},
    "analyses": {"analyseer", "analyseren", "analyse", "analyses", "mijn analyses", "my analyses", "expertanalyse"},
    "profile": {
        "profiel", "mijn profiel", "profile", "my profile", "wie ben ik", "whoami", "rol", "role", "rollen", "roles",
    },
    # Not "terug": that is the previous question.
    "present": {
        "weer aanwezig", "aanwezig", "afwezig uit", "afwezig stop", "niet meer afwezig",
        "back in office", "back at work", "away off", "not away", "no longer away",
    },
    "indicator_new": {
        "indicator nieuw", "indicator new", "nieuwe indicator", "new indicator",
        "indicator toevoegen", "indicator add", "add indicator",
    },
}  # fmt: skip
WITH_NUMBER = {
    "edit": r"(?:bewerk|wijzig|edit)\s+(?:stap|step)\s*(\d+)|(?:stap|step)\s*(\d+)",
    "open": r"(?:kies|open|choose|pick)\s*#?(\d+)",
    "form": r"(?:formulier|form)\s+(?:stap\s*|step\s*)?(\d+)",
    "progress": r"(?:voortgang|progress|stand)\s*#?(\d+)",
    "indicator_new": r"(?:indicator)\s+(?:nieuw|new|toevoegen|add)(?:\s+(?:bij|aan|to|for))?\s*#?(\d+)",
    "indicator": r"(?:indicator|indicatoren|indicators)\s*#?(\d+)",
    "read": r"(?:lees|lezen|read|bekijk|view)\s*#?(\d+)",
    "withdraw": r"(?:intrekken|withdraw|unpublish)\s*#?(\d+)|trek\s+#?(\d+)\s+in",
    "delete": r"(?:verwijder|delete)\s+(?:beschrijving|concept|description|draft)\s*#?(\d+)",
}
# Commands that carry free text. Typed while a question is open they would be answers
# ("Zoek contact met de buren"), so there they count only as an explicit command (a Slack
# slash command); otherwise a whole message like this is the command.
WITH_TEXT = {
    "search": r"(?:zoek|zoeken|search|find)\s+(?P<text>.+)",
    "from": r"(?:nieuw|new|start)\s+(?:op basis van|vanuit|uit|from|based on)\s+(?P<text>.+)",
    "comment": r"(?:reageer|reactie|comment)\s+(?:op\s+|on\s+)?#?(?P<iv>\d+)\s+"
    r"(?:stap|step)\s*(?P<step>\d+)\s*[:,.-]?\s*(?P<text>.*)",
    "role": r"(?:rol|role)\s+(?P<text>.+)",
    "analyse": r"(?:analyseer|analyseren|analyse|analyze)\s+#?(?P<id>\d+)\s*(?P<text>.*)",
    "archetype_edit": r"(?:bewerk|wijzig|herzie|edit|revise)\s+(?:het\s+|the\s+)?archetype\s+(?P<text>.+)",
    "archetype": r"(?:archetype|archetypen|archetypes)\s+(?P<text>.+)",
}
HOURS = r"(?:werktijden|working hours|hours)\s+(.+)"
AWAY = r"(?:afwezig|away|out of office)\s+(?:tot en met|tot|t/m|until|till|through)\s+(.+)"
LANGUAGE = (
    r"(?:taal|language|lang)\s+(nl|en|nederlands|dutch|engels|english)"
    r"|(english|nederlands|in english|in het nederlands)"
)


@dataclass(frozen=True)
class Command:
    name: str
    arg: str | None = None
    text: str | None = None  # the free text of a WITH_TEXT command, as typed


def parse_text_command(text: str) -> Command | None:
    """A command with free text ("zoek woningen", "reageer 12 stap 3: …"), its text kept as typed."""
    text = (text or "").strip()
    for name, pattern in WITH_TEXT.items():
        if m := re.fullmatch(pattern, text, re.IGNORECASE | re.DOTALL):
            groups = m.groupdict()
            arg = f"{groups['iv']}:{groups['step']}" if "iv" in groups else groups.get("id")
            return Command(name, arg, groups["text"].strip())
    return None


def parse_command(text: str) -> Command | None:
    t = re.sub(r"\s+", " ", (text or "").strip().casefold()).strip(".!")
    if not t or len(t) > 40:
        return None
    if m := re.fullmatch(LANGUAGE, t):
        word = m[1] or m[2]
        return Command("language", "en" if word in {"en", "engels", "english", "in english"} else "nl")
    if m := re.fullmatch(HOURS, t):
        return Command("hours", m[1])
    if m := re.fullmatch(AWAY, t):
        return Command("away", m[1])
    for name, pattern in WITH_NUMBER.items():
        if m := re.fullmatch(pattern, t):
            return Command(name, next(g for g in m.groups() if g))
    for name, words in WORDS.items():
        if t in words:
            return Command(name)
    return None


def parse_action(value: str) -> tuple[str, str]:
    """Button values look like "cmd:back", "opt:lopend", "open:12"."""
    kind, _, arg = (value or "").partition(":")
    return kind, arg


def typed_choice(text: str, offered: list[list[str]]) -> str | None:
    """The value of the offered choice that typed text names: its number in the list ("2"), its
    label, the label's first part ("Aantal overlastmeldingen" of "Aantal overlastmeldingen · Buurt
    X") or first word ("#12" of "#12 Klushuizen (concept, …)"), or the beginning or a piece of one
    label only. None when it names none, or several."""
    typed = " ".join((text or "").casefold().split()).strip(".!")
    if not typed or len(typed) > 200:
        return None
    if typed.isdigit():
        number = int(typed)
        return offered[number - 1][1] if 1 <= number <= len(offered) else None
    labels = [" ".join(label.casefold().split()) for label, _ in offered]
    names = [{label, re.split(r" · |: | \(", label)[0], re.split(r"[\s,.:;!?]+", label)[0]} for label in labels]
    for found in (
        [i for i, name in enumerate(names) if typed in name],
        [i for i, label in enumerate(labels) if len(typed) >= 3 and label.startswith(typed)],
        [i for i, label in enumerate(labels) if len(typed) >= 4 and typed in label],
    ):
        if len(found) == 1:
            return offered[found[0]][1]
        if found:
            return None  # several match: the person says which
    return None
