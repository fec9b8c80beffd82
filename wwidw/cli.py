"""The `wwidw` command: serve, worker, db upgrade, exports, organisations."""

from __future__ import annotations

import argparse
import csv
import errno
import json
import logging
import os
import socket
import sys
from importlib import metadata
from pathlib import Path

import uvicorn
from sqlmodel import select
from uvicorn.supervisors import Multiprocess

from bot import organisations, spreadsheets
from bot.documents import as_dict, render_markdown
from bot.i18n import t
from bot.roles import ROLES
from bot.settings import Settings
from handlers.teams import registrations
from handlers.teams.package import build_package
from handlers.web.routes import web_login
from models import Indicator, Intervention, Measurement, Organisation, Person, secrets
from models.db import Database, parse_url, shown_url, sqlite_file
from models.secrets import SecretKeyError, Vault
from reminders.runner import Reminders
from wwidw.app import WORKER_REMINDERS, Core, create_app, log_lines, transports
from wwidw.faults import FAULTS, Refused, explain
from wwidw.person_command import person_command, role_command


class Parser(argparse.ArgumentParser):
    """A bad argument is one line too (argparse would print the usage above it), exit code 2."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def version() -> str:
    try:
        return metadata.version("wwidw-bot")
    except metadata.PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    """The command; whatever stops it is one line on standard error (wwidw/faults.py), exit code 1."""
    args = parser().parse_args(argv)
    settings = None
    try:
        # teams-package and secrets new-key need no settings: they work anywhere.
        if args.command != "teams-package" and (args.command, getattr(args, "action", None)) != ("secrets", "new-key"):
            settings = Settings()
        return run(args, settings)
    except FAULTS as problem:
        print(f"wwidw {args.command}: {explain(problem, settings and settings.database_url)}", file=sys.stderr)
        return 1


def parser() -> Parser:
    parser = Parser(prog="wwidw", description="Wat Werkt in de Wijk bot")
    parser.add_argument("--version", action="version", version=f"wwidw {version()}")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="upgrade the database and run the bot (web chat, Slack)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--no-reminders", action="store_true", help="leave reminders to a separate `wwidw worker`")
    serve.add_argument("--workers", type=positive, default=1, help="server processes (PostgreSQL only; default 1)")

    commands.add_parser("worker", help="run only the reminder engine and outbox sender")

    db = commands.add_parser("db", help="database maintenance")
    db.add_argument("action", choices=["upgrade"])

    export = commands.add_parser("export", help="export descriptions as JSON or Markdown")
    export.add_argument("id", nargs="?", type=int, help="one description (default: all)")
    export.add_argument("--format", choices=["json", "md"], default="md")
    export.add_argument("--locale", choices=["nl", "en"], default=None)

    measurements = commands.add_parser("export-measurements", help="export measurements as CSV")
    measurements.add_argument("--intervention", type=int, default=None, help="one description (default: all)")
    measurements.add_argument("--history", action="store_true", help="also the values that were later changed")

    organisation = commands.add_parser("organisation", help="list organisations, rename one, set partner membership")
    organisation.add_argument("action", choices=["list", "partner", "rename"])
    organisation.add_argument("name", nargs="?", help="the organisation's name or number")
    organisation.add_argument("value", nargs="?", help="partner: on|off (default on); rename: the new name")

    bots = commands.add_parser("teams", help="the Teams bot registrations: one per tenant (list, add, remove)")
    bots.add_argument("action", choices=["list", "add", "remove"])
    bots.add_argument("--tenant-id", help="the organisation's Microsoft 365 tenant (Directory ID)")
    bots.add_argument("--app-id", help="its bot's Entra app (Application ID)")
    bots.add_argument("--secret-file", help="a file holding the app's client secret, or - for standard input")
    bots.add_argument("--name", help="add: the name of the tenant's organisation")

    person = commands.add_parser(
        "person", help="everything stored about one person (export), erase them (forget), their roles (role)"
    )
    person.add_argument("action", choices=["export", "forget", "role"])
    person.add_argument("who", help="their number, slack:TEAM:USER, teams:TENANT:AAD-ID or their name")
    person.add_argument("role", nargs="?", choices=ROLES, help="role: the role to give (none: list their roles)")
    person.add_argument("--remove", action="store_true", help="role: take the role away")
    person.add_argument("--yes", action="store_true", help="forget: yes, erase them for good")

    vault = commands.add_parser("secrets", help="WWIDW_SECRET_KEY: make a key, check it, reseal with a new one")
    vault.add_argument("action", choices=["new-key", "check", "rotate"])

    teams = commands.add_parser("teams-package", help="write the Microsoft Teams app package (manifest and icons)")
    teams.add_argument("--app-id", required=True, help="the Azure Bot's Microsoft App ID (a GUID)")
    teams.add_argument("--out", default="wwidw-teams.zip", help="the zip to write (default: wwidw-teams.zip)")
    teams.add_argument("--name", help="the app's name in Teams, at most 30 characters")
    teams.add_argument("--website", help="required: https address of the deployment (it serves /privacy, /voorwaarden)")
    teams.add_argument("--privacy-url", help="https address of the privacy statement (default: WEBSITE/privacy)")
    teams.add_argument("--terms-url", help="https address of the terms of use (default: WEBSITE/voorwaarden)")
    teams.add_argument("--domain", action="append", default=[], help="a valid domain (repeatable)")
    teams.add_argument("--version", dest="app_version", help="the package version, e.g. 1.0.1 (default 1.0.0)")

    return parser


def run(args: argparse.Namespace, settings: Settings | None) -> int:
    if args.command == "teams-package":
        return teams_package_command(args)
    if args.command == "secrets" and args.action == "new-key":
        print(Vault.new_key())
        return 0
    log_lines()
    # Alembic's steps and APScheduler's every-second job runs would drown what matters.
    for noisy in ("alembic", "apscheduler", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if args.command == "serve":
        return serve_command(settings, args.host, args.port, not args.no_reminders, args.workers)
    if args.command == "worker":
        return worker_command(settings)
    if args.command == "db":
        Database(settings.database_url).upgrade()
        print("database is up to date")
        return 0
    if args.command == "organisation":
        return organisation_command(settings, args.action, args.name, args.value)
    if args.command == "teams":
        return teams_command(settings, args)
    if args.command == "secrets":
        return secrets_command(settings, args.action)
    if args.command == "person":
        defaults = (settings.wwidw_timezone, settings.wwidw_locale)
        if args.action == "role":
            return role_command(database(settings), args.who, args.role, args.remove, defaults[1])
        if args.role or args.remove:
            raise Refused(f"person {args.action} takes no role; did you mean: wwidw person role {args.who} …")
        return person_command(database(settings), args.action, args.who, defaults, args.yes)
    if args.command == "export-measurements":
        return export_measurements(settings, args.intervention, args.history)
    return export_command(settings, args.id, args.format, args.locale or settings.wwidw_locale)


def database(settings: Settings) -> Database:
    """The deployment's database, migrated to the newest schema first as `serve` does (a command of
    a newer version needs its columns). One that was never created is not made here: a command run
    in another folder, or without DATABASE_URL, would answer from a new empty database instead."""
    url = settings.database_url
    path = sqlite_file(url)
    missing = f"no database at {shown_url(url)}: set DATABASE_URL to the bot's, or create one with `wwidw db upgrade`"
    if path is not None and not path.exists():
        raise Refused(missing)
    db = Database(url)
    if not db.has_schema():
        raise Refused(missing)
    db.upgrade()
    return db


def export_measurements(settings: Settings, intervention_id: int | None, history: bool) -> int:
    db = database(settings)
    writer = csv.writer(sys.stdout)
    writer.writerow(
        [
            "intervention_id", "intervention", "organisation", "indicator_id", "indicator", "kind", "unit",
            "baseline", "target", "period_start", "period_end", "value", "note", "entered_by", "entered_at", "current",
        ]
    )  # fmt: skip
    with db.transaction() as session:
        query = (
            select(Measurement, Indicator, Intervention, Organisation, Person)
            .join(Indicator, Indicator.id == Measurement.indicator_id)
            .join(Intervention, Intervention.id == Indicator.intervention_id)
            .join(Organisation, Organisation.id == Intervention.organisation_id)
            .join(Person, Person.id == Measurement.entered_by)
            .order_by(Intervention.id, Indicator.position, Measurement.period_start, Measurement.id)
        )
        if intervention_id is not None:
            query = query.where(Intervention.id == intervention_id)
        if not history:
            query = query.where(Measurement.replaced_at.is_(None))
        for m, ind, iv, org, person in session.exec(query):
            writer.writerow(spreadsheets.row([
                iv.id, iv.title, org.name, ind.id, ind.name, ind.kind, ind.unit, ind.baseline, ind.target,
                m.period_start.isoformat(), m.period_end.isoformat(), "" if m.value is None else m.value,
                m.note or "", person.display_name, m.entered_at.isoformat(),
                "yes" if m.replaced_at is None else "no",
            ]))  # fmt: skip
    return 0


def organisation_command(settings: Settings, action: str, name: str | None, value: str | None) -> int:
    """For whoever runs the deployment: partner membership is theirs to grant, not the
    organisation's own (a workspace admin only names their organisation)."""
    db = database(settings)
    with db.transaction() as session:
        if action == "list":
            for org in session.exec(select(Organisation).order_by(Organisation.id)):
                where = (
                    f"Slack {org.slack_team_id}"
                    if org.slack_team_id
                    else f"Teams {org.teams_tenant_id}"
                    if org.teams_tenant_id
                    else "web"
                )
                print(f"{org.id}\t{org.name}\t{'partner' if org.is_partner else '-'}\t{where}")
            return 0
        org = organisations.find(session, name or "")
        if org is None:
            raise Refused(f"no single organisation {name!r} (see `wwidw organisation list`; a number is exact)")
        if action == "partner":
            if (value or "on") not in ("on", "off"):
                print("partner takes on or off", file=sys.stderr)
                return 2
            org.is_partner = (value or "on") == "on"
        else:
            if not value:
                raise Refused("rename needs the new name: wwidw organisation rename NAME NEW-NAME")
            problem = organisations.rename(session, org, value)
            if problem:
                raise Refused(t("en", problem, name=value))
        print(f"{org.id}\t{org.name}\t{'partner' if org.is_partner else '-'}")
    return 0


