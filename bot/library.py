"""The knowledge bank in a conversation: searching, reading other organisations' descriptions,
commenting on one of their steps, and starting a draft from an archetype.

Every description shown here goes through `store.readable`: published and visible to the
reader's organisation, or the reader's own.
"""

from __future__ import annotations

from sqlmodel import select

from bot import analyses, archetypes, curation, definition, formatting, search, store
from bot import archetype_records as records
from bot.i18n import t
from bot.messages import enqueue
from bot.names import naming, shown_name
from bot.parts import TurnPart
from bot.replies import Choice, Line, Reply
from bot.roles import roles_by_person, roles_of, with_roles
from bot.values import clean, is_number
from models import Comment, Intervention, Organisation, Person

ACTIONS = {"read"}  # button values "read:<id>"
MAX_COMMENT = 4000


class Library(TurnPart):
    def action(self, value: str) -> None:
        kind, _, arg = value.partition(":")
        if kind == "read":
            return self.read(arg)

    # --- searching -------------------------------------------------------------------------

    def search(self, words: str | None) -> None:
        words = (words or "").strip()
        if not words:
            self.say("library.search_help")
            return
        organisation = self.s.get(Organisation, self.person.organisation_id)
        hits = search.search(self.s, organisation, words, limit=10)
        if not hits:
            self.say("library.nothing", kind="error", words=words[:100])
            return
        self.run.replies.append(
            Reply(
                kind="list",
                title=self.t("library.found_title", count=len(hits)),
                text=self.t("library.found", words=words[:100]),
                options=[Choice(self.hit_label(hit), f"read:{hit.intervention_id}") for hit in hits],
            )
        )

    def hit_label(self, hit: search.Hit) -> str:
        place = ", ".join(p for p in (hit.neighbourhood, hit.municipality) if p)
        analysed = self.t("analysis.marker") if hit.analysed else None
        return " · ".join(p for p in (f"#{hit.intervention_id} {hit.title}", hit.organisation, place, analysed) if p)

    # --- reading ----------------------------------------------------------------------------

    def readable(self, arg: str | None) -> Intervention | None:
        iv = store.readable(self.s, self.person, int(arg)) if is_number(arg or "") else None
        if iv is None:
            self.say("library.not_readable", kind="error", id=(arg or "?")[:20])
        return iv

    def read(self, arg: str | None) -> None:
        iv = self.readable(arg)
        if iv is not None:
            self.run.replies.append(description_reply(self.s, iv, self.locale, self.person))

    # --- comments ---------------------------------------------------------------------------

    def comment(self, arg: str | None, text: str | None) -> None:
        """`reageer 12 stap 3: …`: a remark on one step of a published description."""
        iv_id, _, step = (arg or "").partition(":")
        iv = self.readable(iv_id)
        if iv is None:
            return
        problem = add_comment(self.s, iv, self.person, step, text, self.run.default_locale)
        if problem:
            reply = self.say(problem, kind="error", total=len(definition.steps()), max=MAX_COMMENT)
            reply.input = "step" if problem == "library.comment_step" else "comment"  # the field it is about
            return
        self.say("library.commented", title=iv.title or self.t("untitled"), step=int(step))

    # --- archetypes -------------------------------------------------------------------------

    def archetypes(self, error: str | None = None, words: str = "") -> None:
        reply = Reply(
            kind="list",
            title=self.t("library.archetypes_title"),
            text=self.t(error, words=words[:100]) if error else self.t("library.archetypes"),
            options=[
                Choice(
                    f"{a.name(self.locale)}: {a.summary(self.locale)}",
                    self.run.buttons.once_from_here(f"cmd:from:{a.key}"),
                )
                for a in (r.archetype for r in records.current(self.s))
            ],
        )
        self.run.replies.append(reply)

    def new_from(self, words: str | None) -> None:
        """`nieuw op basis van klushuizen`: a draft filled with the archetype's texts, then the
        wizard from its first question (each question shows the prefilled answer)."""
        record = records.named(self.s, words or "")
        if record is None:
            return self.archetypes(error="library.no_archetype", words=words or "")
        iv = store.new_draft(self.s, self.person)
        archetypes.prefill(self.s, iv, record.archetype, self.locale)
        records.set_origin(self.s, iv, record.version.id)
        run = self.run
        run.set_intervention(iv)
        run.conv.back_to_review = False
        name, number = record.archetype.name(self.locale), record.version.number
        basis = curation.basis(self.s, record.version, self.locale)
        run.say("library.from_archetype", id=iv.id, name=name, number=number, basis=basis)
        run.asking.move_fresh(run.walk.first_of(1))


