"""The Teams conversations the bot may write to on its own (reminders, digests, notices).

The Bot Framework gives a conversation id and a service URL with every activity; a proactive
message needs both, so they are kept from the install and from every message after it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from models import TeamsConversation
from models.db import Database
from models.tables import utcnow


@dataclass(frozen=True)
class Place:
    """Where an activity came from, as read from it."""

    tenant_id: str
    conversation_id: str  # a channel's thread marker (";messageid=…") removed
    service_url: str
    kind: str  # personal | channel | groupChat
    name: str | None = None

    @classmethod
    def of(cls, activity: dict) -> Place | None:
        conversation = part(activity, "conversation")
        data = part(activity, "channelData")
        tenant = tenant_of(activity)
        conversation_id, service_url = conversation.get("id"), activity.get("serviceUrl")
        if not all(isinstance(v, str) and v for v in (tenant, conversation_id, service_url)):
            return None
        kind = conversation.get("conversationType") or "personal"
        name = part(data, "channel").get("name") or part(data, "team").get("name")
        return cls(
            tenant_id=tenant[:64],
            conversation_id=conversation_id.split(";messageid=")[0][:400],
            service_url=service_url[:500],
            # A kind we do not know is treated as a group: never as a personal chat.
            kind=kind if kind in ("personal", "channel", "groupChat") else "groupChat",
            name=name[:200] if isinstance(name, str) else None,
        )


def part(data: dict, key: str) -> dict:
    """A nested object of an activity, or {} when it is missing or not an object."""
    value = data.get(key) if isinstance(data, dict) else None
    return value if isinstance(value, dict) else {}


def tenant_of(activity: dict) -> str | None:
    tenant = part(part(activity, "channelData"), "tenant").get("id") or part(activity, "conversation").get("tenantId")
    return tenant if isinstance(tenant, str) and tenant else None


def remember(db: Database, place: Place, person_id: int | None) -> bool:
    """Keep (or bring up to date) where this conversation is reached; True when it is new to us.
    Safe under concurrency."""
    for attempt in range(2):
        try:
            with db.transaction() as s:
                row = find(s, place.tenant_id, place.conversation_id)
                new = row is None
                if row is None:
                    row = TeamsConversation(tenant_id=place.tenant_id, conversation_id=place.conversation_id,
                                            service_url=place.service_url, kind=place.kind)  # fmt: skip
                    s.add(row)
                changed = (row.service_url, row.person_id, row.name) != (place.service_url, person_id, place.name)
                if changed or row.id is None:
                    row.service_url, row.updated_at = place.service_url, utcnow()
                    row.person_id = person_id if place.kind == "personal" else None
                    row.name = place.name or row.name
                return new
        except IntegrityError:  # two first activities of one conversation at once
            if attempt:
                raise
    return False


def find(s: Session, tenant_id: str, conversation_id: str) -> TeamsConversation | None:
    return s.exec(
        select(TeamsConversation).where(
            TeamsConversation.tenant_id == tenant_id, TeamsConversation.conversation_id == conversation_id
        )
    ).first()


def personal(s: Session, person_id: int) -> TeamsConversation | None:
    """The personal chat with a person, the one they wrote in last."""
    return s.exec(
        select(TeamsConversation)
        .where(TeamsConversation.person_id == person_id, TeamsConversation.kind == "personal")
        .order_by(TeamsConversation.updated_at.desc())
    ).first()


def any_in_tenant(s: Session, tenant_id: str) -> str | None:
    """The service URL of some conversation in this tenant, to open a new one through."""
    return s.exec(
        select(TeamsConversation.service_url)
        .where(TeamsConversation.tenant_id == tenant_id)
        .order_by(TeamsConversation.updated_at.desc())
    ).first()
