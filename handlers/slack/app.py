"""Slack: slack-bolt listeners that turn Slack payloads into wizard turns and replies into Block Kit.

Bolt checks every request's signature and age before any listener runs. Events are acknowledged
at once and handled in bolt's worker threads; a retried event (same `event_id`) is recorded in the
turn's own transaction, so it is handled once.
"""

from __future__ import annotations

import logging
import re
import time
from concurrent.futures import ThreadPoolExecutor

from slack_bolt import App
from slack_bolt.authorization.authorize import InstallationStoreAuthorize
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.analyses import FORM as ANALYSIS_FORM
from bot.analyses import AnalysisForm
from bot.forms import FormError
from bot.i18n import t
from bot.messages import ReplyTo
from bot.people import ensure_person, find_person, person_name, placeholders, update_profile
from bot.replies import Reply, Turn
from bot.subscriptions import Where
from bot.wizard import Outcome
from handlers.slack import blocks, modals
from handlers.slack.delivery import shared_with_others
from handlers.slack.installations import ROTATE_BEFORE, Recent, api_client
from handlers.slack.markup import typed
from handlers.slack.oauth import install_flow
from handlers.slack.subcommands import SUBCOMMANDS
from handlers.slack.views import Listening, clicker_team, register_views

log = logging.getLogger("wwidw.slack")
MENTION = re.compile(r"<@([UW][A-Z0-9]{2,30})>")  # as handlers/slack/markup.py leaves a person's mention
PROFILE_EVERY = 24 * 3600  # seconds between reading a person's Slack name and zone again


def describe(error: Exception) -> str:
    """What went wrong talking to Slack, without echoing request data (tokens stay out of logs)."""
    if isinstance(error, SlackApiError):
        return str(error.response.get("error"))
    return error.__class__.__name__


