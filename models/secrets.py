"""Secrets at rest: bot tokens, refresh tokens and app secrets are stored sealed, never in clear.

Sealing is Fernet (the `cryptography` package: AES-128-CBC with an HMAC, and a timestamp) under
keys from `WWIDW_SECRET_KEY`: one key, or several separated by commas for rotation. The first key
seals; every key opens. To rotate: put a new key in front, run `wwidw secrets rotate` (which
reseals every stored secret with it), then drop the old key. A dump of the database alone yields
no secret.
"""

from __future__ import annotations

import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy.types import TypeDecorator

from models.db import Database

# Every column that holds a sealed secret: (table, column). The slack_ tables are slack_sdk's
# installation store (handlers/slack/installations.py), its token columns sealed with `SealedText`.
SLACK_TOKENS = ("bot_token", "bot_refresh_token", "user_token", "user_refresh_token")
SEALED = (
    ("teams_registration", "secret"),
    *(("slack_bots", c) for c in SLACK_TOKENS[:2]),
    *(("slack_installations", c) for c in SLACK_TOKENS),
)

NO_KEY = "WWIDW_SECRET_KEY is not set; stored secrets need it (`wwidw secrets new-key` makes one)"


class SecretKeyError(Exception):
    """A key that is missing, malformed, or does not open what is stored; the message is one line,
    fit to show an operator, and never holds a key or a secret."""


class Vault:
    def __init__(self, keys: str | None):
        names = [k.strip() for k in (keys or "").split(",") if k.strip()]
        try:
            self._fernet = MultiFernet([Fernet(k) for k in names]) if names else None
        except ValueError:
            raise SecretKeyError(
                "WWIDW_SECRET_KEY is not a list of Fernet keys (32 url-safe base64 bytes each)"
            ) from None

    @property
    def has_key(self) -> bool:
        return self._fernet is not None

    @staticmethod
    def new_key() -> str:
        return Fernet.generate_key().decode()

    def seal(self, plain: str) -> str:
        return self._key().encrypt(plain.encode()).decode()

    def open(self, sealed: str) -> str:
        try:
            return self._key().decrypt(sealed.encode()).decode()
        except InvalidToken:
            raise SecretKeyError("WWIDW_SECRET_KEY does not open the stored secrets (a wrong or dropped key)") from None

    def unseal(self, sealed: str, max_age: int) -> str | None:
        """What a sealed value of at most `max_age` seconds old holds; None when it is older, forged
        or sealed with no key we have (a browser's cookie, not a stored secret)."""
        if self._fernet is None:
            return None
        try:
            return self._fernet.decrypt(sealed.encode(), ttl=max_age).decode()
        except (InvalidToken, UnicodeError):
            return None

    def reseal(self, sealed: str) -> str:
        """The same secret sealed with the first key (rotation)."""
        try:
            return self._key().rotate(sealed.encode()).decode()
        except InvalidToken:
            raise SecretKeyError("WWIDW_SECRET_KEY does not open the stored secrets (a wrong or dropped key)") from None

    def _key(self) -> MultiFernet:
        if self._fernet is None:
            raise SecretKeyError(NO_KEY)
        return self._fernet


class SealedText(TypeDecorator):
    """A text column whose values are sealed on the way in and opened on the way out, for tables
    whose statements a library builds (slack_sdk's installation store)."""

    impl = sa.Text
    cache_ok = True

    def __init__(self, vault: Vault):
        super().__init__()
        self.vault = vault

    def process_bind_param(self, value, dialect):
        return None if value is None else self.vault.seal(value)

    def process_result_value(self, value, dialect):
        return None if value is None else self.vault.open(value)


def _stored(table: str, column: str) -> tuple[sa.TableClause, sa.ColumnClause]:
    found = sa.table(table, sa.column("id"), sa.column(column))
    return found, found.c[column]


def check(db: Database, vault: Vault) -> int:
    """Open every stored secret once, so that a missing or wrong key stops a start with one clear
    line before anything is served or overwritten. Returns how many there are."""
    count = 0
    with db.engine.connect() as conn:
        for name, column in SEALED:
            table, sealed = _stored(name, column)
            for (value,) in conn.execute(sa.select(sealed).where(sealed.is_not(None))):
                vault.open(value)
                count += 1
    return count


def reseal_all(db: Database, vault: Vault) -> int:
    """Seal every stored secret again with the first key (after a new key was put in front)."""
    count = 0
    with db.engine.begin() as conn:
        for name, column in SEALED:
            table, sealed = _stored(name, column)
            for row_id, value in conn.execute(sa.select(table.c.id, sealed).where(sealed.is_not(None))).all():
                conn.execute(sa.update(table).where(table.c.id == row_id).values({column: vault.reseal(value)}))
                count += 1
    return count
