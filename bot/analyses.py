"""Expert analyses: an expert's reading of a published practice description, linked to research.

An analysis holds an assessment per step, the working elements (*werkzame bestanddelen*) as the
expert sees them, the research it confronts (each reference a DOI or a web link), and an overall
judgement. It is a draft, the expert's alone, until they publish it; then it shows under the
description wherever the description shows (the chat, Slack's modal, Teams' dialog, the web page,
the documents), so whoever may read the description reads its analyses, and no one else. Its text
is searched with the description's, and the author hears of it by direct message.

A part of a wizard turn (bot/turn.py), typed as the comments are:

    analyseer 12                        the analysis as it stands, and what is left
    analyseer 12 stap 3: …              the assessment of step 3
    analyseer 12 bestanddelen: …        the working elements
    analyseer 12 onderzoek: 10.1000/x … a reference per line (a DOI or a link, then a note)
    analyseer 12 onderzoek weg 2        the second reference goes
    analyseer 12 oordeel: …             the overall judgement
    analyseer 12 publiceer              for readers of the description; the author is told
    analyseer 12 verwijder              the analysis goes
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from sqlmodel import Session, select

from bot import definition, formatting, search, store
from bot.i18n import t
from bot.messages import enqueue
from bot.names import naming, shown_name
from bot.parts import TurnPart
from bot.replies import Choice, Line, Reply, Section
from bot.roles import roles_by_person, roles_of, with_roles
from bot.values import clean, is_number
from models import Analysis, Intervention, Person
from models.tables import utcnow

ACTIONS = {"analyse"}  # button values "analyse:<id>" and "analyse:<id>:publish"
MAX_TEXT = 4000
MAX_REFERENCES = 20
MAX_REFERENCE = 500
DOI = re.compile(r"(?:https?://(?:dx\.)?doi\.org/|doi:\s*)?(10\.\d{4,9}/\S+)", re.IGNORECASE)
URL = re.compile(r"https?://\S+", re.IGNORECASE)

PARTS = {
    "elements": {"bestanddelen", "werkzame bestanddelen", "elementen", "elements", "working elements"},
    "research": {"onderzoek", "literatuur", "bronnen", "research", "references", "literature"},
    "judgement": {"oordeel", "eindoordeel", "conclusie", "judgement", "judgment", "conclusion"},
    "publish": {"publiceer", "publiceren", "publish"},
    "delete": {"verwijder", "verwijderen", "delete", "remove"},
}
STEP = re.compile(r"(?:stap|step)\s*(\d+)\s*[:,.-]?\s*(.*)", re.IGNORECASE | re.DOTALL)
REMOVE_REFERENCE = re.compile(r"(?:weg|verwijder|remove|delete)\s*#?(\d+)", re.IGNORECASE)


def parse_reference(line: str) -> dict | None:
    """A reference as typed ("10.1000/xyz Putnam 2000", "https://… rapport"): its link, its DOI
    when it has one, and the rest as a note. None when it holds neither a DOI nor a web link."""
    line = " ".join(line.split())[:MAX_REFERENCE]
    if m := DOI.search(line):
        doi = m[1].rstrip(".,;)")
        note = (line[: m.start()] + line[m.end() :]).strip(" -–—:;,")
        return {"link": f"https://doi.org/{doi}", "doi": doi, "note": note}
    if m := URL.search(line):
        link = m[0].rstrip(".,;)")
        parts = urlsplit(link)
        if "." not in (parts.hostname or "") or any(c in link for c in "<>\"'"):
            return None
        note = (line[: m.start()] + line[m.end() :]).strip(" -–—:;,")
        return {"link": link, "doi": None, "note": note}
    return None


def reference_text(ref: dict) -> str:
    return f"{ref['link']} — {ref['note']}" if ref.get("note") else ref["link"]


def published(session: Session, iv_id: int) -> list[Analysis]:
    return list(
        session.exec(
            select(Analysis)
            .where(Analysis.intervention_id == iv_id, Analysis.published_at.is_not(None))
            .order_by(Analysis.published_at, Analysis.id)
        )
    )


def lines(a: Analysis, locale: str) -> list[Line]:
    """An analysis as labelled lines: the steps assessed, the working elements, research, judgement."""
    out = []
    for s in definition.steps():
        if text := (a.steps or {}).get(str(s.no)):
            out.append(Line(t(locale, "analysis.step_label", no=s.no, step=s.title(locale)), text))
    if a.elements:
        out.append(Line(t(locale, "analysis.elements"), a.elements))
    if a.references:
        numbered = [f"{n}. {reference_text(r)}" for n, r in enumerate(a.references, start=1)]
        out.append(Line(t(locale, "analysis.research"), "\n".join(numbered)))
    if a.judgement:
        out.append(Line(t(locale, "analysis.judgement"), a.judgement))
    return out


def writers(session: Session, found: list[Analysis]) -> dict[int, str]:
    ids = [a.expert_id for a in found]
    return dict(session.exec(select(Person.id, Person.display_name).where(Person.id.in_(ids))).all())


def heading(a: Analysis, name: str, roles: list[str], locale: str) -> str:
    """ "Expertanalyse van Karin de Vries · expert (3 december 2026)"."""
    writer = with_roles(naming(a.expert_id, shown_name(name, locale)), roles, locale)
    when = formatting.day(a.published_at, locale) if a.published_at else t(locale, "analysis.draft")
    return t(locale, "analysis.heading", name=writer, when=when)


def sections(session: Session, iv_id: int, locale: str) -> list[Section]:
    """The published analyses of a description, a section each, to show under its steps."""
    found = published(session, iv_id)
    if not found:
        return []
    names = writers(session, found)
    roles = roles_by_person(session, [a.expert_id for a in found])
    return [
        Section(
            no=None,
            title=heading(a, names.get(a.expert_id, ""), roles.get(a.expert_id, []), locale),
            lines=lines(a, locale),
        )
        for a in found
    ]


def as_dicts(session: Session, iv_id: int) -> list[dict]:
    """The published analyses as data, for the JSON export."""
    found = published(session, iv_id)
    names = writers(session, found) if found else {}
    return [
        {
            "expert": shown_name(names.get(a.expert_id, ""), "en"),
            "published_at": a.published_at.isoformat(),
            "steps": {int(no): text for no, text in sorted((a.steps or {}).items(), key=lambda kv: int(kv[0]))},
            "elements": a.elements,
            "references": a.references or [],
            "judgement": a.judgement,
        }
        for a in found
    ]


class Analyses(TurnPart):
    """`analyseer 12 …`, and the list of one's own analyses."""

    def action(self, value: str) -> None:
        _, _, arg = value.partition(":")
        iv_id, _, what = arg.partition(":")
        return self.analyse(iv_id, "publiceer" if what == "publish" else "")

    def mine(self) -> None:
        if not self.is_expert():
            return
        rows = self.s.exec(
            select(Analysis, Intervention.title)
            .join(Intervention, Intervention.id == Analysis.intervention_id)
            .where(Analysis.expert_id == self.person.id)
            .order_by(Analysis.updated_at.desc(), Analysis.id.desc())
        ).all()
        if not rows:
            return self.say("analysis.none_yet")
        options = [
            Choice(
                f"#{a.intervention_id} {title or self.t('untitled')} · "
                + self.t("analysis.published" if a.published_at else "analysis.draft"),
                f"analyse:{a.intervention_id}",
            )
            for a, title in rows
        ]
        self.replies.append(
            Reply(kind="list", title=self.t("analysis.mine_title"), text=self.t("analysis.mine"), options=options)
        )

    def is_expert(self) -> bool:
        if "expert" in roles_of(self.s, self.person.id):
            return True
        self.say("analysis.not_expert", kind="error")
        return False

    def analyse(self, arg: str | None, text: str | None) -> None:
        if not self.is_expert():
            return
        iv = store.readable(self.s, self.person, int(arg)) if is_number(arg or "") else None
        if iv is None:
            return self.say("library.not_readable", kind="error", id=(arg or "?")[:20])
        if iv.status != "published":
            return self.say("analysis.not_published", kind="error")
        text = (text or "").strip()
        a = self.s.exec(
            select(Analysis).where(Analysis.intervention_id == iv.id, Analysis.expert_id == self.person.id)
        ).first()
        if not text:
            return self.show(iv, a)
        word = " ".join(text.casefold().split()).strip(".!")
        if word in PARTS["delete"]:
            return self.remove(iv, a)
        if word in PARTS["publish"]:
            return self.publish(iv, a)
        a = a or self.start(iv)
        problem = self.change(a, text)
        if problem:
            return self.say(
                problem, kind="error", id=iv.id, total=len(definition.steps()), max=MAX_TEXT, most=MAX_REFERENCES
            )
        a.updated_at = utcnow()
        if a.published_at is not None:
            search.reindex(self.s, iv)
        self.show(iv, a, saved=True)

    def start(self, iv: Intervention) -> Analysis:
        # One row per expert and description: a person's turns run one at a time (bot/turn.py).
        a = Analysis(intervention_id=iv.id, expert_id=self.person.id)
        self.s.add(a)
        self.s.flush()
        return a

    def change(self, a: Analysis, text: str) -> str | None:
        """Apply one typed change; the message key of the problem when it cannot be."""
        if m := STEP.fullmatch(text):
            no, body = int(m[1]), clean(m[2])
            if not 1 <= no <= len(definition.steps()):
                return "analysis.bad_step"
            if len(body) > MAX_TEXT:
                return "analysis.too_long"
            a.steps = {k: v for k, v in (a.steps or {}).items() if k != str(no)} | ({str(no): body} if body else {})
            return None
        part, body = split_part(text)
        if part is None:
            return "analysis.usage"
        if part == "research":
            return self.research(a, body)
        body = clean(body)
        if len(body) > MAX_TEXT:
            return "analysis.too_long"
        setattr(a, part, body or None)
        return None

    def research(self, a: Analysis, body: str) -> str | None:
        refs = list(a.references or [])
        if m := REMOVE_REFERENCE.fullmatch(body.strip()):
            if not 1 <= int(m[1]) <= len(refs):
                return "analysis.no_reference"
            del refs[int(m[1]) - 1]
        else:
            typed = [line for line in body.splitlines() if line.strip()]
            new = [parse_reference(line) for line in typed]
            if not typed or None in new:
                return "analysis.bad_reference"
            known = {r["link"].casefold() for r in refs}
            refs += [r for r in new if r["link"].casefold() not in known]
            if len(refs) > MAX_REFERENCES:
                return "analysis.too_many"
        a.references = refs
        return None

    def show(self, iv: Intervention, a: Analysis | None, saved: bool = False) -> None:
        title = self.t("analysis.title", title=iv.title or self.t("untitled"))
        if a is None:
            return self.replies.append(Reply(kind="info", title=title, text=self.t("analysis.how", id=iv.id)))
        missing = [self.t(f"analysis.missing_{key}") for key in missing_parts(a)]
        status = self.t("analysis.is_published" if a.published_at else "analysis.is_draft")
        text = self.t("analysis.saved") + " " + status if saved else status
        if missing:
            text += "\n" + self.t("analysis.still", parts=", ".join(missing))
        section = Section(no=None, title=self.t("analysis.yours"), lines=lines(a, self.locale))
        actions = (
            []
            if a.published_at or missing_parts(a)
            else [Choice(self.t("analysis.publish"), f"analyse:{iv.id}:publish", "primary")]
        )
        self.replies.append(
            Reply(
                kind="info",
                title=title,
                text=text,
                note=self.t("analysis.how", id=iv.id),
                sections=[section],
                actions=actions,
                intervention_id=iv.id,
            )
        )

    def publish(self, iv: Intervention, a: Analysis | None) -> None:
        if a is None:
            return self.say("analysis.nothing", kind="error", id=iv.id)
        if a.published_at is not None:
            return self.say("analysis.already", id=iv.id)
        if missing := missing_parts(a):
            parts = ", ".join(self.t(f"analysis.missing_{key}") for key in missing)
            return self.say("analysis.incomplete", kind="error", parts=parts, id=iv.id)
        a.published_at = a.updated_at = utcnow()
        self.s.flush()
        search.reindex(self.s, iv)
        self.say("analysis.published_done", title=iv.title or self.t("untitled"))
        tell_author(self.s, iv, a, self.person, self.run.default_locale)

    def remove(self, iv: Intervention, a: Analysis | None) -> None:
        if a is None:
            return self.say("analysis.nothing", kind="error", id=iv.id)
        was_published = a.published_at is not None
        self.s.delete(a)
        self.s.flush()
        if was_published:
            search.reindex(self.s, iv)
        self.say("analysis.removed", title=iv.title or self.t("untitled"))


