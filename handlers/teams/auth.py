"""Verify that a request to `POST /api/messages` really comes from the Bot Framework for this bot.

The channel sends `Authorization: Bearer <jwt>`. The token is valid when it is signed RS256 by a key
in the JWKS named by the OpenID metadata document, its issuer is `https://api.botframework.com`,
its audience is one of our bots' app ids, it is current (`exp`, and `nbf` if present, with 5 minutes leeway) and
its `serviceurl` claim is the activity's `serviceUrl`.

Statuses of `AuthError`:

- 401: no token, not a Bearer token, malformed, an algorithm other than RS256, a key id not in the
  JWKS, a bad signature, a missing claim, the wrong issuer, expired or not yet valid, and
  "keys unavailable" (the metadata or JWKS could not be fetched and no usable key is cached).
  In short: we cannot trust this token at all.
- 403: a genuine, current Bot Framework token that is not meant for this request: another bot's
  audience, or a `serviceurl` claim that is missing or differs from the activity's `serviceUrl`
  (someone replaying a real token to make us talk to another endpoint).

`reason` is a fixed short phrase, safe to log; tokens are never logged nor put in errors.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import httpx
import jwt

log = logging.getLogger("wwidw.teams")

ISSUER = "https://api.botframework.com"
METADATA_URL = "https://login.botframework.com/v1/.well-known/openidconfiguration"


# What a token's fault is called in the log, most specific first; the answer is 401, or 403 for a
# token meant for another app.
TOKEN_FAULTS = [
    (jwt.ExpiredSignatureError, 401, "token expired"),
    (jwt.ImmatureSignatureError, 401, "token not yet valid"),
    (jwt.InvalidAudienceError, 403, "wrong audience"),
    (jwt.InvalidIssuerError, 401, "wrong issuer"),
    (jwt.MissingRequiredClaimError, 401, "missing claim"),
    (jwt.InvalidSignatureError, 401, "bad signature"),
    (jwt.PyJWTError, 401, "invalid token"),
]


class AuthError(Exception):
    """A refused request: `status` is the HTTP status to answer, `reason` a short phrase safe to log."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


