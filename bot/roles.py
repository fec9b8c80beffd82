"""Roles in the network's knowledge bank: an *expert* analyses practice descriptions, a *curator*
keeps the archetypes and gives roles. Whoever runs the deployment gives them too (`wwidw person
role`). A role shows beside the person's name in what they write, and in their `profiel`.

A part of a wizard turn (bot/turn.py) for `profiel` and a curator's `rol expert Karin de Vries`
(`rol weg expert Karin`): a curator names a colleague of their own organisation, as an indicator's
owner is named; someone of another organisation gets a role from the operator, since no
organisation sees who works at another.
"""

from __future__ import annotations

from sqlmodel import Session, delete, select

from bot import formatting, store
from bot.absence import absence_note
from bot.i18n import t
from bot.messages import enqueue
from bot.monitor import hours_of
from bot.names import named_by, naming
from bot.parts import TurnPart
from bot.replies import Reply
from bot.schedule import timezone
from models import Organisation, Person, PersonRole
from models.db import insert_missing
from models.tables import utcnow

ROLES = ("expert", "curator")
WORDS = {"expert": "expert", "deskundige": "expert", "curator": "curator"}
REMOVE = {"weg", "af", "intrekken", "uit", "remove", "revoke", "off"}


def roles_of(session: Session, person_id: int) -> list[str]:
    found = set(session.exec(select(PersonRole.role).where(PersonRole.person_id == person_id)))
    return [role for role in ROLES if role in found]


def roles_by_person(session: Session, person_ids) -> dict[int, list[str]]:
    """The roles of several people at once (the writers of a description's comments)."""
    found: dict[int, set[str]] = {}
    ids = sorted(set(person_ids))
    rows = select(PersonRole.person_id, PersonRole.role).where(PersonRole.person_id.in_(ids))
    for pid, role in session.exec(rows) if ids else ():
        found.setdefault(pid, set()).add(role)
    return {pid: [role for role in ROLES if role in roles] for pid, roles in found.items()}


def grant(session: Session, person_id: int, role: str, by: int | None) -> bool:
    """Give a role; False when the person had it already. `by`: the curator, None for the operator."""
    if role not in ROLES:
        raise ValueError(f"no role {role!r}: {', '.join(ROLES)}")
    # Two curators giving the same role at once: one row, the other is told it was there already.
    conn, table = session.connection(), PersonRole.__table__
    added = conn.execute(
        insert_missing(conn.dialect.name, table, "person_id", "role").returning(table.c.id),
        {"person_id": person_id, "role": role, "granted_by": by, "granted_at": utcnow()},
    ).first()
    return added is not None


def revoke(session: Session, person_id: int, role: str) -> bool:
    """Take a role away; False when the person did not have it."""
    gone = session.exec(delete(PersonRole).where(PersonRole.person_id == person_id, PersonRole.role == role))
    return gone.rowcount > 0


def tell(session: Session, person: Person, role: str, from_name: str, default_locale: str) -> None:
    """A direct message to whoever got a role: what it lets them do. `from_name`: who gave it."""
    locale = person.locale or default_locale
    notice = Reply(
        kind="info",
        title=t(locale, "roles.notice_title"),
        text=t(locale, f"roles.notice_{role}", name=from_name, role=t(locale, f"roles.{role}")),
    )
    now = utcnow()
    enqueue(session, person, f"role:{person.id}:{role}:{now.isoformat()}", [notice], locale, now)


def role_names(roles: list[str], locale: str) -> str:
    return ", ".join(t(locale, f"roles.{role}") for role in roles)


def with_roles(name: str, roles: list[str], locale: str) -> str:
    """A writer's name as shown above what they wrote: "Karin de Vries · expert"."""
    return f"{name} · {role_names(roles, locale)}" if roles else name


def parse_role_text(text: str) -> tuple[bool, str | None, str]:
    """ "weg expert Karin" → (remove, role, name); the role None when no role is named."""
    words = (text or "").split()
    remove = bool(words) and words[0].casefold() in REMOVE
    words = words[1:] if remove else words
    role = WORDS.get(words[0].casefold().strip(".:,")) if words else None
    return remove, role, " ".join(words[1:] if role else words)


class Roles(TurnPart):
    """`profiel`, and `rol …` for curators."""

    def profile(self) -> None:
        person, locale = self.person, self.locale
        organisation = self.s.get(Organisation, person.organisation_id)
        hours = hours_of(person)
        roles = roles_of(self.s, person.id)
        facts = {
            "name": naming(person.id, person.display_name),
            "organisation": organisation.name if organisation else "?",
            "language": self.t(f"roles.language_{locale}"),
            "timezone": str(timezone(person.timezone, self.default_tz)),
            "hours": f"{formatting.clock(hours.start)}–{formatting.clock(hours.end)}, "
            + formatting.weekdays(hours.days, locale),
            "roles": role_names(roles, locale) if roles else self.t("roles.none"),
        }
        lines = [f"{self.t(f'roles.profile_{key}')}: {value}" for key, value in facts.items()]
        if away := absence_note(person, self.default_tz, locale):
            lines.append(away)
        how = "roles.profile_how_curator" if "curator" in roles else "roles.profile_how"
        title = self.t("roles.profile_title")
        self.replies.append(Reply(kind="info", title=title, text="\n".join(lines), note=self.t(how)))

    def role(self, text: str | None) -> None:
        """ "rol expert Karin de Vries", "rol weg curator Piet"."""
        if "curator" not in roles_of(self.s, self.person.id):
            return self.say("roles.not_curator", kind="error")
        remove, role, name = parse_role_text(text or "")
        if role is None or not name.strip():
            return self.say("roles.usage", kind="error", roles=role_names(list(ROLES), self.locale))
        colleagues = store.organisation_people(self.s, self.person.organisation_id)
        other = named_by(name, colleagues)
        if other is None:
            return self.say("roles.no_colleague", kind="error", name=name[:100])
        shown = naming(other.id, other.display_name)
        role_name = t(self.locale, f"roles.{role}")
        if remove:
            done = revoke(self.s, other.id, role)
            return self.say("roles.revoked" if done else "roles.did_not_have", name=shown, role=role_name)
        if not grant(self.s, other.id, role, by=self.person.id):
            return self.say("roles.had_already", name=shown, role=role_name)
        if other.id == self.person.id:
            return self.say("roles.granted_self", role=role_name)
        self.say("roles.granted", name=shown, role=role_name)
        tell(self.s, other, role, naming(self.person.id, self.person.display_name), self.run.default_locale)
