"""Messages the bot owes: rows of the outbox, written in the transaction that decided them.

A message to a person goes to the platform they are best reached on; a message to a channel
names its subscription; a turn's replies go back where the person wrote. The outbox sender
(reminders/outbox.py) delivers them all.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from sqlalchemy import delete, literal_column, or_, update
from sqlmodel import Session, select

from bot.replies import Reply, reply_to_dict
from models import Identity, OutboxMessage, Person, Subscription
from models.tables import utcnow

log = logging.getLogger("wwidw.messages")
PLATFORM_ORDER = {"slack": 0, "teams": 1, "web": 2}  # where a person with several identities is reached
# A turn's replies are written as claimed by the process that answers: it tries them at once, and
# only if it dies does a sender take them over, after this long (and look before sending again).
# Longer than a first try takes (Slack's timeouts), short enough that a crash delays little.
REPLY_LEASE = timedelta(seconds=30)
OUTBOX = OutboxMessage.__table__
SEEN_WAITING = 8  # earlier waiting messages of a channel a reply looks at; more: it waits its turn


# The reply's row and the earlier waiting messages of its channel in one round trip: the insert
# returns them. (A correlated subquery in RETURNING; SQLAlchemy does not correlate a derived
# table, hence the text. Both databases see the rows as they were before this insert.)
EARLIER_SQL = (
    "(SELECT {ids} FROM (SELECT earlier.id AS id FROM outbox AS earlier"
    " WHERE earlier.channel = outbox.channel AND earlier.status IN ('pending', 'sending')"
    f" AND earlier.id < outbox.id LIMIT {SEEN_WAITING}) AS x)"
)
IDS = {"postgresql": "string_agg(CAST(x.id AS TEXT), ',')", "sqlite": "group_concat(x.id, ',')"}


@cache
def reply_insert(dialect: str):
    """Built once per database kind: this runs in every turn."""
    return OUTBOX.insert().returning(OUTBOX.c.id, literal_column(EARLIER_SQL.format(ids=IDS[dialect])))


@dataclass(frozen=True)
class ReplyTo:
    """The conversation a person wrote in, where their turn's replies go."""

    platform: str
    workspace: str  # the workspace (or tenant) whose bot answers
    channel: str


@dataclass(frozen=True)
class Owed:
    """A turn's replies as written to the outbox, for the answering process to try first."""

    row: dict  # the outbox row's values, its id included
    # The earlier messages of its channel that waited when it was written (at most SEEN_WAITING):
    # often the reply before, delivered a moment ago by this process but not yet recorded.
    earlier: tuple[int, ...]


def owe_replies(s: Session, to: ReplyTo, person_id: int, replies: list[Reply], locale: str) -> Owed | None:
    """Put a turn's replies in the outbox, claimed by this process (None: nothing to say). A Core
    insert, not the ORM's unit of work: this runs in every turn."""
    if not replies:
        return None
    now = utcnow()
    row = {
        **pending(f"reply:{uuid.uuid4().hex}", now),
        "status": "sending",
        "attempts": 1,
        "lease_until": now + REPLY_LEASE,
        "platform": to.platform,
        "workspace": to.workspace,
        "channel": to.channel,
        "person_id": person_id,
        "subscription_id": None,
        "parts_sent": 0,
        "external_ref": None,
        "body": {"locale": locale, "replies": [reply_to_dict(r) for r in replies]},
    }
    conn = s.connection()
    row["id"], earlier = conn.execute(reply_insert(conn.dialect.name), row).one()
    return Owed(row, tuple(int(i) for i in earlier.split(",")) if earlier else ())


def reach_order(identity: Identity) -> tuple[int, int]:
    """Where a person with several chat identities is reached first."""
    return PLATFORM_ORDER.get(identity.platform, 9), identity.id


def person_row(
    identity: Identity | None, person: Person, key: str, replies: list[Reply], locale: str, now: datetime
) -> dict | None:
    """The outbox row for a message to `person`; None when they can be reached nowhere."""
    if identity is None or person.unreachable_since is not None:
        log.warning("person %s cannot be reached; message %s not sent", person.id, key)
        return None
    return {
        **pending(key, now),
        "platform": identity.platform,
        "workspace": identity.workspace,
        "channel": str(identity.id) if identity.platform == "web" else identity.external_id,
        "person_id": person.id,
        "subscription_id": None,
        "body": {"locale": locale, "replies": [reply_to_dict(r) for r in replies]},
    }


def enqueue(s: Session, person: Person, key: str, replies: list[Reply], locale: str, now: datetime) -> bool:
    """Put a message for `person` in the outbox, on the platform they are best reached on.
    False when they can be reached nowhere."""
    identities = list(s.exec(select(Identity).where(Identity.person_id == person.id)))
    row = person_row(min(identities, key=reach_order, default=None), person, key, replies, locale, now)
    if row is not None:
        s.add(OutboxMessage(**row))
    return row is not None


def channel_row(sub: Subscription, key: str, replies: list[dict], now: datetime) -> dict:
    """The outbox row for a message to a subscribed channel (`replies` as dicts)."""
    return {
        **pending(key, now),
        "platform": sub.platform,
        "workspace": sub.workspace,
        "channel": sub.channel,
        "person_id": None,
        "subscription_id": sub.id,
        "body": {"locale": sub.locale, "replies": replies},
    }


def channel_message(sub: Subscription, key: str, replies: list[Reply], now: datetime) -> OutboxMessage:
    """A message to a subscribed channel that is not a digest, e.g. the confirmation of a subscription."""
    return OutboxMessage(**channel_row(sub, key, [reply_to_dict(r) for r in replies], now))


def pending(key: str, now: datetime) -> dict:
    return {
        "dedupe_key": key[:120],
        "thread_of": None,
        "status": "pending",
        "not_before": now,
        "attempts": 0,
        "created_at": utcnow(),  # the real clock: a transport's `find` compares it with the platform's timestamps
    }


def release(session: Session, platform: str, workspace: str) -> None:
    """Messages that waited for a workspace's app (or a tenant's bot) go out now, not at their next try."""
    table = OutboxMessage.__table__
    mine = (table.c.platform == platform, table.c.workspace == workspace, table.c.status == "pending")
    # One whose earlier attempt may have arrived waits out its lease (held as "sending"), then is
    # looked for before it is sent: releasing it early could let two senders take it at once.
    session.connection().execute(update(table).where(*mine).values(not_before=utcnow()))


REMINDER_MESSAGES = ("reminder", "nudge", "escalation")  # the outbox keys of a reminder's messages


def cancel_reminders(session: Session, reminder_ids: set[int]) -> int:
    """Reminder messages not yet sent for these reminders stay unsent: their description left
    the knowledge bank. Returns how many were cancelled."""
    if not reminder_ids:
        return 0
    table = OutboxMessage.__table__
    keys = or_(*(table.c.dedupe_key.like(f"{kind}:%") for kind in REMINDER_MESSAGES))
    rows = session.connection().execute(select(table.c.id, table.c.dedupe_key).where(table.c.status == "pending", keys))
    doomed = [row.id for row in rows if int(row.dedupe_key.split(":")[1]) in reminder_ids]
    if doomed:
        session.connection().execute(delete(table).where(table.c.id.in_(doomed)))
    return len(doomed)
