"""Delivering outbox messages to Slack over its Web API (httpx), for the outbox sender.

Each message carries Slack message metadata naming its outbox id, so after a crash mid-send the
sender can look in the conversation's history (or the thread, for a digest's continuation)
whether it arrived before sending it again.
"""

from __future__ import annotations

from datetime import UTC

import httpx

from bot.replies import reply_from_dict
from handlers.slack import blocks
from reminders.outbox import Envelope, Failed, Result, Retry, Sent

METADATA_TYPE = "wwidw_outbox"
TIMEOUT = {"timeout": httpx.Timeout(10.0, connect=5.0).as_dict()}
# The person (or channel) is gone or has shut us out: later messages will fail the same way.
UNREACHABLE = {
    "channel_not_found", "account_inactive", "user_not_found", "user_disabled", "cannot_dm_bot",
    "is_archived", "not_in_channel",
}  # fmt: skip
RETRYABLE = {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}


class SlackTransport:
    def __init__(self, token: str, api_url: str):
        self.api_url = api_url if api_url.endswith("/") else api_url + "/"
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json; charset=utf-8"}
        # The transport without the client around it: no cookies, redirects or auth flows to run,
        # which takes a fifth off the CPU cost of each of thousands of posts.
        self.http = httpx.HTTPTransport(limits=httpx.Limits(max_connections=64), retries=1)

    def call(self, method: str, payload: dict) -> httpx.Response:
        request = httpx.Request("POST", self.api_url + method, json=payload, headers=self.headers, extensions=TIMEOUT)
        response = self.http.handle_request(request)
        try:
            response.read()
        finally:
            response.close()
        return response

    def deliver(self, message: Envelope) -> Result:
        replies = [reply_from_dict(r) for r in message.body.get("replies", [])]
        locale = message.body.get("locale", "nl")
        first_ts = None
        for text, message_blocks in blocks.messages(replies, locale):
            payload = {
                "channel": message.channel,
                "text": text,
                "blocks": message_blocks,
                "metadata": {"event_type": METADATA_TYPE, "event_payload": {"outbox_id": message.id}},
            }
            if message.thread_ref:
                payload["thread_ts"] = message.thread_ref  # a digest's continuation, in its thread
            try:
                response = self.call("chat.postMessage", payload)
            except httpx.ConnectError as e:
                return Retry(None, f"connect: {e.__class__.__name__}")
            except httpx.HTTPError as e:
                # The request may have reached Slack before the connection broke.
                return Retry(None, f"http: {e.__class__.__name__}", unsure=True)
            outcome = answer(response)
            if outcome is not None:
                return outcome
            first_ts = first_ts or response.json().get("ts")
        return Sent(first_ts)

    def find(self, message: Envelope) -> str | None:
        channel = message.channel
        if channel[:1] in ("U", "W"):
            opened = self.call("conversations.open", {"users": channel}).json()
            if not opened.get("ok"):
                raise LookupError(opened.get("error") or "conversations.open failed")
            channel = opened["channel"]["id"]
        created = message.created_at if message.created_at.tzinfo else message.created_at.replace(tzinfo=UTC)
        query = {"channel": channel, "oldest": f"{created.timestamp() - 60:.6f}", "limit": 200}
        query["include_all_metadata"] = True
        if message.thread_ref:  # thread replies are not in the channel's history, only in the thread
            history = self.call("conversations.replies", {**query, "ts": message.thread_ref}).json()
        else:
            history = self.call("conversations.history", query).json()
        if not history.get("ok"):
            raise LookupError(history.get("error") or "conversations.history failed")
        for item in history.get("messages") or []:
            metadata = item.get("metadata") or {}
            if (
                metadata.get("event_type") == METADATA_TYPE
                and (metadata.get("event_payload") or {}).get("outbox_id") == message.id
            ):
                return item.get("ts")
        return None


def answer(response: httpx.Response) -> Result | None:
    """None when Slack took the message; otherwise what the sender should do about it."""
    if response.status_code == 429:
        try:
            after = float(response.headers.get("Retry-After") or 1)
        except ValueError:
            after = 1.0
        return Retry(max(after, 0.5), "ratelimited")
    if response.status_code >= 500:
        return Retry(None, f"http {response.status_code}")
    try:
        data = response.json()
    except ValueError:
        return Retry(None, f"http {response.status_code}: not json")
    if data.get("ok"):
        return None
    error = str(data.get("error") or "unknown_error")
    if error in RETRYABLE:
        return Retry(None, error)
    # invalid_auth, msg_too_long, …: sending this message again will not help.
    return Failed(error, unreachable=error in UNREACHABLE)
