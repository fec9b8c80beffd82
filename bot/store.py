"""Reading and writing description fields generically, as the step definition names them."""

from __future__ import annotations

from sqlalchemy import and_, delete, or_, update
from sqlmodel import Session, select

from bot import definition
from bot.definition import Field
from bot.formatting import field_value
from bot.names import naming, shown_name
from bot.replies import Line, Section
from bot.values import MAX_INTEGER, Invalid, owners_shown
from models import (
    LIST_TABLES,
    Analysis,
    ArchetypeDraft,
    ArchetypeOrigin,
    ArchetypeSource,
    Comment,
    Conversation,
    Indicator,
    IndicatorOwner,
    Intervention,
    Measurement,
    Organisation,
    Person,
    Reminder,
)
from models.tables import utcnow


def get(iv: Intervention, f: Field):
    return getattr(iv, f.key)


def put(iv: Intervention, f: Field, value) -> None:
    setattr(iv, f.key, value)
    iv.updated_at = utcnow()


def items(session: Session, iv: Intervention, f: Field) -> list:
    table = LIST_TABLES[f.key]
    # Without flushing first: which rows a list has changes only in add_item and remove_item, which
    # flush themselves, and an answer waiting to be written would be flushed twice in a turn.
    query = select(table).where(table.intervention_id == iv.id).order_by(table.position, table.id)
    with session.no_autoflush:
        return list(session.exec(query))


def add_item(session: Session, iv: Intervention, f: Field, **values):
    existing = items(session, iv, f)
    row = LIST_TABLES[f.key](intervention_id=iv.id, position=len(existing), **values)
    session.add(row)
    iv.updated_at = utcnow()
    session.flush()
    return row


def remove_item(session: Session, iv: Intervention, f: Field, row) -> None:
    session.delete(row)
    session.flush()
    for position, other in enumerate(items(session, iv, f)):
        other.position = position
    iv.updated_at = utcnow()


def item_is_empty(f: Field, row) -> bool:
    return all(getattr(row, sub.key) in (None, "", []) for sub in f.items)


def order_problem(f: Field, value, value_of, locale: str, siblings: tuple[Field, ...] | None = None) -> Invalid | None:
    """A date that would come before the date it must follow (or after one that must follow it).
    `value_of(key)` gives the other field's value as it will be stored; `siblings` are the
    fields of the same list item, for a field of a list item."""
    if value is None:
        return None
    if siblings is None:
        named = lambda key: definition.find_field(key)[1]  # noqa: E731
        later_fields = [later for _, later in definition.fields_after(f.key)]
    else:
        named = {sub.key: sub for sub in siblings}.get
        later_fields = [sub for sub in siblings if sub.after == f.key]
    if f.after:
        other = value_of(f.after)
        if other is not None and value < other:
            return Invalid("invalid.date_before", other=field_value(named(f.after), other, locale))
    for later in later_fields:
        other = value_of(later.key)
        if other is not None and value > other:
            return Invalid("invalid.date_after", other=field_value(later, other, locale))
    return None


def is_filled(session: Session, iv: Intervention, f: Field) -> bool:
    if f.kind == "list":
        return any(not item_is_empty(f, row) for row in items(session, iv, f))
    return get(iv, f) not in (None, "", [])


def missing_required(session: Session, iv: Intervention) -> list[tuple[int, Field]]:
    return [
        (s.no, f)
        for s in definition.steps()
        for f in s.fields
        if f.required and definition.asked(f, iv.kind) and not is_filled(session, iv, f)
    ]


def describe(
    session: Session, iv: Intervention, locale: str, include_empty: bool = False, readers: bool = False
) -> list[Section]:
    """The description step by step, as lines of label and value. For `readers` (the page, the
    document) without the author's own settings, such as who may see it."""
    sections, colleagues = [], None
    author = session.get(Person, iv.author_id)
    for s in definition.steps():
        section = Section(no=s.no, title=s.title(locale))
        for f in s.fields:
            if readers and f.internal:
                continue
            if f.kind == "list":
                filled = [row for row in items(session, iv, f) if not item_is_empty(f, row)]
                if colleagues is None and any(getattr(row, "owner", None) for row in filled):
                    colleagues = organisation_people(session, iv.organisation_id)
                for n, row in enumerate(filled, start=1):
                    line = item_text(f, row, author, locale, colleagues or [])
                    section.lines.append(Line(f"{f.item_label(locale)} {n}", line))
                continue
            shown = field_value(f, get(iv, f), locale)
            if shown or include_empty:
                section.lines.append(Line(f.label(locale), shown))
        sections.append(section)
    return sections


