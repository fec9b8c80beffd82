"""The Teams bot registrations this deployment answers for, one per tenant.

Since 31 July 2025 Azure creates only single-tenant bots, so every organisation's IT department
registers its own Entra app and Azure Bot, and the operator adds it: `wwidw teams add`. The
environment's `TEAMS_APP_ID` / `TEAMS_APP_PASSWORD` / `TEAMS_TENANT_ID` are the shortcut for one
registration. An inbound token names its registration by its audience (the app id), and the
activity must come from that registration's tenant; replies and proactive messages to a tenant use
its own registration's token, from an msal app per registration.

Stored registrations are read again at most every `FRESH` seconds, so one added while the bot
runs is served without a restart. Their secrets are sealed (models/secrets.py) and opened here.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from sqlmodel import select

from bot.i18n import t
from bot.messages import release
from bot.organisations import rename
from bot.people import workspace_organisation
from handlers.teams.connector import Connector, ConnectorError
from handlers.teams.package import is_guid
from models import Organisation, TeamsRegistration
from models.db import Database
from models.secrets import Vault

FRESH = 30.0  # seconds a read of the stored registrations is used
NO_REGISTRATION = "no_registration"


@dataclass(frozen=True)
class Registration:
    app_id: str
    tenant_id: str | None  # None: the environment's multi-tenant bot (botframework.com), any tenant
    secret: str = field(repr=False)

    def serves(self, tenant_id: str | None) -> bool:
        return self.tenant_id is None or (tenant_id or "").casefold() == self.tenant_id.casefold()


class Registrations:
    def __init__(self, settings, db: Database, vault: Vault, token_http_client=None):
        self.settings = settings
        self.db = db
        self.vault = vault
        self.token_http_client = token_http_client  # msal's HTTP client (tests: the fake login service)
        self._lock = threading.Lock()
        self._read_at = float("-inf")
        self._stored: tuple[Registration, ...] = ()
        self._connectors: dict[tuple[str, str], Connector] = {}

    # --- which registrations ------------------------------------------------------------------

    def all(self) -> tuple[Registration, ...]:
        return (*self._environment(), *self._read())

    def for_app(self, app_id: str | None) -> Registration | None:
        wanted = (app_id or "").lower()
        return next((r for r in self.all() if r.app_id.lower() == wanted), None) if wanted else None

    def for_tenant(self, tenant_id: str | None) -> Registration | None:
        """The registration that writes to this tenant: its own, else a multi-tenant bot's."""
        found = self.all()
        own = next((r for r in found if r.tenant_id is not None and r.serves(tenant_id)), None)
        return own or next((r for r in found if r.tenant_id is None), None)

    def any(self) -> bool:
        return bool(self.all())

    def _environment(self) -> tuple[Registration, ...]:
        s = self.settings
        if not (s.teams_app_id and s.teams_app_password):
            return ()
        return (Registration(s.teams_app_id, s.teams_tenant_id or None, s.teams_app_password.get_secret_value()),)

    def _read(self) -> tuple[Registration, ...]:
        if time.monotonic() - self._read_at < FRESH:
            return self._stored
        with self._lock:
            if time.monotonic() - self._read_at >= FRESH:
                self._stored = tuple(load(self.db, self.vault))
                self._read_at = time.monotonic()
            return self._stored

    # --- talking as one of them ---------------------------------------------------------------

    def connector(self, registration: Registration | None) -> Connector:
        """The connector client of a registration, kept: msal's token cache lives in it."""
        if registration is None:
            raise ConnectorError("no bot registration for this tenant", code=NO_REGISTRATION)
        key = (registration.app_id, registration.secret)  # a new secret gets a new msal app
        with self._lock:
            if key not in self._connectors:
                s = self.settings
                self._connectors[key] = Connector(
                    registration.app_id,
                    registration.secret,
                    registration.tenant_id,
                    s.teams_authority_host,
                    token_http_client=self.token_http_client,
                    scope=s.teams_botframework_url.rstrip("/") + "/.default",
                )
            return self._connectors[key]


def load(db: Database, vault: Vault) -> list[Registration]:
    """The stored registrations, their secrets opened (SecretKeyError without the right key)."""
    with db.transaction() as s:
        rows = list(s.exec(select(TeamsRegistration).order_by(TeamsRegistration.id)))
    return [Registration(r.app_id, r.tenant_id, vault.open(r.secret)) for r in rows]


# --- the operator's commands (`wwidw teams …`) --------------------------------------------------


def add(db: Database, vault: Vault, app_id: str, tenant_id: str, secret: str, name: str | None = None) -> str:
    """Add a tenant's bot registration, or give a known one its new client secret. Its tenant's
    organisation is created (or joined) and, given `name`, named. Returns what was done; raises
    ValueError with a one-line reason when it cannot be done, SecretKeyError without a key."""
    app_id, tenant_id, secret = app_id.strip().lower(), tenant_id.strip().lower(), secret.strip()
    if not (is_guid(app_id) and is_guid(tenant_id)):
        raise ValueError("the app id and the tenant id are GUIDs (Entra: Overview → Application and Directory ID)")
    if not 0 < len(secret) <= 400 or any(c.isspace() for c in secret):
        raise ValueError("the client secret is its value (Entra: Certificates & secrets), one word")
    sealed = vault.seal(secret)
    with db.transaction() as s:
        row = s.exec(
            select(TeamsRegistration).where(
                (TeamsRegistration.app_id == app_id) | (TeamsRegistration.tenant_id == tenant_id)
            )
        ).first()
        if row is not None and (row.app_id, row.tenant_id) != (app_id, tenant_id):
            raise ValueError(f"tenant {row.tenant_id} already has bot {row.app_id}: remove that first")
        done = "secret replaced" if row is not None else "added"
        if row is None:
            row = TeamsRegistration(app_id=app_id, tenant_id=tenant_id, secret=sealed)
            s.add(row)
        row.secret = sealed
        org = workspace_organisation(s, "teams", tenant_id)
        if name:
            problem = rename(s, org, name)
            if problem:
                raise ValueError(t("en", problem, name=name))
        release(s, "teams", tenant_id)
        return f"{done}: bot {app_id} for tenant {tenant_id} ({org.name})"


def remove(db: Database, app_id_or_tenant: str) -> bool:
    """Remove a registration by app id or tenant id. Its organisation and everything of it stays;
    messages for the tenant wait until a registration is added again."""
    key = app_id_or_tenant.strip().lower()
    with db.transaction() as s:
        row = s.exec(
            select(TeamsRegistration).where((TeamsRegistration.app_id == key) | (TeamsRegistration.tenant_id == key))
        ).first()
        if row is not None:
            s.delete(row)
        return row is not None


def listing(db: Database) -> list[tuple[str, str, str]]:
    """(app id, tenant id, organisation) of each stored registration; never a secret."""
    with db.transaction() as s:
        rows = s.exec(
            select(TeamsRegistration.app_id, TeamsRegistration.tenant_id, Organisation.name)
            .outerjoin(Organisation, Organisation.teams_tenant_id == TeamsRegistration.tenant_id)
            .order_by(TeamsRegistration.id)
        )
        return [(app_id, tenant_id, name or "?") for app_id, tenant_id, name in rows]