def ready(settings: Settings) -> Core:
    """The program's parts on an upgraded database whose stored secrets the key opens. A missing or
    wrong key raises SecretKeyError (one line, from `main`) before anything has been changed."""
    core = Core(settings)
    if settings.slack_workspaces and not core.vault.has_key:
        raise SecretKeyError(secrets.NO_KEY + "; Slack installs store their tokens sealed")
    core.db.upgrade()
    secrets.check(core.db, core.vault)
    if web_login(core) == "signin" and not core.vault.has_key:
        raise SecretKeyError(secrets.NO_KEY + "; web sign-in seals its session cookies with it")
    return core


def worker_command(settings: Settings) -> int:
    core = ready(settings)
    logging.getLogger("wwidw").info("reminder worker started")
    reminders = Reminders(settings, core.db, transports(core), blocking=True)
    try:
        reminders.start()
    except (KeyboardInterrupt, SystemExit):
        pass
    return 0


def positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is no whole number of 1 or more")
    return int(text)


def serve_command(settings: Settings, host: str, port: int, with_reminders: bool = True, workers: int = 1) -> int:
    if workers > 1 and parse_url(settings.database_url).get_backend_name() == "sqlite":
        raise Refused("--workers needs PostgreSQL (DATABASE_URL): SQLite lets one process write at a time")
    sock = listening(host, port)
    core = ready(settings)
    logging.getLogger("wwidw").info("web chat at http://%s:%s/", "localhost" if host == "127.0.0.1" else host, port)
    if host not in ("127.0.0.1", "localhost") and settings.allowed_hosts == ["localhost", "127.0.0.1"]:
        logging.getLogger("wwidw").warning(
            "WWIDW_ALLOWED_HOSTS is localhost only: set it to this server's host names (Slack and Teams use them too)"
        )
    if workers > 1:  # processes of their own, each building the app (wwidw.app.worker_app) on this socket
        os.environ[WORKER_REMINDERS] = "1" if with_reminders else ""
        app_of_each = "wwidw.app:worker_app"
        config = uvicorn.Config(app_of_each, factory=True, workers=workers, log_level="info", access_log=False)
        Multiprocess(config, sockets=[sock]).run()
        return 0
    app = create_app(core=core, with_reminders=with_reminders)
    uvicorn.Server(uvicorn.Config(app, log_level="info", access_log=False)).run(sockets=[sock])
    return 0


