"""What flows between adapters and the core: a `Turn` in, a list of `Reply` out.

Replies are structured and carry plain text only; each adapter turns them into Block Kit,
HTML or Adaptive Cards and escapes the text for its own markup.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from bot.names import START, unmark


@dataclass
class Line:
    label: str
    value: str


@dataclass
class Section:
    """One step of a description, ready to show: used by the review, the web page and exports.
    An expert analysis under the steps is a section too, without a number."""

    no: int | None
    title: str
    lines: list[Line] = field(default_factory=list)

    @property
    def heading(self) -> str:
        return f"{self.no}. {self.title}" if self.no else self.title


@dataclass(frozen=True)
class Turn:
    text: str | None = None  # what the person typed
    action: str | None = None  # a button or select value: "cmd:back", "opt:lopend", "opts:a|b", "open:12"
    command: bool = False  # typed as an explicit command (a Slack slash command), never an answer


@dataclass
class Choice:
    label: str
    value: str
    style: str | None = None  # "primary" | "danger" | None
    group: str | None = None  # the heading it is listed under (an effect's group), if any


@dataclass
class Reply:
    text: str
    kind: str = "info"  # question | info | error | help | review | list | export | form
    title: str | None = None
    note: str | None = None
    options: list[Choice] = field(default_factory=list)  # answers to pick from
    multi: bool = False  # several options may be picked
    actions: list[Choice] = field(default_factory=list)  # navigation and menu buttons
    sections: list[Section] = field(default_factory=list)
    input: str | None = None  # the kind of field being asked (text, longtext, number, date, …)
    document: str | None = None  # an exported description (Markdown)
    step: int | None = None  # the step a form reply is about
    intervention_id: int | None = None
    reminder_id: int | None = None  # a "value" reply asks for this reminder's value
    # The people this message names to its reader, and where: [person id, field, start, end], the
    # field a path ("text", "sections.2.lines.0.value"). Forgetting one rewrites those spans
    # (bot/privacy.py). Filled from the names marked in the text (bot.names.naming).
    about: list[int] = field(default_factory=list)
    names: list[list] = field(default_factory=list)

    def __post_init__(self) -> None:
        for path, owner, key in self.texts():
            value = getattr(owner, key)
            if value and START in value:
                shown, spans = unmark(value)
                setattr(owner, key, shown)
                self.names += [[pid, path, start, end] for pid, start, end in spans]
        if self.names:
            self.about = sorted({*self.about, *(pid for pid, *_ in self.names)})

    def texts(self):
        """Where a reply may name someone: (path, object, attribute)."""
        yield from (("text", self, "text"), ("title", self, "title"), ("note", self, "note"))
        yield ("document", self, "document")
        for name in ("options", "actions"):
            for i, choice in enumerate(getattr(self, name)):
                yield (f"{name}.{i}.label", choice, "label")
        for i, section in enumerate(self.sections):
            yield (f"sections.{i}.title", section, "title")  # an expert analysis names its writer
            for j, line in enumerate(section.lines):
                yield (f"sections.{i}.lines.{j}.label", line, "label")
                yield (f"sections.{i}.lines.{j}.value", line, "value")


def reply_to_dict(reply: Reply) -> dict:
    """A reply as JSON-safe data: kept in the web transcript and in the outbox."""
    data = dict(vars(reply))  # `asdict` deep-copies field by field, several times slower
    data["options"] = [dict(vars(c)) for c in reply.options]
    data["actions"] = [dict(vars(c)) for c in reply.actions]
    data["sections"] = [dataclasses.asdict(s) for s in reply.sections]
    return data


def reply_from_dict(data: dict) -> Reply:
    fields = {f.name for f in dataclasses.fields(Reply)}
    values = {k: v for k, v in data.items() if k in fields}
    values["options"] = [Choice(**c) for c in data.get("options") or []]
    values["actions"] = [Choice(**c) for c in data.get("actions") or []]
    values["sections"] = [
        Section(no=s["no"], title=s["title"], lines=[Line(**line) for line in s.get("lines") or []])
        for s in data.get("sections") or []
    ]
    return Reply(**values)
