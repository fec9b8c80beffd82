"""What the `wwidw` command says when it cannot do its work: one line that names the problem and
what to do about it, instead of a traceback. The operator's mistakes (a wrong DATABASE_URL, a
database that is down, a folder it may not write, a bad setting or argument) end up here; a bug
of ours still shows its traceback."""

from __future__ import annotations

import errno

from alembic.util.exc import CommandError
from pydantic import ValidationError
from sqlalchemy.exc import ArgumentError, DBAPIError

from models.db import shown_url, sqlite_file
from models.secrets import SecretKeyError


class Refused(Exception):
    """The operator asked for something the command will not do; the message says why and what to do."""


# What `main` turns into one line. ValueError covers the checks of our own commands (and pydantic's
# ValidationError); OSError files that cannot be read or written.
FAULTS = (Refused, SecretKeyError, ValueError, OSError, ArgumentError, DBAPIError, CommandError)
TRY_URL = "sqlite:///path/to/wwidw.db or postgresql://user:password@host:5432/db"


def explain(problem: BaseException, database_url: str | None) -> str:
    """One line about `problem`; `database_url` is the one the command used, if it got that far."""
    if isinstance(problem, ValidationError):  # a setting from the environment or .env
        first = problem.errors()[0]
        name = str(first["loc"][0]).upper() if first["loc"] else "a setting"
        return f"the setting {name} is not valid: {first['msg']} (see .env.example)"
    where = shown_url(database_url) if database_url else "the database"
    if isinstance(problem, ArgumentError):
        return f"DATABASE_URL cannot be used: {first_line(problem)}; give {TRY_URL}"
    if isinstance(problem, DBAPIError):
        reason = first_line(problem.orig or problem)
        if database_file(database_url) is not None:
            return f"cannot use the database {where}: {reason}; check that this user may write its folder"
        return f"cannot use the database {where}: {reason}; check DATABASE_URL and that PostgreSQL runs there"
    if isinstance(problem, CommandError):  # e.g. a revision this version does not know
        return f"cannot migrate the database {where}: {first_line(problem)} (was it upgraded by a newer wwidw?)"
    if isinstance(problem, OSError) and problem.filename:
        text = f"{problem.strerror or first_line(problem)}: {problem.filename}"
        if problem.errno in (errno.EACCES, errno.EPERM, errno.EROFS) and in_database_path(problem, database_url):
            text += " (the database's folder must be writable by this user; or set DATABASE_URL elsewhere)"
        return text
    return first_line(problem)


def database_file(database_url: str | None):
    try:
        return sqlite_file(database_url) if database_url else None
    except ArgumentError:
        return None


def in_database_path(problem: OSError, database_url: str | None) -> bool:
    path = database_file(database_url)
    if path is None:
        return False
    target = str(problem.filename)
    return any(target in (str(p), str(p.resolve())) for p in (path, *path.parents))


def first_line(problem: object) -> str:
    lines = str(problem).strip().splitlines()
    return lines[0].strip() if lines else problem.__class__.__name__
