"""Archetypes as records: the newest version of each is what people start from, earlier versions
stay readable. A curator's draft becomes the next version (`publish`); a version nobody started
from can be removed (`remove_version`).

    current(session)              the newest version of every archetype
    named(session, "klushuis")    the newest version an archetype's name points at, or None
    history(session, key)         every version of one archetype, newest first
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import Session, delete, select, update

from bot import archetypes, definition, store
from bot.archetypes import Archetype, ArchetypeError
from bot.values import clean
from models import Archetype as ArchetypeRow
from models import ArchetypeDraft, ArchetypeOrigin, ArchetypeSource, ArchetypeVersion, Intervention, Person
from models.tables import utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Record:
    """One version of an archetype: its checked content and the row with what it rests on."""

    key: str
    archetype: Archetype
    version: ArchetypeVersion


class Conflict(Exception):
    """Another curator published a version after the one this draft revises."""

    def __init__(self, newer: ArchetypeVersion):
        super().__init__(f"version {newer.number} came first")
        self.newer = newer


class NameTaken(Exception):
    """The draft's name is already the name of another archetype."""


def _record(key: str, version: ArchetypeVersion) -> Record | None:
    raw = {
        "key": key,
        "name_nl": version.name_nl,
        "name_en": version.name_en,
        "summary_nl": version.summary_nl,
        "summary_en": version.summary_en,
        "aliases": version.aliases or [],
        "fields": version.fields,
    }
    try:
        return Record(key, archetypes.check(raw, version.id), version)
    except ArchetypeError as e:  # steps.toml changed under it: not offered until a curator revises it
        log.warning("archetype %s version %s no longer fits the steps: %s", key, version.number, e)
        return None


def _newest_numbers():
    return (
        select(ArchetypeVersion.archetype_id, func.max(ArchetypeVersion.number).label("number"))
        .group_by(ArchetypeVersion.archetype_id)
        .subquery()
    )


def current(session: Session) -> list[Record]:
    newest = _newest_numbers()
    rows = session.exec(
        select(ArchetypeRow.key, ArchetypeVersion)
        .join(ArchetypeVersion, ArchetypeVersion.archetype_id == ArchetypeRow.id)
        .join(
            newest,
            (newest.c.archetype_id == ArchetypeVersion.archetype_id) & (newest.c.number == ArchetypeVersion.number),
        )
        .order_by(ArchetypeRow.id)
    )
    return [r for r in (_record(key, version) for key, version in rows) if r is not None]


def named(session: Session, words: str) -> Record | None:
    found = current(session)
    match = archetypes.find(words, [r.archetype for r in found])
    return next((r for r in found if r.archetype is match), None)


def history(session: Session, key: str) -> list[Record]:
    rows = session.exec(
        select(ArchetypeRow.key, ArchetypeVersion)
        .join(ArchetypeVersion, ArchetypeVersion.archetype_id == ArchetypeRow.id)
        .where(ArchetypeRow.key == key)
        .order_by(ArchetypeVersion.number.desc())
    )
    return [r for r in (_record(k, version) for k, version in rows) if r is not None]


def of_version(session: Session, version_id: int | None) -> Record | None:
    version = session.get(ArchetypeVersion, version_id) if version_id else None
    row = session.get(ArchetypeRow, version.archetype_id) if version else None
    return _record(row.key, version) if row else None


def origin_of(session: Session, iv: Intervention) -> int | None:
    """The version a description started from, or an archetype draft revises."""
    origin = session.get(ArchetypeOrigin, iv.id)
    return origin.version_id if origin else None


def set_origin(session: Session, iv: Intervention, version_id: int | None) -> None:
    origin = session.get(ArchetypeOrigin, iv.id)
    if version_id is None:
        if origin is not None:
            session.delete(origin)
    elif origin is None:
        session.add(ArchetypeOrigin(intervention_id=iv.id, version_id=version_id))
    else:
        origin.version_id = version_id


def sources_of(session: Session, version_id: int) -> list[int]:
    """The practice descriptions a version rests on (those still there)."""
    rows = select(ArchetypeSource.intervention_id).where(ArchetypeSource.version_id == version_id)
    return list(session.exec(rows.order_by(ArchetypeSource.intervention_id)))


def started_from(session: Session, version_id: int) -> int:
    """How many descriptions started from this version."""
    return session.exec(
        select(func.count(ArchetypeOrigin.intervention_id))
        .join(Intervention, Intervention.id == ArchetypeOrigin.intervention_id)
        .where(ArchetypeOrigin.version_id == version_id, Intervention.kind != definition.ARCHETYPE)
    ).one()


# --- a curator's draft becomes a version --------------------------------------------------------


