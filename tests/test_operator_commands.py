"""The operator's commands when something is wrong, run as the operator runs them (the installed
`wwidw` script in a folder of its own): one line on standard error that says what to do, a
non-zero exit code, no traceback. And `wwidw --version`, and `postgres://` URLs."""

import json
import os
import shutil
import socket
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
WWIDW = Path(sys.executable).parent / "wwidw"
# Root writes anywhere; without these capabilities it is held to a folder's permission bits too.
NO_OVERRIDE = ["setpriv", "--bounding-set=-dac_override,-dac_read_search,-fowner", "--"]
DOWN = "postgresql://wwidw:hunter2@127.0.0.1:1/wwidw"  # nothing listens on port 1


def wwidw(*args, cwd, database_url=None, read_only=False, **env):
    environment = {k: v for k, v in os.environ.items() if k != "DATABASE_URL" and not k.startswith("WWIDW_")}
    if database_url:
        environment["DATABASE_URL"] = database_url
    environment.update(env)
    command = [str(WWIDW), *args]
    if read_only and os.geteuid() == 0:
        assert shutil.which("setpriv"), "setpriv (util-linux) is needed to take root's write override away"
        command = NO_OVERRIDE + command
    return subprocess.run(command, capture_output=True, text=True, cwd=cwd, env=environment, timeout=60)


def one_line(result, code=1) -> str:
    """The command failed with `code` and said why in exactly one line."""
    assert result.returncode == code, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("wwidw"), result.stderr
    return lines[0]


@pytest.mark.parametrize(
    "command", [["export"], ["export-measurements"], ["organisation", "list"], ["teams", "list"], ["secrets", "check"]]
)
def test_a_command_in_a_folder_without_the_database_says_where_it_looked(tmp_path, command):
    line = one_line(wwidw(*command, cwd=tmp_path))
    assert "no database at sqlite:///data/wwidw.db" in line and "DATABASE_URL" in line and "wwidw db upgrade" in line
    assert list(tmp_path.iterdir()) == []  # no empty database (or folder) left behind in the wrong place


