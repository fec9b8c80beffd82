"""The AVG's rights of access and erasure for one person (`wwidw person export|forget`).

Forgetting a person erases who they are and what is theirs alone: their chat identities and
transcripts, sessions, conversation, settings, roles, drafts, messages to them and their name in the
owners of indicators. What they shared with others stays, under an anonymous author: published
descriptions (colleagues and partners build on them), their measurements and comments on those.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime

from sqlalchemy import Text, cast, delete, or_, update
from sqlmodel import Session, select

from bot import store
from bot.documents import as_dict
from bot.i18n import t
from bot.messages import cancel_reminders
from bot.monitor import reschedule
from bot.names import FORGOTTEN, named_by
from bot.values import owner_parts
from models import (
    Analysis,
    ArchetypeVersion,
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
    PersonRole,
    Reminder,
    Subscription,
    TeamsConversation,
    WebSession,
)
from models.tables import utcnow


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
    identities = identities_of(session, person)
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
        "roles": [row(r) for r in session.exec(select(PersonRole).where(PersonRole.person_id == pid))],
        "analyses": [row(a) for a in session.exec(select(Analysis).where(Analysis.expert_id == pid))],
        "archetype versions": [
            row(v) for v in session.exec(select(ArchetypeVersion).where(ArchetypeVersion.published_by == pid))
        ],
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


def identities_of(session: Session, person: Person) -> list[Identity]:
    return list(session.exec(select(Identity).where(Identity.person_id == person.id)))


def forget(session: Session, person: Person, default_tz: str, default_locale: str) -> dict[str, int]:
    """Erase one person (the right of erasure); returns what was erased and what was kept. What a
    platform keeps of them outside our tables (Slack's installs) the assembly erases too."""
    pid = person.id
    identities = identities_of(session, person)
    identity_ids = [i.id for i in identities]
    # How an owner text may name them: as it named them when it was read (bot/monitor.py
    # resolve_owners: their name, "@name", a first name no colleague shares) or as a mention.
    colleagues = store.organisation_people(session, person.organisation_id)
    mentions = {f"<@{i.external_id}>".casefold() for i in identities}
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

    links = session.exec(select(IndicatorOwner).where(IndicatorOwner.indicator_id.in_([i.id for i in owned])))
    measuring: dict[int, set[int]] = {}
    for link in links:
        measuring.setdefault(link.indicator_id, set()).add(link.person_id)

    def names_them(name: str, ind: Indicator) -> bool:
        """As the text named them when it was read: among their colleagues, or, should a colleague
        of their first name have come since, among those who measure this indicator."""
        linked = [p for p in colleagues if p.id in measuring.get(ind.id, ())]
        return any(getattr(named_by(name, people), "id", None) == pid for people in (colleagues, linked))

    for ind in owned:
        parts = [name.strip() for name in owner_parts(ind.owner)]
        kept = [name for name in parts if name and not names_them(name, ind) and name.casefold() not in mentions]
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
        "roles": delete(PersonRole).where(PersonRole.person_id == pid),
        "draft analyses": delete(Analysis).where(Analysis.expert_id == pid, Analysis.published_at.is_(None)),
    }
    for what, statement in gone.items():
        done[what] = session.exec(statement).rowcount
    done["messages naming them"] = unname(session, person, default_locale)
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
        "published analyses kept, anonymous": select(Analysis.id).where(Analysis.expert_id == pid),
        "archetype versions kept, anonymous": select(ArchetypeVersion.id).where(ArchetypeVersion.published_by == pid),
        "measurements kept, anonymous": select(Measurement.id).where(Measurement.entered_by == pid),
    }
    for what, query in kept.items():
        done[what] = len(session.exec(query).all())
    return done


