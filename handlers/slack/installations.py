"""Whose token a message to a Slack workspace goes with.

With one workspace that is `SLACK_BOT_TOKEN`. With many, each workspace installs the app through
Slack's OAuth flow (handlers/slack/oauth.py) and its bot token lives in slack_sdk's SQLAlchemy
installation store, sealed (models/secrets.py). Tokens rotate: Slack's rotating tokens live twelve
hours, and one that expires within two hours is refreshed (slack_sdk's TokenRotator) before use.
A refresh token works once, so the web server's bolt and the worker's sender, in any number of
processes, refresh a workspace's token one at a time (SharedRotator), and the later one takes the
token the first one stored.
An uninstalled workspace has no token: what waits for it keeps waiting until it installs again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from datetime import UTC, datetime

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler, ServerErrorRetryHandler
from slack_sdk.oauth.installation_store import Bot
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.sqlalchemy_utils import normalize_datetime_for_db
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from slack_sdk.oauth.token_rotation import TokenRotator
from sqlalchemy import MetaData, desc, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bot.settings import Settings
from models.db import Database
from models.secrets import SLACK_TOKENS, SealedText, Vault

log = logging.getLogger("wwidw.slack")
ROTATE_BEFORE = 120  # minutes before expiry a token is refreshed (bolt's default)
FRESH = 30.0  # seconds a workspace's token, once read, is used before it is read again
STATE_LIFETIME = 600  # seconds between "Add to Slack" and Slack's redirect back
# What the installation store keeps of whoever installed the app: their user id and user token.
INSTALLER_SECRETS = ("user_token", "user_refresh_token", "user_scopes", "user_token_expires_at")
INSTALLATIONS = SQLAlchemyInstallationStore.build_installations_table(
    MetaData(), SQLAlchemyInstallationStore.default_installations_table_name
)


def forget_installer(session: Session, user_ids: list[str]) -> int:
    """A forgotten person (`wwidw person forget`) leaves the installs they made: their user id and
    user token go, the workspace's bot token stays. Returns how many installs named them."""
    if not user_ids:
        return 0
    erased = dict.fromkeys(INSTALLER_SECRETS) | {"user_id": ""}
    theirs = update(INSTALLATIONS).where(INSTALLATIONS.c.user_id.in_(user_ids))
    return session.connection().execute(theirs.values(erased)).rowcount


class SealedInstallationStore(SQLAlchemyInstallationStore):
    """slack_sdk's SQLAlchemy installation store, with every token column sealed."""

    def __init__(self, client_id: str, engine: Engine, vault: Vault):
        super().__init__(client_id, engine, logger=log)
        for table in (self.bots, self.installations):
            for column in table.columns:
                if column.name in SLACK_TOKENS:
                    column.type = SealedText(vault)


class OneUseStateStore(SQLAlchemyOAuthStateStore):
    """slack_sdk's OAuth state store, where a state is used once even by two redirects at the same
    moment (the delete decides, not the read before it), and expired states are cleared."""

    def issue(self, *args, **kwargs) -> str:
        now = normalize_datetime_for_db(datetime.now(tz=UTC))
        with self.engine.begin() as conn:
            conn.execute(self.oauth_states.delete().where(self.oauth_states.c.expire_at <= now))
        return super().issue(*args, **kwargs)

    def consume(self, state: str) -> bool:
        now = normalize_datetime_for_db(datetime.now(tz=UTC))
        c = self.oauth_states.c
        with self.engine.begin() as conn:
            used = conn.execute(self.oauth_states.delete().where(c.state == state, c.expire_at > now))
        return used.rowcount == 1


def newest_bot(store: SQLAlchemyInstallationStore, team_id: str | None) -> Bot | None:
    """The workspace's newest bot, by team alone: a workspace of an Enterprise Grid org is stored
    with the org's id, which a message does not carry."""
    c = store.bots.c
    query = (
        select(store.bots)
        .where(c.client_id == store.client_id, c.team_id == team_id, c.bot_token.is_not(None))
        .order_by(desc(c.installed_at), desc(c.id))
        .limit(1)
    )
    with store.engine.connect() as conn:
        row = conn.execute(query).mappings().first()
    return store.build_bot_entity(row) if row is not None else None


