"""Delivering outbox messages to Slack over its Web API (connections kept open), for the outbox sender.

Each message carries Slack message metadata naming its outbox id, so after a crash mid-send the
sender can look in the conversation's history (or the thread, for a digest's continuation)
whether it arrived before sending it again. A message to a subscribed channel first asks
whether the channel is shared with another workspace (Slack Connect): a digest holds the
organisation's private descriptions, and a channel can be shared at any moment.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC

import httpx
from slack_sdk.errors import SlackTokenRotationError

from bot.replies import reply_from_dict
from handlers.kept_open import KeptOpen
from handlers.slack import blocks
from handlers.slack.installations import OneWorkspace, Workspaces
from reminders.outbox import CHANNEL_SHARED, Envelope, Failed, Result, Retry, Sent, resume

METADATA_TYPE = "wwidw_outbox"
# The person (or channel) is gone or has shut us out: later messages will fail the same way.
UNREACHABLE = {
    "channel_not_found", "user_not_found", "user_disabled", "cannot_dm_bot", "is_archived", "not_in_channel",
}  # fmt: skip
RETRYABLE = {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
# Slack says these may come after the message was posted: look before sending it again.
MAYBE_POSTED = {"internal_error", "fatal_error"}
# Our own token is refused (revoked, the app uninstalled, the workspace deactivated): no recipient
# is to blame, and the messages wait for a new install (or a new SLACK_BOT_TOKEN) rather than fail.
TOKEN_FAULTS = {"invalid_auth", "not_authed", "token_revoked", "token_expired", "account_inactive"}
TOKEN_WAIT = 600.0
NOT_INSTALLED = "not_installed"


class SlackTransport:
    def __init__(self, workspaces: Workspaces | OneWorkspace, api_url: str):
        self.workspaces = workspaces
        self.api_url = api_url if api_url.endswith("/") else api_url + "/"
        self.http = KeptOpen(timeout=10.0, connect_timeout=5.0)

    def call(self, token: str, method: str, payload: dict) -> httpx.Response:
        """A write method, with a JSON body."""
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json; charset=utf-8"}
        return self.send(httpx.Request("POST", self.api_url + method, json=payload, headers=headers))

    def read(self, token: str, method: str, params: dict) -> httpx.Response:
        """A read method: Slack takes their arguments as query parameters, not as JSON."""
        headers = {"Authorization": f"Bearer {token}"}
        return self.send(httpx.Request("GET", self.api_url + method, params=params, headers=headers))

    def token(self, message: Envelope) -> str | Retry:
        """The token of the message's workspace, or why the message waits."""
        try:
            token = self.workspaces.token(message.workspace)
        except SlackTokenRotationError as e:
            return Retry(TOKEN_WAIT, f"token refresh: {describe_rotation(e)}", held=True)
        return token if token is not None else Retry(TOKEN_WAIT, NOT_INSTALLED, held=True)

    def send(self, request: httpx.Request) -> httpx.Response:
        return self.http.send(request)

    def deliver(self, message: Envelope) -> Result:
        token = self.token(message)
        if isinstance(token, Retry):
            return token
        outcome = self.post(token, message)
        if isinstance(outcome, Retry) and outcome.held:
            self.workspaces.forget(message.workspace)  # refused: read it again (a new install, a refresh)
        return outcome

    def refused(self, message: Envelope, error: str) -> Retry:
        """Slack refused the workspace's token: read it again next time, and let the message wait."""
        self.workspaces.forget(message.workspace)
        return Retry(TOKEN_WAIT, error, held=True)

    def post(self, token: str, message: Envelope) -> Result:
        if message.subscription_id is not None:
            refused = self.check_channel(token, message.channel)
            if refused is not None:
                return refused
        first_ts = message.first_ref
        for n, (text, message_blocks) in enumerate(parts(message)):
            if n < message.parts_sent:
                continue  # arrived before an earlier attempt stopped
            payload = {
                "channel": message.channel,
                "text": text,
                "blocks": message_blocks,
                "metadata": {"event_type": METADATA_TYPE, "event_payload": {"outbox_id": message.id, "part": n}},
            }
            if message.thread_ref:
                payload["thread_ts"] = message.thread_ref  # a digest's continuation, in its thread
            try:
                response = self.call(token, "chat.postMessage", payload)
            except httpx.ConnectError as e:
                return resume(Retry(None, f"connect: {e.__class__.__name__}"), n, first_ts)
            except httpx.HTTPError as e:
                # The request may have reached Slack before the connection broke.
                return resume(Retry(None, f"http: {e.__class__.__name__}", unsure=True), n, first_ts)
            outcome = answer(response)
            if outcome is not None:
                return resume(outcome, n, first_ts)
            first_ts = first_ts or response.json().get("ts")
        return Sent(first_ts)

    def check_channel(self, token: str, channel: str) -> Result | None:
        """None when only the subscriber's workspace reads the channel. A channel that is gone, or
        an app installed without the scope to ask, pauses the subscription and the subscriber
        hears why; a fault of the whole workspace (a revoked token) fails only this message."""
        try:
            response = self.read(token, "conversations.info", {"channel": channel})
        except httpx.HTTPError as e:
            return Retry(None, f"http: {e.__class__.__name__}")
        outcome = answer(response)
        if isinstance(outcome, Failed) and outcome.error == "missing_scope":
            return Failed(outcome.error, unreachable=True)
        if outcome is not None:
            return outcome
        if shared_with_others(response.json().get("channel") or {}):
            return Failed(CHANNEL_SHARED, unreachable=True)
        return None

    def look(self, message: Envelope, token: str, method: str, args: dict) -> dict | Retry:
        """Slack's answer to a look-up before a message is sent again, or a Retry (still unsure)
        while Slack is down or limits us; a refused token is read again next time."""
        try:
            write = method == "conversations.open"
            response = self.call(token, method, args) if write else self.read(token, method, args)
        except httpx.HTTPError as e:
            return Retry(None, f"{method}: {e.__class__.__name__}", unsure=True)
        outcome = answer(response)
        if isinstance(outcome, Retry) and outcome.held:
            return self.refused(message, outcome.error)
        if isinstance(outcome, Retry):
            return replace(outcome, error=f"{method}: {outcome.error}", unsure=True)
        return response.json()

    def find(self, message: Envelope) -> str | Retry | None:
        token = self.token(message)
        if isinstance(token, Retry):
            return token  # nothing to look with: the message waits, still to be looked for
        channel = message.channel
        if channel[:1] in ("U", "W"):
            opened = self.look(message, token, "conversations.open", {"users": channel})
            if isinstance(opened, Retry):
                return opened
            if not opened.get("ok"):
                raise LookupError(opened.get("error") or "conversations.open failed")
            channel = opened["channel"]["id"]
        created = message.created_at if message.created_at.tzinfo else message.created_at.replace(tzinfo=UTC)
        query = {"channel": channel, "oldest": f"{created.timestamp() - 60:.6f}", "limit": 200}
        query["include_all_metadata"] = True
        if message.thread_ref:  # thread replies are not in the channel's history, only in the thread
            history = self.look(message, token, "conversations.replies", {**query, "ts": message.thread_ref})
        else:
            history = self.look(message, token, "conversations.history", query)
        if isinstance(history, Retry):
            return history
        if not history.get("ok"):
            if history.get("error") in UNREACHABLE:
                # A public channel the bot never joined has no history to read: send, and let the
                # post itself say whether the channel is there.
                return None
            raise LookupError(history.get("error") or "conversations.history failed")
        found = {}  # part number -> ts
        for item in history.get("messages") or []:
            metadata = item.get("metadata") or {}
            payload = metadata.get("event_payload") or {}
            if metadata.get("event_type") == METADATA_TYPE and payload.get("outbox_id") == message.id:
                found[payload.get("part", 0)] = item.get("ts")
        # Parts go out in order: the last one there means all are. With only some there, the rest
        # is sent again from the last recorded progress (a repeat rather than a loss).
        if len(parts(message)) - 1 not in found:
            return None
        return found.get(0) or found[len(parts(message)) - 1]


