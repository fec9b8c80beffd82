"""The outbox sender: delivers what the reminder engine and the digest run decided to send.

Each pass claims the oldest waiting message of each channel (at most one in flight per channel,
across replicas), sends the claimed messages side by side, and records the outcome. After a
message, its channel's next one waits `pace` seconds (Slack allows about one message per second
per channel). A 429 waits for its Retry-After; a 5xx or a broken connection is retried with
backoff. A message whose sender died mid-send (its lease ran out) is first looked up on the
platform, so it is delivered once.

A turn's replies take the same path, with one difference: the process that answered makes the
first try at once (`first_try`), so a healthy reply is as quick as a direct post, and the senders
take over only what that try could not deliver.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import and_, bindparam, exists, or_, select, update
from sqlmodel import Session

from bot.messages import SEEN_WAITING, Owed
from bot.replies import Reply, reply_to_dict
from models import OutboxMessage
from models.db import Database
from models.tables import utcnow

log = logging.getLogger("wwidw.outbox")
OUTBOX = OutboxMessage.__table__
MAX_ATTEMPTS = 12
REMEMBERED = 4096  # first tries delivered that a process keeps in mind (bot/messages.py SEEN_WAITING)
SENDING = OUTBOX.c.status == "sending"  # still this sender's: not taken over since
SENT = (
    update(OUTBOX)
    .where(OUTBOX.c.id == bindparam("mid"), SENDING)
    .values(status="sent", sent_at=bindparam("now"), external_ref=bindparam("ref"), error=None)
)
PACE = (  # after a delivery, the channel's next message waits its turn
    update(OUTBOX)
    .where(OUTBOX.c.channel == bindparam("ch"), OUTBOX.c.status == "pending", OUTBOX.c.not_before < bindparam("until"))
    .values(not_before=bindparam("until"))
)


@dataclass(frozen=True)
class Envelope:
    """A claimed message, detached from the database session."""

    id: int
    platform: str
    workspace: str
    channel: str
    person_id: int | None  # the person it is for; None for a channel
    body: dict
    created_at: datetime
    unsure: bool  # an earlier attempt may have been delivered
    subscription_id: int | None = None  # a message to a subscribed channel (a digest)
    thread_of: int | None = None  # the outbox id of the message whose thread this continues
    thread_ref: str | None = None  # that message's platform reference, once it was delivered
    parts_sent: int = 0  # platform messages of this one that arrived before an earlier attempt stopped
    first_ref: str | None = None  # the reference of the first of those


@dataclass(frozen=True)
class Sent:
    ref: str | None = None


@dataclass(frozen=True)
class Retry:
    after: float | None  # seconds; None: back off by the number of attempts
    error: str
    unsure: bool = False  # the platform may have received it: look before sending again
    parts_sent: int = 0  # of a message sent as several: how many arrived before this attempt stopped
    first_ref: str | None = None
    # Nothing was tried: the platform account the message needs is not there (the workspace's app
    # uninstalled, the tenant's bot removed). It waits as long as that takes, using up no attempt.
    held: bool = False


def resume(outcome: Result, parts_sent: int, first_ref: str | None) -> Result:
    """A retry of a message sent as several platform messages keeps how far it got."""
    if isinstance(outcome, Retry) and parts_sent:
        return replace(outcome, parts_sent=parts_sent, first_ref=first_ref)
    return outcome


@dataclass(frozen=True)
class Failed:
    error: str
    unreachable: bool = False  # the recipient is gone or has blocked us, not just this message


# A transport's error for a channel that people of other organisations read (Slack Connect).
CHANNEL_SHARED = "channel_shared"

# What to do about a person or channel the platform will not let us reach: (session, message, error, now).
OnUnreachable = Callable[[Session, Envelope, str, datetime], None]


Result = Sent | Retry | Failed


class Transport(Protocol):
    def deliver(self, message: Envelope) -> Result: ...

    def find(self, message: Envelope) -> str | Retry | None:
        """The platform's reference of an earlier delivery of `message`, None if there was none, or
        a held Retry when the platform account to look with is not there."""


class OutboxSender:
    def __init__(
        self,
        db: Database,
        transports: dict[str, Transport],
        batch: int = 200,
        lease: float = 120.0,
        pace: float = 1.0,
        workers: int = 32,
        on_unreachable: OnUnreachable | None = None,
    ):
        self.db = db
        self.on_unreachable = on_unreachable
        self.transports = transports
        self.batch = batch
        self.lease = timedelta(seconds=lease)
        self.pace = timedelta(seconds=pace)
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="outbox")
        self.recorded = threading.Condition()  # notified after each pass's outcomes are written
        # First tries delivered, their recording maybe still to be written: a reply behind one of
        # them need not wait for the database to say so. Written together, one statement for all
        # that came in meanwhile (a group commit), by whichever thread holds `writing`.
        self.delivered: dict[int, None] = {}  # the latest REMEMBERED, oldest first
        self.trying: dict[int, threading.Event] = {}  # first tries under way, set when they end
        self.unwritten: list[dict] = []
        self.settling = threading.Lock()
        self.writing = threading.Lock()

    def close(self) -> None:
        self.pool.shutdown(wait=True)

    def run_once(self, now: datetime | None = None) -> int:
        """One pass; returns how many messages it handled. `now` is injected by tests; without it
        the outcome is recorded at the real time the sends finished."""
        claimed = self.claim(now or utcnow())
        if claimed:
            results = list(self.pool.map(self.attempt, claimed))
            self.record(claimed, results, now or utcnow())
            self.wake()
        return len(claimed)

    def drain(self, now: datetime | None = None, passes: int = 10_000) -> int:
        total = 0
        for _ in range(passes):
            done = self.run_once(now)
            if not done:
                break
            total += done
        return total

    # --- claiming ------------------------------------------------------------------------------

    def claim(self, now: datetime) -> list[Envelope]:
        ready = or_(
            and_(OUTBOX.c.status == "pending", OUTBOX.c.not_before <= now),
            and_(OUTBOX.c.status == "sending", OUTBOX.c.lease_until < now),
        )
        query = (
            select(OUTBOX)
            .where(ready, ~behind(), OUTBOX.c.platform.in_(list(self.transports)))
            .order_by(OUTBOX.c.not_before, OUTBOX.c.id)
            .limit(self.batch)
        )
        if not self.db.is_sqlite:
            query = query.with_for_update(skip_locked=True, of=OUTBOX)
        with self.db.transaction() as s:
            rows = list(s.connection().execute(query).mappings())
            if not rows:
                return []
            s.connection().execute(
                update(OUTBOX)
                .where(OUTBOX.c.id.in_([r["id"] for r in rows]))
                .values(status="sending", lease_until=now + self.lease, attempts=OUTBOX.c.attempts + 1)
            )
            # A thread's first message was claimed and settled before its continuations (one channel
            # is served in order), so its reference is known here.
            parents = {r["thread_of"] for r in rows if r["thread_of"]}
            query = select(OUTBOX.c.id, OUTBOX.c.external_ref).where(OUTBOX.c.id.in_(parents))
            refs = dict(s.connection().execute(query).all()) if parents else {}
        return [envelope(r, unsure=r["status"] == "sending", thread_ref=refs.get(r["thread_of"])) for r in rows]

    # --- a turn's replies ------------------------------------------------------------------------

    def first_try(self, owed: Owed, replies: list[Reply] | None = None, wait: float = 3.0) -> Result | None:
        """The first delivery of a turn's replies, by the process that wrote them (bot/messages.py
        wrote the row as its claim, so no sender takes it meanwhile). `replies`: what is left to
        post when some were shown otherwise (in a modal). Earlier messages of the channel go first:
        it waits up to `wait` seconds for them, then leaves the reply to the senders. Returns the
        outcome, or None when nothing was tried now."""
        ended = threading.Event()
        with self.settling:
            self.trying[owed.row["id"]] = ended
        try:
            return self.try_now(owed, replies, time.monotonic() + wait)
        finally:
            self.tried(owed.row["id"])

    def tried(self, message_id: int) -> None:
        """A first try has ended: the replies waiting behind it go on."""
        with self.settling:
            ended = self.trying.pop(message_id, None)
        if ended is not None:
            ended.set()

    def try_now(self, owed: Owed, replies: list[Reply] | None, deadline: float) -> Result | None:
        row = owed.row
        if replies is not None:
            row = self.rewrite(row, replies)
            if row is None:
                return None
        if not self.clear(owed, deadline) and not self.wait_turn(row["id"], deadline):
            return None
        message = envelope(row, unsure=False)
        result = self.attempt(message)
        if isinstance(result, Sent):
            self.settle(message, result, utcnow())
        else:
            self.record([message], [result], utcnow())
        self.wake()
        if not isinstance(result, Sent):
            log.warning("reply %s not delivered yet: %s", message.id, result.error)
        return result

    def clear(self, owed: Owed, deadline: float) -> bool:
        """Whether nothing of the reply's channel waits before it, as far as this process knows:
        the earlier ones were this process's first tries, which it waits to end (the person often
        answers the instant the reply before arrives, before its try has ended here)."""
        if len(owed.earlier) >= SEEN_WAITING:
            return False
        for mid in owed.earlier:
            with self.settling:
                ended = self.trying.get(mid)
            if ended is not None:
                ended.wait(max(0.0, deadline - time.monotonic()))
        with self.settling:
            return all(mid in self.delivered for mid in owed.earlier)

    def wait_turn(self, message_id: int, deadline: float) -> bool:
        """Wait until no earlier message of the reply's channel waits; False (and the reply left to
        the senders) when that takes past `deadline`. A reply of this process that went out a
        moment ago is recorded within milliseconds: each recording wakes the waiters."""
        query = select(behind()).select_from(OUTBOX).where(OUTBOX.c.id == message_id)
        while True:
            with self.db.connection() as conn:
                if not conn.execute(query).scalar():
                    return True
                if time.monotonic() >= deadline:
                    conn.execute(
                        update(OUTBOX)
                        .where(OUTBOX.c.id == message_id, OUTBOX.c.status == "sending")
                        .values(status="pending", lease_until=None)
                    )
                    return False
            with self.recorded:
                self.recorded.wait(0.05)

    def settle(self, message: Envelope, sent: Sent, now: datetime) -> None:
        """`record` for the usual end of a first try: delivered. This follows every answer, so the
        deliveries of replies that end together are written in one prepared statement, committed on
        its own. (A reply
        does not push back what waits in its channel: it answered the person, and Slack allows
        short bursts.) Should the process die before it is written, a sender looks the reply up
        on the platform before sending it again: it is delivered once."""
        with self.settling:
            self.delivered[message.id] = None
            if len(self.delivered) > REMEMBERED:
                del self.delivered[next(iter(self.delivered))]
            self.unwritten.append({"mid": message.id, "ref": sent.ref, "now": now})
        self.tried(message.id)  # the next reply need not wait for this to be written
        while self.writing.acquire(blocking=False):
            try:
                with self.settling:
                    batch, self.unwritten = self.unwritten, []
                if batch:
                    self.db.execute_alone(SENT, batch)
            finally:
                self.writing.release()
            with self.settling:
                if not self.unwritten:  # else one came in while this was written: write it too
                    return

    def wake(self) -> None:
        with self.recorded:
            self.recorded.notify_all()

    def rewrite(self, row: dict, replies: list[Reply]) -> dict | None:
        """Change what a claimed reply says before its first try; with nothing left, it is dropped
        (None)."""
        mine = (OUTBOX.c.id == row["id"], OUTBOX.c.status == "sending")
        with self.db.connection() as conn:
            if not replies:
                conn.execute(OUTBOX.delete().where(*mine))
                return None
            body = {**row["body"], "replies": [reply_to_dict(r) for r in replies]}
            conn.execute(update(OUTBOX).where(*mine).values(body=body))
        return {**row, "body": body}

    # --- sending -------------------------------------------------------------------------------

    def attempt(self, message: Envelope) -> Result:
        transport = self.transports[message.platform]
        if message.thread_of and not message.thread_ref:
            return Failed("the thread's first message was not delivered")
        try:
            if message.unsure:
                ref = transport.find(message)
                if isinstance(ref, Retry):
                    return ref
                if ref is not None:
                    return Sent(ref)
            return transport.deliver(message)
        except Exception as e:  # a transport bug must not stop the other messages
            log.exception("delivering outbox message %s failed", message.id)
            return Retry(None, e.__class__.__name__, unsure=True)

    # --- recording -----------------------------------------------------------------------------

    def record(self, claimed: list[Envelope], results: list[Result], now: datetime) -> None:
        """Write the outcomes of a pass: deliveries in two bulk statements, the rest one by one."""
        sent = [(m, r) for m, r in zip(claimed, results, strict=True) if isinstance(r, Sent)]
        others = [(m, r) for m, r in zip(claimed, results, strict=True) if not isinstance(r, Sent)]
        mine = OUTBOX.c.status == "sending"
        with self.db.transaction() as s:
            conn = s.connection()
            if sent:
                conn.execute(SENT, [{"mid": m.id, "ref": r.ref, "now": now} for m, r in sent])
                # The channel's next message waits its turn.
                until = now + self.pace
                conn.execute(PACE, [{"ch": channel, "until": until} for channel in {m.channel for m, _ in sent}])
            if not others:
                return
            attempts = dict(
                conn.execute(
                    select(OUTBOX.c.id, OUTBOX.c.attempts).where(OUTBOX.c.id.in_([m.id for m, _ in others]))
                ).all()
            )
            for message, result in others:
                row = update(OUTBOX).where(OUTBOX.c.id == message.id, mine)
                tries = attempts.get(message.id, 1)
                if isinstance(result, Retry) and result.parts_sent > message.parts_sent:
                    row = row.values(parts_sent=result.parts_sent, external_ref=result.first_ref)
                if isinstance(result, Retry) and result.held:
                    row = row.values(attempts=OUTBOX.c.attempts - 1, error=result.error[:200])
                    later = now + timedelta(seconds=result.after or 600)
                    if message.unsure:  # an earlier attempt may have arrived: still look before sending
                        conn.execute(row.values(lease_until=later))
                    else:
                        conn.execute(row.values(status="pending", not_before=later, lease_until=None))
                    continue
                if isinstance(result, Failed) or tries >= MAX_ATTEMPTS:
                    log.warning("outbox message %s failed: %s", message.id, result.error)
                    conn.execute(row.values(status="failed", error=result.error[:200], lease_until=None))
                    if isinstance(result, Failed) and result.unreachable and self.on_unreachable:
                        self.on_unreachable(s, message, f"{message.platform}: {result.error}", now)
                    continue
                wait = timedelta(seconds=result.after if result.after is not None else backoff(tries))
                if result.unsure:
                    conn.execute(row.values(lease_until=now + wait, error=result.error[:200]))
                else:
                    conn.execute(
                        row.values(status="pending", not_before=now + wait, lease_until=None, error=result.error[:200])
                    )


REPLIES_KEPT = timedelta(days=2)


def forget_old_replies(db: Database, now: datetime) -> int:
    """Delivered (or given up) replies older than two days leave the outbox: nothing looks them
    up any more, and they hold what people typed. Reminders and digests stay: their rows are what
    keeps each one from being sent twice."""
    done = OUTBOX.c.status.in_(("sent", "failed"))
    with db.transaction() as s:
        result = s.connection().execute(
            OUTBOX.delete().where(done, OUTBOX.c.dedupe_key.like("reply:%"), OUTBOX.c.created_at < now - REPLIES_KEPT)
        )
    return result.rowcount or 0


def behind():
    """Whether an earlier message of the same channel still waits: messages of one channel go in order."""
    earlier = OUTBOX.alias("earlier")
    return exists().where(
        earlier.c.channel == OUTBOX.c.channel,
        earlier.c.id < OUTBOX.c.id,
        earlier.c.status.in_(("pending", "sending")),
    )


def envelope(row, unsure: bool, thread_ref: str | None = None) -> Envelope:
    return Envelope(
        id=row["id"],
        platform=row["platform"],
        workspace=row["workspace"],
        channel=row["channel"],
        person_id=row["person_id"],
        body=row["body"],
        created_at=row["created_at"],
        unsure=unsure,
        subscription_id=row["subscription_id"],
        thread_of=row["thread_of"],
        thread_ref=thread_ref,
        parts_sent=row["parts_sent"],
        first_ref=row["external_ref"],
    )


def backoff(attempts: int) -> float:
    """2, 4, 8 … seconds, at most ten minutes, with jitter so replicas do not retry in step."""
    return min(600.0, 2.0**attempts) * random.uniform(0.8, 1.2)