def split_part(text: str) -> tuple[str | None, str]:
    """ "oordeel: goed onderbouwd" → ("judgement", "goed onderbouwd")."""
    for part in ("elements", "research", "judgement"):
        for word in sorted(PARTS[part], key=len, reverse=True):
            if m := re.fullmatch(rf"{re.escape(word)}\s*[:,.-]?\s*(.*)", text, re.IGNORECASE | re.DOTALL):
                return part, m[1]
    return None, ""


def missing_parts(a: Analysis) -> list[str]:
    """What a publishable analysis needs: something about the practice, and a judgement."""
    missing = [] if a.steps or a.elements else ["assessment"]
    return missing + ([] if a.judgement else ["judgement"])


def tell_author(session: Session, iv: Intervention, a: Analysis, expert: Person, default_locale: str) -> None:
    author = session.get(Person, iv.author_id)
    if author is None or author.id == expert.id:
        return
    locale = author.locale or default_locale
    name = with_roles(naming(expert.id, expert.display_name), roles_of(session, expert.id), locale)
    notice = Reply(
        kind="info",
        title=t(locale, "analysis.notice_title"),
        text=t(locale, "analysis.notice", name=name, title=iv.title or t(locale, "untitled")),
        note=(a.judgement or "")[:500],
        actions=[Choice(t(locale, "digest.read"), f"read:{iv.id}")],
        intervention_id=iv.id,
    )
    enqueue(session, author, f"analysis:{a.id}", [notice], locale, a.published_at)
