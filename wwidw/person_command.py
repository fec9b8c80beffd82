"""`wwidw person export|forget WHO`: the AVG's rights of access and erasure, for whoever runs the
deployment (bot/privacy.py decides what is erased and what is kept)."""

from __future__ import annotations

import json
import sys

from bot import privacy
from handlers.slack.installations import forget_installer
from models import Organisation
from models.db import Database
from wwidw.faults import Refused


def person_command(db: Database, action: str, who: str, defaults: tuple[str, str], sure: bool) -> int:
    """`defaults`: the deployment's time zone and language."""
    with db.transaction() as session:
        found = privacy.find(session, who)
        if not found:
            raise Refused(f"no person {who!r}: give their number, slack:TEAM:USER, teams:TENANT:AAD-ID or their name")
        if len(found) > 1:
            named = ", ".join(f"#{p.id} ({session.get(Organisation, p.organisation_id).name})" for p in found)
            raise Refused(f"{len(found)} people are called {who!r}: {named}; give the number")
        (person,) = found
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
