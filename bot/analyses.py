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
from dataclasses import dataclass
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

FORM = "aform"  # "aform:<id>": the analysis as a form, which each adapter opens its own way
ACTIONS = {"analyse", FORM}  # "analyse:<id>", "analyse:<id>:publish"; a form not opened: the chat
MAX_TEXT = 3000  # a part fits one Slack modal field (plain_text_input holds at most 3000)
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
    line = " ".join(clean(line).split())[:MAX_REFERENCE]
    # A DOI stands on its own (or after doi: / doi.org/); inside another link's path it is that link's.
    doi = next((m for m in DOI.finditer(line) if m.start() == 0 or line[m.start() - 1] in " (<"), None)
    found = doi or URL.search(line)
    if found is None:
        return None
    link = (doi[1] if doi else found[0]).rstrip(".,;)>")
    if any(c in link for c in "<>\"'"):
        return None
    if doi is None:
        try:
            host = urlsplit(link).hostname or ""
        except ValueError:  # "https://[x]/…": no host one can reach
            return None
        if "." not in host:
            return None
    end = (found.start(1) if doi else found.start()) + len(link)
    # What is left is the note; Slack's "<url|label>" arrives as "label (url)", so "()" goes too.
    note = re.sub(r"\(\s*\)|<\s*>", "", line[: found.start()] + line[end:]).lstrip(" -–—:;,.").rstrip(" -–—:;,")
    return {"link": f"https://doi.org/{link}" if doi else link, "doi": link if doi else None, "note": note}


def checked_text(text: str) -> tuple[str | None, str | None]:
    """A part's text as stored (None when empty), and the message key of its problem."""
    body = clean(text or "")
    return (None, "analysis.too_long") if len(body) > MAX_TEXT else (body or None, None)


def checked_references(text: str, known: list[dict]) -> tuple[list[dict], str | None]:
    """The references typed (a DOI or a link per line) after those `known`, each link once; and
    the message key of the problem, when a line is neither or there are too many."""
    typed = [line for line in (text or "").splitlines() if line.strip()]
    new = [parse_reference(line) for line in typed]
    if None in new:
        return known, "analysis.bad_reference"
    refs, links = list(known), {r["link"].casefold() for r in known}
    for ref in new:
        if ref["link"].casefold() not in links:
            refs.append(ref)
            links.add(ref["link"].casefold())
    return (known, "analysis.too_many") if len(refs) > MAX_REFERENCES else (refs, None)


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


@dataclass
class FormText:
    path: str  # "step.3", "elements", "research", "judgement"
    label: str
    value: str
    help: str = ""
    max_len: int = MAX_TEXT


@dataclass
class AnalysisForm:
    """An analysis as a whole form; each adapter renders it its own way and sends back the values
    under each field's path, with `publish` when the expert chose to publish."""

    intervention_id: int
    title: str
    fields: list[FormText]
    published: bool
    locale: str
    note: str


