"""Curators keep the archetypes in the chat. A part of a wizard turn (bot/turn.py):

    nieuw archetype                     a draft in the same eight steps, without a project's own facts
    bewerk archetype klushuis           a draft of its next version, filled with the newest
    archetype samenvatting: …           the summary people see in the list
    archetype bronnen: 12, 15           the practice descriptions it rests on
    archetype bijeenkomst: naam; 12-11-2026; plaats    the themed meeting it came from
    publiceer                           (with the draft in view) the next version
    archetype klushuis [versie 1]       anyone: an archetype, what it rests on, its versions
    archetype klushuis verwijder versie 2   a version nobody started from

Earlier versions stay readable; a description records the version it started from.
"""

from __future__ import annotations

import re
from types import SimpleNamespace

from sqlmodel import select

from bot import archetype_records as records
from bot import definition, formatting, store
from bot.archetype_records import Conflict, NameTaken, Record
from bot.archetypes import SUMMARY_MAX, ArchetypeError, gaps, localised
from bot.i18n import t
from bot.names import naming, shown_name
from bot.parts import TurnPart
from bot.replies import Choice, Line, Reply, Section
from bot.roles import roles_of, with_roles
from bot.values import Invalid, clean, parse_date
from models import Archetype, ArchetypeDraft, Intervention, Person
from models.tables import utcnow

MAX_SOURCES = 50
MEETING_MAX = 200
NEW = {"nieuw", "new"}
PARTS = {
    "summary": r"(?:samenvatting|summary)",
    "sources": r"(?:bronnen|bron|sources|source|praktijkbeschrijvingen)",
    "meeting": r"(?:bijeenkomst|meeting)",
}
CLEAR = {"geen", "none", "weg", "-"}
# "archetype bronnen: 12" is never an answer to a question: typed mid-walk, it is the curator's command.
PART_TYPED = re.compile(r"\s*archetype\s+\S.*", re.IGNORECASE | re.DOTALL)


def typed_part(text: str | None, iv: Intervention | None) -> str | None:
    """What follows "archetype" when `text` is a part of the archetype draft in view, else None."""
    if text is None or iv is None or iv.kind != definition.ARCHETYPE or not PART_TYPED.fullmatch(text):
        return None
    return text.strip()[len("archetype") :]


