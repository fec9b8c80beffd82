"""Who a browser is, and that a form it posts is its own.

Local mode (`WWIDW_WEB_LOGIN=local`): a browser is a web chat identity of its own, known by a random
token in a cookie that lives 30 days after the last visit; the database keeps only the token's
SHA-256. Leaving ("forget this browser", leaving.py) erases it.

Sign-in mode: a browser that signed in with Slack or Microsoft holds a session. Its cookie is a
random token sealed with the deployment's key (Fernet: signed, encrypted and time-stamped, so an
old or altered cookie is refused before the database is asked); `web_session` keeps the token's
SHA-256 and when it expires. Logging out deletes the row, so a copied cookie ends with it.

Every form carries a CSRF token derived from the browser's secret token, which a page on another
site cannot read; a POST from a browser with a cookie must bring it back.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from datetime import timedelta
from functools import cached_property

from sqlalchemy import delete
from sqlmodel import select
from starlette.requests import Request
from starlette.responses import Response

from models import Identity, Person, WebSession, WebSignIn
from models.db import Database
from models.secrets import Vault
from models.tables import utcnow

LOCAL_COOKIE = "wwidw_web"
LOCAL_DAYS = 30  # a local web chat's cookie lives this long after its last visit, not for years
SESSION_COOKIE = "wwidw_session"
SIGN_IN_COOKIE = "wwidw_sign_in"  # ties a sign-in under way to the browser that began it
SESSION_HOURS = 12  # a working day; then sign in again
SIGN_IN_MINUTES = 10  # from leaving for Slack or Microsoft until coming back
CSRF_FIELD = "csrf"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def secure(request: Request) -> bool:
    """Cookies are Secure behind HTTPS (uvicorn reads X-Forwarded-Proto from a trusted proxy)."""
    return request.url.scheme == "https"


class Browsers:
    def __init__(self, db: Database, vault: Vault, signin: Callable[[], bool]):
        self.db = db
        self.vault = vault
        self._signin = signin

    @cached_property
    def signin(self) -> bool:
        """Sign-in mode or local mode: decided at the first request, when the database is ready."""
        if self._signin() and not self.vault.has_key:
            raise ValueError("web sign-in seals its session cookies with WWIDW_SECRET_KEY, which is not set")
        return self._signin()

    # --- who is this -----------------------------------------------------------------------

    def secret(self, request: Request) -> str | None:
        """The browser's secret token, from its local or its session cookie."""
        if not self.signin:
            token = request.cookies.get(LOCAL_COOKIE)
            return token if token and len(token) <= 100 else None
        sealed = request.cookies.get(SESSION_COOKIE)
        return self.vault.unseal(sealed, SESSION_HOURS * 3600) if sealed and len(sealed) <= 400 else None

    def reader(self, request: Request) -> tuple[Person | None, Identity | None]:
        token = self.secret(request)
        if token is None:
            return None, None
        with self.db.transaction() as s:
            if self.signin:
                query = (
                    select(Identity)
                    .join(WebSession, WebSession.identity_id == Identity.id)
                    .where(WebSession.token_hash == token_hash(token), WebSession.expires_at > utcnow())
                )
            else:
                query = select(Identity).where(
                    Identity.platform == "web", Identity.workspace == "", Identity.external_id == token_hash(token)
                )
            identity = s.exec(query).first()
            return (s.get(Person, identity.person_id), identity) if identity else (None, None)

    # --- forms -------------------------------------------------------------------------------

    def csrf(self, request: Request) -> str:
        token = self.secret(request)
        return hmac.new(token.encode(), b"wwidw csrf", hashlib.sha256).hexdigest() if token else ""

    def form_is_ours(self, request: Request, sent: object) -> bool:
        """A browser without a cookie has nothing to lose to a forged form (its Origin is checked too)."""
        expected = self.csrf(request)
        return not expected or (isinstance(sent, str) and hmac.compare_digest(sent, expected))

    # --- local mode ----------------------------------------------------------------------------

    def new_local(self, request: Request, response: Response) -> str:
        """A new local browser's token, set in its cookie; the caller makes its identity."""
        token = secrets.token_urlsafe(32)
        self.set_local(request, response, token)
        return token

    def keep_local(self, request: Request, response: Response) -> None:
        """Each visit to the chat keeps a local browser's cookie for another LOCAL_DAYS."""
        token = None if self.signin else self.secret(request)
        if token is not None:
            self.set_local(request, response, token)

    def set_local(self, request: Request, response: Response, token: str) -> None:
        max_age = LOCAL_DAYS * 24 * 3600
        response.set_cookie(LOCAL_COOKIE, token, max_age=max_age, httponly=True, samesite="lax", secure=secure(request))

    # --- sign-in mode --------------------------------------------------------------------------

    def begin(self, request: Request, response: Response, identity_id: int) -> None:
        """A signed-in browser's session; expired sessions and sign-ins are cleared on the way."""
        token = secrets.token_urlsafe(32)
        now = utcnow()
        with self.db.transaction() as s:
            s.exec(delete(WebSession).where(WebSession.expires_at <= now))
            s.exec(delete(WebSignIn).where(WebSignIn.created_at < now - timedelta(minutes=SIGN_IN_MINUTES)))
            s.add(
                WebSession(
                    token_hash=token_hash(token),
                    identity_id=identity_id,
                    expires_at=now + timedelta(hours=SESSION_HOURS),
                )
            )
        response.set_cookie(
            SESSION_COOKIE,
            self.vault.seal(token),
            max_age=SESSION_HOURS * 3600,
            httponly=True,
            samesite="lax",
            secure=secure(request),
        )
        response.delete_cookie(SIGN_IN_COOKIE, httponly=True, samesite="lax", secure=secure(request))

    def end(self, request: Request, response: Response) -> None:
        token = self.secret(request)
        if token is not None and self.signin:
            with self.db.transaction() as s:
                s.exec(delete(WebSession).where(WebSession.token_hash == token_hash(token)))
        response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="lax", secure=secure(request))

    def expect(self, request: Request, response: Response, provider: str, state: str, nonce: str, flow: dict) -> None:
        """Remember a sign-in on its way to Slack or Microsoft, for this browser only."""
        browser = request.cookies.get(SIGN_IN_COOKIE)
        if not browser or len(browser) > 100:
            browser = secrets.token_urlsafe(32)
            response.set_cookie(
                SIGN_IN_COOKIE,
                browser,
                max_age=SIGN_IN_MINUTES * 60,
                httponly=True,
                samesite="lax",  # the provider's redirect back is a top-level GET: the cookie comes along
                secure=secure(request),
            )
        with self.db.transaction() as s:
            s.add(WebSignIn(state=state, browser=token_hash(browser), provider=provider, nonce=nonce, flow=flow))

    def redeem(self, request: Request, provider: str, state: object) -> WebSignIn | None:
        """The sign-in this answer belongs to, used up; None for a forged, replayed, late or
        other browser's `state`."""
        browser = request.cookies.get(SIGN_IN_COOKIE)
        if not (isinstance(state, str) and 0 < len(state) <= 64 and browser and len(browser) <= 100):
            return None
        cutoff = utcnow() - timedelta(minutes=SIGN_IN_MINUTES)
        with self.db.transaction() as s:
            found = s.get(WebSignIn, state)
            if found is None or found.provider != provider or found.browser != token_hash(browser):
                return None
            kept = WebSignIn(**found.model_dump())
            # One use, and only while fresh: of two answers racing with the same state, one deletes it.
            used = s.exec(delete(WebSignIn).where(WebSignIn.state == state, WebSignIn.created_at > cutoff))
            return kept if used.rowcount == 1 else None
