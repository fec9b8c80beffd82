"""Drives the bot as Microsoft Teams would: activities with Bot Framework tokens (signed by the
fake identity provider) POSTed to /api/messages of a live server; the bot's answers are read from
the fake connector it posts them to."""

from __future__ import annotations

import itertools
import uuid

import httpx

APP_ID = "8c1f7f0e-3c1a-4d1e-9a55-0f2b7b7a1c11"
PASSWORD = "test-app-password"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
BOT = f"28:{APP_ID}"
_ids = itertools.count(1)


class TeamsSender:
    """The Bot Framework posting activities for one bot (`app_id`: its tokens' audience)."""

    def __init__(self, base_url: str, identity, connector, app_id: str = APP_ID):
        self.http = httpx.Client(base_url=base_url, timeout=30)
        self.identity, self.connector, self.app_id = identity, connector, app_id

    def post(self, activity: dict, token: str | None = "valid") -> httpx.Response:
        headers = {}
        if token == "valid":
            token = self.identity.token(self.app_id, activity.get("serviceUrl"))
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return self.http.post("/api/messages", json=activity, headers=headers)


class TeamsUser:
    """One person, in their personal chat with the bot (or in a team channel)."""

    def __init__(self, sender: TeamsSender, user: str = "29:anna", name: str = "Anna de Vries", tenant: str = TENANT):
        self.sender, self.connector = sender, sender.connector
        self.user, self.name, self.tenant = user, name, tenant
        self.chat = f"a:chat-{user.split(':')[-1]}"

    def activity(self, conversation: str | None = None, kind: str = "personal", **fields) -> dict:
        conversation = conversation or self.chat
        return {
            "type": "message",
            "id": f"act-{next(_ids)}-{uuid.uuid4().hex[:6]}",
            "channelId": "msteams",
            "serviceUrl": self.connector.url,
            "from": {"id": self.user, "name": self.name, "aadObjectId": str(uuid.uuid5(uuid.NAMESPACE_URL, self.user))},
            "conversation": {"id": conversation, "conversationType": kind, "tenantId": self.tenant},
            "recipient": {"id": BOT, "name": "Wat Werkt in de Wijk"},
            "channelData": {"tenant": {"id": self.tenant}},
            **fields,
        }

    def send(self, activity: dict) -> list[dict]:
        """Post an activity; the cards the bot sent to this person's chat in answer."""
        before = self.connector.last_seq
        response = self.sender.post(activity)
        assert response.status_code == 200, response.text
        return [c.body for c in self.connector.activities_sent(after=before) if c.conversation_id == self.chat]

    def say(self, text: str) -> list[dict]:
        return self.send(self.activity(text=text))

    def last_card_with(self, title: str) -> tuple[str, dict, dict]:
        """The newest card (its activity id, its content) with an action titled `title`, and that action."""
        for call in reversed(self.connector.calls):
            if call.conversation_id != self.chat or call.kind not in ("send", "reply", "update"):
                continue
            for content in contents(call.body):
                for action in actions(content):
                    if action.get("title") == title:
                        return call.activity_id if call.kind != "update" else call.reply_to_id, content, action
        raise AssertionError(f"no card with an action {title!r}")

    def click(self, title: str, inputs: dict | None = None) -> list[dict]:
        """Press a card's button (Action.Submit), with what was typed in the card's inputs."""
        card_id, _, action = self.last_card_with(title)
        value = {**(action.get("data") or {}), **(inputs or {})}
        return self.send(self.activity(value=value, replyToId=card_id))


def contents(activity: dict) -> list[dict]:
    return [a["content"] for a in activity.get("attachments") or [] if isinstance(a.get("content"), dict)]


def actions(content: dict) -> list[dict]:
    found = list(content.get("actions") or [])

    def walk(elements):
        for element in elements or []:
            if element.get("type") == "ActionSet":
                found.extend(element.get("actions") or [])
            walk(element.get("items"))

    walk(content.get("body"))
    return found


def texts(activities: list[dict]) -> str:
    """All visible text of the bot's answers: text blocks, facts, choices and buttons."""
    out = []

    def walk(elements):
        for element in elements or []:
            if element.get("type") == "TextBlock":
                out.append(element.get("text") or "")
            if element.get("type") == "FactSet":
                out.extend(f"{f['title']}: {f['value']}" for f in element.get("facts") or [])
            if element.get("type") == "Input.ChoiceSet":
                out.extend(c["title"] for c in element.get("choices") or [])
            walk(element.get("items"))

    for activity in activities:
        out.append(activity.get("text") or "")
        for content in contents(activity):
            walk(content.get("body"))
            out += [a.get("title", "") for a in actions(content)]
    return "\n".join(out)
