"""Digest benchmark: 1,000 new descriptions of 20 organisations, 200 subscribed channels, all due.

Printed: the CPU time this process spends building every digest (reading the candidates,
choosing per channel what its organisation may see, rendering the Jinja2 texts, writing the
outbox rows), the number of messages, and, as a baseline measured in the same run, the CPU time
of only serialising those same message bodies to JSON (what writing them costs at the least).
Then every message is turned into Slack Block Kit to check it fits in one message.

    python -m bench.digest_bench [--descriptions 1000] [--organisations 20] [--channels 200] [--postgres]
"""

from __future__ import annotations

import argparse
import json
import random
import time
from datetime import timedelta

from sqlalchemy import insert
from sqlmodel import select

from bench.databases import scratch_database
from bot.replies import reply_from_dict
from bot.subscriptions import next_digest
from handlers.slack import blocks
from models import Effect, Indicator, Intervention, Measurement, Organisation, OutboxMessage, Person, Subscription
from models.db import Database
from models.tables import utcnow
from reminders.digests import Digests

THEMES = ["sociale-cohesie", "veiligheid", "woonomgeving", "wonen", "participatie", "armoede", "jeugd", "zorg"]
VISIBILITY = ["organisation", "partners", "public"]


def fill(db: Database, descriptions: int, organisations: int, channels: int) -> None:
    rng = random.Random(7)
    now = utcnow()
    since = now - timedelta(days=7)
    with db.engine.begin() as conn:
        conn.execute(
            insert(Organisation),
            [
                {"id": n + 1, "name": f"Organisatie {n + 1}", "is_partner": n % 2 == 0, "created_at": now}
                for n in range(organisations)
            ],
        )
        conn.execute(
            insert(Person),
            [
                {"id": n + 1, "organisation_id": n + 1, "display_name": f"Auteur {n + 1}", "created_at": now}
                for n in range(organisations)
            ],
        )
        rows = []
        for n in range(descriptions):
            org = n % organisations + 1
            when = since + timedelta(minutes=n + 1)
            rows.append(
                {
                    "id": n + 1,
                    "organisation_id": org,
                    "author_id": org,
                    "status": "published",
                    "title": f"Interventie {n + 1}",
                    "neighbourhood": f"Wijk {n % 37}",
                    "municipality": "Amersfoort",
                    "themes": [rng.choice(THEMES)],
                    "visibility": VISIBILITY[n % 3],
                    "approach": "Wekelijkse bijeenkomsten met bewoners en professionals. " * 3,
                    "created_at": when,
                    "updated_at": when,
                    "published_at": when,
                }
            )
        conn.execute(insert(Intervention), rows)
        conn.execute(
            insert(Effect),
            [
                {
                    "intervention_id": n + 1,
                    "position": 0,
                    "name": "Meer ontmoeting",
                    "success_criterion": "Twee keer per maand.",
                }
                for n in range(descriptions)
            ],
        )
        conn.execute(
            insert(Indicator),
            [
                {
                    "id": n + 1,
                    "intervention_id": n + 1,
                    "position": 0,
                    "name": "Deelnemers",
                    "kind": "output",
                    "unit": "aantal",
                    "baseline": 5.0,
                    "target": 20.0,
                }
                for n in range(descriptions)
            ],  # fmt: skip
        )
        conn.execute(
            insert(Measurement),
            [
                {
                    "indicator_id": n + 1,
                    "period_start": since.date(),
                    "period_end": now.date(),
                    "value": 11.0,
                    "entered_by": n % organisations + 1,
                    "entered_at": now,
                }
                for n in range(descriptions)
            ],  # fmt: skip
        )
        conn.execute(
            insert(Subscription),
            [
                {
                    "organisation_id": n % organisations + 1,
                    "platform": "slack",
                    "workspace": f"T{n % organisations + 1}",
                    "channel": f"C{n:04d}",
                    "subscriber_id": n % organisations + 1,
                    "frequency": "weekly",
                    # A quarter of the channels follow one theme, as a team with one subject would.
                    "theme": THEMES[n % len(THEMES)] if n % 4 == 0 else None,
                    "locale": "nl",
                    "timezone": "Europe/Amsterdam",
                    "status": "active",
                    "since": since,
                    "next_due_at": now,
                    "created_at": since,
                }
                for n in range(channels)
            ],
        )


def run(descriptions: int, organisations: int, channels: int, postgres: bool) -> None:
    with scratch_database(postgres) as url:
        db = Database(url)
        db.upgrade()
        fill(db, descriptions, organisations, channels)
        now = utcnow()
        cpu = time.process_time()
        wall = time.perf_counter()
        handled, messages = Digests(db).run(now + timedelta(seconds=1))
        cpu = time.process_time() - cpu
        wall = time.perf_counter() - wall
        with db.transaction() as s:
            bodies = [row.body for row in s.exec(select(OutboxMessage))]
            subs = list(s.exec(select(Subscription)))
        baseline = time.process_time()
        for body in bodies:
            json.dumps(body)
        baseline = time.process_time() - baseline
        largest = max(
            len(b) for body in bodies for _, b in blocks.messages([reply_from_dict(r) for r in body["replies"]], "nl")
        )
        split = sum(len(blocks.messages([reply_from_dict(r) for r in body["replies"]], "nl")) > 1 for body in bodies)
        items = sum(1 for body in bodies for r in body["replies"] if r["kind"] == "digest_item")
        assert all(s.next_due_at and s.next_due_at > now for s in subs), "every subscription moved on"
        assert next_digest("weekly", "Europe/Amsterdam", now) > now
        print(f"database: {'PostgreSQL' if postgres else 'SQLite'}")
        print(f"  {descriptions} descriptions, {organisations} organisations, {handled} channels due")
        print(f"  messages: {messages} ({items} description lines), largest {largest} blocks, {split} split")
        print(f"  CPU to build all digests: {cpu:.2f} s (wall {wall:.2f} s)")
        print(f"  baseline, JSON of the same messages only: {baseline:.2f} s; ratio {cpu / baseline:.1f}")
        db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--descriptions", type=int, default=1000)
    parser.add_argument("--organisations", type=int, default=20)
    parser.add_argument("--channels", type=int, default=200)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    run(args.descriptions, args.organisations, args.channels, args.postgres)


if __name__ == "__main__":
    main()
