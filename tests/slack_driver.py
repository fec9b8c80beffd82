"""Drives the bot as Slack would: signed events, button clicks, modal submissions and slash
commands POSTed to /slack/events of a live server, with replies read from the fake Web API."""

from __future__ import annotations

import hashlib
import hmac
import html
import itertools
import json
import re
import time
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx

SECRET = "test-signing-secret"
_ids = itertools.count(1)


def sign(body: str, secret: str = SECRET, timestamp: int | None = None) -> dict:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


class SlackSender:
    def __init__(self, base_url: str, secret: str = SECRET):
        self.http = httpx.Client(base_url=base_url, timeout=30)
        self.secret = secret

    def post(self, body: str, content_type: str, headers: dict | None = None, **sign_args) -> httpx.Response:
        all_headers = {"Content-Type": content_type, **sign(body, self.secret, **sign_args), **(headers or {})}
        return self.http.post("/slack/events", content=body.encode(), headers=all_headers)

    def event(
        self, event: dict, team: str = "T1", event_id: str | None = None, retry: int | None = None, **sign_args
    ) -> httpx.Response:
        body = json.dumps(
            {
                "token": "unused",
                "team_id": team,
                "api_app_id": "A1",
                "type": "event_callback",
                "event_id": event_id or f"Ev{next(_ids):08d}",
                "event_time": int(time.time()),
                "event": event,
            }
        )
        headers = {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"} if retry else None
        return self.post(body, "application/json", headers, **sign_args)

    def interaction(self, payload: dict) -> httpx.Response:
        return self.post(urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded")

    def command(self, user: str, text: str, channel: str = "C_GENERAL", team: str = "T1") -> httpx.Response:
        body = urlencode(
            {
                "token": "unused",
                "team_id": team,
                "team_domain": "test",
                "channel_id": channel,
                "channel_name": "directmessage"
                if channel.startswith("D")
                else "algemeen"
                if channel == "C_GENERAL"
                else channel.lower(),
                "user_id": user,
                "user_name": user.lower(),
                "command": "/wwidw",
                "text": text,
                "api_app_id": "A1",
                "response_url": "http://127.0.0.1:9/unused",
                "trigger_id": f"trigger.{next(_ids)}",
            }
        )
        return self.post(body, "application/x-www-form-urlencoded")


def start_install(http: httpx.Client) -> tuple[dict, str]:
    """An administrator opens the install page and clicks "Add to Slack": the query of the link to
    Slack's consent screen, and the state cookie the page set in their browser."""
    page = http.get("/slack/install")
    assert page.status_code == 200, page.text
    link = urlsplit(html.unescape(re.search(r'<a class="button" href="([^"]+)"', page.text).group(1)))
    assert (link.scheme, link.netloc, link.path) == ("https", "slack.com", "/oauth/v2/authorize"), link
    cookie = page.headers["set-cookie"].split(";")[0]
    return dict(parse_qsl(link.query)), cookie


def install(http: httpx.Client, fake, team: str, team_name: str, installer: str = "UADMIN") -> httpx.Response:
    """The whole install of the app in `team`, through the real redirects: the install page, Slack's
    consent (the fake's code), and Slack's redirect back to us with the code and the state. The
    browser would send the state cookie over HTTPS; this test server speaks HTTP, so it is sent by hand."""
    query, cookie = start_install(http)
    code = fake.consent(query["client_id"], query["scope"], team, team_name, installer)
    return http.get("/slack/oauth_redirect", params={"code": code, "state": query["state"]}, headers={"Cookie": cookie})


class SlackUser:
    """One person in a DM with the bot."""

    def __init__(self, sender: SlackSender, fake, user: str, team: str = "T1"):
        self.sender, self.fake, self.user, self.team = sender, fake, user, team
        self.dm = f"D{user}"

    # --- what the person does --------------------------------------------------------------

    def say(self, text: str, **event_args) -> dict:
        before = self.fake.last_seq
        response = self.sender.event(
            {
                "type": "message",
                "channel_type": "im",
                "channel": self.dm,
                "user": self.user,
                "text": text,
                "ts": f"{time.time():.6f}",
                "team": self.team,
            },
            team=self.team,
            **event_args,
        )
        assert response.status_code == 200, response.text
        return self.reply(before)

    def reply(self, before: int) -> dict:
        return self.fake.wait_for("chat.postMessage", after=before, channel=self.dm)[-1].args

    def _message_with(self, predicate):
        mine = [c for c in self.fake.of("chat.postMessage") if c.args.get("channel") in (self.dm, self.user)]
        for call in reversed(mine):
            for block in call.args.get("blocks") or []:
                for element in block.get("elements") or []:
                    if predicate(element):
                        return call, block, element
        raise AssertionError("no such element in the bot's messages")

    def click(self, label: str, wait: bool = True) -> dict | None:
        call, block, element = self._message_with(lambda e: e.get("type") == "button" and e["text"]["text"] == label)
        return self._act(call, block, element, wait)

    def pick(self, label: str, wait: bool = True) -> dict | None:
        call, block, element = self._message_with(
            lambda e: e.get("type") == "static_select" and any(o["text"]["text"] == label for o in options_of(e))
        )
        selected = next(o for o in options_of(element) if o["text"]["text"] == label)
        return self._act(call, block, {**element, "selected_option": selected}, wait)

    def pick_many(self, labels: list[str]) -> dict:
        call, block, element = self._message_with(lambda e: e.get("type") == "multi_static_select")
        selected = [o for o in options_of(element) if o["text"]["text"] in labels]
        ok = next(e for e in block["elements"] if e.get("type") == "button")
        state = {
            "values": {
                block["block_id"]: {element["action_id"]: {"type": "multi_static_select", "selected_options": selected}}
            }
        }
        return self._act(call, block, ok, state=state)

    def _act(self, call, block, element, wait: bool = True, state: dict | None = None):
        before = self.fake.last_seq
        message = {
            "type": "message",
            "text": call.args.get("text"),
            "blocks": call.args.get("blocks"),
            "ts": call.result["ts"],
            "user": "UBOT",
        }
        action = {
            "type": element["type"],
            "action_id": element["action_id"],
            "block_id": block.get("block_id", "b"),
            "action_ts": f"{time.time():.6f}",
        }
        for key in ("value", "text", "selected_option"):
            if key in element:
                action[key] = element[key]
        response = self.sender.interaction(
            {
                "type": "block_actions",
                "user": {"id": self.user, "team_id": self.team},
                "team": {"id": self.team},
                "api_app_id": "A1",
                "trigger_id": f"trigger.{next(_ids)}",
                "channel": {"id": self.dm},
                "container": {"type": "message", "message_ts": message["ts"], "channel_id": self.dm},
                "message": message,
                "state": state or {"values": {}},
                "actions": [action],
            }
        )
        assert response.status_code == 200, response.text
        return self.reply(before) if wait else None

    # --- the App Home tab ---------------------------------------------------------------------

    def open_home(self) -> dict:
        """Open the App Home tab; returns the views.publish call's arguments."""
        before = self.fake.last_seq
        self.sender.event(
            {"type": "app_home_opened", "user": self.user, "channel": self.dm, "tab": "home"}, team=self.team
        )
        return self.fake.wait_for("views.publish", after=before)[-1].args

    def click_home(self, view: dict, button: dict, trigger_id: str = "trigger.home") -> httpx.Response:
        """Click `button` (a button element of the published home `view`)."""
        return self.sender.interaction(
            {
                "type": "block_actions",
                "user": {"id": self.user, "team_id": self.team},
                "team": {"id": self.team},
                "api_app_id": "A1",
                "trigger_id": trigger_id,
                "container": {"type": "view", "view_id": "V1"},
                "view": {"id": "V1", "type": "home", "blocks": view["blocks"]},
                "actions": [
                    {
                        "type": "button",
                        "action_id": button["action_id"],
                        "block_id": "b",
                        "value": button["value"],
                        "text": button["text"],
                        "action_ts": "1.0",
                    }
                ],
            }
        )

    def command(self, text: str, channel: str = "C_GENERAL") -> httpx.Response:
        return self.sender.command(self.user, text, channel=channel, team=self.team)

    # --- modals ------------------------------------------------------------------------------

    def open_view(self) -> dict:
        views = self.fake.of("views.open") + self.fake.of("views.update")
        return sorted(views, key=lambda c: c.seq)[-1].args["view"]

    def submit(self, view: dict, values: dict) -> httpx.Response:
        """Submit a modal with `values` by block id (field path), as Slack sends the state."""
        state = {}
        for block in view["blocks"]:
            if block.get("type") != "input":
                continue
            element = block["element"]
            value = values.get(block["block_id"])
            kind = element["type"]
            if kind == "plain_text_input":
                entry = {"type": kind, "value": value if value is not None else element.get("initial_value")}
            elif kind == "datepicker":
                entry = {"type": kind, "selected_date": value if value is not None else element.get("initial_date")}
            elif kind == "static_select":
                chosen = next(
                    (o for o in options_of(element) if o["text"]["text"] == value or o["value"] == value), None
                )
                entry = {"type": kind, "selected_option": chosen or element.get("initial_option")}
            else:
                chosen = [
                    o for o in options_of(element) if value and (o["text"]["text"] in value or o["value"] in value)
                ]
                entry = {"type": kind, "selected_options": chosen or element.get("initial_options") or []}
            state[block["block_id"]] = {element["action_id"]: entry}
        return self.sender.interaction(
            {
                "type": "view_submission",
                "team": {"id": self.team},
                "user": {"id": self.user, "team_id": self.team},
                "api_app_id": "A1",
                "trigger_id": f"trigger.{next(_ids)}",
                "view": {**view, "id": "V1", "state": {"values": state}},
            }
        )


def options_of(select: dict) -> list[dict]:
    """A select's options, also when they come under group headings."""
    return select.get("options") or [o for g in select.get("option_groups") or [] for o in g["options"]]


def texts(message: dict) -> str:
    """All visible text of a posted message."""
    out = [message.get("text") or ""]
    for block in message.get("blocks") or []:
        out.append((block.get("text") or {}).get("text") or "")
        for element in block.get("elements") or []:
            out.append(
                (element.get("text") or {}).get("text", "")
                if isinstance(element.get("text"), dict)
                else element.get("text") or ""
            )
    return "\n".join(out)


def workspaces_settings(database_url: str, fake, key: str, **more):
    """The settings of a deployment for many workspaces, talking to the fake Slack."""
    from bot.settings import Settings
    from tests.fakes.slack_api import CLIENT_ID, CLIENT_SECRET

    return Settings(
        database_url=database_url,
        slack_client_id=CLIENT_ID,
        slack_client_secret=CLIENT_SECRET,
        slack_signing_secret=SECRET,
        slack_api_url=fake.url,
        wwidw_secret_key=key,
        _env_file=None,
        **more,
    )
