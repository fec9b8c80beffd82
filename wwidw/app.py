"""The ASGI app: the web chat, `/healthz` and, when configured, Slack at `/slack/events` and
Microsoft Teams at `/api/messages`."""

from __future__ import annotations

import logging
import os
from contextlib import asynccontextmanager

from sqlalchemy.exc import OperationalError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from bot.forms import Forms
from bot.i18n import t
from bot.settings import Settings
from bot.wizard import Wizard
from handlers.slack.delivery import SlackTransport
from handlers.slack.installations import workspaces
from handlers.slack.routes import slack_routes
from handlers.teams.delivery import TeamsTransport
from handlers.teams.registrations import Registrations
from handlers.teams.routes import teams_routes
from handlers.web.delivery import WebTransport
from handlers.web.headers import SecurityHeaders
from handlers.web.legal import legal_routes
from handlers.web.routes import web_routes
from models.db import Database
from models.secrets import Vault
from reminders.outbox import OutboxSender, Transport
from reminders.runner import Reminders

log = logging.getLogger("wwidw")
MAX_BODY = 512 * 1024


class Core:
    """What every adapter needs: the database, the wizard and its forms, the settings, the vault
    of stored secrets, the Slack workspaces and the Teams bot registrations."""

    def __init__(self, settings: Settings, db: Database | None = None, teams_token_http=None):
        self.settings = settings
        self.db = db or Database(settings.database_url)
        self.vault = Vault(settings.secret_keys)
        # msal's HTTP client for Microsoft's login service (tests point it at a fake); None: msal's own.
        self.teams = Registrations(settings, self.db, self.vault, teams_token_http)
        # The Slack workspaces and their tokens (one from the environment, or each installed one).
        self.slack = workspaces(settings, self.db, self.vault) if settings.slack_enabled else None
        self.wizard = Wizard(self.db, settings.wwidw_locale, settings.wwidw_timezone)
        self.forms = Forms(self.db, settings.wwidw_locale, settings.wwidw_timezone)
        # The adapters' first try of a turn's replies; the reminders' senders deliver the rest.
        self.outbox = OutboxSender(self.db, transports(self), workers=1)


def create_app(settings: Settings | None = None, core: Core | None = None, with_reminders: bool = False) -> Starlette:
    """The app; `with_reminders` also runs the reminder engine and outbox sender in-process
    (what `wwidw serve` does; tests drive them with their own clock instead)."""
    core = core or Core(settings or Settings())

    async def healthz(request: Request):
        ok = await run_in_threadpool(core.db.ping)
        return JSONResponse({"status": "ok" if ok else "database unavailable"}, status_code=200 if ok else 503)

    routes = [Route("/healthz", healthz), *web_routes(core), *legal_routes(core.settings.wwidw_locale)]
    if core.settings.slack_enabled:
        routes += slack_routes(core)
    else:
        log.info(
            "Slack is off: set SLACK_SIGNING_SECRET with SLACK_CLIENT_ID and SLACK_CLIENT_SECRET (many workspaces)"
            " or SLACK_BOT_TOKEN (one) to enable /slack/events"
        )
    # Always there: a tenant's bot added with `wwidw teams add` is served without a restart.
    routes += teams_routes(core)

    @asynccontextmanager
    async def lifespan(app):
        reminders = None
        if with_reminders:
            reminders = Reminders(core.settings, core.db, transports(core))
            reminders.start()
        yield
        if reminders is not None:
            reminders.stop()
        core.db.dispose()

    async def database_unavailable(request: Request, exc: OperationalError):
        log.error("database unavailable: %s", exc.__class__.__name__)
        text = t(core.settings.wwidw_locale, "database_unavailable")
        return PlainTextResponse(text, status_code=503, headers={"Retry-After": "30"})

    # Nothing we accept is larger than a long description; bigger bodies are refused (413).
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        max_body_size=MAX_BODY,
        exception_handlers={OperationalError: database_unavailable},
        middleware=[
            Middleware(SecurityHeaders),
            Middleware(TrustedHostMiddleware, allowed_hosts=core.settings.allowed_hosts, www_redirect=False),
        ],
    )
    app.state.core = core
    return app


WORKER_REMINDERS = "WWIDW_WORKER_REMINDERS"  # set by `wwidw serve --workers N` for its processes


def log_lines() -> None:
    """How every process of ours logs: one line per event, with its time and source."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def worker_app() -> Starlette:
    """The app in one process of `wwidw serve --workers N` (uvicorn calls this in each): the
    settings from the environment, the database already upgraded by `serve`. Each process runs
    its own reminder engine and senders, as replicas do: they share the work through the outbox."""
    log_lines()
    return create_app(Settings(), with_reminders=bool(os.environ.get(WORKER_REMINDERS)))


def transports(core: Core) -> dict[str, Transport]:
    """How the outbox sender reaches each platform. Teams is always among them: a tenant's bot may
    be added while messages for it wait."""
    settings = core.settings
    found: dict[str, Transport] = {"web": WebTransport(core.db), "teams": TeamsTransport(core.db, core.teams)}
    if settings.slack_enabled:
        found["slack"] = SlackTransport(core.slack, settings.slack_api_url)
    return found
