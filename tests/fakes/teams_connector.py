"""A fake Bot Framework connector for Teams: a real local HTTP server at `url`, used as the
activities' `serviceUrl`, that answers like `smba.trafficmanager.net` and records every call, so
tests assert on what the bot really sent over the wire.

It serves
- `POST /v3/conversations` (a proactive 1:1: answers {"id": "a:1…"}, the same id for the same user),
- `POST /v3/conversations/{id}/activities` (a new message),
- `POST /v3/conversations/{id}/activities/{activityId}` (a reply),
- `PUT /v3/conversations/{id}/activities/{activityId}` (an update of the bot's own message),
answering {"id": <new activity id>}. Every call must carry `Authorization: Bearer <token>` with a
token the fake identity platform (tests/fakes/entra.py) issued and `revoke()` did not take back;
otherwise 401, as the real connector does. `fail()` makes the next calls of a kind answer 429,
412, 502, 504, 403 …; `blocked` ids always get 403 MessageWritesBlocked. Activities over Teams'
size limit get 413 MessageSizeTooBig, and they and cards Teams cannot render are noted in
`violations`.
"""

from __future__ import annotations

import itertools
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from tests.fakes.entra import FakeEntra
from tests.fakes.local_server import LocalServer

# Teams refuses messages over about 28 KB (text, cards and all) with 413 MessageSizeTooBig.
SIZE_LIMIT = 28_000
ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"
CARD_VERSION = (1, 5)  # the newest Adaptive Card schema Teams renders everywhere
MESSAGES = ("send", "reply")  # the kinds that put a new message in a conversation
KINDS = ("create", "send", "reply", "update")
ERROR_CODES = {
    400: "BadSyntax",
    401: "Unauthorized",
    403: "MessageWritesBlocked",
    404: "ConversationNotFound",
    412: "PreconditionFailed",
    413: "MessageSizeTooBig",
    429: "Throttled",
    500: "ServiceError",
    502: "ServiceError",
    503: "ServiceUnavailable",
    504: "GatewayTimeout",
}


@dataclass
class Call:
    seq: int
    kind: str  # create, send, reply, update; with ":failed", ":unauthorized", ":blocked", ":refused" when refused
    conversation_id: str | None
    reply_to_id: str | None  # the activity id in the path (replies and updates)
    body: dict
    authorization: str
    path: str  # the raw request path, as quoted by the client
    activity_id: str | None = None  # the id the fake answered with
    at: float = field(default_factory=time.monotonic)


