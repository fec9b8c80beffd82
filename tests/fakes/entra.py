"""A fake Microsoft identity platform (Entra ID) for msal's client-credentials flow.

msal only talks to https authorities, so this fake is an `httpx.MockTransport` handler, handed to
msal as its `http_client` (an httpx.Client has the .get/.post msal needs). With
`instance_discovery=False` msal 1.x makes exactly two kinds of request, and this fake answers
them in the real wire format:

- `GET {host}/{tenant}/v2.0/.well-known/openid-configuration` once per app object (tenant
  discovery, msal.authority.tenant_discovery); the token endpoint it names carries the tenant's
  GUID, as the real one does;
- `POST {host}/{tenant GUID}/oauth2/v2.0/token`, a form with grant_type=client_credentials,
  client_id, client_secret and scope (msal puts the secret in the body, not in Basic auth).

Anything else is answered 404 and noted in `unexpected`, so a test sees msal wandering off
(instance discovery, region detection).

Signing in on the web (the authorization-code flow with PKCE): `authorize(url)` is the sign-in
page a browser is sent to, answered at once as `signing_in` (an account of one tenant); the
token endpoint takes the code once, checks the PKCE verifier and the redirect URI, and returns an
id_token signed with a key from `{host}/{tenant}/discovery/v2.0/keys`. `id_token_changes` and
`forge` make a bad one.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import secrets
import threading
import time
import uuid
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

import httpx

from tests.fakes.signer import Signer

HOST = "https://login.microsoftonline.com"
BOTFRAMEWORK_TENANT = "d6d49420-f39b-4df7-a1dc-d59a935871db"  # the GUID behind "botframework.com"
SCOPE = "https://api.botframework.com/.default"


class FakeEntra:
    def __init__(self, client_id: str, client_secret: str, tenant: str = "botframework.com", host: str = HOST):
        self.client_id = client_id
        self.client_secret = client_secret
        self.host = host.rstrip("/")
        self.tenant = tenant
        self.tenant_guid = tenant_guid(tenant)
        self.scope = SCOPE
        self.expires_in = 3599
        # Every app this fake knows: client id -> (secret, tenant). One deployment may hold the bots
        # of many tenants, each registered in its own tenant.
        self.apps: dict[str, tuple[str, str]] = {client_id: (client_secret, tenant)}
        self.issued: list[str] = []  # every access token handed out, oldest first
        self.issued_to: dict[str, str] = {}  # access token -> the client id it was issued to
        self.token_requests = 0  # POSTs to the token endpoint, refused ones included
        self.discovery_requests = 0
        self.unexpected: list[str] = []
        # Web sign-in: the account signed in to Microsoft in the browser ({"oid", "name", "tenant"}),
        # or None (the person cancels).
        self.signing_in: dict | None = None
        self.signer = Signer()
        self.codes: dict[str, dict] = {}  # unused authorization codes -> what they were given for
        self.id_token_changes: dict = {}
        self.forge = False
        self._seq = itertools.count(1)
        self._lock = threading.Lock()

    # --- for msal ----------------------------------------------------------------------------

    def client(self) -> httpx.Client:
        """An httpx client to pass to msal as `http_client`."""
        return httpx.Client(transport=httpx.MockTransport(self.handler))

    def handler(self, request: httpx.Request) -> httpx.Response:
        url = urlsplit(str(request.url))
        origin = f"{url.scheme}://{url.netloc}"
        parts = [unquote(p) for p in url.path.strip("/").split("/")]
        if origin == self.host and len(parts) == 4 and parts[1:] == ["v2.0", ".well-known", "openid-configuration"]:
            if request.method == "GET":
                return self.discovery(parts[0])
        if origin == self.host and len(parts) == 4 and parts[1:] == ["oauth2", "v2.0", "token"]:
            if request.method == "POST":
                return self.token(parts[0], request)
        if origin == self.host and len(parts) == 4 and parts[1:] == ["discovery", "v2.0", "keys"]:
            return httpx.Response(200, json=self.signer.jwks())
        if origin == self.host and len(parts) == 4 and parts[1:] == ["oauth2", "v2.0", "authorize"]:
            return httpx.Response(302, headers={"Location": self.authorize(str(request.url))})
        with self._lock:
            self.unexpected.append(f"{request.method} {request.url}")
        return error(404, "invalid_request", f"AADSTS90000: no such endpoint {url.path}")

    def add_app(self, client_id: str, client_secret: str, tenant: str) -> None:
        """Another organisation's bot, registered in its own tenant."""
        with self._lock:
            self.apps[client_id] = (client_secret, tenant)

    def known(self, tenant: str) -> bool:
        return any(tenant.lower() in {t.lower(), tenant_guid(t)} for _, t in self.apps.values())

    def discovery(self, tenant: str) -> httpx.Response:
        with self._lock:
            self.discovery_requests += 1
        if not self.known(tenant):
            return error(400, "invalid_tenant", f"AADSTS90002: Tenant '{tenant}' not found.")
        guid = tenant_guid(tenant)
        base = f"{self.host}/{guid}"
        config = {
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "jwks_uri": f"{self.host}/{guid}/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": f"https://login.microsoftonline.com/{guid}/v2.0",
            "request_uri_parameter_supported": False,
            "userinfo_endpoint": "https://graph.microsoft.com/oidc/userinfo",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
            "http_logout_supported": True,
            "frontchannel_logout_supported": True,
            "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nbf", "tid", "ver"],
            "kerberos_endpoint": f"{base}/kerberos",
            "tenant_region_scope": "EU",
            "cloud_instance_name": "microsoftonline.com",
            "cloud_graph_host_name": "graph.windows.net",
            "msgraph_host": "graph.microsoft.com",
            "rbac_url": "https://pas.windows.net",
        }
        return httpx.Response(200, json=config)

    def token(self, tenant: str, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.token_requests += 1
        if not self.known(tenant):
            return error(400, "invalid_tenant", f"AADSTS90002: Tenant '{tenant}' not found.")
        form = dict(parse_qsl(request.content.decode()))
        basic = request.headers.get("Authorization", "")
        if basic.startswith("Basic "):  # client_secret_basic: the other way OAuth allows
            user, _, password = base64.b64decode(basic[6:]).decode().partition(":")
            form.setdefault("client_id", unquote(user.replace("+", " ")))
            form.setdefault("client_secret", unquote(password.replace("+", " ")))
        if form.get("grant_type") == "authorization_code":
            return self.redeem(tenant, form)
        if form.get("grant_type") != "client_credentials":
            return error(400, "unsupported_grant_type", "AADSTS70003: The app requested an unsupported grant type.")
        client_id = form.get("client_id")
        secret, home = self.apps.get(client_id, (None, None))
        if home is None or tenant_guid(home) != tenant_guid(tenant):
            return error(
                400,
                "unauthorized_client",
                f"AADSTS700016: Application with identifier '{form.get('client_id')}' was not found.",
            )
        if form.get("client_secret") != secret:
            return error(
                401,
                "invalid_client",
                "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request "
                f"is the client secret value, not the client secret ID, for a secret added to app '{client_id}'.",
            )
        if form.get("scope", "").split() != [self.scope]:
            return error(400, "invalid_scope", f"AADSTS1002012: The provided value for scope {form.get('scope')}")
        access = f"eyJ0eXAiOiJKV1QifQ.fake-{next(self._seq)}-{secrets.token_urlsafe(24)}"
        with self._lock:
            self.issued.append(access)
            self.issued_to[access] = client_id
        answer = {"token_type": "Bearer", "expires_in": self.expires_in, "ext_expires_in": self.expires_in}
        return httpx.Response(200, json={**answer, "access_token": access})

    # --- web sign-in ---------------------------------------------------------------------------

    def authorize(self, url: str) -> str:
        """The sign-in page at `url` (msal's auth_uri): where it sends the browser back to."""
        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query))
        tenant = parts.path.strip("/").split("/")[0]
        back = query.get("redirect_uri", "")
        secret_and_home = self.apps.get(query.get("client_id", ""))
        assert secret_and_home and tenant_guid(secret_and_home[1]) == tenant_guid(tenant), "unknown app or tenant"
        assert query.get("response_type") == "code" and query.get("code_challenge_method") == "S256", query
        if self.signing_in is None:
            answer = {"error": "access_denied", "error_description": "AADSTS65004: User declined to consent."}
        else:
            code = f"0.A{secrets.token_urlsafe(24)}"
            with self._lock:
                self.codes[code] = {**query, "tenant": tenant_guid(tenant), "account": dict(self.signing_in)}
            answer = {"code": code, "session_state": str(uuid.uuid4())}
        return f"{back}?{urlencode({**answer, 'state': query.get('state', '')})}"

    def redeem(self, tenant: str, form: dict) -> httpx.Response:
        with self._lock:
            given = self.codes.pop(form.get("code", ""), None)  # a code works once
        if given is None or given["tenant"] != tenant_guid(tenant):
            return error(400, "invalid_grant", "AADSTS70008: The provided authorization code is expired or used.")
        secret, _ = self.apps.get(form.get("client_id", ""), (None, None))
        if form.get("client_id") != given["client_id"] or form.get("client_secret") != secret:
            return error(401, "invalid_client", "AADSTS7000215: Invalid client secret provided.")
        if form.get("redirect_uri") != given["redirect_uri"]:
            return error(400, "invalid_grant", "AADSTS50148: The redirect_uri does not match.")
        verifier = form.get("code_verifier", "")
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if challenge != given.get("code_challenge"):
            return error(400, "invalid_grant", "AADSTS501481: The Code_Verifier does not match the code_challenge.")
        account, now = given["account"], int(time.time())
        home = tenant_guid(account["tenant"])
        claims = {
            "aud": given["client_id"],
            "iss": f"{self.host}/{home}/v2.0",
            "iat": now,
            "nbf": now,
            "exp": now + 3600,
            "name": account["name"],
            "oid": account["oid"],
            "preferred_username": account.get("email", f"{account['oid'][:8]}@example.org"),
            "sub": hashlib.sha256(account["oid"].encode()).hexdigest()[:43],
            "tid": home,
            "ver": "2.0",
            **({"nonce": given["nonce"]} if given.get("nonce") else {}),
            **self.id_token_changes,
        }
        client_info = base64.urlsafe_b64encode(json.dumps({"uid": account["oid"], "utid": home}).encode()).decode()
        return httpx.Response(
            200,
            json={
                "token_type": "Bearer",
                "scope": "openid profile email",
                "expires_in": 3599,
                "access_token": f"eyJ0eXAiOiJKV1QifQ.graph-{secrets.token_urlsafe(16)}",
                "id_token": self.signer.sign(claims, forged=self.forge),
                "client_info": client_info,
            },
        )

    # --- for the fake connector --------------------------------------------------------------

    def valid(self, token: str) -> bool:
        with self._lock:
            return token in self.issued


def tenant_guid(tenant: str) -> str:
    if tenant.lower() == "botframework.com":
        return BOTFRAMEWORK_TENANT
    try:
        return str(uuid.UUID(tenant))
    except ValueError:
        return str(uuid.uuid5(uuid.NAMESPACE_DNS, tenant.lower()))


def error(status: int, code: str, description: str) -> httpx.Response:
    """An OAuth 2 error in Entra's shape."""
    body = {
        "error": code,
        "error_description": f"{description}\r\nTrace ID: {uuid.uuid4()}\r\nCorrelation ID: {uuid.uuid4()}",
        "error_codes": [int(description[6:].split(":")[0])] if description.startswith("AADSTS") else [],
        "timestamp": "2026-01-01 00:00:00Z",
        "trace_id": str(uuid.uuid4()),
        "correlation_id": str(uuid.uuid4()),
    }
    return httpx.Response(status, content=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
