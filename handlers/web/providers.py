"""The identity providers people sign in with on the web, with the identity they have in chat.

- **Sign in with Slack**: OpenID Connect with the app's own client id and secret. slack_sdk builds
  the authorize URL and calls `openid.connect.token`; the id_token's signature is checked against
  Slack's published keys, and its audience, issuer, expiry and nonce against what we sent.
- **Microsoft**: msal's authorization-code flow with PKCE, with the bot registration of the
  person's own tenant (an Entra app that lists our redirect URL). msal checks state and nonce; we
  check the id_token's signature against the tenant's keys and that its tenant is that tenant.

Each provider's `start` gives the address to send the browser to and what the answer must match;
`finish` turns the answer into who signed in, or raises Refused with the text to show.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
import warnings
from dataclasses import dataclass
from urllib.parse import urljoin

import httpx
import jwt
import msal
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.oauth import OpenIDConnectAuthorizeUrlGenerator

log = logging.getLogger("wwidw.web")
SLACK_ISSUER = "https://slack.com"
SLACK_SCOPES = ["openid", "profile"]  # Sign in with Slack; handlers/slack/manifest.yaml lists them as user scopes


class Refused(Exception):
    """A sign-in that cannot go on; `key` names the text (locale section [signin]), `reason` is
    a short phrase for the log, never a token."""

    def __init__(self, key: str, reason: str):
        super().__init__(reason)
        self.key = key
        self.reason = reason


@dataclass(frozen=True)
class Who:
    platform: str  # slack | teams
    workspace: str  # the Slack team id or the Microsoft tenant id
    user_id: str  # the Slack user id or the Entra object id
    name: str
    chat_id: str | None  # their id in chat, when the provider says it (Slack: the same user id)


@dataclass(frozen=True)
class Start:
    url: str  # where the browser goes now
    state: str
    nonce: str
    flow: dict  # what `finish` needs back


class Keys(jwt.PyJWKClient):
    """PyJWT's key-set client (it caches, and fetches again for a key id it does not know), but
    fetching with our httpx client, which tests point at a fake."""

    def __init__(self, uri: str, http: httpx.Client):
        super().__init__(uri, lifespan=3600)
        self.http = http

    def fetch_data(self):
        try:
            response = self.http.get(self.uri, timeout=10)
            response.raise_for_status()
            jwk_set = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise jwt.PyJWKClientConnectionError(f"keys unavailable: {type(exc).__name__}") from None
        if self.jwk_set_cache is not None:
            self.jwk_set_cache.put(jwk_set)
        # As PyJWT's own fetch does: a made-up key id then cannot make us fetch again at once.
        self._last_successful_fetch = time.monotonic()
        return jwk_set


def verified(id_token: object, keys: Keys, audience: str, issuer: str) -> dict:
    """The claims of an id_token signed RS256 by one of `keys`, for `audience` from `issuer`, current."""
    if not isinstance(id_token, str) or not id_token:
        raise Refused("failed", "no id_token")
    try:
        key = keys.get_signing_key_from_jwt(id_token)
    except jwt.PyJWKClientConnectionError:
        raise Refused("unavailable", "signing keys unavailable") from None
    except jwt.PyJWTError as exc:
        raise Refused("failed", f"id_token refused: {type(exc).__name__}") from None
    try:
        return jwt.decode(
            id_token,
            key.key,
            algorithms=["RS256"],  # decided here, not by the token
            audience=audience,
            issuer=issuer,
            leeway=60,
            options={"require": ["exp", "iat", "iss", "aud", "sub"]},
        )
    except jwt.PyJWTError as exc:
        raise Refused("failed", f"id_token refused: {type(exc).__name__}") from None


def matches(claims: dict, nonce: str) -> bool:
    sent = claims.get("nonce")
    return isinstance(sent, str) and secrets.compare_digest(sent, nonce)


class SlackSignIn:
    provider = "slack"

    def __init__(self, settings):
        # Slack's OpenID pages sit beside its Web API: SLACK_API_URL moves them along with it.
        site = urljoin(settings.slack_api_url, "../")
        self.authorize_url = site + "openid/connect/authorize"
        self.keys = Keys(site + "openid/connect/keys", httpx.Client(timeout=10))
        self.client = WebClient(base_url=settings.slack_api_url, timeout=10)
        self.client_id = settings.slack_client_id
        self.client_secret = settings.slack_client_secret.get_secret_value()

    def start(self, redirect_uri: str) -> Start:
        state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        urls = OpenIDConnectAuthorizeUrlGenerator(
            client_id=self.client_id,
            redirect_uri=redirect_uri,
            scopes=SLACK_SCOPES,
            authorization_url=self.authorize_url,
        )
        return Start(urls.generate(state=state, nonce=nonce), state, nonce, {"redirect_uri": redirect_uri})

    def finish(self, nonce: str, flow: dict, answer: dict) -> Who:
        code = answer.get("code")
        if not isinstance(code, str) or not code or len(code) > 400:
            raise Refused("failed", "no code")
        try:
            tokens = self.client.openid_connect_token(
                client_id=self.client_id,
                client_secret=self.client_secret,
                code=code,
                redirect_uri=flow["redirect_uri"],
            )
        except SlackApiError as exc:
            # Slack down or busy: try again later; anything else: this answer is no good.
            key = "unavailable" if exc.response.status_code >= 500 or exc.response.status_code == 429 else "failed"
            raise Refused(
                key, f"openid.connect.token: {exc.response.status_code} {exc.response.get('error')}"
            ) from None
        except OSError as exc:  # Slack unreachable
            raise Refused("unavailable", f"openid.connect.token: {type(exc).__name__}") from None
        claims = verified(tokens.get("id_token"), self.keys, self.client_id, SLACK_ISSUER)
        if not matches(claims, nonce):
            raise Refused("failed", "nonce mismatch")
        team, user = claims.get("https://slack.com/team_id"), claims.get("https://slack.com/user_id")
        if not (isinstance(team, str) and team and isinstance(user, str) and user):
            raise Refused("failed", "no team or user in id_token")
        name = claims.get("name")
        return Who("slack", team, user, name if isinstance(name, str) else "", chat_id=user)


class MicrosoftSignIn:
    provider = "microsoft"

    def __init__(self, settings, registrations):
        self.host = settings.teams_authority_host.rstrip("/")
        self.registrations = registrations
        # msal's HTTP client (tests: the fake login service); the tenants' keys come through it too.
        self.http = registrations.token_http_client or httpx.Client(timeout=10)
        self._lock = threading.Lock()
        self._apps: dict[tuple[str, str], msal.ConfidentialClientApplication] = {}
        self._keys: dict[str, Keys] = {}

    def tenants(self) -> list[str]:
        """The tenants people can sign in from: those with a bot registration of their own."""
        return [r.tenant_id for r in self.registrations.all() if r.tenant_id]

    def _registration(self, tenant: object):
        wanted = tenant.casefold() if isinstance(tenant, str) else None
        return next((r for r in self.registrations.all() if r.tenant_id and r.tenant_id.casefold() == wanted), None)

    def _app(self, registration) -> msal.ConfidentialClientApplication:
        key = (registration.app_id, registration.secret)
        with self._lock:
            if key not in self._apps:
                self._apps[key] = msal.ConfidentialClientApplication(
                    registration.app_id,
                    client_credential=registration.secret,
                    authority=f"{self.host}/{registration.tenant_id}",
                    http_client=self.registrations.token_http_client,
                    instance_discovery=False,
                )
            return self._apps[key]

    def _tenant_keys(self, tenant: str) -> Keys:
        with self._lock:
            if tenant not in self._keys:
                self._keys[tenant] = Keys(f"{self.host}/{tenant}/discovery/v2.0/keys", self.http)
            return self._keys[tenant]

    def start(self, redirect_uri: str, tenant: object) -> Start:
        registration = self._registration(tenant)
        if registration is None:
            raise Refused("no_tenant", "no registration for that tenant")
        try:
            # The code comes back in the query, as Slack's does: one use, bound to this browser and
            # to the PKCE verifier, and the answer page moves on at once without a Referer.
            # (form_post would need a SameSite=None cookie to tie the answer to the browser.)
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", "response_mode='form_post' is recommended", UserWarning)
                flow = self._app(registration).initiate_auth_code_flow(
                    scopes=[], redirect_uri=redirect_uri, response_mode="query"
                )
        except (ValueError, httpx.HTTPError) as exc:  # the tenant's discovery failed
            raise Refused("unavailable", f"auth code flow: {type(exc).__name__}") from None
        return Start(flow["auth_uri"], flow["state"], flow["nonce"], {"tenant": registration.tenant_id, "msal": flow})

    def finish(self, nonce: str, flow: dict, answer: dict) -> Who:
        registration = self._registration(flow.get("tenant"))
        if registration is None:
            raise Refused("no_tenant", "registration removed during sign-in")
        try:  # msal checks the state and the id_token's nonce, audience and expiry
            result = self._app(registration).acquire_token_by_auth_code_flow(flow["msal"], answer)
        except (ValueError, RuntimeError) as exc:
            raise Refused("failed", f"auth code flow: {type(exc).__name__}") from None
        except httpx.HTTPError as exc:
            raise Refused("unavailable", f"auth code flow: {type(exc).__name__}") from None
        if "error" in result:
            raise Refused("cancelled" if result["error"] == "access_denied" else "failed", f"{result['error']}")
        tenant = registration.tenant_id
        claims = verified(result.get("id_token"), self._tenant_keys(tenant), registration.app_id, self._issuer(tenant))
        if str(claims.get("tid", "")).casefold() != tenant.casefold():
            raise Refused("failed", "id_token of another tenant")
        oid = claims.get("oid")
        if not isinstance(oid, str) or not oid:
            raise Refused("failed", "no oid in id_token")
        name = claims.get("name")
        return Who("teams", tenant, oid, name if isinstance(name, str) else "", chat_id=None)

    def _issuer(self, tenant: str) -> str:
        return f"{self.host}/{tenant}/v2.0"