def add_comment(
    session, iv: Intervention, person: Person, step: str, text: str | None, default_locale: str
) -> str | None:
    """Store a comment and tell the author; the message key of the problem when it cannot be."""
    body = clean(text or "")
    if iv.status != "published":
        return "library.comment_draft"
    if not (is_number(step) and 1 <= int(step) <= len(definition.steps())):
        return "library.comment_step"
    if not body:
        return "library.comment_empty"
    if len(body) > MAX_COMMENT:
        return "library.comment_long"
    comment = Comment(intervention_id=iv.id, step=int(step), author_id=person.id, body=body)
    session.add(comment)
    session.flush()
    author = session.get(Person, iv.author_id)
    if author is not None and author.id != person.id:
        locale = author.locale or default_locale
        notice = Reply(
            kind="info",
            title=t(locale, "library.comment_notice_title"),
            text=t(
                locale,
                "library.comment_notice",
                name=with_roles(naming(person.id, person.display_name), roles_of(session, person.id), locale),
                title=iv.title or t(locale, "untitled"),
                step=comment.step,
                step_title=definition.steps()[comment.step - 1].title(locale),
            ),
            note=body[:500],
            actions=[Choice(t(locale, "digest.read"), f"read:{iv.id}")],
            intervention_id=iv.id,
        )
        enqueue(session, author, f"comment:{comment.id}", [notice], locale, comment.created_at)
    return None


def comments_by_step(session, iv_id: int) -> dict[int, list[tuple[Comment, str]]]:
    """The comments on a description with their writers' names, per step, oldest first."""
    out: dict[int, list[tuple[Comment, str]]] = {}
    for comment, name in session.exec(
        select(Comment, Person.display_name)
        .join(Person, Person.id == Comment.author_id)
        .where(Comment.intervention_id == iv_id)
        .order_by(Comment.created_at, Comment.id)
    ):
        out.setdefault(comment.step, []).append((comment, name))
    return out


def description_reply(session, iv: Intervention, locale: str, reader: Person | None = None) -> Reply:
    """A description to read, its comments under the steps they are about and its published
    expert analyses below; an expert reading it is offered to analyse it."""
    sections = store.describe(session, iv, locale, readers=True)
    by_step = comments_by_step(session, iv.id)
    roles = roles_by_person(session, [c.author_id for comments in by_step.values() for c, _ in comments])
    for no, comments in by_step.items():
        for comment, name in comments:
            when = formatting.day(comment.created_at, locale)
            name = naming(comment.author_id, shown_name(name, locale))
            name = with_roles(name, roles.get(comment.author_id, []), locale)
            label = t(locale, "library.comment_label", name=name, when=when)
            sections[no - 1].lines.append(Line(label, comment.body))
    sections += analyses.sections(session, iv.id, locale)
    organisation = session.get(Organisation, iv.organisation_id)
    published = iv.status == "published"
    note = t(locale, "library.how_to_comment", id=iv.id) if published else None
    started = curation.origin(session, iv, locale)
    actions = []
    if published and reader is not None and "expert" in roles_of(session, reader.id):
        note += " " + t(locale, "analysis.how_short", id=iv.id)
        actions = [Choice(t(locale, "analysis.button"), f"analyse:{iv.id}")]
    return Reply(
        kind="description",
        title=iv.title or t(locale, "untitled"),
        text=t(
            locale,
            "library.meta",
            organisation=organisation.name if organisation else "?",
            status=t(locale, "status.published" if iv.status == "published" else "status.draft"),
        )
        + (f" {started}" if started else ""),
        note=note,
        sections=sections,
        actions=actions,
        intervention_id=iv.id,
    )
