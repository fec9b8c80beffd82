"""An identity provider's signing keys, for the fakes that issue OpenID Connect id_tokens
(Slack, Microsoft): one published key, and one it can sign with but never published (a forgery)."""

from __future__ import annotations

import secrets
from functools import cache

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm


@cache
def keys() -> tuple[rsa.RSAPrivateKey, rsa.RSAPrivateKey]:
    """Made once per test run: a new RSA key takes a tenth of a second, and every fake has two."""
    return tuple(rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(2))


class Signer:
    def __init__(self):
        self.kid = f"key-{secrets.token_hex(4)}"
        self.key, self.unpublished = keys()

    def jwks(self) -> dict:
        jwk = RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        return {"keys": [{**jwk, "kid": self.kid, "use": "sig", "alg": "RS256"}]}

    def sign(self, claims: dict, forged: bool = False) -> str:
        """RS256 with the published key, or (forged) with a key of the same id that is not it."""
        return jwt.encode(
            claims, self.unpublished if forged else self.key, algorithm="RS256", headers={"kid": self.kid}
        )