class BotFrameworkAuth:
    """Checks inbound Bot Framework tokens; one instance per app, shared by all worker threads."""

    # Refreshes caused by a key id we do not know, at most this often (seconds): anyone can send
    # a token with a made-up `kid`, and must not be able to make us hammer Microsoft's endpoint.
    min_refresh = 60.0
    # After a failed fetch, no new attempt for this long (seconds), for the same reason; requests
    # meanwhile use the keys we still have, or get "keys unavailable".
    retry_after = 10.0

    def __init__(
        self,
        app_id: str | Callable[[str], bool],
        metadata_url: str = METADATA_URL,
        http: httpx.Client | None = None,
        leeway: int = 300,
        refresh_every: float = 24 * 3600,
        issuer: str = ISSUER,
    ):
        # Whose tokens these are: one app id, or a test of the audience (a deployment of many bots).
        self.accepts = app_id if callable(app_id) else app_id.__eq__
        self.metadata_url = metadata_url
        self.issuer = issuer  # sovereign clouds have their own (e.g. https://api.botframework.us)
        self._own_http = http is None
        self.http = http or httpx.Client(timeout=10)
        self.leeway = leeway
        self.refresh_every = refresh_every
        self._lock = threading.Lock()
        # (moment of the last successful fetch, kid -> public key), replaced as a whole so that
        # readers outside the lock always see a consistent pair.
        self._cache: tuple[float, dict] = (float("-inf"), {})
        self._missed_at = float("-inf")
        self._failed_at = float("-inf")
        self._endorsements: dict[str, frozenset] = {}  # kid -> the channels its key may sign for

    def close(self) -> None:
        if self._own_http:
            self.http.close()

    def verify(self, authorization: str | None, service_url: str | None, channel_id: str | None = None) -> dict:
        """The token's claims when `authorization` ("Bearer <jwt>") is a valid Bot Framework token for
        this bot and this activity's serviceUrl (and, given `channel_id`, signed by a key endorsed for
        that channel); raises AuthError otherwise."""
        scheme, _, token = (authorization or "").strip().partition(" ")
        token = token.strip()
        if not scheme:
            raise AuthError(401, "missing token")
        if scheme.lower() != "bearer":  # auth schemes are case-insensitive (RFC 7235)
            raise AuthError(401, "not a bearer token")
        if not token:
            raise AuthError(401, "missing token")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise AuthError(401, "malformed token") from None
        # Decided here, not by the token: `none` and HS256 (with our public key as the "secret")
        # are the classic forgeries. We never follow `jku`/`x5u` headers either.
        if header.get("alg") != "RS256":
            raise AuthError(401, "algorithm not allowed")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise AuthError(401, "no key id")
        key = self._key(kid)
        endorsed = self._endorsements.get(kid)
        if channel_id is not None and endorsed is not None and channel_id not in endorsed:
            raise AuthError(403, "key not endorsed for the channel")
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=["RS256"],
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": ["exp", "iss", "aud"], "verify_aud": False},  # checked below
            )
        except jwt.PyJWTError as e:
            status, reason = next((s, r) for kind, s, r in TOKEN_FAULTS if isinstance(e, kind))
            raise AuthError(status, reason) from None
        audience = claims.get("aud")
        if not (isinstance(audience, str) and self.accepts(audience)):
            raise AuthError(403, "wrong audience")
        # The token is bound to one channel endpoint; replies go to the activity's serviceUrl, so
        # a real token must not carry an activity that points somewhere else.
        claim = claims.get("serviceurl")
        if (
            not isinstance(claim, str)
            or not isinstance(service_url, str)
            or claim.rstrip("/") != service_url.rstrip("/")
        ):
            raise AuthError(403, "serviceUrl mismatch")
        return claims

    # --- keys --------------------------------------------------------------------------

    def _key(self, kid: str):
        loaded_at, keys = self._cache
        if kid in keys and time.monotonic() - loaded_at < self.refresh_every:
            return keys[kid]  # the common case, without waiting for the lock
        with self._lock:
            # Another thread may have refreshed while we waited: decide again on what is there now.
            now = time.monotonic()
            loaded_at, keys = self._cache
            due = now - loaded_at >= self.refresh_every
            miss = kid not in keys and now - self._missed_at >= self.min_refresh
            if (due or miss) and now - self._failed_at >= self.retry_after:
                if not due:
                    self._missed_at = now
                keys = self._refresh(now)
            if kid in keys:
                return keys[kid]
            raise AuthError(401, "unknown key" if keys else "keys unavailable")

    def _refresh(self, now: float) -> dict:
        """Fetch metadata and JWKS; on failure keep the keys we had (they rarely change)."""
        try:
            keys = self._fetch()
        except (httpx.HTTPError, ValueError, TypeError, KeyError) as exc:
            self._failed_at = now
            detail = str(exc).partition("\n")[0]  # httpx adds a documentation link on a second line
            log.warning(
                "Bot Framework signing keys unavailable from %s: %s: %s", self.metadata_url, type(exc).__name__, detail
            )
            return self._cache[1]
        self._cache = (now, keys)
        log.info("Bot Framework signing keys loaded: %d", len(keys))
        return keys

    def _fetch(self) -> dict:
        metadata = self._get_json(self.metadata_url)
        jwks_uri = metadata.get("jwks_uri") if isinstance(metadata, dict) else None
        if not isinstance(jwks_uri, str):
            raise ValueError("metadata has no jwks_uri")
        jwks = self._get_json(jwks_uri)
        found = jwks.get("keys") if isinstance(jwks, dict) else None
        if not isinstance(found, list):
            raise ValueError("JWKS has no key list")
        keys, endorsements = {}, {}
        for jwk in found:
            if not isinstance(jwk, dict) or jwk.get("kty") != "RSA" or jwk.get("use", "sig") != "sig":
                continue
            if not isinstance(jwk.get("kid"), str):
                continue
            try:
                keys[jwk["kid"]] = jwt.PyJWK(jwk, algorithm="RS256").key
            except (jwt.PyJWTError, ValueError, TypeError, KeyError):
                continue  # one odd key must not cost us the others
            if isinstance(jwk.get("endorsements"), list):  # the channels (msteams, webchat…) it signs for
                endorsements[jwk["kid"]] = frozenset(e for e in jwk["endorsements"] if isinstance(e, str))
        if not keys:
            raise ValueError("JWKS has no usable RSA signing key")
        self._endorsements = {**self._endorsements, **endorsements}
        return keys

    def _get_json(self, url: str):
        response = self.http.get(url)
        response.raise_for_status()
        return response.json()
