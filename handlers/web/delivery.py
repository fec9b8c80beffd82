"""Delivering outbox messages to the web chat: they join the person's transcript."""

from __future__ import annotations

from sqlmodel import select

from models import ChatMessage
from models.db import Database
from reminders.outbox import Envelope, Result, Sent


class WebTransport:
    def __init__(self, db: Database):
        self.db = db

    def deliver(self, message: Envelope) -> Result:
        with self.db.transaction() as s:
            for reply in message.body.get("replies", []):
                s.add(ChatMessage(identity_id=int(message.channel), sender="bot", body={**reply, "outbox": message.id}))
        return Sent(None)

    def find(self, message: Envelope) -> str | None:
        with self.db.transaction() as s:
            recent = s.exec(
                select(ChatMessage)
                .where(ChatMessage.identity_id == int(message.channel), ChatMessage.sender == "bot")
                .order_by(ChatMessage.id.desc())
                .limit(200)
            )
            return "web" if any(m.body.get("outbox") == message.id for m in recent) else None
