"""A fake Bot Framework identity provider: a real local HTTP server that serves the OpenID metadata and
the signing keys (JWKS) like login.botframework.com, holds test RSA keys and mints tokens with them,
so tests check our token verification over real HTTP.

It counts how often metadata and JWKS were fetched, can rotate keys, sign with keys it does not
publish, and be told to answer an error or garbage.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from urllib.parse import urlsplit

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from tests.fakes.local_server import LocalServer

ISSUER = "https://api.botframework.com"
METADATA_PATH = "/v1/.well-known/openidconfiguration"
JWKS_PATH = "/v1/keys"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class FakeIdentity:
    def __init__(self):
        self._lock = threading.Lock()
        self.keys: dict[str, rsa.RSAPrivateKey] = {}  # every key the fake can sign with
        self.published: list[str] = []  # the key ids listed in the JWKS
        self.metadata_fetches = 0
        self.jwks_fetches = 0
        self.broken: dict[str, tuple[int, bytes]] = {}  # path -> (status, body) answered instead
        self.endorsements: dict[str, list[str]] = {}
        self.kid = self.rotate()
        self.http = LocalServer(lambda method, path, headers, raw: self.respond(path))
        self.url = self.http.url

    def stop(self):
        self.http.stop()

    @property
    def metadata_url(self) -> str:
        return self.url + METADATA_PATH

    @property
    def jwks_url(self) -> str:
        return self.url + JWKS_PATH

    # --- keys ----------------------------------------------------------------------------

    def add_key(self, publish: bool = True, endorsements: tuple[str, ...] = ("msteams", "webchat")) -> str:
        """A new RSA key, endorsed for these channels; unpublished keys sign tokens the JWKS cannot vouch for."""
        kid = uuid.uuid4().hex
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        with self._lock:
            self.keys[kid] = key
            self.endorsements[kid] = list(endorsements)
            if publish:
                self.published.append(kid)
        return kid

    def rotate(self) -> str:
        """Publish a new key and sign with it from now on (the old keys stay published)."""
        self.kid = self.add_key()
        return self.kid

    def unpublish(self, kid: str) -> None:
        with self._lock:
            self.published.remove(kid)

    def public_pem(self, kid: str | None = None) -> bytes:
        return (
            self.keys[kid or self.kid]
            .public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        )

    def jwk(self, kid: str) -> dict:
        # Like login.botframework.com: no "alg", but "use" and the channels that may use the key.
        jwk = RSAAlgorithm.to_jwk(self.keys[kid].public_key(), as_dict=True)
        return {**jwk, "kid": kid, "use": "sig", "endorsements": self.endorsements[kid]}

    # --- server --------------------------------------------------------------------------

    def fail(self, which: str, status: int = 500, body: bytes = b'{"error": "oops"}') -> None:
        """Answer `which` ("metadata" or "jwks") with this status and body until `repair()`."""
        self.broken[METADATA_PATH if which == "metadata" else JWKS_PATH] = (status, body)

    def repair(self) -> None:
        self.broken.clear()

    def respond(self, path: str) -> tuple[int, dict, bytes]:
        status, body = self.answer(urlsplit(path).path)
        return status, {"Content-Type": "application/json"}, body

    def answer(self, path: str) -> tuple[int, bytes]:
        with self._lock:
            if path == METADATA_PATH:
                self.metadata_fetches += 1
                body = {
                    "issuer": ISSUER,
                    "authorization_endpoint": "https://invalid.botframework.com",
                    "jwks_uri": self.jwks_url,
                    "id_token_signing_alg_values_supported": ["RS256"],
                    "token_endpoint_auth_methods_supported": ["private_key_jwt"],
                }
            elif path == JWKS_PATH:
                self.jwks_fetches += 1
                body = {"keys": [self.jwk(kid) for kid in self.published]}
            else:
                return 404, b'{"error": "not found"}'
            if path in self.broken:
                return self.broken[path]
        return 200, json.dumps(body).encode()

    # --- tokens --------------------------------------------------------------------------

    def token(
        self,
        app_id: str,
        service_url: str | None,
        *,
        issuer: str = ISSUER,
        expires_in: int = 3600,
        not_before: int | None = None,
        kid: str | None = None,
        key=None,
        alg: str = "RS256",
        extra_claims: dict | None = None,
    ) -> str:
        """A token like the Bot Framework channel sends. `expires_in` and `not_before` are seconds from
        now; `kid` defaults to the current key, `key` to that kid's private key (for HS* algorithms,
        to its public key in PEM: the key confusion attack). An `extra_claims` value None drops that claim."""
        now = int(time.time())
        claims = {"serviceurl": service_url, "iss": issuer, "aud": app_id, "exp": now + expires_in}
        if not_before is not None:
            claims["nbf"] = now + not_before
        claims.update(extra_claims or {})
        claims = {k: v for k, v in claims.items() if v is not None}
        kid = kid or self.kid
        if alg[:2] in ("RS", "PS"):
            return jwt.encode(claims, key or self.keys[kid], algorithm=alg, headers={"kid": kid})
        # Built by hand: PyJWT rightly refuses to sign HS256 with a public key, which is just the
        # forgery an attacker would try.
        header = {"alg": alg, "typ": "JWT", "kid": kid}
        signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
        if alg == "none":
            return signing_input + "."
        digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}[alg]
        secret = key if isinstance(key, bytes) else self.public_pem(kid)
        return f"{signing_input}.{_b64(hmac.new(secret, signing_input.encode(), digest).digest())}"
