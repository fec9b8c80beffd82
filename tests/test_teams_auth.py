"""Inbound Bot Framework token verification, against a fake identity provider over real HTTP."""

from __future__ import annotations

import socket
import threading
import time

import httpx
import pytest

from handlers.teams.auth import AuthError, BotFrameworkAuth
from tests.fakes.teams_identity import FakeIdentity

APP_ID = "0b7c5b1e-7f0a-4c1e-9d35-3d4f1a2b3c4d"
SERVICE = "https://smba.trafficmanager.net/emea/"


@pytest.fixture
def idp():
    fake = FakeIdentity()
    yield fake
    fake.stop()


@pytest.fixture
def http():
    with httpx.Client(timeout=5) as client:
        yield client


@pytest.fixture
def auth(idp, http):
    return BotFrameworkAuth(APP_ID, idp.metadata_url, http=http)


def refused(auth: BotFrameworkAuth, authorization: str | None, service_url: str | None = SERVICE) -> AuthError:
    with pytest.raises(AuthError) as info:
        auth.verify(authorization, service_url)
    return info.value


def test_a_valid_token_gives_its_claims_and_keys_are_fetched_once(idp, auth):
    claims = auth.verify("Bearer " + idp.token(APP_ID, SERVICE), SERVICE)
    assert claims["aud"] == APP_ID and claims["serviceurl"] == SERVICE
    assert claims["iss"] == "https://api.botframework.com"
    auth.verify("bearer " + idp.token(APP_ID, SERVICE), SERVICE)  # the scheme is case-insensitive
    assert (idp.metadata_fetches, idp.jwks_fetches) == (1, 1)


def test_expiry_has_five_minutes_leeway(idp, auth):
    error = refused(auth, "Bearer " + idp.token(APP_ID, SERVICE, expires_in=-360))
    assert (error.status, error.reason) == (401, "token expired")
    assert auth.verify("Bearer " + idp.token(APP_ID, SERVICE, expires_in=-240), SERVICE)


def test_a_token_not_yet_valid_is_refused_beyond_the_leeway(idp, auth):
    error = refused(auth, "Bearer " + idp.token(APP_ID, SERVICE, not_before=360))
    assert (error.status, error.reason) == (401, "token not yet valid")
    assert auth.verify("Bearer " + idp.token(APP_ID, SERVICE, not_before=240), SERVICE)


def test_another_bots_token_is_forbidden(idp, auth):
    error = refused(auth, "Bearer " + idp.token("another-app", SERVICE))
    assert (error.status, error.reason) == (403, "wrong audience")


def test_the_issuer_must_be_the_bot_framework(idp, auth):
    error = refused(auth, "Bearer " + idp.token(APP_ID, SERVICE, issuer="https://sts.windows.net/tenant/"))
    assert (error.status, error.reason) == (401, "wrong issuer")
    error = refused(auth, "Bearer " + idp.token(APP_ID, SERVICE, extra_claims={"iss": None}))
    assert (error.status, error.reason) == (401, "missing claim")


def test_an_unknown_key_is_refused_and_refetches_the_keys_at_most_once_a_minute(idp, auth):
    auth.verify("Bearer " + idp.token(APP_ID, SERVICE), SERVICE)
    stray = idp.add_key(publish=False)
    for _ in range(5):
        error = refused(auth, "Bearer " + idp.token(APP_ID, SERVICE, kid=stray))
        assert (error.status, error.reason) == (401, "unknown key")
    assert idp.jwks_fetches == 2  # the first load, and one refresh for the unknown kid


def test_a_known_kid_with_another_key_has_a_bad_signature(idp, auth):
    stray = idp.keys[idp.add_key(publish=False)]
    error = refused(auth, "Bearer " + idp.token(APP_ID, SERVICE, key=stray))
    assert (error.status, error.reason) == (401, "bad signature")


def test_a_newly_published_key_is_accepted_after_one_refresh(idp, auth):
    old = idp.kid
    auth.verify("Bearer " + idp.token(APP_ID, SERVICE), SERVICE)
    idp.rotate()
    assert auth.verify("Bearer " + idp.token(APP_ID, SERVICE), SERVICE)
    assert auth.verify("Bearer " + idp.token(APP_ID, SERVICE, kid=old), SERVICE)  # still published
    assert idp.jwks_fetches == 2