class FakeTeamsConnector:
    def __init__(self, entra: FakeEntra, listener=None):
        self.entra = entra
        self.listener = listener  # called with each recorded Call
        self.calls: list[Call] = []
        self.violations: list[str] = []
        self.blocked: set[str] = set()  # user or conversation ids that get 403 MessageWritesBlocked
        self.revoked: set[str] = set()
        self.failures: dict[str, list[tuple[int, dict, dict]]] = {}
        self.conversations: dict[str, str] = {}  # 1:1 conversation id -> its user's id
        self.activities: dict[str, set[str]] = {}  # conversation id -> ids of the activities in it
        self._seq = itertools.count(1)
        self._last_id = 0
        self._cond = threading.Condition()
        self.http = LocalServer(
            lambda method, path, headers, raw: self.answer(method, path, raw, headers.get("Authorization") or "")
        )
        # A path prefix like the real service URLs ("https://smba.trafficmanager.net/emea/").
        self.url = f"{self.http.url}/emea/"

    def stop(self):
        self.http.stop()

    # --- behaviour ---------------------------------------------------------------------

    def fail(self, path_kind: str, status: int, times: int = 1, body: dict | None = None, headers: dict | None = None):
        """Answer the next `times` calls of `path_kind` (create, send, reply, update, or "*" for any)
        with `status` and a Bot Framework error body; a 429 says Retry-After: 1 unless told."""
        code = ERROR_CODES.get(status, "ServiceError")
        body = body or {"error": {"code": code, "message": f"fake connector: {code}"}}
        if status == 429 and not headers:
            headers = {"Retry-After": "1"}
        with self._cond:
            self.failures.setdefault(path_kind, []).extend([(status, headers or {}, body)] * times)

    def revoke(self) -> None:
        """Refuse every token issued so far (as after a secret rotation): the next calls get 401."""
        with self._cond:
            self.revoked.update(self.entra.issued)

    def answer(self, method: str, raw_path: str, raw: bytes, authorization: str) -> tuple[int, dict, dict]:
        path = urlsplit(raw_path).path
        kind, conversation, activity = route(method, path)
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = {"_raw": raw.decode(errors="replace")}
        with self._cond:
            call = Call(next(self._seq), kind or "unknown", conversation, activity, body, authorization, raw_path)
            status, headers, answer = self.decide(call, raw)
            self.calls.append(call)
            self._cond.notify_all()
        if self.listener:
            self.listener(call)
        return status, headers, answer

    def decide(self, call: Call, raw: bytes) -> tuple[int, dict, dict]:
        """What the connector answers `call` (under the lock); marks refused calls in `call.kind`."""
        kind = call.kind
        if kind == "unknown":
            self.violations.append(f"unknown connector call {call.path}")
            return 404, {}, {"error": {"code": "NotFound", "message": f"no route for {call.path}"}}
        queue = self.failures.get(kind) or self.failures.get("*")
        if queue:
            status, headers, body = queue.pop(0)
            call.kind = f"{kind}:failed"
            return status, headers, body
        token = call.authorization.removeprefix("Bearer ")
        if not call.authorization.startswith("Bearer ") or not self.entra.valid(token) or token in self.revoked:
            call.kind = f"{kind}:unauthorized"
            return 401, {}, {"message": "Authorization has been denied for this request."}
        if kind == "create":
            return self.create(call)
        if call.conversation_id in self.blocked or self.conversations.get(call.conversation_id or "") in self.blocked:
            call.kind = f"{kind}:blocked"
            error = {"code": "MessageWritesBlocked", "message": "Thread is blocked from message writes."}
            return 403, {}, {"error": error}
        problems = activity_problems(call.body, len(raw))
        self.violations.extend(f"{kind} to {call.conversation_id}: {p}" for p in problems)
        if len(raw) > SIZE_LIMIT:
            call.kind = f"{kind}:refused"
            error = {"code": "MessageSizeTooBig", "message": "Activity body too large for storage."}
            return 413, {}, {"error": error}
        known = self.activities.setdefault(call.conversation_id or "", set())
        if kind == "update":
            if call.reply_to_id not in known:
                call.kind = f"{kind}:refused"
                error = {"code": "ActivityNotFoundInConversation", "message": "Unknown activity."}
                return 404, {}, {"error": error}
            call.activity_id = call.reply_to_id
            return 200, {}, {"id": call.reply_to_id}
        call.activity_id = self.new_activity_id()
        known.add(call.activity_id)
        return 201, {}, {"id": call.activity_id}

    def create(self, call: Call) -> tuple[int, dict, dict]:
        body = call.body
        members = body.get("members") or []
        tenant = ((body.get("channelData") or {}).get("tenant") or {}).get("id")
        if not str((body.get("bot") or {}).get("id", "")).startswith("28:"):
            self.violations.append(f"create: bot id {body.get('bot')!r} is not 28:<app id>")
        if not tenant:
            call.kind = "create:refused"
            return 400, {}, {"error": {"code": "BadArgument", "message": "Tenant Id is required."}}
        if len(members) != 1 or not members[0].get("id") or body.get("isGroup"):
            call.kind = "create:refused"
            return 400, {}, {"error": {"code": "BadArgument", "message": "Exactly one member is required."}}
        user = members[0]["id"]
        # Teams has one 1:1 chat per bot and user: asking again answers the same conversation.
        existing = [c for c, u in self.conversations.items() if u == user]
        conversation = existing[0] if existing else f"a:1{secrets.token_urlsafe(40)}"
        self.conversations[conversation] = user
        call.conversation_id = conversation
        return 201, {}, {"id": conversation}

    def new_activity_id(self) -> str:
        """Teams' activity ids are millisecond timestamps: unique and increasing here."""
        self._last_id = max(int(time.time() * 1000), self._last_id + 1)
        return str(self._last_id)

    # --- inspection --------------------------------------------------------------------

    @property
    def last_seq(self) -> int:
        with self._cond:
            return self.calls[-1].seq if self.calls else 0

    def activities_sent(self, after: int = 0, **match) -> list[Call]:
        """Recorded calls matching `match` (Call attributes, else keys of the activity); without
        `kind`, the delivered messages (sends and replies)."""
        with self._cond:
            return [c for c in self.calls if c.seq > after and matches(c, match)]

    def wait_for(self, count: int = 1, timeout: float = 10, after: int = 0, **match) -> list[Call]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [c for c in self.calls if c.seq > after and matches(c, match)]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"no {count}× {match} after #{after}; saw "
                        f"{[(c.seq, c.kind, c.conversation_id) for c in self.calls[-10:]]}"
                    )
                self._cond.wait(left)


