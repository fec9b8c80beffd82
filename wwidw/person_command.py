"""`wwidw person export|forget|role WHO`: the AVG's rights of access and erasure, and the roles of
the knowledge bank, for whoever runs the deployment (bot/privacy.py decides what is erased and what
is kept; bot/roles.py what a role is)."""

from __future__ import annotations

import json
import sys

from sqlmodel import Session

from bot import privacy, roles
from bot.i18n import t
from handlers.slack.installations import forget_installer
from models import Organisation, Person
from models.db import Database
from wwidw.faults import Refused


def person_command(db: Database, action: str, who: str, defaults: tuple[str, str], sure: bool) -> int:
    """`defaults`: the deployment's time zone and language."""
    with db.transaction() as session:
        person = one_person(session, who)
        if action == "export":
            json.dump(privacy.export(session, person), sys.stdout, ensure_ascii=False, indent=2)
            print()
            return 0
        if not sure:
            raise Refused(f"forget erases #{person.id} {person.display_name} for good; run it again with --yes")
        slack_ids = [i.external_id for i in privacy.identities_of(session, person) if i.platform == "slack"]
        done = privacy.forget(session, person, *defaults)
        done["app installations naming them"] = forget_installer(session, slack_ids)
    print(f"forgot #{person.id}: " + ", ".join(f"{what} {count}" for what, count in done.items()))
    return 0


def role_command(db: Database, who: str, role: str | None, remove: bool, locale: str) -> int:
    """List a person's roles, give one, or take it away (--remove)."""
    with db.transaction() as session:
        person = one_person(session, who)
        shown = f"#{person.id} {person.display_name}"
        if role is None:
            if remove:
                raise Refused("--remove needs the role: wwidw person role WHO expert|curator --remove")
            had = roles.roles_of(session, person.id)
            print(f"{shown}: {', '.join(had) if had else 'no roles'}")
            return 0
        if remove:
            changed = roles.revoke(session, person.id, role)
            print(f"{shown} is no longer {role}" if changed else f"{shown} was not {role}; nothing changed")
            return 0
        if not roles.grant(session, person.id, role, by=None):
            print(f"{shown} is {role} already; nothing changed")
            return 0
        roles.tell(session, person, role, t(person.locale or locale, "roles.operator"), locale)
    print(f"{shown} is now {role}")
    return 0


def one_person(session: Session, who: str) -> Person:
    found = privacy.find(session, who)
    if not found:
        raise Refused(f"no person {who!r}: give their number, slack:TEAM:USER, teams:TENANT:AAD-ID or their name")
    if len(found) > 1:
        named = ", ".join(f"#{p.id} ({session.get(Organisation, p.organisation_id).name})" for p in found)
        raise Refused(f"{len(found)} people are called {who!r}: {named}; give the number")
    return found[0]