class SharedRotator(TokenRotator):
    """slack_sdk's rotator, one refresh per workspace at a time across threads and processes. Who
    waited finds the token the other stored and uses it; the refresh and the storing of its result
    happen under the same lock, so no one ever spends a refresh token that was already spent."""

    def __init__(self, *, db: Database, store: SealedInstallationStore, **kwargs):
        super().__init__(**kwargs)
        self.db = db
        self.store = store

    def perform_bot_token_rotation(self, *, bot: Bot, minutes_before_expiration: int = ROTATE_BEFORE) -> Bot | None:
        if not expiring(bot, minutes_before_expiration):
            return None
        with self.db.one_at_a_time(f"slack token of {bot.team_id}"):
            newest = newest_bot(self.store, bot.team_id)
            if newest is not None and not expiring(newest, minutes_before_expiration):
                return newest  # refreshed meanwhile, by another thread or process
            refreshed = super().perform_bot_token_rotation(
                bot=newest or bot, minutes_before_expiration=minutes_before_expiration
            )
            if refreshed is not None:
                self.store.save_bot(refreshed)
            return refreshed


class Recent(OrderedDict):
    """Bolt's authorize cache (token -> what auth.test said), keeping the newest `size` entries:
    tokens rotate twice a day in every workspace, and a replaced one never comes back."""

    def __init__(self, size: int):
        super().__init__()
        self.size = size

    def __setitem__(self, key, value):
        super().__setitem__(key, value)
        while len(self) > self.size:
            self.popitem(last=False)


def expiring(bot: Bot, minutes: int) -> bool:
    return bot.bot_token_expires_at is not None and bot.bot_token_expires_at <= time.time() + minutes * 60


class OneWorkspace:
    """A deployment for one workspace: every message goes with `SLACK_BOT_TOKEN`."""

    oauth = False

    def __init__(self, token: str):
        self._token = token

    def token(self, team_id: str) -> str | None:
        return self._token

    def forget(self, team_id: str) -> None:
        """Nothing to read again: an operator replaces a refused token and restarts."""


class Workspaces:
    """The workspaces that installed the app, for the outbox sender. Bolt's own authorize finds
    the token of each request; this finds the token of each message sent later."""

    oauth = True

    def __init__(self, settings: Settings, db: Database, vault: Vault):
        self.client_id = settings.slack_client_id
        self.client_secret = settings.slack_client_secret.get_secret_value()
        self.store = SealedInstallationStore(self.client_id, db.engine, vault)
        self.states = OneUseStateStore(expiration_seconds=STATE_LIFETIME, engine=db.engine, logger=log)
        self.rotator = SharedRotator(
            db=db,
            store=self.store,
            client_id=self.client_id,
            client_secret=self.client_secret,
            client=api_client(settings),
        )
        self._lock = threading.Lock()
        self._read: dict[str, tuple[str, float]] = {}  # team id -> (token, when read)
        self._turns: dict[str, threading.Lock] = {}  # team id -> the lock its readers take turns on

    def token(self, team_id: str) -> str | None:
        """The workspace's bot token, refreshed first when it is about to expire; None when the
        workspace has not installed the app (or uninstalled it). Raises SlackTokenRotationError
        when Slack refuses to refresh it."""
        with self._lock:
            known = self._read.get(team_id)
            if known and time.monotonic() - known[1] < FRESH:
                return known[0]
            # One reader (and refresher) per workspace at a time: the sender's threads would
            # otherwise all spend the same refresh token at once.
            turn = self._turns.setdefault(team_id, threading.Lock())
        with turn:
            known = self._read.get(team_id)
            if known and time.monotonic() - known[1] < FRESH:
                return known[0]
            bot = newest_bot(self.store, team_id)
            if bot is None:
                self.forget(team_id)
                return None
            if bot.bot_refresh_token:
                bot = self.rotator.perform_bot_token_rotation(bot=bot, minutes_before_expiration=ROTATE_BEFORE) or bot
            with self._lock:
                self._read[team_id] = (bot.bot_token, time.monotonic())
            return bot.bot_token

    def forget(self, team_id: str) -> None:
        """Read the workspace's token again next time (it was refused, revoked or uninstalled)."""
        with self._lock:
            self._read.pop(team_id, None)


def api_client(settings: Settings, token: str | None = None) -> WebClient:
    """A Web API client for `SLACK_API_URL` that waits out 429s (Retry-After) and retries 5xx answers."""
    url = settings.slack_api_url
    client = WebClient(token=token, base_url=url if url.endswith("/") else url + "/")
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=2))
    client.retry_handlers.append(ServerErrorRetryHandler(max_retry_count=2))
    return client


def workspaces(settings: Settings, db: Database, vault: Vault) -> Workspaces | OneWorkspace:
    if settings.slack_workspaces:
        if settings.slack_bot_token:
            log.warning("SLACK_CLIENT_ID is set: SLACK_BOT_TOKEN is not used, each workspace's own token is")
        return Workspaces(settings, db, vault)
    return OneWorkspace(settings.slack_bot_token.get_secret_value())
