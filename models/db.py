"""The one engine and its sessions, and the Alembic upgrade that creates the tables."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import Table, event, inspect, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, DisconnectionError, IntegrityError
from sqlalchemy.sql import Executable
from sqlmodel import Session, create_engine

MIGRATIONS = Path(__file__).parent / "migrations"
DRIVERS = {("sqlite", "pysqlite"), ("postgresql", "psycopg")}  # the ones installed
# A pooled PostgreSQL connection idle for longer than this is pinged before use: a restarted
# server or a proxy's idle timeout has closed it. One used a moment ago is not (a ping is a round
# trip, and a turn takes a few connections); should it have died meanwhile, its statement fails,
# the turn rolls back, and the pool replaces every connection older than the failure.
PING_AFTER_IDLE = 2.0  # seconds


_SQLITE_LOCKS: dict[str, threading.RLock] = {}
T = TypeVar("T")


class Database:
    """One engine per process; every unit of work is one `transaction()`."""

    def __init__(self, url: str):
        self.url = normal_url(url)
        self.engine = make_engine(self.url)
        # SQLite lets one writer in at a time, and a waiting writer sleeps in steps of up to
        # 100 ms. Threads of this process queue on a lock instead, which wakes them at once.
        self._lock = _SQLITE_LOCKS.setdefault(self.url, threading.RLock()) if self.is_sqlite else nullcontext()

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def one_at_a_time(self, name: str) -> Iterator[None]:
        """The block runs in one thread of all processes at a time (PostgreSQL: an advisory lock
        named `name`); on SQLite, of this process only (one process serves a SQLite database)."""
        if self.is_sqlite:
            with _SQLITE_LOCKS.setdefault(f"{self.url}#{name}", threading.RLock()):
                yield
            return
        with self.engine.connect() as conn, conn.begin():
            conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:name))"), {"name": name})
            yield

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session whose work commits at the end of the block, or rolls back on an error."""
        with self._lock, Session(self.engine, expire_on_commit=False) as session:
            with session.begin():
                yield session

    def execute_alone(self, statement: Executable, params: list[dict] | dict | None = None) -> None:
        """One statement that commits on its own: one round trip, where a transaction takes three
        (BEGIN, the statement, COMMIT). Run once more on a new connection when its connection
        turned out to be closed (see PING_AFTER_IDLE), so it must be safe to repeat."""
        for attempt in range(2):
            try:
                if self.is_sqlite:  # in-process: a transaction costs no round trips
                    with self.connection() as conn:
                        conn.execute(statement, params)
                    return
                with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                    conn.execute(statement, params)
                return
            except DBAPIError as e:
                if attempt or not e.connection_invalidated:
                    raise

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        """A Core connection in one transaction, without an ORM session: for a few prepared
        statements on a hot path (an ORM session costs more than the statements)."""
        with self._lock, self.engine.begin() as conn:
            yield conn

    def racing(self, work: Callable[[Session], T]) -> T:
        """`work` in one transaction, once more in a fresh one when a unique key refused it because
        another replica or thread inserted the same row at the same moment (the second finds the
        other's row), or when its connection turned out to be closed before the commit (the
        server restarted; see PING_AFTER_IDLE)."""
        # A plain loop, not tenacity: nothing to wait for, and this runs around every turn, where
        # tenacity's bookkeeping costs about 35 µs against 0.4 µs.
        for attempt in range(2):
            closed = False
            try:
                with self.transaction() as session:
                    try:
                        return work(session)
                    except DBAPIError as e:
                        closed = e.connection_invalidated  # before COMMIT: surely nothing was written
                        raise
            except DBAPIError as e:
                if attempt or not (closed or isinstance(e, IntegrityError)):
                    raise
        raise AssertionError("unreachable")

    def ping(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    def has_schema(self) -> bool:
        """Whether the migrations ever ran here (their version table is there)."""
        with self.engine.connect() as conn:
            return inspect(conn).has_table("alembic_version")

    def upgrade(self) -> None:
        upgrade(self.engine)

    def dispose(self) -> None:
        self.engine.dispose()


def insert_missing(dialect: str, table: Table, *keys: str):
    """An INSERT that leaves out rows whose unique `keys` are already there: another replica (or
    an earlier pass under another schedule) may have added the same row."""
    module = sqlite if dialect == "sqlite" else postgresql
    return module.insert(table).on_conflict_do_nothing(index_elements=list(keys))


def unicode_lower(value):
    return value.lower() if isinstance(value, str) else value


def normal_url(url: str) -> str:
    """`postgres://` (what many hosts hand out, no SQLAlchemy dialect) and `postgresql://` (psycopg2
    before SQLAlchemy 2.1) both mean psycopg 3, the driver we install."""
    return re.sub(r"^postgres(ql)?://", "postgresql+psycopg://", url.strip())


def parse_url(url: str) -> URL:
    """The URL, normalised; a malformed one (a port that is no number) is an ArgumentError."""
    try:
        return make_url(normal_url(url))
    except ValueError:  # SQLAlchemy's int(port), its only ValueError
        raise ArgumentError("its port is not a number") from None


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite database; None for PostgreSQL or an in-memory database."""
    parsed = parse_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database).expanduser()


def shown_url(url: str) -> str:
    """The URL for a message: without its password."""
    try:
        return parse_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(not a database URL)"


def make_engine(url: str) -> Engine:
    parsed = parse_url(url)
    if (parsed.get_backend_name(), parsed.get_driver_name()) not in DRIVERS:
        raise ArgumentError(f"the bot runs on SQLite or on PostgreSQL with psycopg, not on {parsed.drivername}")
    if parsed.get_backend_name() != "sqlite":
        return ping_when_idle(create_engine(url, pool_size=10, max_overflow=20))
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _sqlite_connect(dbapi_conn, _record):
        # Let SQLAlchemy, not pysqlite, decide when transactions begin (see _sqlite_begin).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()
        # SQLite's own lower() folds only A-Z: "Ééndracht" must compare like Python and PostgreSQL do.
        dbapi_conn.create_function("lower", 1, unicode_lower, deterministic=True)

    @event.listens_for(engine, "begin")
    def _sqlite_begin(conn):
        # Take the write lock up front: a turn reads the conversation and then writes it, and
        # two concurrent turns must not both read the old state.
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def ping_when_idle(engine: Engine, after: float = PING_AFTER_IDLE) -> Engine:
    """SQLAlchemy's `pool_pre_ping`, for connections idle longer than `after` seconds only."""

    @event.listens_for(engine, "checkin")
    def _idle(_dbapi_conn, record):
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping(dbapi_conn, record, _proxy):
        idle_since = record.info.pop("idle_since", None)
        if idle_since is None or time.monotonic() - idle_since < after:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except engine.dialect.loaded_dbapi.Error as e:
            raise DisconnectionError("the connection was closed while idle") from e  # the pool reconnects

    return engine


def alembic_config(connection) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision`. Replicas starting together take turns (PostgreSQL lock)."""
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_lock(724061)"))
            conn.commit()
        try:
            command.upgrade(alembic_config(conn), revision)
            conn.commit()
        finally:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_unlock(724061)"))
                conn.commit()
