"""Reminder benchmark: 10,000 indicators of 2,000 people all due at once.

The engine and the outbox sender run in this process exactly as `wwidw worker` runs them
(`Reminders`: its scheduler, its sender threads); a second line, labelled, runs the bench's own
tight loop (engine beside a sender polled without pause) on a fresh copy of the same data. The
fake Slack Web API runs in another process and, like Slack, allows one message per second per
channel (429 with Retry-After otherwise). Printed: the wall time until every reminder has arrived against the floor
the rate limit allows (each DM gets five messages: four seconds), the CPU milliseconds this
process spent per reminder, and how many reminders arrived twice or not at all.

With `--workspaces 20` the people are spread over twenty Slack workspaces, each installed (its
token sealed in the installation store, as `/slack/install` leaves it), and every message goes
with its own workspace's token, as in a deployment for the whole network.

    python -m bench.reminder_bench [--people 2000] [--each 5] [--workspaces 1] [--postgres]
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import multiprocessing as mp
import queue
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta

from slack_sdk.oauth.installation_store import Bot
from sqlalchemy import func, insert, select, text

from bench.databases import scratch_database
from bench.kernel import listen_overflows, say_if_moved
from bot.replies import reply_from_dict
from bot.settings import Settings
from handlers.slack import blocks
from handlers.slack.delivery import SlackTransport
from handlers.slack.installations import OneWorkspace, Workspaces
from models import Identity, Indicator, Intervention, Organisation, OutboxMessage, Person
from models.db import Database
from models.secrets import Vault
from models.tables import utcnow
from reminders.engine import Engine
from reminders.outbox import OutboxSender
from reminders.runner import Reminders
from tests.fakes.slack_api import APP_ID, CLIENT_ID, CLIENT_SECRET, TOKEN, FakeSlack


def serve_fake(urls: mp.Queue, arrivals: mp.Queue, tokens: dict[str, str]) -> None:
    """The fake Web API in its own process; reports each delivered outbox id (or "429")."""

    def listener(call):
        if call.method == "chat.postMessage" and call.args.get("metadata"):
            arrivals.put(call.args["metadata"]["event_payload"]["outbox_id"])

    fake = FakeSlack(listener=listener, per_channel=1.0)
    fake.tokens.update(tokens)
    original = fake.answer

    def answer(method, args, authorization):
        status, headers, body = original(method, args, authorization)
        if status == 429:
            arrivals.put("429")
        return status, headers, body

    fake.answer = answer
    urls.put(fake.url)
    threading.Event().wait()


def team(n: int, workspaces: int) -> str:
    return f"T{n % workspaces + 1}"


def workspace_tokens(workspaces: int) -> dict[str, str]:
    return {TOKEN: "T1"} if workspaces == 1 else {f"xoxb-T{i}-bench": f"T{i}" for i in range(1, workspaces + 1)}


def fill(db: Database, people: int, each: int, workspaces: int) -> None:
    """People, descriptions and indicators, inserted in bulk; every indicator due a second ago."""
    now = utcnow()
    # Last month: a period's value is asked for once it has ended, so that reminder is due now.
    month = (date(now.year, now.month, 1) - timedelta(days=1)).replace(day=1)
    with db.engine.begin() as conn:
        orgs = {
            f"T{i}": conn.execute(
                insert(Organisation).values(name=f"Bench {i}", slack_team_id=f"T{i}", created_at=now)
            ).inserted_primary_key[0]
            for i in range(1, workspaces + 1)
        }
        conn.execute(
            insert(Person),
            [
                {"id": n + 1, "organisation_id": orgs[team(n, workspaces)], "display_name": f"P{n}", "created_at": now}
                for n in range(people)
            ],
        )
        conn.execute(
            insert(Identity),
            [
                {
                    "person_id": n + 1,
                    "platform": "slack",
                    "workspace": team(n, workspaces),
                    "external_id": f"U{n:05d}",
                    "created_at": now,
                }
                for n in range(people)
            ],
        )
        conn.execute(
            insert(Intervention),
            [
                {
                    "id": n + 1,
                    "organisation_id": orgs[team(n, workspaces)],
                    "author_id": n + 1,
                    "status": "published",
                    "title": f"Project {n}",
                    "visibility": "organisation",
                    "start_date": month.replace(year=month.year - 1),
                    "created_at": now,
                    "updated_at": now,
                }
                for n in range(people)
            ],
        )
        conn.execute(
            insert(Indicator),
            [
                {
                    "intervention_id": n + 1,
                    "position": i,
                    "name": f"Indicator {i}",
                    "kind": "output",
                    "unit": "aantal",
                    "frequency": "monthly",
                    "target": 10,
                    "next_period": month,
                    "next_due_at": now - timedelta(seconds=1),
                }
                for n in range(people)
                for i in range(each)
            ],
        )
        if conn.dialect.name == "postgresql":
            for table in ("person", "intervention"):
                conn.execute(text(f"SELECT setval('{table}_id_seq', (SELECT max(id) FROM {table}))"))


def bare_http(db: Database, slack_url: str, workers: int, each: int) -> tuple[float, int]:
    """The baseline: the same messages, rendered beforehand, posted over the same HTTP path from the
    same number of threads, one round per message of each DM, rounds a second apart. No database,
    no engine, no outbox: what this machine's HTTP path allows. Sent to other channels, so the
    fake's per-channel limit is not shared with the measured run. Returns the wall time and the
    429s it met."""
    with db.transaction() as s:
        rows = s.connection().execute(select(OutboxMessage.channel, OutboxMessage.body).order_by(OutboxMessage.id))
        rounds: list[list[dict]] = [[] for _ in range(each)]
        seen: Counter = Counter()
        for channel, body in rows:
            replies = [reply_from_dict(r) for r in body["replies"]]
            for text_, message_blocks in blocks.messages(replies, body["locale"]):
                rounds[seen[channel] % each].append({"channel": "B" + channel, "text": text_, "blocks": message_blocks})
            seen[channel] += 1
    slack = SlackTransport(OneWorkspace(TOKEN), slack_url)
    answered: dict[str, float] = {}  # channel -> when its last post was answered
    limited: list[int] = []

    def post(payload: dict) -> None:
        # A second after the channel's last post was answered, so surely a second after the fake
        # took it: a round that runs faster than the one before never meets the limit.
        time.sleep(max(0.0, answered.get(payload["channel"], -1e9) + 1.0 - time.perf_counter()))
        while (answer := slack.call(TOKEN, "chat.postMessage", payload)).status_code == 429:
            limited.append(1)
            time.sleep(float(answer.headers.get("Retry-After", "1")))  # as a well-behaved client waits
        answered[payload["channel"]] = time.perf_counter()
        assert answer.json()["ok"]

    t0 = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        for n, payloads in enumerate(rounds):
            time.sleep(max(0.0, t0 + n * 1.0 - time.perf_counter()))
            list(pool.map(post, payloads))
    return time.perf_counter() - t0, len(limited)


def installed(db: Database, slack_url: str, workspaces: int) -> Workspaces | OneWorkspace:
    """The workspaces' tokens as the sender finds them: one from the environment, or each
    workspace's own, sealed in the installation store."""
    if workspaces == 1:
        return OneWorkspace(TOKEN)
    key = Vault.new_key()
    settings = Settings(database_url=db.url, slack_client_id=CLIENT_ID, slack_client_secret=CLIENT_SECRET,
                        slack_signing_secret="unused", slack_api_url=slack_url, wwidw_secret_key=key,
                        _env_file=None)  # fmt: skip
    found = Workspaces(settings, db, Vault(key))
    for token, team_id in workspace_tokens(workspaces).items():
        found.store.save_bot(Bot(app_id=APP_ID, enterprise_id=None, team_id=team_id, bot_token=token,
                                 bot_id="BBOT", bot_user_id="UBOT", bot_scopes="chat:write",
                                 installed_at=time.time()))  # fmt: skip
    return found


