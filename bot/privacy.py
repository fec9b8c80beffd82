"""The AVG's rights of access and erasure for one person (`wwidw person export|forget`).

Forgetting a person erases who they are and what is theirs alone: their chat identities and
transcripts, sessions, conversation, settings, drafts, messages to them and their name in the
owners of indicators. What they shared with others stays, under an anonymous author: published
descriptions (colleagues and partners build on them), their measurements and comments on those.
"""

from __future__ import annotations

import json
from datetime import date, datetime

from sqlalchemy import delete, update
from sqlmodel import Session, select

from bot import store
from bot.documents import as_dict
from bot.messages import cancel_reminders
from bot.monitor import owner_parts, reschedule
from models import (
    ChatMessage,
    Comment,
    Conversation,
    Identity,
    Indicator,
    IndicatorOwner,
    Intervention,
    Measurement,
    Organisation,
    OutboxMessage,
    Person,
    Reminder,
    Subscription,
    TeamsConversation,
    WebSession,
)
from models.tables import utcnow

FORGOTTEN = "(verwijderde gebruiker)"  # the name an erased person's shared work is shown under


def plain(value):
    return value.isoformat() if isinstance(value, (date, datetime)) else value


def row(record, *leave_out: str) -> dict:
    return {key: plain(value) for key, value in record.model_dump().items() if key not in leave_out}


def find(session: Session, ref: str) -> list[Person]:
    """The person `ref` names: a number, a platform identity ("slack:T123:U456", "teams:<tenant>:<aad id>")
    or a display name (every person of that name, for the operator to choose)."""
    if ref.isdigit():
        person = session.get(Person, int(ref))
        return [person] if person else []
    platform, _, rest = ref.partition(":")
    workspace, _, external = rest.rpartition(":")
    if platform in ("slack", "teams") and external:
        query = select(Person).join(Identity, Identity.person_id == Person.id)
        query = query.where(Identity.platform == platform, Identity.external_id == external)
        if workspace:
            query = query.where(Identity.workspace == workspace)
        return list(session.exec(query))
    return list(session.exec(select(Person).where(Person.display_name == ref).order_by(Person.id)))


def export(session: Session, person: Person) -> dict:
    """Everything stored about one person, as data (the right of access)."""
    pid = person.id
    identities = list(session.exec(select(Identity).where(Identity.person_id == pid)))
    identity_ids = [i.id for i in identities]
    organisation = session.get(Organisation, person.organisation_id)
    authored = session.exec(select(Intervention).where(Intervention.author_id == pid).order_by(Intervention.id))
    measured = session.exec(
        select(Measurement, Indicator)
        .join(Indicator, Indicator.id == Measurement.indicator_id)
        .where(Measurement.entered_by == pid)
        .order_by(Measurement.id)
    )
    owned = session.exec(
        select(Indicator)
        .join(IndicatorOwner, IndicatorOwner.indicator_id == Indicator.id)
        .where(IndicatorOwner.person_id == pid)
    ).all()
    return {
        "person": row(person) | {"organisation": organisation.name if organisation else None},
        # a web browser's identity is the SHA-256 of its cookie: meaningless outside, left out
        "identities": [row(i, *(["external_id"] if i.platform == "web" else [])) for i in identities],
        "descriptions": [as_dict(session, iv) for iv in authored],
        "comments": [row(c) for c in session.exec(select(Comment).where(Comment.author_id == pid))],
        "measurements": [
            row(m) | {"indicator": ind.name, "intervention_id": ind.intervention_id} for m, ind in measured
        ],
        "indicators_measured": [{"id": i.id, "name": i.name, "intervention_id": i.intervention_id} for i in owned],
        "reminders": [row(r) for r in session.exec(select(Reminder).where(Reminder.person_id == pid))],
        "conversation": [row(c) for c in session.exec(select(Conversation).where(Conversation.person_id == pid))],
        "web_chat": [
            row(m, "identity_id")
            for m in session.exec(
                select(ChatMessage).where(ChatMessage.identity_id.in_(identity_ids)).order_by(ChatMessage.id)
            )
        ],
        "web_sessions": [
            row(w, "token_hash")
            for w in session.exec(select(WebSession).where(WebSession.identity_id.in_(identity_ids)))
        ],
        "messages": [row(m) for m in session.exec(select(OutboxMessage).where(OutboxMessage.person_id == pid))],
        "subscriptions_made": [
            row(sub) for sub in session.exec(select(Subscription).where(Subscription.subscriber_id == pid))
        ],
    }