def test_an_empty_postgresql_database_is_not_taken_for_the_bots(tmp_path, pg_database):
    import uuid

    from sqlalchemy import create_engine, text

    name = f"wwidw_empty_{uuid.uuid4().hex[:8]}"
    admin = create_engine(make_url(pg_database).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = make_url(pg_database).set(database=name).render_as_string(hide_password=False)
        line = one_line(wwidw("export", cwd=tmp_path, database_url=url))
        assert f"no database at {url}" in line and "wwidw db upgrade" in line
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.mark.parametrize(
    "command", [["serve", "--port", "0"], ["worker"], ["db", "upgrade"], ["export"], ["organisation", "list"]]
)
def test_a_database_that_does_not_answer_is_one_line_without_its_password(tmp_path, command):
    line = one_line(wwidw(*command, cwd=tmp_path, database_url=DOWN))
    assert "cannot use the database postgresql+psycopg://wwidw:***@127.0.0.1:1/wwidw" in line
    assert "Connection refused" in line and "check DATABASE_URL" in line
    assert "hunter2" not in line


@pytest.mark.parametrize(
    "url, problem",
    [
        ("mysql://wwidw@db.example.nl/wwidw", "not on mysql"),
        ("postgresql+psycopg2://wwidw@db.example.nl/wwidw", "not on postgresql+psycopg2"),
        ("wwidw.db", "Could not parse"),
        ("postgresql://wwidw:hunter2@db.example.nl:5432x/wwidw", "its port is not a number"),
    ],
)
def test_a_database_url_the_bot_cannot_use_is_one_line(tmp_path, url, problem):
    line = one_line(wwidw("db", "upgrade", cwd=tmp_path, database_url=url))
    assert "DATABASE_URL cannot be used" in line and problem in line and "sqlite:///" in line
    assert "hunter2" not in line


def test_serve_in_a_folder_it_may_not_write_stops_in_one_line(tmp_path):
    tmp_path.chmod(0o555)
    try:
        line = one_line(wwidw("serve", "--port", "0", cwd=tmp_path, read_only=True))
    finally:
        tmp_path.chmod(0o755)
    assert "Permission denied: data" in line and "writable" in line
    assert list(tmp_path.iterdir()) == []


def test_serve_on_a_read_only_data_folder_stops_in_one_line(tmp_path):
    assert wwidw("db", "upgrade", cwd=tmp_path).returncode == 0
    data = tmp_path / "data"
    data.chmod(0o555)
    try:
        line = one_line(wwidw("serve", "--port", "0", cwd=tmp_path, read_only=True))
        exported = one_line(wwidw("export", cwd=tmp_path, read_only=True))
    finally:
        data.chmod(0o755)
    assert "cannot use the database sqlite:///data/wwidw.db: attempt to write a readonly database" in line
    assert "may write its folder" in line and exported.startswith("wwidw export: cannot use the database")


def test_serve_on_a_port_in_use_stops_in_one_line(tmp_path):
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        line = one_line(wwidw("serve", "--port", str(port), cwd=tmp_path))
    assert line.startswith(f"wwidw serve: cannot listen on 127.0.0.1:{port}: the port is in use;")


def test_renaming_an_organisation_says_what_is_wrong_in_words(db, tmp_path):
    from bot.people import ensure_person

    ensure_person(db, "web", "", "hash-a", "Anna", "Woonstad")
    ensure_person(db, "web", "", "hash-b", "Bram", "Gemeente")
    missing = one_line(wwidw("organisation", "rename", "Woonstad", cwd=tmp_path, database_url=db.url))
    assert missing == "wwidw organisation: rename needs the new name: wwidw organisation rename NAME NEW-NAME"
    short = one_line(wwidw("organisation", "rename", "Woonstad", "W", cwd=tmp_path, database_url=db.url))
    assert short == "wwidw organisation: An organisation name has 2 to 200 characters."
    taken = one_line(wwidw("organisation", "rename", "Woonstad", "gemeente", cwd=tmp_path, database_url=db.url))
    assert "There already is an organisation called 'gemeente'" in taken and "organisation." not in taken
    nobody = one_line(wwidw("organisation", "partner", "Niemand", cwd=tmp_path, database_url=db.url))
    assert "no single organisation 'Niemand'" in nobody


@pytest.mark.parametrize(
    "command",
    [[], ["export", "abc"], ["serve", "--port", "x"], ["organisation", "merge"], ["teams-package"], ["db"]],
)
def test_a_bad_argument_is_one_line_with_exit_code_2(tmp_path, command):
    line = one_line(wwidw(*command, cwd=tmp_path), code=2)
    assert line.endswith("--help)")


def test_a_setting_that_is_not_valid_is_one_line(tmp_path):
    line = one_line(wwidw("serve", "--port", "0", cwd=tmp_path, WWIDW_WEB_LOGIN="yes"))
    assert line.startswith("wwidw serve: the setting WWIDW_WEB_LOGIN is not valid") and "'signin'" in line
    assert list(tmp_path.iterdir()) == []
    zone = one_line(wwidw("serve", "--port", "0", cwd=tmp_path, WWIDW_TIMEZONE="Europe/Amsterdma"))
    assert "WWIDW_TIMEZONE is not valid" in zone and "Europe/Amsterdma" in zone  # not UTC, silently
    language = one_line(wwidw("serve", "--port", "0", cwd=tmp_path, WWIDW_LOCALE="fr"))
    assert "WWIDW_LOCALE is not valid" in language and "'en'" in language


def test_the_version_is_the_packages(tmp_path):
    version = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]["version"]
    shown = wwidw("--version", cwd=tmp_path)
    assert shown.returncode == 0 and shown.stdout == f"wwidw {version}\n"


@pytest.mark.parametrize("scheme", ["postgres", "postgresql"])
def test_postgres_urls_use_the_installed_psycopg_driver(tmp_path, pg_database, scheme):
    """What hosting providers hand out (`postgres://…`), against the real PostgreSQL."""
    url = make_url(pg_database).set(drivername=scheme).render_as_string(hide_password=False)
    assert url.startswith(f"{scheme}://")
    upgraded = wwidw("db", "upgrade", cwd=tmp_path, database_url=url)
    assert upgraded.returncode == 0 and upgraded.stdout == "database is up to date\n", upgraded.stderr
    exported = wwidw("export", "--format", "json", cwd=tmp_path, database_url=url)
    assert exported.returncode == 0 and isinstance(json.loads(exported.stdout), list), exported.stderr


def test_a_command_brings_an_older_database_to_the_newest_schema_first(database_url, tmp_path):
    """As `serve` does: an export by a newer version reads columns the old schema lacks."""
    from alembic import command
    from alembic.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from models.db import Database, alembic_config

    db = Database(database_url)
    with db.engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0004")
    exported = wwidw("export", "--format", "json", cwd=tmp_path, database_url=database_url)
    assert exported.returncode == 0 and json.loads(exported.stdout) == [], exported.stderr
    with db.engine.connect() as conn:
        head = ScriptDirectory.from_config(alembic_config(conn)).get_current_head()
        assert MigrationContext.configure(conn).get_current_revision() == head
    db.dispose()