def route(method: str, path: str) -> tuple[str | None, str | None, str | None]:
    """(kind, conversation id, activity id) of a connector path; ids unquoted segment by segment,
    so an escaped "/" stays inside its id."""
    if "/v3/" not in path:
        return None, None, None
    parts = [unquote(p) for p in path.split("/v3/", 1)[1].split("/")]
    if parts == ["conversations"] and method == "POST":
        return "create", None, None
    if len(parts) == 3 and parts[0] == "conversations" and parts[2] == "activities" and method == "POST":
        return "send", parts[1], None
    if len(parts) == 4 and parts[0] == "conversations" and parts[2] == "activities":
        if method == "POST":
            return "reply", parts[1], parts[3]
        if method == "PUT":
            return "update", parts[1], parts[3]
    return None, None, None


def matches(call: Call, match: dict) -> bool:
    if "kind" not in match and call.kind not in MESSAGES:
        return False
    for key, value in match.items():
        actual = getattr(call, key) if hasattr(call, key) and key != "body" else call.body.get(key)
        if actual != value:
            return False
    return True


def activity_problems(activity: dict, size: int) -> list[str]:
    """What Teams would refuse or fail to render in an activity."""
    problems = []
    if size > SIZE_LIMIT:
        problems.append(f"activity of {size} bytes (Teams allows about {SIZE_LIMIT})")
    if not isinstance(activity, dict) or not activity.get("type"):
        return [*problems, "activity without a type"]
    attachments = activity.get("attachments")
    if attachments is not None and not isinstance(attachments, list):
        return [*problems, "attachments is not a list"]
    if activity["type"] == "message" and not activity.get("text") and not attachments:
        problems.append("a message without text or attachments")
    for attachment in attachments or []:
        if not isinstance(attachment, dict) or not attachment.get("contentType"):
            problems.append("attachment without a contentType")
            continue
        if attachment["contentType"] == ADAPTIVE_CARD:
            problems.extend(card_problems(attachment.get("content")))
    return problems


def card_problems(card) -> list[str]:
    if not isinstance(card, dict):
        return ["Adaptive Card content is not an object"]
    problems = []
    if card.get("type") != "AdaptiveCard":
        problems.append(f"Adaptive Card with type {card.get('type')!r}")
    version = str(card.get("version") or "")
    if not version:
        problems.append("Adaptive Card without a version")
    else:
        try:
            if tuple(int(p) for p in version.split(".")) > CARD_VERSION:
                problems.append(f"Adaptive Card version {version} (Teams renders up to 1.5)")
        except ValueError:
            problems.append(f"Adaptive Card version {version!r}")
    for key in ("body", "actions"):
        if key in card and not isinstance(card[key], list):
            problems.append(f"Adaptive Card {key} is not a list")
        elif any(not isinstance(e, dict) or not e.get("type") for e in card.get(key) or []):
            problems.append(f"Adaptive Card {key} element without a type")
    return problems