def forget(session: Session, person: Person, default_tz: str) -> dict[str, int]:
    """Erase one person (the right of erasure); returns what was erased and what was kept."""
    pid = person.id
    identities = list(session.exec(select(Identity).where(Identity.person_id == pid)))
    identity_ids = [i.id for i in identities]
    names = {person.display_name.casefold(), *(f"<@{i.external_id}>".casefold() for i in identities)}
    done: dict[str, int] = {}

    drafts = list(
        session.exec(select(Intervention).where(Intervention.author_id == pid, Intervention.status != "published"))
    )
    for iv in drafts:
        store.delete_description(session, iv)
    done["drafts deleted"] = len(drafts)

    # Their name among an indicator's owners goes; the reminders follow whoever is left.
    owned = list(
        session.exec(
            select(Indicator)
            .join(IndicatorOwner, IndicatorOwner.indicator_id == Indicator.id)
            .where(IndicatorOwner.person_id == pid)
        )
    )
    for ind in owned:
        kept = [name.strip() for name in owner_parts(ind.owner) if name.strip().casefold() not in names | {""}]
        ind.owner = ", ".join(kept) or None
    session.exec(delete(IndicatorOwner).where(IndicatorOwner.person_id == pid))
    open_reminders = set(session.exec(select(Reminder.id).where(Reminder.person_id == pid, Reminder.status == "open")))
    cancel_reminders(session, open_reminders)
    session.exec(update(Conversation).where(Conversation.reminder_id.in_(open_reminders)).values(reminder_id=None))
    session.exec(delete(Reminder).where(Reminder.id.in_(open_reminders)))
    done["open reminders deleted"] = len(open_reminders)

    gone = {
        "web chat messages": delete(ChatMessage).where(ChatMessage.identity_id.in_(identity_ids)),
        "web sessions": delete(WebSession).where(WebSession.identity_id.in_(identity_ids)),
        "messages to them": delete(OutboxMessage).where(OutboxMessage.person_id == pid),
        "teams chats": delete(TeamsConversation).where(TeamsConversation.person_id == pid),
        "conversations": delete(Conversation).where(Conversation.person_id == pid),
        "chat identities": delete(Identity).where(Identity.person_id == pid),
    }
    for what, statement in gone.items():
        done[what] = session.exec(statement).rowcount
    done["messages naming them"] = unname(session, person.display_name)
    person.display_name = FORGOTTEN
    person.locale = person.timezone = person.working_hours = person.working_days = None
    person.away_until = None
    person.unreachable_since, person.unreachable_reason = utcnow(), "forgotten"  # nothing is sent to them
    session.flush()
    for iv_id in {ind.intervention_id for ind in owned}:
        iv = session.get(Intervention, iv_id)
        if iv is not None and iv.status == "published":
            reschedule(session, iv, utcnow(), default_tz)
    kept = {
        "published descriptions kept, anonymous": select(Intervention.id).where(Intervention.author_id == pid),
        "comments kept, anonymous": select(Comment.id).where(Comment.author_id == pid),
        "measurements kept, anonymous": select(Measurement.id).where(Measurement.entered_by == pid),
    }
    for what, query in kept.items():
        done[what] = len(session.exec(query).all())
    return done


def unname(session: Session, name: str) -> int:
    """Messages the bot wrote to others with this name in them ("Anna reageerde op …", an
    escalation, a channel's confirmation), in the outbox and in web transcripts: the name goes."""
    changed = 0
    for table in (OutboxMessage, ChatMessage):
        for record in session.exec(select(table)):
            text, escaped = json.dumps(record.body, ensure_ascii=False), json.dumps(name, ensure_ascii=False)[1:-1]
            if escaped in text:
                record.body = json.loads(text.replace(escaped, FORGOTTEN))
                changed += 1
    return changed


def forget_browser(session: Session, identity: Identity, default_tz: str) -> None:
    """A local web chat visitor leaves: this browser's transcript and identity go, and with them
    the person, when the browser was their only way in (no one could reach their drafts again)."""
    person = session.get(Person, identity.person_id)
    others = session.exec(select(Identity.id).where(Identity.person_id == person.id, Identity.id != identity.id))
    if others.first() is None:
        forget(session, person, default_tz)
        return
    session.exec(delete(ChatMessage).where(ChatMessage.identity_id == identity.id))
    session.exec(delete(WebSession).where(WebSession.identity_id == identity.id))
    session.exec(
        delete(OutboxMessage).where(OutboxMessage.channel == str(identity.id), OutboxMessage.platform == "web")
    )
    session.exec(delete(Identity).where(Identity.id == identity.id))
