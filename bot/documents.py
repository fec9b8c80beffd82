"""A description as a document: Markdown with the eight headings, or JSON."""

from __future__ import annotations

from datetime import date, datetime
from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined
from sqlmodel import Session

from bot import analyses, definition, store
from bot.i18n import t
from bot.names import naming, shown_name, unmarked
from bot.roles import roles_of, with_roles
from models import Intervention, Organisation, Person


@cache
def templates() -> Environment:
    # Markdown is plain text: autoescape would put HTML entities into it.
    return Environment(
        loader=PackageLoader("bot", "templates"),
        autoescape=False,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_markdown(session: Session, iv: Intervention, locale: str, marked: bool = False) -> str:
    """The description as Markdown; `marked` keeps the marks of whom it names, for a reply."""
    text = markdown(session, iv, locale)
    return text if marked else unmarked(text)


def markdown(session: Session, iv: Intervention, locale: str) -> str:
    organisation = session.get(Organisation, iv.organisation_id)
    author = session.get(Person, iv.author_id)
    return (
        templates()
        .get_template("description.md.j2")
        .render(
            iv=iv,
            title=iv.title or t(locale, "untitled"),
            organisation=organisation.name if organisation else "",
            author=written_by(session, author, locale),
            status=t(locale, "status.published" if iv.status == "published" else "status.draft"),
            sections=store.describe(session, iv, locale, readers=True) + analyses.sections(session, iv.id, locale),
            t=lambda key, **kw: t(locale, key, **kw),
        )
    )


def written_by(session: Session, author: Person | None, locale: str) -> str:
    """The author as shown above a document: their name and roles ("Karin de Vries · expert")."""
    if author is None:
        return ""
    return with_roles(naming(author.id, shown_name(author.display_name, locale)), roles_of(session, author.id), locale)


def as_dict(session: Session, iv: Intervention) -> dict:
    """Every stored field under its key, list items as lists of objects: the JSON export."""

    def plain(value):
        return value.isoformat() if isinstance(value, (date, datetime)) else value

    organisation = session.get(Organisation, iv.organisation_id)
    out = {
        "id": iv.id,
        "status": iv.status,
        "organisation": organisation.name if organisation else None,
        "created_at": plain(iv.created_at),
        "updated_at": plain(iv.updated_at),
        "published_at": plain(iv.published_at),
        "steps": {},
        "analyses": analyses.as_dicts(session, iv.id),
    }
    for s in definition.steps():
        values = {}
        for f in s.fields:
            if f.kind == "list":
                values[f.key] = [
                    {sub.key: plain(getattr(row, sub.key)) for sub in f.items}
                    for row in store.items(session, iv, f)
                    if not store.item_is_empty(f, row)
                ]
            else:
                values[f.key] = plain(store.get(iv, f))
        out["steps"][s.key] = values
    return out
