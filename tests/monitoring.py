"""Building published descriptions with indicators straight in the database, for reminder tests."""

from __future__ import annotations

from datetime import UTC, date, datetime

from bot.monitor import reschedule
from bot.people import ensure_person
from models import Indicator, Intervention, Person
from models.db import Database

BASE = datetime(2027, 1, 4, 12, 0, tzinfo=UTC)  # Monday 4 January 2027, 13:00 in Amsterdam


def slack_person(db: Database, user: str, name: str | None = None, tz: str | None = "Europe/Amsterdam") -> int:
    person_id = ensure_person(db, "slack", "T1", user, name or f"Persoon {user}")
    with db.transaction() as s:
        s.get(Person, person_id).timezone = tz
    return person_id


def published(
    db: Database,
    author_id: int,
    indicators: list[dict],
    now: datetime = BASE,
    title: str = "Buurtmoestuin Kruiskamp",
    **fields,
) -> tuple[int, list[int]]:
    """A published description with the given indicators, scheduled as of `now`."""
    with db.transaction() as s:
        author = s.get(Person, author_id)
        iv = Intervention(
            organisation_id=author.organisation_id,
            author_id=author_id,
            status="published",
            title=title,
            visibility="organisation",
            start_date=fields.pop("start_date", date(2027, 1, 1)),
            **fields,
        )
        s.add(iv)
        s.flush()
        ids = []
        for position, spec in enumerate(indicators):
            ind = Indicator(
                intervention_id=iv.id,
                position=position,
                **{"name": "Deelnemers", "kind": "output", "unit": "aantal", "frequency": "monthly", **spec},
            )
            s.add(ind)
            s.flush()
            ids.append(ind.id)
        reschedule(s, iv, now, "Europe/Amsterdam")
        return iv.id, ids
