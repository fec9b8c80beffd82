"""A fake Slack Web API: a real local HTTP server that answers like slack.com/api and records
every call, so tests assert on what the bot really sent over the wire.

It also checks the Block Kit limits Slack enforces and can be told to answer 429 or 500. It knows
several workspaces: each bot token belongs to one, and `oauth.v2.access` installs the app (a code
from `consent`, what Slack's consent screen hands the browser) and refreshes rotating tokens.

Sign in with Slack: `/openid/connect/authorize` is the page a browser is sent to; it redirects
back at once as `signing_in` (the person signed in to Slack in that browser), and
`openid.connect.token` exchanges the code for an id_token signed with a key from
`/openid/connect/keys`. `id_token_changes` and `forge` make a bad one.
"""

from __future__ import annotations

import base64
import itertools
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode, urlsplit

from tests.fakes.local_server import LocalServer
from tests.fakes.signer import Signer

TOKEN = "xoxb-test-token"
CLIENT_ID = "1111.2222"
CLIENT_SECRET = "test-client-secret"
APP_ID = "A1"


@dataclass
class Call:
    seq: int
    method: str
    args: dict
    result: dict = field(default_factory=dict)
    at: float = field(default_factory=time.monotonic)
    token: str = ""  # the bearer token it came with
    team: str | None = None  # the workspace of that token


# Methods Slack reads its arguments for from the query string or a form body only.
READS = {"conversations.history", "conversations.replies", "conversations.info", "users.info"}