class Curation(TurnPart):
    def archetype(self, text: str | None) -> None:
        """`archetype …`: one of the curator's parts, or an archetype to read."""
        text = clean(text or "")
        if text.casefold() in NEW:
            return self.new()
        for part, word in PARTS.items():
            if m := re.fullmatch(word + r"\s*[:,.-]?\s*(.*)", text, re.IGNORECASE | re.DOTALL):
                return getattr(self, part)(m[1])
        if m := re.fullmatch(r"(.+?)\s+(?:verwijder|remove|delete)\s+(?:versie|version)\s*(\d{1,6})", text, re.I):
            return self.remove(m[1], int(m[2]))
        if m := re.fullmatch(r"(.+?)\s+(?:bewerk|edit)", text, re.I):
            return self.edit(m[1])
        if m := re.fullmatch(r"(.+?)\s+(?:versie|version)\s*(\d{1,6})", text, re.I):
            return self.show(m[1], int(m[2]))
        return self.show(text)

    # --- drafting --------------------------------------------------------------------------

    def is_curator(self) -> bool:
        if "curator" in roles_of(self.s, self.person.id):
            return True
        self.say("curation.not_curator", kind="error")
        return False

    def new(self) -> None:
        if self.is_curator():
            self.begin(records.start_draft(self.s, self.person, None), "curation.new", name="")

    def edit(self, words: str | None) -> None:
        if not self.is_curator():
            return
        record = self.named(words)
        if record is None:
            return
        mine = self.s.exec(
            select(Intervention)
            .join(ArchetypeDraft, ArchetypeDraft.intervention_id == Intervention.id)
            .where(Intervention.author_id == self.person.id, ArchetypeDraft.archetype_id == record.version.archetype_id)
        ).first()
        if mine is not None:  # one draft per curator and archetype: go on with it
            return self.run.editing.open_intervention(mine)
        iv = records.start_draft(self.s, self.person, record)
        self.begin(iv, "curation.revising", name=record.archetype.name_nl, number=record.version.number)

    def begin(self, iv: Intervention, key: str, **params) -> None:
        run = self.run
        run.set_intervention(iv)
        run.conv.back_to_review = False
        self.say(key, id=iv.id, **params)
        run.asking.move_fresh(run.walk.first_of(1))

    def draft(self) -> tuple[Intervention, ArchetypeDraft] | None:
        """The archetype draft in view, or None after saying how to get one."""
        iv = self.run.iv
        if iv is None or iv.kind != definition.ARCHETYPE:
            self.say("curation.no_draft", kind="error")
            return None
        return iv, records.draft_of(self.s, iv)

    def summary(self, text: str) -> None:
        found = self.draft()
        if found is None:
            return
        text = clean(text)
        if not text or len(text) > SUMMARY_MAX:
            self.say("curation.summary_bad", kind="error", max=SUMMARY_MAX, length=len(text)).input = "summary"
            return
        found[1].summary = text
        self.saved(found[0])

    def sources(self, text: str) -> None:
        found = self.draft()
        if found is None:
            return
        iv, draft = found
        cleared = text.strip().casefold() in CLEAR
        words = [] if cleared else re.split(r"[\s,;]+", text.strip())
        numbers = [int(w.lstrip("#")) for w in words if re.fullmatch(r"#?\d{1,9}", w)]
        if not cleared and (not numbers or len(numbers) != len(words) or len(set(numbers)) > MAX_SOURCES):
            self.say("curation.sources_bad", kind="error", max=MAX_SOURCES).input = "sources"
            return
        kept = set(draft.sources or [])
        wrong = [n for n in dict.fromkeys(numbers) if n not in kept and not self.practice(n)]
        if wrong:
            self.say("curation.sources_unknown", kind="error", ids=", ".join(f"#{n}" for n in wrong)).input = "sources"
            return
        draft.sources = list(dict.fromkeys(numbers))  # a source it had stays, even one this curator cannot read
        self.saved(iv)

    def practice(self, iv_id: int) -> bool:
        """A published practice description the curator may read."""
        iv = store.readable(self.s, self.person, iv_id)
        return iv is not None and iv.status == "published" and iv.kind != definition.ARCHETYPE

    def meeting(self, text: str) -> None:
        found = self.draft()
        if found is None:
            return
        iv, draft = found
        if text.strip().casefold() in CLEAR:
            draft.meeting_name = draft.meeting_date = draft.meeting_place = None
            return self.saved(iv)
        parts = [clean(p) for p in text.split(";")]
        name, when, place = (parts + ["", ""])[:3]
        try:
            day = parse_date(when) if when else None
        except Invalid:
            day = None
        if not name or day is None or len(parts) > 3 or max(len(name), len(place)) > MEETING_MAX:
            self.say("curation.meeting_bad", kind="error", max=MEETING_MAX).input = "meeting"
            return
        draft.meeting_name, draft.meeting_date, draft.meeting_place = name, day, place or None
        self.saved(iv)

    def saved(self, iv: Intervention) -> None:
        iv.updated_at = utcnow()
        self.say("curation.saved")
        if self.run.conv.phase == "asking" and self.run.walk.cursor is not None:
            return self.run.asking.ask()  # typed mid-walk: the question stays open
        self.run.conv.phase = "review"
        self.run.menus.review()

    # --- the review and publishing ----------------------------------------------------------

    def missing(self, iv: Intervention) -> list[str]:
        draft = records.draft_of(self.s, iv)
        missing = [self.t(f"curation.missing_{part}") for part in ("summary", "sources") if not getattr(draft, part)]
        for no, f, n, sub in gaps(self.s, iv):
            what = f"{f.item_label(self.locale)} {n}: {sub.label(self.locale)}" if sub else f.label(self.locale)
            missing.append(self.t("curation.gap", what=what.lower() if sub else what, no=no))
        return missing

    def review(self, reply: Reply) -> list[str]:
        """An archetype draft's review: what it rests on beside its steps; returns what is missing."""
        iv = self.run.iv
        draft = records.draft_of(self.s, iv)
        revised = records.of_version(self.s, records.origin_of(self.s, iv))
        reply.text = (
            self.t("curation.review_revising", name=revised.archetype.name_nl, number=revised.version.number)
            if revised
            else self.t("curation.review_new")
        )
        lines = [Line(self.t("curation.summary_label"), draft.summary or "—")]
        lines.append(Line(self.t("curation.sources_label"), self.source_titles(draft.sources) or "—"))
        lines.append(Line(self.t("curation.meeting_label"), self.meeting_text(draft) or "—"))
        reply.sections.append(Section(None, self.t("curation.section"), lines))
        return self.missing(iv)

    def source_titles(self, ids: list | None) -> str:
        shown = [store.readable(self.s, self.person, n) for n in ids or []]
        return ", ".join(f"#{iv.id} {iv.title or self.t('untitled')}" for iv in shown if iv is not None)

    def meeting_text(self, where) -> str:
        if not where.meeting_name:
            return ""
        facts = ", ".join(p for p in (formatting.day(where.meeting_date, self.locale), where.meeting_place) if p)
        return f"'{where.meeting_name}' ({facts})"

    def publish(self) -> None:
        """`publiceer` with an archetype draft in view: its next version, and the draft is done."""
        run, iv = self.run, self.run.iv
        if not self.is_curator():
            return
        draft = records.draft_of(self.s, iv)
        missing = [run.menus.missing_text(store.missing_required(self.s, iv)), *self.missing(iv)]
        if any(missing):
            self.say("curation.incomplete", kind="error", fields=", ".join(m for m in missing if m))
            run.conv.phase = "review"
            return run.menus.review()
        based_on = records.origin_of(self.s, iv)
        try:
            version = records.publish(self.s, iv, draft, self.person)
        except Conflict as conflict:
            records.set_origin(self.s, iv, conflict.newer.id)  # publishing again puts this draft after it
            by = self.s.get(Person, conflict.newer.published_by) if conflict.newer.published_by else None
            name = naming(by.id, shown_name(by.display_name, self.locale)) if by else self.t("curation.shipped_by")
            key = "curation.conflict" if based_on else "curation.conflict_removed"
            self.say(key, kind="error", number=conflict.newer.number, name=name)
            return
        except NameTaken as taken:
            self.say("curation.name_taken", kind="error", name=str(taken))
            return
        except ArchetypeError as e:
            self.say("curation.invalid", kind="error", detail=str(e))
            return
        key = self.s.get(Archetype, version.archetype_id).key
        run.walk.place(None)
        run.set_intervention(None)
        run.conv.phase = "idle"
        store.delete_description(self.s, iv)  # its content lives on in the version
        self.say("curation.published", number=version.number, name=version.name_nl).actions = [
            Choice(self.t("curation.show_button"), f"cmd:archetype:{key}")
        ]

    def remove(self, words: str, number: int) -> None:
        if not self.is_curator():
            return
        record = self.named(words)
        if record is None:
            return
        found = next((r for r in records.history(self.s, record.key) if r.version.number == number), None)
        if found is None:
            self.say("curation.no_version", kind="error", name=record.archetype.name_nl, number=number)
            return
        started = records.remove_version(self.s, found.version)
        if started:
            self.say("curation.in_use", kind="error", number=number, count=started)
            return
        self.say("curation.removed", name=record.archetype.name_nl, number=number)

    # --- reading ------------------------------------------------------------------------------

    def named(self, words: str | None) -> Record | None:
        record = records.named(self.s, words or "")
        if record is None:
            self.run.library.archetypes(error="library.no_archetype", words=words or "")
        return record

    def show(self, words: str, number: int | None = None) -> None:
        record = self.named(words)
        if record is None:
            return
        versions = records.history(self.s, record.key)
        shown = next((r for r in versions if r.version.number == number), None) if number is not None else versions[0]
        if shown is None:
            self.say("curation.no_version", kind="error", name=record.archetype.name_nl, number=number)
            return
        self.replies.append(self.reply(shown, versions))

    def reply(self, record: Record, versions: list[Record]) -> Reply:
        a, version, locale = record.archetype, record.version, self.locale
        newest = version.id == versions[0].version.id
        others = [
            self.t(
                "curation.version_line", number=r.version.number, when=formatting.day(r.version.published_at, locale)
            )
            for r in versions
            if r.version.id != version.id
        ]
        note = self.t("curation.how_to_start", name=a.name(locale)) if newest else self.t("curation.older")
        if others:
            note += " " + self.t("curation.versions", versions=", ".join(others), name=a.key)
        reply = Reply(
            kind="info",  # an archetype, not a description: nothing to comment on or analyse
            title=self.t("curation.title", name=a.name(locale), number=version.number),
            text=f"{a.summary(locale)}\n{basis(self.s, version, locale)} {self.published_line(version)}",
            note=note,
            sections=sections(a, locale),
            options=[
                Choice(f"#{iv.id} {iv.title or self.t('untitled')}", f"read:{iv.id}")
                for iv in (store.readable(self.s, self.person, n) for n in records.sources_of(self.s, version.id))
                if iv is not None
            ],
        )
        if newest:
            reply.actions.append(
                Choice(self.t("button.from_archetype"), self.run.buttons.once_from_here(f"cmd:from:{a.key}"))
            )
        return reply

    def published_line(self, version) -> str:
        when = formatting.day(version.published_at, self.locale)
        person = self.s.get(Person, version.published_by) if version.published_by else None
        if person is None:
            return self.t("curation.published_shipped", when=when)
        name = with_roles(
            naming(person.id, shown_name(person.display_name, self.locale)), roles_of(self.s, person.id), self.locale
        )
        return self.t("curation.published_by", when=when, name=name)


