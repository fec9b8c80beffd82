"""The outbound half of the Bot Framework: posting activities to Teams through its connector service.

A message to Teams is `POST {serviceUrl}/v3/conversations/{id}/activities` with a bearer token
the bot gets from the Microsoft identity platform (client credentials for the scope
`https://api.botframework.com/.default`). msal fetches and caches that token; this module adds the
Bot Framework's retry rules: 429 waits for its Retry-After, 412/502/504 and broken connections
are retried with backoff, and everything else (403 MessageWritesBlocked, 404, 413 …) is final.

The `serviceUrl` receives the bot's token, so only pass service URLs that arrived in an inbound
activity whose JWT was verified (its `serviceurl` claim), or that were stored from one.

Pacing per conversation and per tenant is the outbox's job, not this client's.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import quote

import httpx
import msal
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

log = logging.getLogger("wwidw.teams")

SCOPES = ["https://api.botframework.com/.default"]
# What the Bot Framework documents as worth another try: throttling, a concurrent write to the
# same conversation (412), and a gateway that lost its upstream (502, 504).
RETRYABLE = {412, 429, 502, 504}
# Conversation and activity ids go into the URL path. Teams channel thread ids look like
# "19:abc@thread.tacv2;messageid=1700000000000": the connector expects `:`, `@`, `;` and `=` as
# they are, while `/`, `?`, `#`, `%` and spaces would change the path's meaning and must be escaped.
SAFE_IN_ID = ":@;="


class ConnectorError(Exception):
    """The connector (or the identity platform) refused, and retrying here will not help or gave up.

    `status` is the HTTP status (None: no answer, or the token could not be had), `code` the Bot
    Framework's error code ("MessageWritesBlocked", "ConversationNotFound", …, or the token
    endpoint's "invalid_client"), `retry_after` the seconds a 429 asked to wait.
    """

    def __init__(
        self, message: str, status: int | None = None, code: str | None = None, retry_after: float | None = None
    ):
        super().__init__(message)
        self.status = status
        self.code = code
        self.retry_after = retry_after


class NoAnswer(ConnectorError):
    """The connection broke before the connector answered."""


class Connector:
    def __init__(
        self,
        app_id: str,
        app_password: str,
        tenant_id: str | None = None,
        authority_host: str = "https://login.microsoftonline.com",
        http: httpx.Client | None = None,
        token_http_client=None,
        attempts: int = 4,
        sleep: Callable[[float], None] = time.sleep,
        max_wait: float = 30.0,
        scope: str = SCOPES[0],
    ):
        """`tenant_id` for a single-tenant bot (None: the multi-tenant "botframework.com" authority);
        `token_http_client` replaces msal's own HTTP client (tests pass an httpx client with a
        MockTransport); `attempts` is tries in all per call; a wait longer than `max_wait` seconds
        is not slept here but raised (with `retry_after`) so a scheduled sender can wait instead."""
        self.app_id = app_id
        self.scopes = [scope]  # sovereign clouds have their own (e.g. https://api.botframework.us/.default)
        self._password = app_password
        self._authority = f"{authority_host.rstrip('/')}/{tenant_id or 'botframework.com'}"
        self._token_http_client = token_http_client
        self._app: msal.ConfidentialClientApplication | None = None
        # One app object per Connector so msal's token cache is shared by every thread; the lock
        # also makes threads that all miss the cache wait for one token request instead of each
        # sending their own.
        self._lock = threading.Lock()
        self._own_http = http is None
        self.http = http or httpx.Client(
            timeout=httpx.Timeout(15.0, connect=5.0), limits=httpx.Limits(max_connections=64)
        )
        self.attempts = max(1, attempts)
        self.sleep = sleep
        self.max_wait = max_wait

    def __repr__(self) -> str:  # never the password
        return f"Connector(app_id={self.app_id!r}, authority={self._authority!r})"

    def close(self) -> None:
        if self._own_http:
            self.http.close()

    # --- the token -----------------------------------------------------------------------------

    def token(self, stale: str | None = None) -> str:
        """A bearer token for the connector, from msal's cache while it is valid.

        `stale` is a token the connector just refused (401): if msal still holds it, it is
        dropped and a new one requested. msal does not allow force_refresh for client
        credentials; removing the cached token is its supported way. Comparing first keeps
        several threads that got the same 401 from fetching one new token each."""
        with self._lock:
            app = self._application()
            result = self._acquire(app)
            if stale is not None and result.get("access_token") == stale:
                app.remove_tokens_for_client()
                result = self._acquire(app)
        if "access_token" not in result:
            # error_description is the identity platform's text (AADSTS…): it never repeats the secret.
            code = str(result.get("error") or "no_token")
            description = str(result.get("error_description") or "").split("\n")[0][:300]
            raise ConnectorError(f"no Bot Framework token: {code} {description}".strip(), code=code)
        return result["access_token"]

    def _application(self) -> msal.ConfidentialClientApplication:
        # Created on first use, not in __init__: msal asks the authority for its OpenID
        # configuration as it is built, and a bot should start even while that is unreachable.
        if self._app is None:
            options = {}
            if self._token_http_client is not None:
                # A custom client serves a fake or private authority that Microsoft's instance
                # discovery does not know; ask its own OpenID configuration directly.
                options = {"http_client": self._token_http_client, "instance_discovery": False}
            try:
                self._app = msal.ConfidentialClientApplication(
                    self.app_id, client_credential=self._password, authority=self._authority, **options
                )
            except Exception as e:  # unreachable authority, unknown tenant: msal raises ValueError or the HTTP error
                raise ConnectorError(f"identity platform unavailable: {e.__class__.__name__}", code="authority") from e
        return self._app

    def _acquire(self, app: msal.ConfidentialClientApplication) -> dict:
        try:
            return app.acquire_token_for_client(self.scopes)
        except Exception as e:  # a network error or a 5xx from the token endpoint
            raise ConnectorError(f"identity platform unavailable: {e.__class__.__name__}", code="token") from e

    # --- one request ---------------------------------------------------------------------------

    def post(self, service_url: str, path: str, body: dict) -> httpx.Response:
        """One POST of `body` to `{service_url}/{path}` (path already quoted). A 401 means the
        cached token was revoked or the app's secret rotated: it is dropped and the request
        sent once more with a fresh one. Other answers are returned as they are."""
        return self.request("POST", service_url, path, body)

    def request(self, method: str, service_url: str, path: str, body: dict) -> httpx.Response:
        url = service_url.rstrip("/") + "/" + path.lstrip("/")
        token = self.token()
        response = self.http.request(method, url, json=body, headers={"Authorization": f"Bearer {token}"})
        if response.status_code == 401:
            log.info("Bot Framework connector refused the token (401); getting a new one")
            token = self.token(stale=token)
            response = self.http.request(method, url, json=body, headers={"Authorization": f"Bearer {token}"})
        return response

    # --- calls with retries --------------------------------------------------------------------

    def send(self, service_url: str, conversation_id: str, activity: dict, reply_to_id: str | None = None) -> dict:
        """Post `activity` into a conversation (as a reply to `reply_to_id`, if given); returns the
        connector's answer, {"id": <new activity id>}."""
        return self.call("POST", service_url, self.activities_path(conversation_id, reply_to_id), activity)

    def update(self, service_url: str, conversation_id: str, activity_id: str, activity: dict) -> dict:
        """Replace an activity the bot sent earlier (e.g. a card whose buttons were used)."""
        path = self.activities_path(conversation_id, activity_id)
        return self.call("PUT", service_url, path, {**activity, "id": activity_id})

    @staticmethod
    def activities_path(conversation_id: str, activity_id: str | None = None) -> str:
        """`v3/conversations/{id}/activities[/{activity id}]`, ids quoted, for post() or call()."""
        path = f"v3/conversations/{quote_id(conversation_id)}/activities"
        return f"{path}/{quote_id(activity_id)}" if activity_id else path

    def create_conversation(self, service_url: str, tenant_id: str, user_id: str) -> str:
        """The id of the bot's 1:1 conversation with `user_id` (Teams answers the existing one if
        there is one), for a proactive message when only the user is known."""
        body = {
            "bot": {"id": f"28:{self.app_id}"},
            "members": [{"id": user_id}],
            "channelData": {"tenant": {"id": tenant_id}},  # Teams refuses a proactive 1:1 without it
            "isGroup": False,
        }
        answer = self.call("POST", service_url, "v3/conversations", body)
        if not answer.get("id"):
            raise ConnectorError("the connector created a conversation without an id", code="no_id")
        return answer["id"]

    def call(self, method: str, service_url: str, path: str, body: dict) -> dict:
        """`method` `path` with the Bot Framework's retry rules; the JSON answer, or ConnectorError.
        A Retry-After longer than `max_wait` is not waited for here: the error says how long."""
        retrying = Retrying(
            stop=stop_after_attempt(self.attempts),
            retry=retry_if_exception(self._worth_waiting_for),
            wait=self._wait,
            sleep=self.sleep,
            before_sleep=self._log_retry,
            reraise=True,
        )
        return retrying(self._call_once, method, service_url, path, body)

    def _call_once(self, method: str, service_url: str, path: str, body: dict) -> dict:
        try:
            response = self.request(method, service_url, path, body)
        except httpx.TransportError as e:
            # Nothing came back. Teams gives bots no way to read a conversation back to see whether
            # it arrived, so like a 504 it is sent again (a rare duplicate rather than a lost answer).
            raise NoAnswer(f"{method} {path}: {e.__class__.__name__}", code=e.__class__.__name__) from e
        if not response.is_success:
            raise failure(method, path, response)
        try:
            answer = response.json() if response.content else {}
        except ValueError:
            answer = {}
        return answer if isinstance(answer, dict) else {}

    def _worth_waiting_for(self, error: BaseException) -> bool:
        if isinstance(error, NoAnswer):
            return True
        if not isinstance(error, ConnectorError) or error.status not in RETRYABLE:
            return False  # refused for good, or no token (msal has its own retries)
        # Longer than a person waiting for an answer should; the outbox reschedules instead.
        return error.retry_after is None or error.retry_after <= self.max_wait

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception()
        return error.retry_after if error.retry_after is not None else self._backoff(state.attempt_number)

    def _log_retry(self, state: RetryCallState) -> None:
        error = state.outcome.exception()
        log.info("Bot Framework %s (%s): try %d of %d in %.1f s", error.status, error.code,
                 state.attempt_number + 1, self.attempts, state.upcoming_sleep)  # fmt: skip

    def _backoff(self, attempt: int) -> float:
        """0.5, 1, 2 … seconds with jitter, so parallel senders do not come back in step."""
        return min(self.max_wait, 0.5 * 2 ** (attempt - 1)) * random.uniform(0.8, 1.2)


