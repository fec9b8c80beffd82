"""Slack modals submitted: a step form, a reminder's value, a comment, an expert analysis. Each
answers Slack within its three seconds (errors beside the fields, the next form, or closed); what
the submission owes the chat goes out after."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from slack_bolt import App

from bot import definition
from bot.forms import FormError, StaleForm
from bot.replies import Reply, Turn
from handlers.slack import modals
from handlers.slack.blocks import cut


@dataclass(frozen=True)
class Listening:
    """What the app's other listeners lend these (handlers/slack/app.py)."""

    person_for: Callable
    answer_in: Callable
    deliver: Callable
    turn: Callable
    name_mentioned: Callable


def clicker_team(body: dict) -> str:
    """The workspace of whoever clicked: in a channel shared with another workspace (Slack
    Connect) that is the user's own, not the workspace the message lives in."""
    user = body.get("user") if isinstance(body.get("user"), dict) else {}
    return user.get("team_id") or (body.get("team") or {}).get("id") or ""


def register_views(app: App, core, on: Listening) -> None:
    wizard, forms = core.wizard, core.forms

    def submission(body: dict, view: dict) -> tuple[str, str, dict]:
        """Who submitted a modal, and what it carried in its private metadata ({} if unreadable)."""
        try:
            meta = json.loads(view.get("private_metadata") or "{}")
        except ValueError:
            meta = {}
        return clicker_team(body), body["user"]["id"], meta if isinstance(meta, dict) else {}

    @app.view(modals.FORM_CALLBACK)
    def on_form(ack, body, view, client, context):
        team_id, user_id, meta = submission(body, view)
        try:
            iv_id, step, version = int(meta["iv"]), int(meta["step"]), meta.get("v")
        except (ValueError, KeyError, TypeError):
            return ack()
        person_id = on.person_for(client, team_id, user_id)
        try:
            errors = forms.submit(person_id, iv_id, step, modals.submitted_values(view), version)
        except StaleForm:
            return ack(response_action="update", view=modals.modal(forms.stale_form(person_id, iv_id, step)))
        except FormError:
            return ack()
        if errors:
            return ack(response_action="errors", errors={path: cut(msg, 150) for path, msg in errors.items()})
        form = forms.form(person_id, iv_id, step + 1) if step < len(definition.steps()) else None
        if form is not None:
            ack(response_action="update", view=modals.modal(form))
        else:
            ack(response_action="clear")
            on.turn(client, team_id, user_id, on.answer_in(context, user_id), Turn(action="cmd:summary"))
        on.name_mentioned(client, team_id)  # after the answer: Slack waits only three seconds for it

    @app.view(modals.MEASURE_CALLBACK)
    def on_measure(ack, body, view, client, context):
        team_id, user_id, meta = submission(body, view)
        try:
            reminder_id = int(meta["r"])
            confirmed = float(meta["c"]) if meta.get("c") is not None else None
        except (ValueError, KeyError, TypeError):
            return ack()
        values = modals.submitted_values(view)
        person_id = on.person_for(client, team_id, user_id)
        typed_value, note = str(values.get("value") or ""), values.get("note")
        to = on.answer_in(context, user_id)
        problems, outcome = wizard.measure(person_id, reminder_id, typed_value, note, confirmed, to)
        if "confirm" in problems:
            prompt = Reply(
                text=modals.first_text(view), title=(view.get("title") or {}).get("text"), reminder_id=reminder_id
            )
            return ack(
                response_action="update",
                view=modals.measure_modal(prompt, outcome.locale, problems["confirm"], problems["confirm_value"]),
            )
        if problems:
            return ack(response_action="errors", errors={"value": cut(problems["value"], 150)})
        ack(response_action="clear")
        on.deliver(outcome)

    @app.view(modals.COMMENT_CALLBACK)
    def on_comment(ack, body, view, client, context):
        team_id, user_id, meta = submission(body, view)
        values = modals.submitted_values(view)
        text = str(values.get("comment") or "").strip()
        if not text or not isinstance(meta.get("iv"), int):
            return ack()  # read and closed without a comment
        person_id = on.person_for(client, team_id, user_id)
        outcome = wizard.comment(
            person_id, meta["iv"], str(values.get("step") or ""), text, on.answer_in(context, user_id)
        )
        error = next((r for r in outcome.replies if r.kind == "error"), None)
        if error is not None:
            return ack(response_action="errors", errors={error.input or "comment": cut(error.text, 150)})
        ack(response_action="clear")
        on.deliver(outcome)

    @app.view(modals.ANALYSIS_CALLBACK)
    def on_analysis(ack, body, view, client, context):
        team_id, user_id, meta = submission(body, view)
        if not isinstance(meta.get("iv"), int):
            return ack()
        values = modals.submitted_values(view)
        publish = bool(values.pop("publish", None))
        person_id = on.person_for(client, team_id, user_id)
        errors, outcome = wizard.save_analysis(person_id, meta["iv"], values, publish, on.answer_in(context, user_id))
        refused = next((r for r in outcome.replies if r.kind == "error"), None)  # no longer an expert, say
        if refused is not None:
            errors = {"judgement": refused.text}
        if errors:
            return ack(response_action="errors", errors={path: cut(msg, 150) for path, msg in errors.items()})
        ack(response_action="clear")
        on.deliver(outcome)