def organisation_people(session: Session, organisation_id: int) -> list[Person]:
    return list(session.exec(select(Person).where(Person.organisation_id == organisation_id)))


def item_text(f: definition.Field, row, author: Person | None, locale: str, colleagues: list[Person]) -> str:
    """One effect, indicator or report on a line: its name, then each filled part with its label
    ("Nulmeting: 5,8"); an owner written as "ik" is the author, by name, and a name that means
    one of the author's `colleagues` is marked as naming them."""
    parts = []
    for sub in f.items:
        value = getattr(row, sub.key)
        if sub.key == "owner" and value and author is not None:
            value = owners_shown(value, naming(author.id, shown_name(author.display_name, locale)), colleagues)
        shown = field_value(sub, value, locale)
        if shown and parts and sub.label_nl:
            shown = f"{sub.label(locale)}: {shown}"
        parts.append(shown or ("…" if not parts else ""))
    return " · ".join(p for p in parts if p)


def drafts_and_published(session: Session, person_id: int, limit: int = 20) -> list[Intervention]:
    return list(
        session.exec(
            select(Intervention)
            .where(Intervention.author_id == person_id)
            .order_by(Intervention.updated_at.desc(), Intervention.id.desc())
            .limit(limit)
        )
    )


def latest_draft(session: Session, person_id: int) -> Intervention | None:
    return session.exec(
        select(Intervention)
        .where(Intervention.author_id == person_id, Intervention.status == "draft")
        .order_by(Intervention.updated_at.desc(), Intervention.id.desc())
        .limit(1)
    ).first()


def new_draft(session: Session, person: Person, kind: str = "description") -> Intervention:
    iv = Intervention(organisation_id=person.organisation_id, author_id=person.id, kind=kind)
    session.add(iv)
    session.flush()
    return iv


def visible_to(organisation: Organisation | None):
    """The SQL condition for published descriptions a reader of `organisation` may see; None is
    a reader without an organisation: public descriptions only. The one place this rule lives."""
    published = Intervention.status == "published"
    if organisation is None:
        return and_(published, Intervention.visibility == "public")
    allowed = [Intervention.visibility == "public", Intervention.organisation_id == organisation.id]
    if organisation.is_partner:
        allowed.append(Intervention.visibility == "partners")
    return and_(published, or_(*allowed))


def readable(session: Session, person: Person | None, iv_id: int) -> Intervention | None:
    """A description `person` may read: published and visible to their organisation, or their own
    (a draft too). Every path that shows one description by number goes through here."""
    if not 0 < iv_id <= MAX_INTEGER:
        return None  # no such row, and a number the database could not even compare
    organisation = session.get(Organisation, person.organisation_id) if person else None
    iv = session.exec(select(Intervention).where(Intervention.id == iv_id, visible_to(organisation))).first()
    if iv is None and person is not None:
        own = session.get(Intervention, iv_id)
        iv = own if own is not None and own.author_id == person.id else None
    return iv


def delete_description(session: Session, iv: Intervention) -> None:
    """A description and everything that hangs on it: its effects, indicators with their
    measurements and reminders, reports, comments and expert analyses. Conversations that pointed at it forget it."""
    indicator_ids = select(Indicator.id).where(Indicator.intervention_id == iv.id)
    reminder_ids = select(Reminder.id).where(Reminder.indicator_id.in_(indicator_ids))
    session.exec(
        update(Conversation)
        .where(or_(Conversation.intervention_id == iv.id, Conversation.reminder_id.in_(reminder_ids)))
        .values(intervention_id=None, reminder_id=None, field=None, phase="idle", offered=None)
    )
    for table in (Measurement, Reminder, IndicatorOwner):
        session.exec(delete(table).where(table.indicator_id.in_(indicator_ids)))
    for table in (Comment, Analysis, ArchetypeDraft, ArchetypeOrigin, ArchetypeSource, *LIST_TABLES.values()):
        session.exec(delete(table).where(table.intervention_id == iv.id))
    session.exec(delete(Intervention).where(Intervention.id == iv.id))