def quote_id(value: str) -> str:
    """A conversation or activity id as one URL path segment (see SAFE_IN_ID)."""
    return quote(value, safe=SAFE_IN_ID)


def error_code(response: httpx.Response) -> str | None:
    """The Bot Framework error's code: {"error": {"code": "MessageWritesBlocked", "message": …}}."""
    try:
        data = response.json()
    except ValueError:
        return None
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict) and error.get("code"):
        return str(error["code"])
    return None


def retry_after(response: httpx.Response) -> float | None:
    """Retry-After in seconds: either a number of seconds or an HTTP date."""
    value = (response.headers.get("Retry-After") or "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def failure(method: str, path: str, response: httpx.Response) -> ConnectorError:
    code = error_code(response)
    try:
        data = response.json()
    except ValueError:
        data = None
    message = ""
    if isinstance(data, dict):  # {"error": {"code", "message"}}, or a bare {"message"} with a 401
        error = data.get("error")
        message = str((error.get("message") if isinstance(error, dict) else None) or data.get("message") or "")
    wait = retry_after(response) if response.status_code == 429 else None
    text = f"{method} {path}: HTTP {response.status_code} {code or ''} {message[:200]}"
    return ConnectorError(" ".join(text.split()), status=response.status_code, code=code, retry_after=wait)
