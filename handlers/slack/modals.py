"""Slack modals (views): a step as a form, a reminder's value, a description to read and comment
on, an expert analysis; and what a submitted modal carries. Messages are in blocks.py."""

from __future__ import annotations

import json

from bot.analyses import AnalysisForm
from bot.formatting import editable_number
from bot.forms import OTHER, Form, FormField
from bot.i18n import t
from bot.replies import Choice, Reply
from handlers.slack.blocks import (
    INPUT_MAX,
    MODAL_BLOCKS,
    SECTION_TEXT,
    context,
    cut,
    escape,
    mrkdwn_section,
    option,
    plain,
    section_texts,
    select_options,
)

FORM_CALLBACK = "wwidw_form"
MEASURE_CALLBACK = "wwidw_measure"
COMMENT_CALLBACK = "wwidw_comment"
ANALYSIS_CALLBACK = "wwidw_analysis"


def modal(form: Form) -> dict:
    locale = form.locale
    head = [{"type": "section", "text": {"type": "mrkdwn", "text": f"*{escape(form.title)}*"}}]
    if form.notice:
        head.append(context(form.notice))
    # A plain field is one group; the fields of one list item (an effect, an indicator) are another.
    groups: list[tuple[str | None, list[dict]]] = []
    for f in form.fields:
        if f.group and groups and groups[-1][0] == f.group:
            groups[-1][1].extend(field_blocks(f, locale))
        elif f.group:
            groups.append((f.group, [{"type": "header", "text": plain(f.group, 150)}, *field_blocks(f, locale)]))
        else:
            groups.append((None, field_blocks(f, locale)))
    # Every plain field gets a place; list items fill the room that is left, in order. Items that do
    # not fit are not in the modal, and fields absent from a submission stay as they are.
    room = MODAL_BLOCKS - len(head) - 1 - sum(len(these) for group, these in groups if group is None)
    blocks, left_out = list(head), False
    for group, these in groups:
        if group is not None:
            if len(these) > room:
                left_out = True
                continue
            room -= len(these)
        blocks += these
    if left_out:
        blocks.append(context(t(locale, "slack.form_items_left_out")))
    last = form.step == form.total
    return {
        "type": "modal",
        "callback_id": FORM_CALLBACK,
        "private_metadata": json.dumps({"iv": form.intervention_id, "step": form.step, "v": form.version}),
        "title": plain(t(locale, "slack.form_title", no=form.step, total=form.total), 24),
        "submit": plain(t(locale, "button.save_done" if last else "button.save_next"), 24),
        "close": plain(t(locale, "button.cancel"), 24),
        "blocks": blocks,
    }


def analysis_modal(form: AnalysisForm) -> dict:
    """An expert's analysis as one modal: a field per part, and a box to publish it with."""
    locale = form.locale
    blocks = [
        {"type": "section", "text": {"type": "mrkdwn", "text": cut(f"*{escape(form.title)}*", SECTION_TEXT)}},
        context(f"{form.note} {t(locale, 'analysis.form_intro')}"),
    ]
    for f in form.fields:
        element = {"type": "plain_text_input", "action_id": "v", "multiline": True, "max_length": f.max_len}
        if f.value:
            element["initial_value"] = f.value
        block = {
            "type": "input",
            "block_id": f.path,
            "optional": True,
            "label": plain(f.label, 2000),
            "element": element,
        }
        blocks.append(block | ({"hint": plain(f.help, 2000)} if f.help else {}))
    if not form.published:
        publish = option(Choice(t(locale, "analysis.publish"), "1"))
        blocks.append(
            {
                "type": "input",
                "block_id": "publish",
                "optional": True,
                "label": plain(t(locale, "analysis.publish"), 2000),
                "element": {"type": "checkboxes", "action_id": "v", "options": [publish]},
            }
        )
    return {
        "type": "modal",
        "callback_id": ANALYSIS_CALLBACK,
        "private_metadata": json.dumps({"iv": form.intervention_id}),
        "title": plain(cut(t(locale, "analysis.marker").capitalize(), 24), 24),
        "submit": plain(t(locale, "analysis.save"), 24),
        "close": plain(t(locale, "button.cancel"), 24),
        "blocks": blocks,
    }