class Analyses(TurnPart):
    """`analyseer 12 …`, and the list of one's own analyses."""

    def action(self, value: str) -> None:
        _, _, arg = value.partition(":")
        iv_id, _, what = arg.partition(":")
        return self.analyse(iv_id, "publiceer" if what == "publish" else "")

    def mine(self) -> None:
        """One's own analyses; one of a description one may no longer read shows without its title
        (it may have become private), to be removed."""
        rows = self.s.exec(
            select(Analysis, Intervention.title)
            .join(Intervention, Intervention.id == Analysis.intervention_id)
            .where(Analysis.expert_id == self.person.id)
            .order_by(Analysis.updated_at.desc(), Analysis.id.desc())
        ).all()
        if not rows:
            return self.say("analysis.none_yet") if self.is_expert() else None
        options = []
        for a, title in rows:
            if store.readable(self.s, self.person, a.intervention_id) is None:
                label = f"#{a.intervention_id} · " + self.t("analysis.gone", id=a.intervention_id)
            else:
                status = self.t("analysis.published" if a.published_at else "analysis.draft")
                label = f"#{a.intervention_id} {title or self.t('untitled')} · {status}"
            options.append(Choice(label, f"analyse:{a.intervention_id}"))
        title = self.t("analysis.mine_title")
        self.replies.append(Reply(kind="list", title=title, text=self.t("analysis.mine"), options=options))

    def is_expert(self) -> bool:
        """Whether the person may analyse; if not, they are told how one becomes an expert."""
        if "expert" in roles_of(self.s, self.person.id):
            return True
        self.say("analysis.not_expert", kind="error")
        return False

    def analyse(self, arg: str | None, text: str | None) -> None:
        text = (text or "").strip()
        word = " ".join(text.casefold().split()).strip(".!")
        if word in PARTS["delete"] and (own := self.own(arg)) is not None:
            return self.remove(own)  # one's own, also once the description or the role is gone
        iv = self.analysable(arg)
        if iv is None:
            return
        a = self.mine_of(iv)
        if not text:
            return self.show(iv, a)
        if word in PARTS["delete"]:
            return self.say("analysis.nothing", kind="error", id=iv.id)
        if word in PARTS["publish"]:
            return self.publish(iv, a)
        changed = a or Analysis(intervention_id=iv.id, expert_id=self.person.id)
        problem = self.change(changed, text)  # changes nothing when there is a problem
        if problem:
            return self.say(
                problem, kind="error", id=iv.id, total=len(definition.steps()), max=MAX_TEXT, most=MAX_REFERENCES
            )
        changed.updated_at = utcnow()
        if a is None:  # one row per expert and description: a person's turns run one at a time
            self.s.add(changed)
            self.s.flush()
        elif a.published_at is not None:
            search.reindex(self.s, iv)
        self.show(iv, changed, saved=True)

    def own(self, arg: str | None) -> Analysis | None:
        if not is_number(arg or ""):
            return None
        mine = (Analysis.intervention_id == int(arg), Analysis.expert_id == self.person.id)
        return self.s.exec(select(Analysis).where(*mine)).first()

    def start(self, iv: Intervention) -> Analysis:
        # One row per expert and description: a person's turns run one at a time (bot/turn.py).
        a = Analysis(intervention_id=iv.id, expert_id=self.person.id)
        self.s.add(a)
        self.s.flush()
        return a

    def change(self, a: Analysis, text: str) -> str | None:
        """Apply one typed change; the message key of the problem when it cannot be."""
        if m := STEP.fullmatch(text):
            no = int(m[1])
            if not 1 <= no <= len(definition.steps()):
                return "analysis.bad_step"
            body, problem = checked_text(m[2])
            if problem is None:
                a.steps = {k: v for k, v in (a.steps or {}).items() if k != str(no)} | ({str(no): body} if body else {})
            return problem
        part, body = split_part(text)
        if part is None:
            return "analysis.usage"
        if part != "research":
            value, problem = checked_text(body)
            if problem is None:
                setattr(a, part, value)
            return problem
        if m := REMOVE_REFERENCE.fullmatch(body.strip()):
            if not 1 <= int(m[1]) <= len(a.references or []):
                return "analysis.no_reference"
            a.references = [r for n, r in enumerate(a.references, start=1) if n != int(m[1])]
            return None
        if not body.strip():
            return "analysis.bad_reference"
        refs, problem = checked_references(body, list(a.references or []))
        a.references = refs
        return problem

    # --- the form (a Slack modal, a Teams card, a web page): every part at once ----------------

    def form(self, arg: str | None) -> AnalysisForm | None:
        """The expert's analysis as a form to fill in; None (after saying why) when there is none."""
        iv = self.analysable(arg)
        if iv is None:
            return None
        a = self.mine_of(iv) or Analysis(intervention_id=iv.id, expert_id=self.person.id)
        fields = [
            FormText(f"step.{s.no}", self.t("analysis.step_label", no=s.no, step=s.title(self.locale)),
                     (a.steps or {}).get(str(s.no), ""))
            for s in definition.steps()
        ]  # fmt: skip
        fields += [
            FormText("elements", self.t("analysis.elements"), a.elements or ""),
            FormText("research", self.t("analysis.research"), "\n".join(map(reference_text, a.references or [])),
                     help=self.t("analysis.research_help")),
            FormText("judgement", self.t("analysis.judgement"), a.judgement or ""),
        ]  # fmt: skip
        return AnalysisForm(
            intervention_id=iv.id,
            title=self.t("analysis.title", title=iv.title or self.t("untitled")),
            fields=fields,
            published=a.published_at is not None,
            locale=self.locale,
            note=self.t("analysis.is_published" if a.published_at else "analysis.is_draft"),
        )

    def submit(self, arg: str | None, values: dict, publish: bool) -> dict[str, str] | None:
        """A filled-in form, stored only when every part is valid: {path: problem}, empty when it
        was stored; None (after saying why) when it cannot be analysed at all."""
        iv = self.analysable(arg)
        if iv is None:
            return None
        errors, checked, steps = {}, {}, {}
        params = {"id": iv.id, "max": MAX_TEXT, "most": MAX_REFERENCES}
        for path in [f"step.{s.no}" for s in definition.steps()] + ["elements", "judgement"]:
            value, problem = checked_text(str(values.get(path) or ""))
            if problem:
                errors[path] = self.t(problem, **params)
            elif path.startswith("step."):
                steps.update({path[5:]: value} if value else {})
            else:
                checked[path] = value
        refs, problem = checked_references(str(values.get("research") or ""), [])
        if problem:
            errors["research"] = self.t(problem, **params)
        a = self.mine_of(iv)
        draft = Analysis(steps=steps, references=refs, **checked)
        missing = missing_parts(draft)
        if not errors and publish and missing:
            parts = ", ".join(self.t(f"analysis.missing_{key}") for key in missing)
            errors["judgement" if "judgement" in missing else "elements"] = self.t(
                "analysis.incomplete", parts=parts, id=iv.id
            )
        if errors:
            return errors
        if a is None and not (steps or refs or any(checked.values())):
            return {"judgement": self.t("analysis.empty_form")}
        a = a or self.start(iv)
        a.steps, a.references, a.elements, a.judgement = steps, refs, checked["elements"], checked["judgement"]
        a.updated_at = utcnow()
        if publish and a.published_at is None:
            self.publish(iv, a)
        else:
            if a.published_at is not None:
                search.reindex(self.s, iv)
            self.show(iv, a, saved=True)
        return {}

    def analysable(self, arg: str | None) -> Intervention | None:
        """The published description an expert may analyse; None after saying why not."""
        if not self.is_expert():
            return None
        iv = store.readable(self.s, self.person, int(arg)) if is_number(arg or "") else None
        if iv is None:
            self.say("library.not_readable", kind="error", id=(arg or "?")[:20])
        elif iv.status != "published":
            self.say("analysis.not_published", kind="error")
            return None
        return iv

    def mine_of(self, iv: Intervention) -> Analysis | None:
        return self.own(str(iv.id))

    def show(self, iv: Intervention, a: Analysis | None, saved: bool = False) -> None:
        """The analysis as it stands, what it still needs, and buttons: as a form, publish."""
        title = self.t("analysis.title", title=iv.title or self.t("untitled"))
        actions = [Choice(self.t("analysis.open_form"), f"{FORM}:{iv.id}")]
        if a is None:
            text = self.t("analysis.how", id=iv.id)
            return self.replies.append(
                Reply(kind="info", title=title, text=text, actions=actions, intervention_id=iv.id)
            )
        missing = [self.t(f"analysis.missing_{key}") for key in missing_parts(a)]
        status = self.t("analysis.is_published" if a.published_at else "analysis.is_draft")
        text = self.t("analysis.saved") + " " + status if saved else status
        if missing:
            text += "\n" + self.t("analysis.still", parts=", ".join(missing))
        elif a.published_at is None:
            actions.insert(0, Choice(self.t("analysis.publish"), f"analyse:{iv.id}:publish", "primary"))
        section = Section(no=None, title=self.t("analysis.yours"), lines=lines(a, self.locale))
        note = self.t("analysis.how", id=iv.id)
        reply = Reply(kind="info", title=title, text=text, note=note, sections=[section], actions=actions)
        reply.intervention_id = iv.id
        self.replies.append(reply)

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

    def remove(self, a: Analysis) -> None:
        was_published, iv_id = a.published_at is not None, a.intervention_id
        self.s.delete(a)
        self.s.flush()
        iv = self.s.get(Intervention, iv_id)
        if was_published and iv is not None:
            search.reindex(self.s, iv)
        self.say("analysis.removed", id=iv_id)


def split_part(text: str) -> tuple[str | None, str]:
    """ "oordeel: goed onderbouwd" → ("judgement", "goed onderbouwd")."""
    for part in ("elements", "research", "judgement"):
        for word in sorted(PARTS[part], key=len, reverse=True):
            # The word whole: "oordeelkundig …" is no judgement.
            if m := re.fullmatch(rf"{re.escape(word)}(?:\s*[:,.-]\s*|\s+|$)(.*)", text, re.IGNORECASE | re.DOTALL):
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
