"""Organisations: who a description belongs to and who may read it.

A Slack workspace is one organisation; an administrator of the workspace names it. Whether an
organisation belongs to the Wat Werkt in de Wijk partner network (and so reads descriptions
shared with partners) is set by whoever runs the deployment (`wwidw organisation partner`),
never by the organisation itself.
"""

from __future__ import annotations

from sqlalchemy import and_, func
from sqlmodel import Session, select

from bot.i18n import t
from bot.names import clean_name, skeleton
from bot.people import LOCAL, WORKSPACE_COLUMN, default_name
from bot.values import clean
from models import Organisation, Person

RENAMING = 0x77776964  # the PostgreSQL advisory lock that renames take turns on


def show(org: Organisation, locale: str) -> str:
    return t(locale, "organisation.show", name=org.name, network=t(locale, f"organisation.partner_{org.is_partner}"))


def name_command(session: Session, person: Person, text: str, is_admin: bool, locale: str) -> str:
    """`organisatie` shows the organisation; `organisatie <naam>` names it (administrators only)."""
    org = session.get(Organisation, person.organisation_id)
    name = clean(text or "").strip()
    if not name:
        return show(org, locale)
    if not is_admin:
        return t(locale, "organisation.admin_only", name=org.name)
    problem = rename(session, org, name)
    return t(locale, problem, name=name) if problem else t(locale, "organisation.named", name=org.name)


def rename(session: Session, org: Organisation, name: str) -> str | None:
    """Give `org` a new name; the message key of the problem when it cannot have it. Names are
    unique by how they look (bot/names.py): a digest line says which organisation a description
    comes from, and one organisation must not pass for another."""
    name = clean_name(name)
    if not 2 <= len(name) <= 200:
        return "organisation.bad_name"
    if session.get_bind().dialect.name == "postgresql":
        # Renames wait for each other, so two at once cannot both take a free name. (SQLite
        # transactions already run one at a time.)
        session.exec(select(func.pg_advisory_xact_lock(RENAMING)))
    key = skeleton(name)
    others = session.exec(select(Organisation.name).where(Organisation.id != org.id))
    if any(skeleton(other) == key for other in others):
        return "organisation.taken"
    org.name = name
    return None


def adopt_workspace_name(session: Session, platform: str, workspace: str, name: str) -> None:
    """A workspace's organisation still under its placeholder name ("Slack T0123") takes the name
    the workspace has (Slack's team name), unless another organisation has it. An administrator
    can give it another name at any time."""
    column = getattr(Organisation, WORKSPACE_COLUMN[platform])
    org = session.exec(select(Organisation).where(column == workspace)).first()
    if org is not None and org.name == default_name(platform, workspace):
        rename(session, org, clean(name or ""))  # a name that is taken or unfit leaves the placeholder


def find(session: Session, name_or_id: str) -> Organisation | None:
    text = (name_or_id or "").strip()
    if text.isdigit():
        return session.get(Organisation, int(text))
    found = session.exec(select(Organisation).where(func.lower(Organisation.name) == text.lower()).limit(2)).all()
    return found[0] if len(found) == 1 else None  # two of one name (from before names were unique): use the number


def web_may_use(session: Session, name: str) -> bool:
    """Whether the web chat may create or join an organisation of this name: not one that belongs
    to a Slack workspace or a Teams tenant, nor a look-alike of one."""
    key = skeleton(name)
    return not any(skeleton(held) == key for held in session.exec(select(Organisation.name).where(~and_(*LOCAL))))


def local_names(session: Session) -> list[str]:
    """The organisations a web chat user can pick from."""
    return list(session.exec(select(Organisation.name).where(*LOCAL).order_by(Organisation.name)))
