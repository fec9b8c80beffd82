"""The Teams conversations the bot may write to on its own (reminders, digests, notices).

The Bot Framework gives a conversation id and a service URL with every activity; a proactive
message needs both, so they are kept from the install and from every message after it.
"""

from __future__ import annotations

from dataclasses import dataclass

from microsoft_agents.activity import Activity
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
    app_id: str | None = None  # the bot registration it came through, when it came in an activity

    @classmethod
    def of(cls, activity: Activity, app_id: str | None = None) -> Place | None:
        conversation, tenant, service_url = activity.conversation, tenant_of(activity), activity.service_url
        if conversation is None or not (tenant and conversation.id and service_url):
            return None
        conversation_id = conversation.id
        kind = conversation.conversation_type or "personal"
        data = channel_data(activity)
        name = part(data, "channel").get("name") or part(data, "team").get("name")
        return cls(
            tenant_id=tenant[:64],
            conversation_id=conversation_id.split(";messageid=")[0][:400],
            service_url=service_url[:500],
            # A kind we do not know is treated as a group: never as a personal chat.
            kind=kind if kind in ("personal", "channel", "groupChat") else "groupChat",
            name=name[:200] if isinstance(name, str) else None,
            app_id=app_id,
        )


def channel_data(activity: Activity) -> dict:
    """Teams' own part of an activity, as sent: the schema leaves it open, and Teams and Graph name
    some of it differently (a shared channel's `type` is Graph's `membershipType`)."""
    return activity.channel_data if isinstance(activity.channel_data, dict) else {}


def part(data: dict, key: str) -> dict:
    """A nested object of the channel data, or {} when it is missing or not an object."""
    value = data.get(key) if isinstance(data, dict) else None
    return value if isinstance(value, dict) else {}


def tenant_of(activity: Activity) -> str | None:
    tenant = part(channel_data(activity), "tenant").get("id")
    if not tenant and activity.conversation is not None:
        tenant = activity.conversation.tenant_id
    return tenant if isinstance(tenant, str) and tenant else None


def remember(db: Database, place: Place, person_id: int | None) -> bool:
    """Keep (or bring up to date) where this conversation is reached; True when it is new to us.
    Safe under concurrency: two first activities of one conversation may arrive at once."""

    def keep(s: Session) -> bool:
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

    return db.racing(keep)


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