def listening(host: str, port: int) -> socket.socket:
    """The server's socket, bound before uvicorn starts, so a port in use is one line of ours."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family, backlog=2048)  # uvicorn's own backlog
    except OSError as e:
        why = "the port is in use" if e.errno == errno.EADDRINUSE else str(e.strerror).split(" (while")[0]
        raise Refused(f"cannot listen on {host}:{port}: {why}; stop what uses it or choose another --port") from None


def teams_command(settings: Settings, args: argparse.Namespace) -> int:
    """For whoever runs the deployment: each organisation's IT department registers its own bot
    (Azure creates only single-tenant ones) and hands over its ids and client secret."""
    db = database(settings)
    if args.action == "list":
        for app_id, tenant_id, name in registrations.listing(db):
            print(f"{tenant_id}\t{app_id}\t{name}")
        return 0
    if args.action == "remove":
        if not registrations.remove(db, args.app_id or args.tenant_id or ""):
            raise Refused("no such registration (see `wwidw teams list`)")
        print("removed; messages for that tenant wait until its bot is added again")
        return 0
    if not (args.tenant_id and args.app_id and args.secret_file):
        raise Refused("add needs --tenant-id, --app-id and --secret-file")
    secret = sys.stdin.read() if args.secret_file == "-" else Path(args.secret_file).read_text("utf-8")
    print(registrations.add(db, Vault(settings.secret_keys), args.app_id, args.tenant_id, secret, args.name))
    return 0


def secrets_command(settings: Settings, action: str) -> int:
    db, vault = database(settings), Vault(settings.secret_keys)
    if action == "check":
        print(f"the key opens all {secrets.check(db, vault)} stored secrets")
    else:
        print(f"{secrets.reseal_all(db, vault)} stored secrets sealed again with the first key")
    return 0


def export_command(settings: Settings, intervention_id: int | None, fmt: str, locale: str) -> int:
    db = database(settings)
    with db.transaction() as session:
        query = select(Intervention).order_by(Intervention.id)
        if intervention_id is not None:
            query = query.where(Intervention.id == intervention_id)
        rows = list(session.exec(query))
        if intervention_id is not None and not rows:
            print(f"no description #{intervention_id}", file=sys.stderr)
            return 1
        if fmt == "json":
            data = [as_dict(session, iv) for iv in rows]
            print(json.dumps(data[0] if intervention_id is not None else data, ensure_ascii=False, indent=2))
        else:
            print("\n\n---\n\n".join(render_markdown(session, iv, locale) for iv in rows))
    return 0


def teams_package_command(args: argparse.Namespace) -> int:
    """Needs no database or settings: only the bot's app id and how the app presents itself."""
    options = {
        "name": args.name,
        "website_url": args.website,
        "privacy_url": args.privacy_url,
        "terms_url": args.terms_url,
        "version": args.app_version,
    }
    path = build_package(
        args.app_id,
        Path(args.out),
        valid_domains=args.domain,
        **{key: value for key, value in options.items() if value is not None},
    )
    print(f"Teams app package written to {path.resolve()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