def parts(message: Envelope) -> list[tuple[str, list[dict]]]:
    """The Slack messages an outbox message becomes: (fallback text, blocks) each."""
    replies = [reply_from_dict(r) for r in message.body.get("replies", [])]
    return blocks.messages(replies, message.body.get("locale", "nl"))


def describe_rotation(error: SlackTokenRotationError) -> str:
    """Why Slack would not refresh a token, without the token."""
    return str(getattr(error.api_error, "response", {}).get("error") or error.__class__.__name__)


def shared_with_others(channel: dict) -> bool:
    """Whether conversations.info says people of another workspace read this channel."""
    return any(channel.get(flag) for flag in ("is_shared", "is_ext_shared", "is_org_shared", "is_pending_ext_shared"))


def answer(response: httpx.Response) -> Result | None:
    """None when Slack took the message; otherwise what the sender should do about it."""
    if response.status_code == 429:
        try:
            after = float(response.headers.get("Retry-After") or 1)
        except ValueError:
            after = 1.0
        return Retry(max(after, 0.5), "ratelimited")
    if response.status_code >= 500:
        # A 5xx can come after Slack posted the message (a timeout behind its front door).
        return Retry(None, f"http {response.status_code}", unsure=True)
    try:
        data = response.json()
    except ValueError:
        return Retry(None, f"http {response.status_code}: not json")
    if data.get("ok"):
        return None
    error = str(data.get("error") or "unknown_error")
    if error in RETRYABLE:
        return Retry(None, error, unsure=error in MAYBE_POSTED)
    if error in TOKEN_FAULTS:  # `deliver` reads the token again next time
        return Retry(TOKEN_WAIT, error, held=True)
    # msg_too_long, invalid_blocks, …: sending this message again will not help.
    return Failed(error, unreachable=error in UNREACHABLE)