def unname(session: Session, person: Person, default_locale: str) -> int:
    """Messages the bot wrote to others naming this person ("Anna reageerde op …", an escalation,
    a description they measure), in the outbox and web transcripts: where a reply records that
    it names them, that name goes, in the reader's language."""
    name, changed = person.display_name, 0
    words = re.compile(rf"(?<!\w){re.escape(name)}(?!\w)")
    # Rows that may name them: by a span of theirs (written as JSON: `[12, "text", 0, 4]`), or,
    # written before replies recorded spans, by their name as stored (JSON may \u-escape letters).
    spoken = {name, json.dumps(name)[1:-1]}
    forms = {span_start(person), *spoken}
    for table in (OutboxMessage, ChatMessage):
        stored = cast(table.body, Text)
        maybe = or_(*(stored.contains(form, autoescape=True) for form in forms))
        query = select(table, Person.locale)
        if table is ChatMessage:
            query = query.join(Identity, Identity.id == ChatMessage.identity_id)
            query = query.outerjoin(Person, Person.id == Identity.person_id)
        else:
            query = query.outerjoin(Person, Person.id == OutboxMessage.person_id)
        for record, locale in session.exec(query.where(maybe)):
            label = t(record.body.get("locale") or locale or default_locale, "forgotten_person")
            body = without_name(record.body, person.id, words, label)
            if body != record.body:
                record.body = body
                changed += 1
    # The list someone was offered last (to choose from by typing) holds its labels as shown.
    listed = cast(Conversation.offered, Text)
    offers = select(Conversation, Person.locale).join(Person, Person.id == Conversation.person_id)
    offers = offers.where(or_(*(listed.contains(form, autoescape=True) for form in spoken)))
    for conversation, locale in session.exec(offers):
        label = t(locale or default_locale, "forgotten_person")
        conversation.offered = [[words.sub(label, shown), value] for shown, value in conversation.offered]
    return changed


def span_start(person: Person) -> str:
    """How a span that names them begins in the stored JSON of a reply."""
    return f'[{person.id}, "'


def without_name(value, pid: int, words: re.Pattern, label: str):
    """`value` with this person's name gone from every reply in it that names them."""
    if isinstance(value, list):
        return [without_name(item, pid, words, label) for item in value]
    if not isinstance(value, dict):
        return value
    if "names" in value:  # a reply that records where it names whom
        return respoken(value, pid, label)
    if "about" in value:  # written before replies recorded where: their name, as a whole word
        return whole_words(value, words, label) if pid in (value["about"] or []) else value
    if "kind" in value and "text" in value:  # written before replies recorded whom they name
        return whole_words(value, words, label)
    return {key: without_name(item, pid, words, label) for key, item in value.items()}


def respoken(reply: dict, pid: int, label: str) -> dict:
    """The reply with the spans that name `pid` replaced by `label`, the other spans moved along."""
    reply = json.loads(json.dumps(reply))
    theirs = sorted((n for n in reply["names"] if n[0] == pid), key=lambda n: -n[2])
    for _, path, start, end in theirs:
        *steps, key = [int(part) if part.isdigit() else part for part in path.split(".")]
        owner = reply
        for step in steps:
            owner = owner[step]
        text = owner.get(key) if isinstance(owner, dict) else None
        if not isinstance(text, str) or not 0 <= start <= end <= len(text):
            continue
        owner[key] = text[:start] + label + text[end:]
        for other in reply["names"]:
            if other[0] != pid and other[1] == path and other[2] >= end:
                other[2] += len(label) - (end - start)
                other[3] += len(label) - (end - start)
    reply["names"] = [n for n in reply["names"] if n[0] != pid]
    reply["about"] = [p for p in reply.get("about") or [] if p != pid]
    return reply


def whole_words(value, words: re.Pattern, label: str):
    if isinstance(value, dict):
        return {key: whole_words(item, words, label) for key, item in value.items()}
    if isinstance(value, list):
        return [whole_words(item, words, label) for item in value]
    return words.sub(label, value) if isinstance(value, str) else value


def forget_browser(session: Session, identity: Identity, default_tz: str, default_locale: str) -> None:
    """A local web chat visitor leaves: this browser's transcript and identity go, and with them
    the person, when the browser was their only way in (no one could reach their drafts again)."""
    person = session.get(Person, identity.person_id)
    others = session.exec(select(Identity.id).where(Identity.person_id == person.id, Identity.id != identity.id))
    if others.first() is None:
        forget(session, person, default_tz, default_locale)
        return
    session.exec(delete(ChatMessage).where(ChatMessage.identity_id == identity.id))
    session.exec(delete(WebSession).where(WebSession.identity_id == identity.id))
    session.exec(
        delete(OutboxMessage).where(OutboxMessage.channel == str(identity.id), OutboxMessage.platform == "web")
    )
    session.exec(delete(Identity).where(Identity.id == identity.id))
