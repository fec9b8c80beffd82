"""`wwidw serve --workers N`: several server processes on one socket, on PostgreSQL only."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.fakes.slack_api import TOKEN
from tests.slack_driver import SECRET, SlackSender, SlackUser, texts


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def workers_of(pid: int) -> list[int]:
    """The server's worker processes (uvicorn starts them with multiprocessing's spawn)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(c) for c in children if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()]


def healthy(url: str) -> bool:
    """True once a worker answers; until then a spawned worker may still be importing and starting."""
    try:
        return httpx.get(url + "/healthz", timeout=5).status_code == 200
    except httpx.TransportError:
        return False


def test_two_server_processes_share_the_turns_on_postgresql_and_sqlite_is_refused(db, fake_slack, tmp_path):
    env = {**os.environ, "DATABASE_URL": db.url, "SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET}
    env["SLACK_API_URL"] = fake_slack.url
    port = free_port()
    command = [sys.executable, "-m", "wwidw.cli", "serve", "--workers", "2", "--port", str(port)]
    if db.url.startswith("sqlite"):
        refused = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
        assert refused.returncode == 1 and refused.stderr.count("\n") == 1 and "needs PostgreSQL" in refused.stderr
        return
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while len(workers_of(server.pid)) < 2 or not healthy(url):
            assert time.monotonic() < deadline and server.poll() is None, "wwidw serve --workers 2 did not start"
            time.sleep(0.1)
        people = [SlackUser(SlackSender(url), fake_slack, f"U{n}") for n in range(1, 7)]
        for person in people:
            assert "titel" in texts(person.say("nieuw"))
        for n, person in enumerate(people):
            assert "In welke wijk" in texts(person.say(f"Project {n}"))
    finally:
        server.send_signal(signal.SIGINT)
        assert server.wait(timeout=30) == 0