class FakeSlack:
    def __init__(self, token: str = TOKEN, users: dict | None = None, listener=None, per_channel: float | None = None):
        self.token = token
        self.tokens = {token: "T1"}  # valid bot tokens -> their workspace
        self.team_names = {"T1": "Test Woonstad"}
        self.codes: dict[str, tuple[str, str]] = {}  # unused OAuth codes -> (workspace, installer)
        self.refresh_tokens: dict[str, str] = {}  # -> workspace
        self.expires_in: int | None = None  # seconds a token of an install lives; None: no rotation
        self.granted: dict[str, str] = {}  # workspace -> the scopes its install asked for
        # Slack's chat.postMessage allows about one message per second per channel; with
        # `per_channel` set (seconds), a faster message gets 429 with Retry-After, like Slack.
        self.per_channel = per_channel
        self.last_post: dict[str, float] = {}
        self.history: dict[str, list[dict]] = {}  # channel -> messages posted there
        self.uploads: dict[str, bytes] = {}  # file id -> the uploaded bytes
        self.listener = listener  # called with each recorded Call (benchmarks watch replies this way)
        self.users = users or {}
        self.zones: dict[str, str] = {}  # users.info "tz" per user; Europe/Amsterdam otherwise
        self.admins: set[str] = set()  # users.info "is_admin"
        self.homes: dict[str, str] = {}  # users.info "team_id": a user's own workspace (Slack Connect)
        self.closed: dict[str, str] = {}  # channel -> the error posting there gets (is_archived, not_in_channel…)
        self.shared: set[str] = set()  # channels shared with another workspace (Slack Connect)
        self.unjoined: set[str] = set()  # public channels the bot posts in (chat:write.public) but cannot read
        self.threads: dict[tuple[str, str], list[dict]] = {}  # (channel, parent ts) -> replies
        self.calls: list[Call] = []
        self.violations: list[str] = []
        self.failures: dict[str, list[tuple[int, dict, dict]]] = {}
        self._seq = itertools.count(1)
        self._last_ts = 0.0
        # Sign in with Slack: who is signed in to Slack in the browser (team, user, name), or None;
        # "deny" makes them press Cancel.
        self.signing_in: tuple[str, str, str] | str | None = None
        self.signer = Signer()
        self.sign_in_codes: dict[str, dict] = {}  # unused codes -> what the id_token will say
        self.id_token_changes: dict = {}  # claims to change in the next id_tokens (a bad nonce, audience…)
        self.forge = False  # sign id_tokens with a key that is not published
        self._cond = threading.Condition()
        self.http = LocalServer(self.respond)
        self.url = f"{self.http.url}/api/"

    def stop(self):
        self.http.stop()

    def respond(self, method: str, path: str, headers: dict, raw: bytes) -> tuple[int, dict, dict | bytes]:
        """One HTTP request to the Web API (or to the upload URL it handed out)."""
        url = urlsplit(path)
        name = url.path.rsplit("/", 1)[-1]
        if url.path == "/openid/connect/authorize":
            return self.authorize(dict(parse_qsl(url.query)))
        if url.path == "/openid/connect/keys":
            return 200, {}, self.signer.jwks()
        if "/upload/" in url.path:  # the file upload URL handed out by files.getUploadURLExternal
            self.uploads[name] = raw
            return 200, {"Content-Type": "text/plain"}, b"OK"
        args = dict(parse_qsl(url.query))
        content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
        if "json" in content_type and name in READS:
            pass  # like Slack, read methods take no JSON: only what came as query or form parameters counts
        elif "json" in content_type:
            args.update(json.loads(raw.decode() or "{}"))
        else:
            args.update(parse_qsl(raw.decode()))
        authorization = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
        return self.answer(name, args, authorization)

    # --- behaviour ---------------------------------------------------------------------

    def fail(
        self,
        method: str,
        status: int,
        times: int = 1,
        headers: dict | None = None,
        body: dict | None = None,
        done: bool = False,
    ):
        """Answer the next `times` calls of `method` with an HTTP error (e.g. 429 with Retry-After).
        With `done`, Slack does what was asked first and fails only in answering (a 500 after the
        message was posted)."""
        body = body or {"ok": False, "error": "ratelimited" if status == 429 else "internal_error"}
        self.failures.setdefault(method, []).extend([(status, headers or {}, body, done)] * times)

    # --- workspaces and OAuth --------------------------------------------------------

    def consent(self, client_id: str, scope: str, team: str, team_name: str, installer: str = "UADMIN") -> str:
        """An administrator of `team` agrees on Slack's consent screen: the code for the redirect."""
        assert client_id == CLIENT_ID, client_id
        code = f"code-{secrets.token_hex(8)}"
        with self._cond:
            self.codes[code] = (team, installer)
            self.team_names[team] = team_name
            self.granted[team] = scope
        return code

    def revoke(self, team: str) -> None:
        """The workspace uninstalled the app (or revoked its tokens): they answer `token_revoked`."""
        with self._cond:
            for token in [k for k, v in self.tokens.items() if v == team]:
                del self.tokens[token]
            for token in [k for k, v in self.refresh_tokens.items() if v == team]:
                del self.refresh_tokens[token]

    def issue(self, team: str) -> dict:
        """A new bot token for `team`, rotating when `expires_in` is set."""
        rotating = self.expires_in is not None
        token = f"xoxe.xoxb-{team}-{secrets.token_hex(6)}" if rotating else f"xoxb-{team}-{secrets.token_hex(6)}"
        self.tokens[token] = team
        issued = {"access_token": token, "token_type": "bot", "bot_user_id": f"UBOT{team}", "app_id": APP_ID}
        if rotating:
            refresh = f"xoxe-1-{secrets.token_hex(8)}"
            self.refresh_tokens[refresh] = team
            issued |= {"refresh_token": refresh, "expires_in": self.expires_in}
        return issued

    @staticmethod
    def credentials(args: dict, authorization: str) -> tuple[str | None, str | None]:
        """The app's client id and secret, from Basic auth (slack_sdk's way) or the form."""
        if authorization.startswith("Basic "):
            client_id, _, client_secret = base64.b64decode(authorization[6:]).decode().partition(":")
            return client_id, client_secret
        return args.get("client_id"), args.get("client_secret")

    def oauth_access(self, args: dict, authorization: str) -> dict:
        client_id, client_secret = self.credentials(args, authorization)
        if client_id != CLIENT_ID:
            return {"ok": False, "error": "invalid_client_id"}
        if client_secret != CLIENT_SECRET:
            return {"ok": False, "error": "bad_client_secret"}
        if args.get("grant_type") == "refresh_token":
            team = self.refresh_tokens.pop(str(args.get("refresh_token")), None)  # spent: the new one is issued
            if team is None:
                return {"ok": False, "error": "invalid_refresh_token"}
            return {"ok": True, **self.issue(team), "team": {"id": team, "name": self.team_names[team]}}
        found = self.codes.pop(str(args.get("code")), None)  # a code works once
        if found is None:
            return {"ok": False, "error": "invalid_code"}
        team, installer = found
        return {
            "ok": True,
            **self.issue(team),
            "scope": self.granted[team],
            "team": {"id": team, "name": self.team_names[team]},
            "enterprise": None,
            "authed_user": {"id": installer},
            "is_enterprise_install": False,
        }

    # --- Sign in with Slack ----------------------------------------------------------------

    def authorize(self, query: dict) -> tuple[int, dict, bytes]:
        """Slack's sign-in page: a person already signed in to Slack agrees (or cancels) at once."""
        back = query.get("redirect_uri", "")
        if query.get("client_id") != CLIENT_ID or not back or query.get("response_type") != "code":
            return 400, {"Content-Type": "text/html"}, b"<p>invalid_request</p>"
        if set(query.get("scope", "").split(",")) != {"openid", "profile"}:
            return 400, {"Content-Type": "text/html"}, b"<p>invalid_scope</p>"
        if self.signing_in == "deny" or self.signing_in is None:
            answer = {"error": "access_denied", "state": query.get("state", "")}
        else:
            team, user, name = self.signing_in
            code = f"oidc-{secrets.token_hex(8)}"
            with self._cond:
                self.sign_in_codes[code] = {
                    "team": team,
                    "user": user,
                    "name": name,
                    "redirect_uri": back,
                    "nonce": query.get("nonce"),
                }
            answer = {"code": code, "state": query.get("state", "")}
        return 302, {"Location": f"{back}?{urlencode(answer)}", "Content-Type": "text/html"}, b""

    def openid_token(self, args: dict, authorization: str) -> dict:
        if self.credentials(args, authorization) != (CLIENT_ID, CLIENT_SECRET):
            return {"ok": False, "error": "invalid_client"}
        found = self.sign_in_codes.pop(str(args.get("code")), None)  # a code works once
        if found is None:
            return {"ok": False, "error": "invalid_code"}
        if args.get("redirect_uri") != found["redirect_uri"]:
            return {"ok": False, "error": "bad_redirect_uri"}
        now = int(time.time())
        claims = {
            "iss": "https://slack.com",
            "sub": found["user"],
            "aud": CLIENT_ID,
            "exp": now + 3600,
            "iat": now,
            "auth_time": now,
            "https://slack.com/user_id": found["user"],
            "https://slack.com/team_id": found["team"],
            "https://slack.com/team_name": self.team_names.get(found["team"], found["team"]),
            "name": found["name"],
            "locale": "nl-NL",
            **({"nonce": found["nonce"]} if found["nonce"] else {}),
            **self.id_token_changes,
        }
        id_token = self.signer.sign(claims, forged=self.forge)
        return {
            "ok": True,
            "access_token": f"xoxp-{secrets.token_hex(8)}",
            "token_type": "Bearer",
            "id_token": id_token,
        }

    def answer(self, method: str, args: dict, authorization: str) -> tuple[int, dict, dict]:
        with self._cond:
            failure = self.failures[method].pop(0) if self.failures.get(method) else None
            if failure is not None and not failure[3]:
                self.calls.append(Call(next(self._seq), method + ":failed", args))
                self._cond.notify_all()
                return failure[:3]
            if method in ("oauth.v2.access", "openid.connect.token"):
                if method == "oauth.v2.access":
                    result = self.oauth_access(args, authorization)
                else:
                    result = self.openid_token(args, authorization)
                self.calls.append(Call(next(self._seq), method, args, result))
                self._cond.notify_all()
                return 200, {}, result
            token = authorization.removeprefix("Bearer ")
            team = self.tokens.get(token)
            if team is None:
                known = token.startswith(("xoxb-T", "xoxe.xoxb-T"))
                return 200, {}, {"ok": False, "error": "token_revoked" if known else "invalid_auth"}
            for key in ("blocks", "view"):
                if isinstance(args.get(key), str):
                    args[key] = json.loads(args[key])
            self.check_limits(method, args)
            if method == "chat.postMessage" and self.per_channel:
                channel, moment = self.dm_of(str(args.get("channel"))), time.monotonic()
                if moment - self.last_post.get(channel, -1e9) < self.per_channel:
                    self.calls.append(Call(next(self._seq), method + ":ratelimited", args))
                    return (
                        429,
                        {"Retry-After": str(max(1, round(self.per_channel)))},
                        {"ok": False, "error": "ratelimited"},
                    )
                self.last_post[channel] = moment
            result = self.result(method, args, team)
            call = Call(next(self._seq), method, args, result, token=token, team=team)
            self.calls.append(call)
            self._cond.notify_all()
        if self.listener:
            self.listener(call)
        if failure is not None:
            return failure[:3]  # done, but the answer says it failed
        return 200, {}, result

    def result(self, method: str, args: dict, team: str) -> dict:
        if method == "auth.test":
            return {
                "ok": True,
                "url": "https://test.slack.com/",
                "team": self.team_names.get(team, team),
                "user": "wwidw",
                "team_id": team,
                "user_id": "UBOT",
                "bot_id": "BBOT",
            }
        if method == "chat.postMessage":
            if not args.get("channel"):
                return {"ok": False, "error": "channel_not_found"}
            channel = self.dm_of(str(args.get("channel")))
            if channel in self.closed:
                return {"ok": False, "error": self.closed[channel]}
            ts = self.new_ts()
            message = {"ts": ts, "text": args.get("text"), "blocks": args.get("blocks")}
            if args.get("metadata"):
                metadata = args["metadata"]
                message["metadata"] = json.loads(metadata) if isinstance(metadata, str) else metadata
            if args.get("thread_ts"):  # a reply in a thread: not in the channel's history
                parent = str(args["thread_ts"])
                if not any(m["ts"] == parent for m in self.history.get(channel, [])):
                    return {"ok": False, "error": "thread_not_found"}
                message["thread_ts"] = parent
                self.threads.setdefault((channel, parent), []).append(message)
            else:
                self.history.setdefault(channel, []).append(message)
            return {"ok": True, "channel": channel, "ts": ts, "message": message}
        if method == "files.getUploadURLExternal":
            file_id = f"F{len(self.uploads) + 1:06d}"
            return {"ok": True, "file_id": file_id, "upload_url": f"{self.url}upload/{file_id}"}
        if method == "files.completeUploadExternal":
            files = args.get("files")
            files = json.loads(files) if isinstance(files, str) else files
            return {"ok": True, "files": [{"id": f["id"], "title": f.get("title")} for f in files]}
        if method == "conversations.info":
            channel = str(args.get("channel") or "")
            if not channel or self.closed.get(channel) == "channel_not_found":
                return {"ok": False, "error": "channel_not_found"}
            shared = channel in self.shared
            flags = {
                "is_shared": shared,
                "is_ext_shared": shared,
                "is_org_shared": False,
                "is_pending_ext_shared": False,
            }
            return {
                "ok": True,
                "channel": {"id": channel, "is_channel": True, "is_archived": self.closed.get(channel) == "is_archived"}
                | flags,
            }
        if method == "conversations.open":
            return {"ok": True, "channel": {"id": self.dm_of(str(args.get("users")))}}
        if method in ("conversations.history", "conversations.replies") and args.get("channel") in self.unjoined:
            return {"ok": False, "error": "not_in_channel"}
        if method == "conversations.history":
            oldest = float(args.get("oldest") or 0)
            found = [m for m in self.history.get(str(args.get("channel")), []) if float(m["ts"]) > oldest]
            if str(args.get("include_all_metadata")).lower() not in ("true", "1"):
                found = [{k: v for k, v in m.items() if k != "metadata"} for m in found]
            return {"ok": True, "messages": list(reversed(found))[: int(args.get("limit") or 100)], "has_more": False}
        if method == "conversations.replies":
            channel, parent = str(args.get("channel")), str(args.get("ts"))
            head = [m for m in self.history.get(channel, []) if m["ts"] == parent]
            if not head:
                return {"ok": False, "error": "thread_not_found"}
            oldest = float(args.get("oldest") or 0)
            found = head + [m for m in self.threads.get((channel, parent), []) if float(m["ts"]) > oldest]
            if str(args.get("include_all_metadata")).lower() not in ("true", "1"):
                found = [{k: v for k, v in m.items() if k != "metadata"} for m in found]
            return {"ok": True, "messages": found[: int(args.get("limit") or 100)], "has_more": False}
        if method == "chat.update":
            ts = args.get("ts") or self.new_ts()
            return {
                "ok": True,
                "channel": args.get("channel"),
                "ts": ts,
                "message": {"text": args.get("text"), "blocks": args.get("blocks"), "ts": ts},
            }
        if method in ("views.open", "views.update", "views.push", "views.publish"):
            return {"ok": True, "view": {"id": "V1", **(args.get("view") or {})}}
        if method == "users.info":
            user = args.get("user")
            info = {
                "id": user,
                "name": user.lower(),
                "real_name": self.users.get(user, f"Gebruiker {user}"),
                "tz": self.zones.get(user, "Europe/Amsterdam"),
                "is_admin": user in self.admins,
                "is_owner": False,
                # Slack names the user's own workspace; the fake knows it only when a test says so
                # (tests of one token also play people of other workspaces with it).
                **({"team_id": self.homes[user]} if user in self.homes else {}),
                "profile": {"display_name": self.users.get(user, "")},
            }
            return {"ok": True, "user": info}
        return {"ok": True}

    def new_ts(self) -> str:
        """Slack's message ids are times: unique, increasing, comparable with `oldest`."""
        self._last_ts = max(time.time(), self._last_ts + 0.000001)
        return f"{self._last_ts:.6f}"

    @staticmethod
    def dm_of(channel: str) -> str:
        """Posting to a user id lands in the bot's DM with them, "D" + the user id here."""
        return "D" + channel if channel[:1] in ("U", "W") else channel

    def posts(self, after: int = 0) -> list[Call]:
        """Delivered messages (not the rate-limited or failed attempts)."""
        return self.of("chat.postMessage", after=after)

    def check_limits(self, method: str, args: dict) -> None:
        blocks = args.get("blocks") or (args.get("view") or {}).get("blocks") or []
        limit = 100 if "view" in args else 50
        if len(blocks) > limit:
            self.violations.append(f"{method}: {len(blocks)} blocks")
        for block in blocks:
            text = (block.get("text") or {}).get("text") or ""
            if block.get("type") == "section" and len(text) > 3000:
                self.violations.append(f"{method}: section of {len(text)} characters")
            for element in [*(block.get("elements") or []), block.get("element") or {}]:
                if element.get("type") == "button" and len(element["text"]["text"]) > 75:
                    label = element["text"]["text"]
                    self.violations.append(f"{method}: button text of {len(label)} characters")
                self.check_select(method, element)
        action_ids = [
            e["action_id"]
            for b in blocks
            for e in [*(b.get("elements") or []), b.get("accessory") or {}]
            if isinstance(e, dict) and "action_id" in e and b.get("type") != "input"
        ]
        if len(action_ids) != len(set(action_ids)):
            self.violations.append(f"{method}: repeated action_id in {sorted(action_ids)}")
        block_ids = [b["block_id"] for b in blocks if "block_id" in b]
        if len(block_ids) != len(set(block_ids)):
            self.violations.append(f"{method}: repeated block_id")
        title = ((args.get("view") or {}).get("title") or {}).get("text") or ""
        if len(title) > 24:
            self.violations.append(f"{method}: modal title of {len(title)} characters")

    def check_select(self, method: str, element: dict) -> None:
        """A select holds `options` or `option_groups`, at most 100 of either, 100 options a group,
        option texts and group labels of at most 75 characters."""
        groups = element.get("option_groups")
        if "options" not in element and groups is None:
            return
        if "options" in element and groups is not None:
            self.violations.append(f"{method}: both options and option_groups")
        for options in [element.get("options") or [], *(g["options"] for g in groups or [])]:
            if len(options) > 100 or any(len(o["text"]["text"]) > 75 for o in options):
                self.violations.append(f"{method}: {len(options)} options, or an option text too long")
        if groups is not None and (len(groups) > 100 or any(len(g["label"]["text"]) > 75 for g in groups)):
            self.violations.append(f"{method}: {len(groups)} option groups, or a group label too long")

    # --- inspection --------------------------------------------------------------------

    @property
    def last_seq(self) -> int:
        with self._cond:
            return self.calls[-1].seq if self.calls else 0

    def of(self, method: str, after: int = 0, **match) -> list[Call]:
        with self._cond:
            return [
                c
                for c in self.calls
                if c.method == method and c.seq > after and all(c.args.get(k) == v for k, v in match.items())
            ]

    def wait_for(self, method: str, after: int = 0, count: int = 1, timeout: float = 10, **match) -> list[Call]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [
                    c
                    for c in self.calls
                    if c.method == method and c.seq > after and all(c.args.get(k) == v for k, v in match.items())
                ]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"no {count}× {method} {match} after #{after}; saw "
                        f"{[(c.seq, c.method) for c in self.calls[-10:]]}"
                    )
                self._cond.wait(left)