def test_threads_share_one_refresh(idp, auth):
    auth.verify("Bearer " + idp.token(APP_ID, SERVICE), SERVICE)
    idp.rotate()
    token = idp.token(APP_ID, SERVICE)
    barrier, results = threading.Barrier(8), []

    def check():
        barrier.wait()
        results.append(auth.verify("Bearer " + token, SERVICE)["aud"])

    threads = [threading.Thread(target=check) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [APP_ID] * 8
    assert idp.jwks_fetches == 2


def test_keys_are_refreshed_on_schedule_and_kept_when_that_fails(idp, http, caplog):
    auth = BotFrameworkAuth(APP_ID, idp.metadata_url, http=http, refresh_every=0.2)
    token = "Bearer " + idp.token(APP_ID, SERVICE)
    auth.verify(token, SERVICE)
    time.sleep(0.25)
    auth.verify(token, SERVICE)
    assert (idp.metadata_fetches, idp.jwks_fetches) == (2, 2)
    time.sleep(0.25)
    idp.fail("jwks", 500)
    assert auth.verify(token, SERVICE)  # the keys we had still serve
    assert idp.jwks_fetches == 3
    assert "signing keys unavailable" in caplog.text


def test_the_service_url_must_match_the_activity(idp, auth):
    token = "Bearer " + idp.token(APP_ID, SERVICE)
    for other in ("https://evil.example/", "https://SMBA.trafficmanager.net/emea/", None, "", ["x"], 42):
        error = refused(auth, token, other)
        assert (error.status, error.reason) == (403, "serviceUrl mismatch")
    error = refused(auth, "Bearer " + idp.token(APP_ID, None))
    assert (error.status, error.reason) == (403, "serviceUrl mismatch")


def test_a_trailing_slash_does_not_matter(idp, auth):
    assert auth.verify("Bearer " + idp.token(APP_ID, SERVICE), SERVICE.rstrip("/"))
    assert auth.verify("Bearer " + idp.token(APP_ID, SERVICE.rstrip("/")), SERVICE)


@pytest.mark.parametrize(
    ("authorization", "reason"),
    [
        (None, "missing token"),
        ("", "missing token"),
        ("Bearer ", "missing token"),
        ("Basic dXNlcjpwYXNzd29yZA==", "not a bearer token"),
        ("Bearer not-a-jwt", "malformed token"),
        ("Bearer abc.def.ghi", "malformed token"),
        ("Bearer eyJhbGciOiJSUzI1NiJ9.e30.c2ln", "no key id"),
    ],
)
def test_missing_and_garbage_headers_are_refused_without_fetching_keys(idp, auth, authorization, reason):
    error = refused(auth, authorization)
    assert (error.status, error.reason) == (401, reason)
    assert idp.metadata_fetches == 0


@pytest.mark.parametrize("alg", ["none", "HS256", "HS512", "RS512", "PS256"])
def test_only_rs256_is_accepted_whatever_the_header_asks(idp, auth, alg):
    # For HS*, the fake signs with the published public key (PEM) as the HMAC secret: the
    # classic key confusion attack.
    error = refused(auth, "Bearer " + idp.token(APP_ID, SERVICE, alg=alg))
    assert (error.status, error.reason) == (401, "algorithm not allowed")


def test_a_stripped_signature_is_refused(idp, auth):
    head, body, _ = idp.token(APP_ID, SERVICE).split(".")
    error = refused(auth, f"Bearer {head}.{body}.")
    assert error.status == 401


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_metadata_server_down_is_an_auth_error(idp, http, caplog):
    auth = BotFrameworkAuth(APP_ID, f"http://127.0.0.1:{free_port()}/v1/.well-known/openidconfiguration", http=http)
    error = refused(auth, "Bearer " + idp.token(APP_ID, SERVICE))
    assert (error.status, error.reason) == (401, "keys unavailable")
    assert "signing keys unavailable" in caplog.text


@pytest.mark.parametrize(
    ("which", "status", "body"),
    [
        ("metadata", 500, b"Internal Server Error"),
        ("metadata", 200, b"<html>maintenance</html>"),
        ("metadata", 200, b'["a list"]'),
        ("jwks", 404, b"{}"),
        ("jwks", 200, b'{"keys": "none"}'),
        ("jwks", 200, b'{"keys": [{"kty": "RSA", "kid": "x", "n": "!!", "e": "AQAB"}, 3]}'),
    ],
)
def test_garbage_from_the_key_endpoints_is_an_auth_error_and_retried_later(idp, auth, caplog, which, status, body):
    idp.fail(which, status, body)
    token = "Bearer " + idp.token(APP_ID, SERVICE)
    error = refused(auth, token)
    assert (error.status, error.reason) == (401, "keys unavailable")
    assert "signing keys unavailable" in caplog.text
    fetches = idp.metadata_fetches
    refused(auth, token)
    assert idp.metadata_fetches == fetches  # no new attempt right away
    idp.repair()
    auth.retry_after = 0
    assert auth.verify(token, SERVICE)


def test_tokens_never_reach_the_logs(idp, auth, http, caplog):
    caplog.set_level("DEBUG")
    tokens = [
        idp.token(APP_ID, SERVICE),
        idp.token(APP_ID, SERVICE, expires_in=-3600),
        idp.token("another-app", SERVICE),
        idp.token(APP_ID, "https://evil.example/"),
        idp.token(APP_ID, SERVICE, kid=idp.add_key(publish=False)),
        idp.token(APP_ID, SERVICE, alg="HS256"),
    ]
    errors = []
    for token in tokens:
        try:
            auth.verify("Bearer " + token, SERVICE)
        except AuthError as error:
            errors.append(error)
    idp.fail("jwks", 500)
    errors.append(refused(BotFrameworkAuth(APP_ID, idp.metadata_url, http=http), "Bearer " + tokens[0]))
    assert len(errors) == 6 and "signing keys unavailable" in caplog.text
    logged = caplog.text + "".join(str(r.args) + (r.exc_text or "") for r in caplog.records)
    for token in tokens:
        signature = token.rsplit(".", 1)[-1]
        assert token not in logged and (not signature or signature not in logged)
        assert all(token not in str(e) and token not in repr(e) for e in errors)
