"""Secrets at rest: bot tokens, refresh tokens and app secrets are stored sealed, never in clear.

Sealing is Fernet (the `cryptography` package: AES-128-CBC with an HMAC, and a timestamp) under
keys from `WWIDW_SECRET_KEY`: one key, or several separated by commas for rotation. The first key
seals; every key opens. To rotate: put a new key in front, run `wwidw secrets rotate` (which
reseals every stored secret with it), then drop the old key. A dump of the database alone yields
no secret.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlmodel import select

from models.db import Database
from models.tables import TeamsRegistration

# Every column that holds a sealed secret: (table, column).
SEALED = ((TeamsRegistration, "secret"),)

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


def check(db: Database, vault: Vault) -> int:
    """Open every stored secret once, so that a missing or wrong key stops a start with one clear
    line before anything is served or overwritten. Returns how many there are."""
    count = 0
    with db.transaction() as s:
        for table, column in SEALED:
            for sealed in s.exec(select(getattr(table, column))):
                vault.open(sealed)
                count += 1
    return count


def reseal_all(db: Database, vault: Vault) -> int:
    """Seal every stored secret again with the first key (after a new key was put in front)."""
    count = 0
    with db.transaction() as s:
        for table, column in SEALED:
            for row in s.exec(select(table)):
                setattr(row, column, vault.reseal(getattr(row, column)))
                count += 1
    return count