def build_bolt_app(core) -> App:
    """The bolt app: for one workspace with `SLACK_BOT_TOKEN`, or for every workspace that installs
    it (each request authorized with its workspace's stored token, refreshed when it rotates)."""
    settings, workspaces = core.settings, core.slack
    client = api_client(settings, None if workspaces.oauth else workspaces.token(""))
    options = dict(
        signing_secret=settings.slack_signing_secret.get_secret_value(),
        client=client,
        raise_error_for_unhandled_request=False,
        request_verification_enabled=False,  # done before bolt, without logging the body (routes.py)
        # Listeners of many people at once, some waiting on Slack's rate limits, must not keep a
        # new request from being acknowledged within Slack's three seconds.
        listener_executor=ThreadPoolExecutor(max_workers=32, thread_name_prefix="slack"),
    )
    if not workspaces.oauth:
        # Verify the token on the first request, not at start-up: a Slack outage must not keep
        # the web chat from starting.
        app = App(**options, token_verification_enabled=False)
    else:
        authorize = InstallationStoreAuthorize(
            installation_store=workspaces.store,
            client_id=workspaces.client_id,
            client_secret=workspaces.client_secret,
            token_rotation_expiration_minutes=ROTATE_BEFORE,
            bot_only=True,
            cache_enabled=True,  # auth.test once per token, not once per request
            client=client,
            logger=log,
        )
        # The outbox's rotator: one refresh per workspace across processes (installations.py).
        authorize.token_rotator = workspaces.rotator
        authorize.authorize_result_cache = Recent(size=1000)
        app = App(
            **options,
            authorize=authorize,
            installation_store=workspaces.store,
            oauth_flow=install_flow(core, workspaces, client),
        )
        ended = app.default_tokens_revoked_event_listener(), app.default_app_uninstalled_event_listener()

        @app.event("tokens_revoked")
        def on_tokens_revoked(event, context):
            ended[0](event=event, context=context)
            workspaces.forget(context.team_id)
            log.info("tokens revoked in workspace %s", context.team_id)

        @app.event("app_uninstalled")
        def on_uninstalled(context):
            ended[1](context=context)
            workspaces.forget(context.team_id)
            log.info("uninstalled from workspace %s; its messages wait for a new install", context.team_id)

    db, wizard, forms = core.db, core.wizard, core.forms

    # --- people ------------------------------------------------------------------------

    # (team, user) -> (person id, when their Slack profile was last read); identities never change owner
    known: dict[tuple[str, str], tuple[int, float]] = {}
    teams: dict[str, str] = {}  # each workspace's id -> its name

    def person_for(client: WebClient, team_id: str, user_id: str) -> int:
        cached = known.get((team_id, user_id))
        if cached and time.monotonic() - cached[1] < PROFILE_EVERY:
            return cached[0]
        name, tz, home = profile(client, user_id)
        # Someone of another workspace, in a channel shared with this one (Slack Connect), belongs
        # to their own workspace's organisation, never to the host's.
        workspace = home if home and home.startswith("T") else team_id
        with db.transaction() as s:
            person = find_person(s, "slack", workspace, user_id)
        person_id = person.id if person else ensure_person(db, "slack", workspace, user_id, name or user_id)
        # A name or zone changed in Slack (or a colleague named in a mention talks to us at last).
        update_profile(db, person_id, name, tz, settings.wwidw_timezone)
        name = workspace_name(client, team_id)
        if name:
            wizard.workspace_name("slack", team_id, name)
        if len(known) > 50_000:
            known.clear()
        known[(team_id, user_id)] = (person_id, time.monotonic())
        return person_id

    def workspace_name(client: WebClient, team_id: str) -> str | None:
        """The workspace's name (auth.test with its token), asked once per workspace: until an
        administrator names the organisation, it goes by the workspace's name rather than its id."""
        if team_id not in teams:
            try:
                found = client.auth_test()
            except Exception as e:
                log.warning("auth.test failed: %s", describe(e))
                return None
            teams[str(found.get("team_id") or "")] = str(found.get("team") or "")
        return teams.get(team_id)

    def profile(client: WebClient, user_id: str) -> tuple[str | None, str | None, str | None]:
        """The name, time zone and own workspace Slack has for a user; Nones when it cannot say."""
        try:
            user = client.users_info(user=user_id).get("user") or {}
        except Exception as e:
            log.warning("users.info failed: %s", describe(e))
            return None, None, None
        details = user.get("profile") or {}
        name = details.get("display_name") or user.get("real_name") or user.get("name")
        return name, user.get("tz"), user.get("team_id")

    def is_admin(client: WebClient, user_id: str) -> bool:
        """Whether Slack says this user administers the workspace (asked fresh, never cached)."""
        try:
            user = client.users_info(user=user_id).get("user") or {}
        except Exception as e:
            log.warning("users.info failed: %s", describe(e))
            return False
        return bool(user.get("is_admin") or user.get("is_owner"))

    def is_shared(client: WebClient, channel: str) -> bool:
        """Whether people of another workspace read this channel (Slack Connect). When Slack will not
        say (a private channel the bot is not in), every digest post asks again before it is sent."""
        try:
            return shared_with_others(client.conversations_info(channel=channel).get("channel") or {})
        except Exception as e:
            log.info("conversations.info failed: %s", describe(e))
            return False

    def named(client: WebClient, team_id: str, text: str) -> str:
        """Mentions as the names Slack shows for them ("@Carla Smit"): stored, shown and exported
        as read. Each colleague named is known from then on, so step 8 can make them an
        indicator's owner by that name. When Slack will not say, the mention stays (step 8
        still knows it); past the first ten mentions of one message, too."""
        count = 0

        def name_of(mention: re.Match) -> str:
            nonlocal count
            count += 1
            name, tz, home = profile(client, mention[1]) if count <= 10 else (None, None, None)
            if not name:
                return mention[0]
            workspace = home if home and home.startswith("T") else team_id
            person_id = ensure_person(db, "slack", workspace, mention[1], name)
            update_profile(db, person_id, name, tz, settings.wwidw_timezone)
            return "@" + person_name(name)

        return MENTION.sub(name_of, text) if "<@" in text else text

    def name_mentioned(client: WebClient, team_id: str) -> None:
        """People named by a mention (as indicator owners) before they talked to us: their Slack
        name and zone, so reminders and messages about them are right from the start."""
        for person_id, user_id in placeholders(db, "slack", team_id):
            name, tz, _ = profile(client, user_id)
            update_profile(db, person_id, name, tz, settings.wwidw_timezone)

    # --- sending -----------------------------------------------------------------------

    def post(client: WebClient, channel: str, replies: list[Reply], locale: str) -> None:
        """A message outside the outbox: only the apology for a turn that failed, which has no
        transaction to be written in (the database may be what failed)."""
        for text, message_blocks in blocks.messages(replies, locale):
            try:
                client.chat_postMessage(channel=channel, text=text, blocks=message_blocks)
            except Exception as e:
                log.warning("chat.postMessage to %s failed: %s", channel, describe(e))

    def deliver(outcome: Outcome, replies: list[Reply] | None = None) -> None:
        """The first try of what a turn owes, at once; what it cannot deliver the outbox sender
        delivers later, once and in order. `replies`: what is left after modals showed the rest."""
        if outcome.owed is not None:
            core.outbox.first_try(outcome.owed, None if replies is outcome.replies else replies)

    def answer_in(context, channel: str) -> ReplyTo:
        """Replies go to `channel`, as the bot of the workspace the request came through."""
        return ReplyTo("slack", context.team_id or "", channel)

    def open_form(client: WebClient, trigger: str, person_id: int, iv_id: int, step: int) -> bool:
        try:
            view = modals.modal(forms.form(person_id, iv_id, step))
        except FormError:
            return False
        return open_view(client, trigger, view)

    def open_view(client: WebClient, trigger_id: str, view: dict) -> bool:
        try:
            client.views_open(trigger_id=trigger_id, view=view)
            return True
        except Exception as e:
            log.warning("views.open failed: %s", describe(e))
            return False

    def turn(
        client: WebClient,
        team_id: str,
        user_id: str,
        to: ReplyTo,
        what: Turn,
        event_id: str | None = None,
        trigger_id: str | None = None,
    ) -> Outcome | None:
        person_id = person_for(client, team_id, user_id)
        try:
            outcome = wizard.handle(person_id, what, event_id=event_id, platform="slack", reply_to=to)
            if "<@" in (what.text or ""):
                name_mentioned(client, team_id)
        except Exception:
            # Nothing of this turn was stored (its transaction rolled back); earlier answers are safe.
            log.exception("turn failed")
            locale = settings.wwidw_locale
            post(client, to.channel, [Reply(text=t(locale, "slack.error"), kind="error")], locale)
            return None
        if outcome is None:
            log.info("event %s was handled before; skipped", event_id)
            return None
        replies = outcome.replies
        form = next((r for r in replies if r.kind == "form"), None)
        if form is not None and trigger_id:
            if open_form(client, trigger_id, person_id, form.intervention_id, form.step):
                replies = [r for r in replies if r.kind != "form"]  # else its button in the chat opens it later
        # A description to read and a value to enter open as modals when Slack allows one now.
        for kind, modal in (("description", modals.description_modal), ("value", modals.measure_modal)):
            shown = next((r for r in replies if r.kind == kind), None)
            if shown is not None and trigger_id and open_view(client, trigger_id, modal(shown, outcome.locale)):
                replies = [r for r in replies if r.kind != kind]
        deliver(outcome, replies)
        for reply in replies:
            if reply.input == "chart" and reply.intervention_id:
                upload_chart(client, to.channel, person_id, reply)
        return outcome

    def upload_chart(client: WebClient, channel: str, person_id: int, reply: Reply) -> None:
        png = wizard.chart(person_id, reply.intervention_id)
        if png is None:
            return
        try:
            if channel[:1] in ("U", "W"):
                channel = client.conversations_open(users=channel)["channel"]["id"]
            client.files_upload_v2(
                channel=channel, content=png, filename=f"voortgang-{reply.intervention_id}.png", title=reply.title
            )
        except Exception as e:
            log.warning("chart upload failed: %s", describe(e))

    # --- listeners ---------------------------------------------------------------------

    @app.event("message")
    def on_message(body, event, client, context):
        if event.get("channel_type") != "im" or event.get("subtype") or event.get("bot_id"):
            return
        if not isinstance(event.get("user"), str) or not isinstance(event.get("channel"), str):
            return
        team_id = body.get("team_id") or event.get("team") or ""
        text = named(client, team_id, typed(event["text"])) if isinstance(event.get("text"), str) else ""
        to = answer_in(context, event["channel"])
        turn(client, team_id, event["user"], to, Turn(text=text), event_id=body.get("event_id"))

    @app.event("app_home_opened")
    def on_home(body, event, client):
        if event.get("tab") != "home":
            return
        known.pop((body.get("team_id") or "", event["user"]), None)  # a fresh look at their Slack profile
        publish_home(client, body.get("team_id") or "", event["user"])

    def publish_home(client: WebClient, team_id: str, user_id: str) -> None:
        outcome = wizard.home(person_for(client, team_id, user_id))
        try:
            client.views_publish(user_id=user_id, view=blocks.home_view(outcome.replies, outcome.locale))
        except Exception as e:
            log.warning("views.publish failed: %s", describe(e))

    @app.action(re.compile(r"^wwidw:"))
    def on_action(ack, body, action, client, context):
        ack()
        if action["type"] == "multi_static_select":
            return  # a multi-select changing: wait for its OK button
        team_id = clicker_team(body)
        user_id = body["user"]["id"]
        value, label = chosen(action, body)
        if value is None:
            return
        if value.startswith("form:"):
            person_id = person_for(client, team_id, user_id)
            _, iv_id, step = value.split(":")
            open_form(client, body["trigger_id"], person_id, int(iv_id), int(step))
            return
        if value.startswith(f"{ANALYSIS_FORM}:") and value[len(ANALYSIS_FORM) + 1 :].isdigit():
            found = wizard.analysis_form(person_for(client, team_id, user_id), int(value[len(ANALYSIS_FORM) + 1 :]))
            if isinstance(found, AnalysisForm) and open_view(client, body["trigger_id"], modals.analysis_modal(found)):
                return  # else the chat says why there is no form, or shows the analysis to type
        channel = (body.get("channel") or {}).get("id") or user_id
        if value.startswith("read:"):
            channel = user_id  # reading from a digest in a channel: any answer is for the reader alone
        outcome = turn(
            client, team_id, user_id, answer_in(context, channel), Turn(action=value), trigger_id=body.get("trigger_id")
        )
        message = body.get("message")
        # A cancelled modal, a menu, a digest: still useful to click again (or for others).
        keeps_buttons = value.startswith(("rem:value:", "indicator:", "read:"))
        in_message = message and body.get("container", {}).get("type") == "message"
        if outcome and not outcome.refused and in_message and not keeps_buttons:
            # The clicked message loses its buttons and says what was chosen.
            try:
                client.chat_update(
                    channel=channel,
                    ts=message["ts"],
                    text=message.get("text") or label,
                    blocks=blocks.chosen_blocks(message.get("blocks") or [], label, outcome.locale),
                )
            except Exception as e:
                log.info("could not update the clicked message: %s", describe(e))
        if body.get("view", {}).get("type") == "home":
            publish_home(client, team_id, user_id)

    def chosen(action: dict, body: dict) -> tuple[str | None, str]:
        """The wizard action value and a label for what was clicked or picked."""
        if action["type"] == "static_select":
            selected = action.get("selected_option") or {}
            return selected.get("value"), (selected.get("text") or {}).get("text", "")
        if action["action_id"] == f"{blocks.ACTION}:multi_ok":
            state = (body.get("state") or {}).get("values", {}).get("multi", {})
            picked = (state.get(f"{blocks.ACTION}:multi") or {}).get("selected_options") or []
            if not picked:
                return None, ""
            return "opts:" + "|".join(o["value"] for o in picked), ", ".join(o["text"]["text"] for o in picked)
        return action.get("value"), (action.get("text") or {}).get("text", "")

    @app.command("/wwidw")
    def on_command(ack, command, client, context):
        team_id, user_id = command.get("team_id") or "", command["user_id"]
        words = named(client, team_id, typed(command.get("text") or "")).strip().split(maxsplit=1)
        sub = words[0].casefold() if words else "help"
        rest = words[1] if len(words) > 1 else ""
        if sub in ("formulier", "form"):
            ack()
            return turn(
                client,
                team_id,
                user_id,
                answer_in(context, user_id),
                Turn(action=f"cmd:form:{rest}" if rest else "cmd:form"),
                trigger_id=command.get("trigger_id"),
            )
        if sub in ("kanaal", "channel"):
            person_id = person_for(client, team_id, user_id)
            channel = command.get("channel_id") or ""
            if channel.startswith("D") or command.get("channel_name") == "directmessage":
                return ack(text=t(wizard.locale_of(person_id), "channel.not_here"))
            where = Where("slack", team_id, channel, command.get("channel_name"), shared=is_shared(client, channel))
            return ack(text=wizard.channel(person_id, where, rest))
        if sub in ("organisatie", "organisation"):
            person_id = person_for(client, team_id, user_id)
            return ack(text=wizard.organisation(person_id, rest, rest.strip() != "" and is_admin(client, user_id)))
        if sub not in SUBCOMMANDS:
            with db.transaction() as s:
                person = find_person(s, "slack", team_id, user_id)
                locale = (person.locale if person else None) or settings.wwidw_locale
            return ack(text=t(locale, "slack.help"))
        in_dm = (command.get("channel_name") == "directmessage") or (command.get("channel_id") or "").startswith("D")
        with db.transaction() as s:
            person = find_person(s, "slack", team_id, user_id)
            locale = (person.locale if person else None) or settings.wwidw_locale
        ack() if in_dm else ack(text=t(locale, "slack.dm_notice"))
        what = Turn(text=f"{SUBCOMMANDS[sub]} {rest}".strip(), command=True)
        turn(client, team_id, user_id, answer_in(context, user_id), what)

    register_views(app, core, Listening(person_for, answer_in, deliver, turn, name_mentioned))

    @app.error
    def on_error(error, body):
        log.error("unhandled error in a Slack listener: %s", error.__class__.__name__)

    return app
