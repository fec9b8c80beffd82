"""Shared fixtures: a real database (SQLite file and PostgreSQL), the app served over HTTP,
and a fake Slack Web API as a local HTTP server."""

from __future__ import annotations

import importlib.util
import os
import shutil
import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from models.db import MIGRATIONS, Database

PG_URL = os.environ.get("WWIDW_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REQUIRE_PG = os.environ.get("WWIDW_REQUIRE_POSTGRES") == "1"


def _pg_available() -> bool:
    try:
        engine = create_engine(PG_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("template") / "wwidw.db"
    db = Database(f"sqlite:///{path}")
    db.upgrade()
    db.dispose()
    return path


@pytest.fixture(scope="session")
def pg_database():
    """A fresh PostgreSQL database for this test run, migrated once, dropped at the end."""
    if not _pg_available():
        if REQUIRE_PG:
            pytest.fail(f"PostgreSQL is required (WWIDW_REQUIRE_POSTGRES=1) but {PG_URL} does not answer")
        pytest.skip(f"PostgreSQL at {PG_URL} does not answer")
    name = f"wwidw_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    db = Database(url)
    db.upgrade()
    db.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


def _truncate_all(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        tables = [
            r[0]
            for r in conn.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'")
            )
        ]
        if tables:
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
        shipped_archetypes().insert_shipped(conn)  # what the migration put there, as on SQLite
    engine.dispose()


def shipped_archetypes():
    """Migration 0017, whose records an empty database starts with."""
    path = MIGRATIONS / "versions" / "0017_archetypes.py"
    spec = importlib.util.spec_from_file_location("migration_0017", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """A migrated, empty database of each kind; tests using it run once per kind."""
    if request.param == "sqlite":
        path = tmp_path / "wwidw.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("pg_database")
    _truncate_all(url)
    return url


@pytest.fixture
def db(database_url):
    database = Database(database_url)
    yield database
    database.dispose()


class LiveServer:
    """The real ASGI app served by uvicorn on a free local port, in a background thread."""

    def __init__(self, app):
        import socket
        import threading

        import uvicorn

        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]}, daemon=True)
        self.thread.start()
        import time

        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.01)

    def stop(self):
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def make_server():
    """Start any number of live servers (e.g. a second app after a simulated crash)."""
    servers = []

    def start(app):
        server = LiveServer(app)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def fake_slack():
    from tests.fakes.slack_api import FakeSlack

    fake = FakeSlack(users={"U1": "Anna Jansen", "U2": "Bram de Boer"})
    yield fake
    fake.stop()


@pytest.fixture
def slack(db, fake_slack, make_server):
    """A live app with Slack on, talking to the fake Web API; returns a factory of Slack users.
    `slack.restart()` starts a fresh app on the same database (as after a crash)."""
    from bot.settings import Settings
    from tests.fakes.slack_api import TOKEN
    from tests.slack_driver import SECRET, SlackSender, SlackUser
    from wwidw.app import Core, create_app

    def settings():
        return Settings(
            database_url=db.url,
            slack_bot_token=TOKEN,
            slack_signing_secret=SECRET,
            slack_api_url=fake_slack.url,
            _env_file=None,
        )

    class SlackWorld:
        def __init__(self):
            self.start()

        def start(self):
            self.core = Core(settings())
            self.server = make_server(create_app(core=self.core))
            self.sender = SlackSender(self.server.url)

        def restart(self):
            self.server.stop()
            self.start()

        def user(self, user_id: str = "U1", team: str = "T1") -> SlackUser:
            return SlackUser(self.sender, fake_slack, user_id, team)

    world = SlackWorld()
    yield world
    assert not fake_slack.violations, fake_slack.violations


@pytest.fixture
def slack_network(db, fake_slack, make_server):
    """A live app for many Slack workspaces: each installs it through the OAuth redirects
    (`network.install(team, name)`), and its people talk to the bot with its own token."""
    from handlers.slack.delivery import SlackTransport
    from models.secrets import Vault
    from tests.slack_driver import SlackSender, SlackUser, install, workspaces_settings
    from wwidw.app import Core, create_app

    class SlackNetwork:
        key = Vault.new_key()

        def __init__(self):
            self.fake = fake_slack
            self.settings = workspaces_settings(db.url, fake_slack, self.key)
            self.core = Core(self.settings)
            self.server = make_server(create_app(core=self.core))
            self.sender = SlackSender(self.server.url)

        def install(self, team: str, name: str, installer: str = "UADMIN"):
            return install(self.sender.http, fake_slack, team, name, installer)

        def user(self, user_id: str, team: str) -> SlackUser:
            return SlackUser(self.sender, fake_slack, user_id, team)

        def transport(self) -> SlackTransport:
            """The outbox's transport as `wwidw worker` builds it: a process of its own."""
            return SlackTransport(Core(self.settings).slack, fake_slack.url)

    yield SlackNetwork()
    assert not fake_slack.violations, fake_slack.violations


@pytest.fixture
def teams(db, make_server):
    """A live app with Teams on: tokens from a fake Bot Framework identity provider, answers to a
    fake connector, msal talking to a fake Microsoft login service. `teams.user()` is a person."""
    from bot.settings import Settings
    from tests.fakes.entra import FakeEntra
    from tests.fakes.teams_connector import FakeTeamsConnector
    from tests.fakes.teams_identity import FakeIdentity
    from tests.teams_driver import APP_ID, PASSWORD, TeamsSender, TeamsUser
    from wwidw.app import Core, create_app

    identity, entra = FakeIdentity(), FakeEntra(APP_ID, PASSWORD)
    connector = FakeTeamsConnector(entra)

    class TeamsWorld:
        def __init__(self):
            self.identity, self.entra, self.connector = identity, entra, connector
            self.settings = Settings(
                database_url=db.url,
                teams_app_id=APP_ID,
                teams_app_password=PASSWORD,
                teams_openid_metadata_url=identity.metadata_url,
                _env_file=None,
            )
            self.core = Core(self.settings, teams_token_http=entra.client())
            self.server = make_server(create_app(core=self.core))
            self.sender = TeamsSender(self.server.url, identity, connector)

        def user(self, user: str = "29:anna", name: str = "Anna de Vries", **kw) -> TeamsUser:
            return TeamsUser(self.sender, user, name, **kw)

        def transport(self):
            from handlers.teams.delivery import TeamsTransport

            return TeamsTransport(db, self.core.teams)

    world = TeamsWorld()
    yield world
    assert not connector.violations, connector.violations
    connector.stop()
    identity.stop()


# The browser tests drive Debian's Chromium (`make chromium`), not a Playwright download.
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def browser_page():
    """A page in a real headless Chromium."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        page = browser.new_page()
        yield page
        browser.close()
