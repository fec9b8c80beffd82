"""Delivering outbox messages to Teams through the Bot Framework connector, for the outbox sender.

A message to a person goes to their personal chat with the bot, a digest to its channel (its
later pages as replies under the first). Both need the conversation reference Teams gave us on
install or on the last message (handlers/teams/conversations.py). The Bot Framework has no way to
read back what a conversation holds, so after a crash mid-send a message may arrive twice;
the outbox still decides each message exactly once.
"""

from __future__ import annotations

import threading
import time

import httpx

from bot.replies import reply_from_dict
from handlers.teams import cards
from handlers.teams.connector import ConnectorError, error_code, retry_after
from handlers.teams.conversations import Place, any_in_tenant, find, personal, remember
from handlers.teams.registrations import NO_REGISTRATION, Registrations
from models.db import Database
from reminders.outbox import Envelope, Failed, Result, Retry, Sent, resume

PER_TENANT = 30  # messages per second per tenant, under Teams' 30–50 per app per tenant
# The person blocked the bot or left; the bot was removed from the team; the conversation is gone.
UNREACHABLE = {
    "MessageWritesBlocked",
    "ConversationBlockedByUser",
    "BotNotInConversationRoster",
    "ConversationNotFound",
}
RETRYABLE = {429, 412, 502, 503, 504}
NO_BOT_WAIT = 600.0  # seconds before a message to a tenant without a bot registration is tried again


class TeamsTransport:
    def __init__(self, db: Database, registrations: Registrations, per_tenant: float = PER_TENANT):
        self.db = db
        self.registrations = registrations
        self.interval = 1.0 / per_tenant
        self.lock = threading.Lock()
        self.next_slot: dict[str, float] = {}

    def deliver(self, message: Envelope) -> Result:
        registration = self.registrations.for_tenant(message.workspace)
        if registration is None:
            # The tenant's bot was removed (or not added yet): what waits for it keeps waiting.
            return Retry(NO_BOT_WAIT, NO_REGISTRATION, held=True)
        connector = self.registrations.connector(registration)
        with self.db.transaction() as s:
            ref = personal(s, message.person_id) if message.person_id else find(s, message.workspace, message.channel)
            target = (ref.service_url, ref.conversation_id) if ref is not None else None
            # Someone who only met the bot in a team: a personal chat can be opened through the
            # service of that team's tenant.
            nearby = any_in_tenant(s, message.workspace) if target is None and message.person_id else None
        if target is None and nearby is not None:
            try:
                chat = connector.create_conversation(nearby, message.workspace, message.channel)
            except ConnectorError as e:
                if e.code in UNREACHABLE or e.status in (403, 404):
                    return Failed(e.code or f"http {e.status}", unreachable=True)
                return Retry(e.retry_after, f"create conversation: {e.code or e.status}")
            remember(self.db, Place(message.workspace, chat, nearby, "personal"), message.person_id)
            target = (nearby, chat)
        if target is None:
            return Failed("no conversation reference", unreachable=True)
        service_url, conversation_id = target
        if message.thread_ref:  # a digest's continuation: a reply under its first message
            conversation_id = f"{conversation_id};messageid={message.thread_ref}"
        replies = [reply_from_dict(r) for r in message.body.get("replies", [])]
        first_id = message.first_ref
        for n, content in enumerate(cards.messages(replies, message.body.get("locale", "nl"))):
            if n < message.parts_sent:
                continue  # arrived before an earlier attempt stopped
            self.wait_turn(message.workspace)
            if first_id and message.subscription_id and not message.thread_ref:
                # A digest page too big for one card: the rest goes under its first card, not beside it.
                conversation_id = f"{target[1]};messageid={first_id}"
            try:
                response = connector.post(
                    service_url, connector.activities_path(conversation_id), cards.message(content)
                )
            except ConnectorError as e:  # no token from Microsoft's login service (yet)
                return resume(Retry(e.retry_after, f"token: {e.code or e.status}"), n, first_id)
            except httpx.ConnectError as e:
                return resume(Retry(None, f"connect: {e.__class__.__name__}"), n, first_id)
            except httpx.HTTPError as e:
                return resume(Retry(None, f"http: {e.__class__.__name__}", unsure=True), n, first_id)
            outcome = answer(response)
            if outcome is not None:
                return resume(outcome, n, first_id)
            first_id = first_id or sent_id(response)
        return Sent(first_id)

    def find(self, message: Envelope) -> str | None:
        return None  # the connector cannot list a conversation's messages: send again

    def wait_turn(self, tenant: str) -> None:
        """Pace each tenant: the senders' threads take turns in slots `interval` apart."""
        with self.lock:
            now = time.monotonic()
            slot = max(now, self.next_slot.get(tenant, 0.0))
            self.next_slot[tenant] = slot + self.interval
        if slot > now:
            time.sleep(slot - now)


def sent_id(response: httpx.Response) -> str | None:
    """The new activity's id, if the connector's answer says it (a 2xx is delivered either way)."""
    try:
        data = response.json()
    except ValueError:
        return None
    return data.get("id") if isinstance(data, dict) and isinstance(data.get("id"), str) else None


def answer(response: httpx.Response) -> Result | None:
    """None when the connector took the message; otherwise what the sender should do about it."""
    if response.status_code < 300:
        return None
    if response.status_code in RETRYABLE:
        return Retry(retry_after(response), f"http {response.status_code}")
    code = error_code(response)
    if code in UNREACHABLE or response.status_code == 404:
        return Failed(code or f"http {response.status_code}", unreachable=True)
    if response.status_code >= 500 or response.status_code == 401:
        return Retry(None, f"http {response.status_code}")
    return Failed(code or f"http {response.status_code}")