def basis(session, version, locale: str) -> str:
    """ "Gebaseerd op 3 praktijkbeschrijvingen en de bijeenkomst 'Wat werkt in klushuizen' (12-11-2026)." """
    count = len(records.sources_of(session, version.id))
    if not count and not version.meeting_name:
        return t(locale, "curation.basis_none")
    sources = t(locale, "curation.sources_one" if count == 1 else "curation.sources_many", count=count)
    if not version.meeting_name:
        return t(locale, "curation.basis", sources=sources)
    when = ", ".join(p for p in (formatting.day(version.meeting_date, locale), version.meeting_place) if p)
    return t(locale, "curation.basis_meeting", sources=sources, meeting=version.meeting_name, when=when)


def origin(session, iv: Intervention, locale: str) -> str | None:
    """ "Gestart vanuit het archetype 'Klushuis', versie 2." for a description that did."""
    record = records.of_version(session, records.origin_of(session, iv)) if iv.kind != definition.ARCHETYPE else None
    if record is None:
        return None
    return t(locale, "curation.origin", name=record.archetype.name(locale), number=record.version.number)


def sections(a, locale: str) -> list[Section]:
    """An archetype's values step by step, as a description's review shows them."""
    out = []
    for s in definition.steps():
        section = Section(s.no, s.title(locale))
        for f in s.fields:
            value = a.fields.get(f.key)
            if value is None:
                continue
            if f.kind != "list":
                section.lines.append(Line(f.label(locale), formatting.field_value(f, value, locale)))
                continue
            for n, item in enumerate(value, start=1):
                row = SimpleNamespace(**{sub.key: localised(sub, item.get(sub.key), locale) for sub in f.items})
                section.lines.append(Line(f"{f.item_label(locale)} {n}", store.item_text(f, row, None, locale, [])))
        if section.lines:
            out.append(section)
    return out