def draft_of(session: Session, iv: Intervention) -> ArchetypeDraft:
    draft = session.get(ArchetypeDraft, iv.id)
    if draft is None:
        draft = ArchetypeDraft(intervention_id=iv.id)
        session.add(draft)
    return draft


def start_draft(session: Session, curator: Person, record: Record | None) -> Intervention:
    """A new archetype draft, or (with `record`) one revising that version, filled with it."""
    iv = store.new_draft(session, curator, kind=definition.ARCHETYPE)
    draft = ArchetypeDraft(intervention_id=iv.id)
    if record is not None:
        version = record.version
        archetypes.prefill(session, iv, record.archetype, "nl")
        iv.title = version.name_nl
        set_origin(session, iv, version.id)
        draft.archetype_id = version.archetype_id
        draft.summary = version.summary_nl
        draft.sources = sources_of(session, version.id)
        draft.meeting_name, draft.meeting_date = version.meeting_name, version.meeting_date
        draft.meeting_place = version.meeting_place
    session.add(draft)
    session.flush()
    return iv


def slug(name: str) -> str:
    plain = archetypes.normal(name)
    return re.sub(r"\s+", "-", plain)[:60].strip("-") or "archetype"


def publish(session: Session, iv: Intervention, draft: ArchetypeDraft, curator: Person) -> ArchetypeVersion:
    """The draft as the archetype's next version (a new archetype's first). Raises Conflict when a
    newer version than the one it revises came first, NameTaken, or ArchetypeError when a value
    does not fit the steps. Leaves the draft to the caller."""
    row = session.get(ArchetypeRow, draft.archetype_id) if draft.archetype_id else None
    previous = newest = session.exec(
        select(ArchetypeVersion)
        .where(ArchetypeVersion.archetype_id == (row.id if row else -1))
        .order_by(ArchetypeVersion.number.desc())
        .limit(1)
    ).first()
    if newest is not None and newest.id != origin_of(session, iv):
        raise Conflict(newest)
    name, summary = clean(iv.title or ""), clean(draft.summary or "")
    same = previous is not None and previous.name_nl == name and previous.summary_nl == summary
    raw = {
        "key": row.key if row else slug(name),
        "name_nl": name,
        "name_en": previous.name_en if same else name,  # curators write Dutch; an English name is kept
        "summary_nl": summary,
        "summary_en": previous.summary_en if same else summary,
        "aliases": (previous.aliases or []) if previous else [],
        "fields": archetypes.snapshot(session, iv),
    }
    checked = archetypes.check(raw)
    others = [r.archetype for r in current(session) if r.key != raw["key"]]
    try:
        archetypes.check_names([*others, checked])
    except ArchetypeError:
        raise NameTaken(name) from None
    if row is None:
        if session.exec(select(ArchetypeRow.id).where(ArchetypeRow.key == raw["key"])).first() is not None:
            raise NameTaken(name)  # an archetype removed since kept its key
        row = ArchetypeRow(key=raw["key"])
        session.add(row)
        session.flush()
    version = ArchetypeVersion(
        archetype_id=row.id,
        number=row.last_number + 1,
        name_nl=raw["name_nl"],
        name_en=raw["name_en"],
        summary_nl=raw["summary_nl"],
        summary_en=raw["summary_en"],
        aliases=raw["aliases"],
        fields=raw["fields"],
        meeting_name=draft.meeting_name,
        meeting_date=draft.meeting_date,
        meeting_place=draft.meeting_place,
        published_at=utcnow(),
        published_by=curator.id,
    )
    row.last_number = version.number
    session.add(version)
    session.flush()  # two curators at once: the unique number refuses one, whose turn runs again
    existing = select(Intervention.id).where(Intervention.id.in_(draft.sources or []))  # deleted since: gone
    for intervention_id in session.exec(existing):
        session.add(ArchetypeSource(version_id=version.id, intervention_id=intervention_id))
    return version


def remove_version(session: Session, version: ArchetypeVersion) -> int:
    """Remove a version nobody started from; returns how many descriptions did (then nothing is
    removed). Drafts revising it revise nothing now; the last version takes its archetype along."""
    started = started_from(session, version.id)
    if started:
        return started
    session.exec(delete(ArchetypeOrigin).where(ArchetypeOrigin.version_id == version.id))  # drafts only
    session.exec(delete(ArchetypeSource).where(ArchetypeSource.version_id == version.id))
    session.delete(version)
    session.flush()
    others = select(ArchetypeVersion.id).where(ArchetypeVersion.archetype_id == version.archetype_id)
    left = session.exec(others).first()
    if left is None:
        session.exec(
            update(ArchetypeDraft).where(ArchetypeDraft.archetype_id == version.archetype_id).values(archetype_id=None)
        )
        session.delete(session.get(ArchetypeRow, version.archetype_id))
    return 0
