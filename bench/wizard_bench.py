"""Interactive benchmark: N people walk the wizard at once through signed Slack DM events.

A live `wwidw serve` (its own process) talks to the fake Slack Web API (another process); each
simulated person sends an answer, waits for the bot's reply to arrive at the fake, and sends the
next. Latency runs from sending the event to the reply's arrival. Then the same load goes to a
bare slack-bolt app that only echoes (bench/echo_app.py, nothing of ours imported), measured in
the same run, and the ratios of the two throughputs and p99 latencies are printed. The fake
listens with a backlog of 1024, and the kernel's listen-overflow counter is checked around the run.

    python -m bench.wizard_bench [--people 20] [--postgres]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import queue
import socket
import statistics
import subprocess
import sys
import threading
import time

import httpx

from bench.databases import scratch_database
from bench.kernel import listen_overflows, say_if_moved
from tests.fakes.slack_api import TOKEN, FakeSlack
from tests.helpers import FULL_WALK
from tests.slack_driver import SECRET, SlackSender


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(command: list[str], env: dict, port: int) -> subprocess.Popen:
    process = subprocess.Popen(command, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.post(f"http://127.0.0.1:{port}/slack/events", timeout=1)
            return process
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(process.stderr.read().decode()[-2000:])


def serve_fake(urls: mp.Queue, arrivals: mp.Queue) -> None:
    """The fake Web API in its own process; each message's arrival is reported as (channel, time)."""

    def listener(call):
        if call.method == "chat.postMessage":
            arrivals.put((call.args.get("channel"), call.at))

    fake = FakeSlack(listener=listener)
    urls.put(fake.url)
    threading.Event().wait()


class Replies:
    """Routes reply arrivals from the fake's process to the simulated person waiting for them."""

    def __init__(self, arrivals: mp.Queue):
        self.arrivals = arrivals
        self.inboxes: dict[str, queue.Queue] = {}
        threading.Thread(target=self.route, daemon=True).start()

    def inbox(self, channel: str) -> queue.Queue:
        return self.inboxes.setdefault(channel, queue.Queue())

    def route(self) -> None:
        while True:
            channel, at = self.arrivals.get()
            self.inbox(channel).put(at)


def walk(url: str, replies: Replies, people: int, answers: list[str], run: str) -> tuple[float, list[float]]:
    """Every person sends `answers` in order; returns the wall time and every answer's latency."""
    latencies: list[float] = []
    lock = threading.Lock()
    barrier = threading.Barrier(people + 1)

    def person(n: int) -> None:
        user, channel = f"U{run}{n:04d}", f"D{run}{n:04d}"
        inbox = replies.inbox(channel)
        http = SlackSender(url)
        barrier.wait()
        for text in answers:
            began = time.monotonic()
            response = http.event(
                {
                    "type": "message",
                    "channel_type": "im",
                    "channel": channel,
                    "user": user,
                    "text": text,
                    "ts": f"{time.time():.6f}",
                }
            )
            response.raise_for_status()
            arrived = inbox.get(timeout=30)
            with lock:
                latencies.append(arrived - began)

    threads = [threading.Thread(target=person, args=(n,)) for n in range(people)]
    for thread in threads:
        thread.start()
    barrier.wait()
    began = time.monotonic()
    for thread in threads:
        thread.join()
    return time.monotonic() - began, latencies


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process and the processes it started have used so far (Linux):
    `serve --workers N` answers in its children."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    children = open(f"/proc/{pid}/task/{pid}/children").read().split()
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return own + sum(cpu_seconds(int(child)) for child in children)


def database_cpu() -> float:
    """CPU time the PostgreSQL server's processes on this machine have used so far (Linux): a
    turn's cost lies partly there, on the same cores."""
    total = 0.0
    for entry in os.scandir("/proc"):
        try:
            head, fields = open(f"/proc/{entry.name}/stat").read().rsplit(")", 1)
        except (OSError, ValueError):
            continue  # not a process, or gone meanwhile
        if head.endswith("(postgres"):
            fields = fields.split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def report(name: str, wall: float, latencies: list[float], cpu: float, db_cpu: float) -> tuple[float, float]:
    rate = len(latencies) / wall
    ordered = sorted(latencies)
    p50 = statistics.median(ordered) * 1000
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000
    print(
        f"{name:<24} {len(latencies):>5} answers  {rate:7.1f} answers/s  p50 {p50:6.1f} ms  p99 {p99:6.1f} ms"
        f"  server CPU {cpu / len(latencies) * 1000:4.2f} ms/answer"
        + (f"  database CPU {db_cpu / len(latencies) * 1000:4.2f} ms/answer" if db_cpu else "")
    )
    return rate, p99


def measure(command: list[str], env: dict, replies: Replies, people: int, answers: list[str], run: str):
    """Start a server, walk the load through it; returns wall time, latencies, its CPU time and
    the database server's."""
    port = free_port()
    server = start([*command, "--port", str(port)], env, port)
    try:
        cpu, db_cpu = cpu_seconds(server.pid), database_cpu()
        wall, latencies = walk(f"http://127.0.0.1:{port}", replies, people, answers, run)
        return wall, latencies, cpu_seconds(server.pid) - cpu, database_cpu() - db_cpu
    finally:
        server.terminate()
        server.wait()


def run(database_url: str, label: str, people: int, fake_url: str, replies: Replies, workers: int = 1) -> None:
    env = {
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": fake_url,
        "DATABASE_URL": database_url,
        "PYTHONPATH": os.getcwd(),
    }
    answers = ["nieuw", *FULL_WALK]
    serve = [sys.executable, "-m", "wwidw.cli", "serve", *(["--workers", str(workers)] if workers > 1 else [])]
    wizard = measure(serve, env, replies, people, answers, f"W{label[0]}{workers}")
    echo = [sys.executable, "-m", "uvicorn", "bench.echo_app:app", "--log-level", "warning"]
    bare = measure(echo, env, replies, people, answers, f"E{label[0]}")
    processes = f", {workers} server processes on {os.cpu_count()} cores" if workers > 1 else ""
    print(f"\n{label}, {people} people at once, {len(answers)} answers each{processes}")
    (ours, our_p99), (theirs, their_p99) = report("wwidw wizard", *wizard), report("bare slack-bolt echo", *bare)
    print(f"{'wizard / echo':<24} answers/s {ours / theirs:.2f}×   p99 {our_p99 / their_p99:.1f}×")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=20)
    parser.add_argument("--postgres", action="store_true", help="also run against PostgreSQL")
    parser.add_argument("--workers", type=int, default=1, help="PostgreSQL also with `serve --workers N`")
    args = parser.parse_args()
    urls, arrivals = mp.Queue(), mp.Queue()
    fake = mp.Process(target=serve_fake, args=(urls, arrivals), daemon=True)
    fake.start()
    fake_url, replies = urls.get(timeout=30), Replies(arrivals)
    overflows = listen_overflows()
    try:
        with scratch_database(postgres=False) as url:
            run(url, "SQLite", args.people, fake_url, replies)
        if args.postgres:
            with scratch_database(postgres=True) as url:
                run(url, "PostgreSQL", args.people, fake_url, replies)
                if args.workers > 1:
                    run(url, "PostgreSQL", args.people, fake_url, replies, args.workers)
    finally:
        fake.terminate()
    say_if_moved(overflows)


if __name__ == "__main__":
    main()