def collect(arrivals: mp.Queue, total: int, t0: float, idle=None) -> tuple[Counter, int]:
    """Every delivered outbox id (and how many 429s) until all `total` arrived or ten minutes passed."""
    received: Counter = Counter()
    limited = 0
    while len(received) < total and time.perf_counter() - t0 < 600:
        if idle is None or not idle():
            time.sleep(0.02)
        while True:
            try:
                item = arrivals.get_nowait()
            except queue.Empty:
                break
            if item == "429":
                limited += 1
            else:
                received[item] += 1
    return received, limited


def drain(arrivals: mp.Queue) -> None:
    """Drop what the fake reported so far (it reports from its own process, so wait a moment)."""
    time.sleep(0.2)
    with contextlib.suppress(queue.Empty):
        while True:
            arrivals.get_nowait()


def measure(url: str, slack_url: str, arrivals: mp.Queue, people: int, each: int, workspaces: int, tight: bool):
    db = Database(url)
    db.upgrade()
    fill(db, people, each, workspaces)
    total = people * each
    workers = 4  # the tight loop's sender: the fake answers in about a millisecond
    transport = SlackTransport(installed(db, slack_url, workspaces), slack_url)
    cpu0, t0 = time.process_time(), time.perf_counter()
    if tight:
        engine = Engine(db, batch=500)
        sender = OutboxSender(db, {"slack": transport}, batch=500, workers=workers)
        engine_thread = threading.Thread(target=engine.run)  # engine and sender side by side
        engine_thread.start()
        received, limited = collect(arrivals, total, t0, idle=sender.run_once)
        wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        engine_thread.join()
        sender.close()
    else:
        reminders = Reminders(Settings(database_url=url, _env_file=None), db, {"slack": transport})
        reminders.start()  # as `wwidw worker`: the engine's first pass, then the scheduler's jobs
        received, limited = collect(arrivals, total, t0)
        wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        reminders.stop()
    with db.transaction() as s:
        queued = s.connection().execute(select(func.count()).select_from(OutboxMessage)).scalar_one()
    bare, bare_limited = bare_http(db, slack_url, workers, each)
    drain(arrivals)  # the baseline's 429s, reported by the fake: not the next run's
    floor = float(each - 1)  # one message per second per DM: the last of five leaves 4 s after the first
    label = "tight loop (the bench's own, not production)" if tight else "production (Reminders as `wwidw worker`)"
    print(
        f"\n{label} · database: {db.engine.dialect.name}; {total} reminders for {people} people ({each} each) "
        f"in {workspaces} workspace{'s' if workspaces > 1 else ''}"
    )
    print(f"wall time: {wall:.1f} s; floor set by the rate limit: {floor:.1f} s; ratio {wall / floor:.2f}")
    print(
        f"bare HTTP posting the same messages, no database: {bare:.1f} s ({bare_limited} 429s); ratio {wall / bare:.2f}"
    )
    print(f"CPU: {cpu * 1000 / total:.2f} ms per reminder")
    print(
        f"queued {queued}; delivered {len(received)}; "
        f"duplicates {sum(c - 1 for c in received.values())}; lost {total - len(received)}; 429 answers {limited}"
    )
    db.dispose()


def main() -> None:
    # A sender pass outlasting its one-second interval is what it should do here; not news per pass.
    logging.getLogger("apscheduler.scheduler").setLevel(logging.ERROR)
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=2000)
    parser.add_argument("--each", type=int, default=5)
    parser.add_argument("--workspaces", type=int, default=1)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    urls, arrivals = mp.Queue(), mp.Queue()
    fake = mp.Process(target=serve_fake, args=(urls, arrivals, workspace_tokens(args.workspaces)), daemon=True)
    fake.start()
    slack_url = urls.get(timeout=30)
    overflows = listen_overflows()
    for tight in (False, True):
        with scratch_database(args.postgres) as url:
            measure(url, slack_url, arrivals, args.people, args.each, args.workspaces, tight)
    fake.terminate()
    say_if_moved(overflows)


if __name__ == "__main__":
    main()