def field_blocks(f: FormField, locale: str) -> list[dict]:
    label = plain(f.label + (" *" if f.required else ""), 2000)
    base = {"type": "input", "block_id": f.path, "optional": True, "label": label}
    if f.help:
        base["hint"] = plain(f.help, 2000)
    if f.kind in ("text", "longtext", "number", "link") and len(f.value) > INPUT_MAX:
        return [
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": escape(f"{f.label}\n{t(locale, 'slack.too_long_for_form')}")},
            }
        ]
    if f.kind == "date":
        element = {"type": "datepicker", "action_id": "v"}
        if f.value:
            d, m, y = f.value.split("-")
            element["initial_date"] = f"{int(y):04d}-{int(m):02d}-{int(d):02d}"
        return [{**base, "element": element}]
    if f.kind in ("choice", "multichoice") and f.options:
        element = {
            "type": "multi_static_select" if f.kind == "multichoice" else "static_select",
            "action_id": "v",
            **select_options(f.options),
            "placeholder": plain(t(locale, "slack.pick")),
        }
        shown = element.get("options") or [o for g in element["option_groups"] for o in g["options"]]
        selected = [o for o in shown if o["value"] in f.selected]
        if selected and f.kind == "multichoice":
            element["initial_options"] = selected
        elif selected:
            element["initial_option"] = selected[0]
        blocks = [{**base, "element": element}]
        if f.allow_other:
            other = {"type": "plain_text_input", "action_id": "v", "max_length": min(f.max_len or INPUT_MAX, INPUT_MAX)}
            if f.value:
                other["initial_value"] = f.value
            blocks.append(
                {
                    "type": "input",
                    "block_id": f.path + OTHER,
                    "optional": True,
                    "label": plain(t(locale, "web.other"), 2000),
                    "element": other,
                }
            )
        return blocks
    element = {
        "type": "plain_text_input",
        "action_id": "v",
        "multiline": f.kind == "longtext",
        "max_length": min(f.max_len or INPUT_MAX, INPUT_MAX),
    }
    if f.value:
        element["initial_value"] = f.value
    return [{**base, "element": element}]


def measure_modal(prompt: Reply, locale: str, confirm: str | None = None, confirm_value: float | None = None) -> dict:
    """A modal to enter one reminder's value and a note; `confirm` asks to confirm an unlikely value."""
    blocks = mrkdwn_section(escape(prompt.text))
    if confirm:
        blocks.append(
            {
                "type": "context",
                "elements": [
                    {"type": "mrkdwn", "text": cut(escape(f"{confirm} {t(locale, 'slack.confirm_again')}"), 3000)}
                ],
            }
        )
    value_input = {"type": "plain_text_input", "action_id": "v", "max_length": 60}
    if confirm_value is not None:
        value_input["initial_value"] = editable_number(confirm_value, locale)
    blocks += [
        {"type": "input", "block_id": "value", "label": plain(t(locale, "slack.value_label")), "element": value_input},
        {
            "type": "input",
            "block_id": "note",
            "optional": True,
            "label": plain(t(locale, "slack.note_label")),
            "element": {"type": "plain_text_input", "action_id": "v", "multiline": True, "max_length": 1000},
        },
    ]
    return {
        "type": "modal",
        "callback_id": MEASURE_CALLBACK,
        "private_metadata": json.dumps({"r": prompt.reminder_id, "c": confirm_value}),
        "title": plain(cut(prompt.title or t(locale, "monitor.reminder_title"), 24), 24),
        "submit": plain(t(locale, "button.save_done"), 24),
        "close": plain(t(locale, "button.cancel"), 24),
        "blocks": blocks,
    }


def description_modal(reply: Reply, locale: str) -> dict:
    """A description to read (from a digest or a search), with a place to comment on one step."""
    head = [{"type": "section", "text": {"type": "mrkdwn", "text": cut(f"*{escape(reply.title or '')}*", 3000)}}]
    head.append(context(reply.text))
    steps = [
        {"type": "section", "text": {"type": "mrkdwn", "text": cut(text, SECTION_TEXT)}}
        for text in section_texts(reply, locale)
    ]
    blocks = head + steps[: MODAL_BLOCKS - len(head) - 3]
    meta = {}
    if reply.note:  # published: comments welcome
        meta = {"iv": reply.intervention_id}
        blocks += [
            {"type": "divider"},
            {
                "type": "input",
                "block_id": "step",
                "optional": True,
                "label": plain(t(locale, "library.comment_step_label")),
                "element": {
                    "type": "static_select",
                    "action_id": "v",
                    "options": [option(Choice(s.heading, str(s.no))) for s in reply.sections if s.no],
                },
            },
            {
                "type": "input",
                "block_id": "comment",
                "optional": True,
                "label": plain(t(locale, "library.comment_text_label")),
                "element": {"type": "plain_text_input", "action_id": "v", "multiline": True, "max_length": 3000},
            },
        ]
    view = {
        "type": "modal",
        "callback_id": COMMENT_CALLBACK,
        "private_metadata": json.dumps(meta),
        "title": plain(cut(reply.title or "", 24), 24),
        "close": plain(t(locale, "library.close"), 24),
        "blocks": blocks,
    }
    if meta:
        view["submit"] = plain(t(locale, "library.comment_submit"), 24)
    return view


def first_text(view: dict) -> str:
    """The text of a modal's first section (the question), unescaped, to show it again."""
    text = next((b["text"]["text"] for b in view.get("blocks") or [] if b.get("type") == "section"), "")
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def submitted_values(view: dict) -> dict:
    """The raw values of a submitted modal, by field path."""
    values = {}
    for path, actions in (view.get("state", {}).get("values") or {}).items():
        element = actions.get("v") or {}
        kind = element.get("type")
        if kind == "multi_static_select":
            values[path] = [o["value"] for o in element.get("selected_options") or []]
        elif kind == "static_select":
            values[path] = (element.get("selected_option") or {}).get("value")
        elif kind == "datepicker":
            values[path] = element.get("selected_date")
        elif kind == "checkboxes":
            values[path] = [o["value"] for o in element.get("selected_options") or []]
        else:
            values[path] = element.get("value")
    return values
