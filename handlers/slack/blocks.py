"""Replies and forms as Block Kit, within Slack's limits.

All text that may contain what people typed is escaped for mrkdwn (&, <, >), so nobody can
smuggle in @channel mentions or disguised links. Long texts are cut for display only; the full
text stays in the database.
"""

from __future__ import annotations

import json

from bot.formatting import editable_number
from bot.forms import OTHER, Form, FormField
from bot.i18n import t
from bot.replies import Choice, Reply

SECTION_TEXT = 3000
BUTTON_TEXT = 75
OPTION_TEXT = 75
MESSAGE_BLOCKS = 50
MODAL_BLOCKS = 100
BUTTONS_AS_SELECT_ABOVE = 5
INPUT_MAX = 3000
ACTION = "wwidw"  # action_id prefix of every interactive element we send
FORM_CALLBACK = "wwidw_form"
MEASURE_CALLBACK = "wwidw_measure"
COMMENT_CALLBACK = "wwidw_comment"


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def plain(text: str, limit: int = BUTTON_TEXT) -> dict:
    return {"type": "plain_text", "text": cut(text, limit) or " ", "emoji": True}


def mrkdwn_section(text: str) -> list[dict]:
    """One or more section blocks holding `text` (already escaped), each within the limit."""
    chunks = [text[i : i + SECTION_TEXT] for i in range(0, len(text), SECTION_TEXT)] or [" "]
    return [{"type": "section", "text": {"type": "mrkdwn", "text": chunk}} for chunk in chunks[:3]]


def button(choice: Choice, n: int) -> dict:
    element = {
        "type": "button",
        "action_id": f"{ACTION}:b{n}",
        "text": plain(choice.label),
        "value": choice.value[:2000],
    }
    if choice.style in ("primary", "danger"):
        element["style"] = choice.style
    return element


def option(choice: Choice) -> dict:
    return {"text": plain(choice.label, OPTION_TEXT), "value": choice.value[:150]}


def reply_blocks(reply: Reply, locale: str) -> list[dict]:
    if reply.kind in DIGEST_KINDS:
        return DIGEST_KINDS[reply.kind](reply)
    blocks: list[dict] = []
    head = f"*{escape(reply.title)}*\n" if reply.title else ""
    blocks += mrkdwn_section(head + escape(reply.text))
    for text in section_texts(reply, locale):
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": cut(text, SECTION_TEXT)}})
    if reply.note:
        blocks.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": cut(escape(reply.note), SECTION_TEXT)}]}
        )
    if reply.options:
        blocks += options_blocks(reply, locale)
    if reply.actions:
        blocks.append({"type": "actions", "elements": [button(c, n) for n, c in enumerate(reply.actions[:25])]})
    return blocks


def digest_blocks(reply: Reply) -> list[dict]:
    return [{"type": "header", "text": plain(reply.title or "", 150)}, *mrkdwn_section(escape(reply.text))]


def digest_theme_blocks(reply: Reply) -> list[dict]:
    # One block per theme: a page of 20 descriptions under 20 themes still fits in one message.
    return [{"type": "section", "text": {"type": "mrkdwn", "text": f"*{escape(cut(reply.text, 200))}*"}}]


def digest_item_blocks(reply: Reply) -> list[dict]:
    """One description in a digest: one section, its "read" button beside it."""
    head = f"*{escape(cut(reply.title or '', 200))}*" + (f"  _{escape(reply.note)}_" if reply.note else "")
    section = {
        "type": "section",
        "text": {"type": "mrkdwn", "text": cut(f"{head}\n{escape(reply.text)}", SECTION_TEXT)},
    }
    if reply.actions:
        section["accessory"] = button(reply.actions[0], 0)
    return [section]


DIGEST_KINDS = {"digest": digest_blocks, "digest_theme": digest_theme_blocks, "digest_item": digest_item_blocks}


def options_blocks(reply: Reply, locale: str) -> list[dict]:
    choices = reply.options[:100]
    if reply.multi:
        return [
            {
                "type": "actions",
                "block_id": "multi",
                "elements": [
                    {
                        "type": "multi_static_select",
                        "action_id": f"{ACTION}:multi",
                        "placeholder": plain(t(locale, "slack.pick")),
                        "options": [option(Choice(c.label, c.value[4:])) for c in choices],
                    },
                    {
                        "type": "button",
                        "action_id": f"{ACTION}:multi_ok",
                        "text": plain(t(locale, "slack.ok")),
                        "style": "primary",
                        "value": "multi",
                    },
                ],
            }
        ]
    if reply.kind == "list" and any(len(c.label) > BUTTON_TEXT for c in choices):
        # Lines too long for a button: each its own section, with a button beside it.
        return [
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": cut(escape(c.label), SECTION_TEXT)},
                "accessory": button(Choice(t(locale, "button.open"), c.value), 100 + n),
            }
            for n, c in enumerate(choices[: MESSAGE_BLOCKS - 5])
        ]
    if len(choices) > BUTTONS_AS_SELECT_ABOVE:
        return [
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "static_select",
                        "action_id": f"{ACTION}:select",
                        "placeholder": plain(t(locale, "slack.pick")),
                        "options": [option(c) for c in choices],
                    }
                ],
            }
        ]
    return [{"type": "actions", "elements": [button(c, 100 + n) for n, c in enumerate(choices)]}]


def messages(replies: list[Reply], locale: str) -> list[tuple[str, list[dict]]]:
    """The replies of one turn as as few messages as Slack allows: (fallback text, blocks) each."""
    out: list[tuple[str, list[dict]]] = []
    blocks: list[dict] = []
    text = ""
    for reply in replies:
        if reply.kind == "export" and reply.document:
            out += document_messages(reply)
            continue
        these = reply_blocks(reply, locale)
        if blocks and len(blocks) + len(these) > MESSAGE_BLOCKS:
            out.append((text, blocks))
            blocks, text = [], ""
        blocks += these[:MESSAGE_BLOCKS]
        if not (text and reply.kind in ("digest_theme", "digest_item")):  # a digest: its intro says it
            text = cut(escape(reply.text), 3000)  # notifications show the last, most relevant line
    if blocks:
        out.append((text, blocks))
    return [(text, numbered(message)) for text, message in out]


def numbered(message: list[dict]) -> list[dict]:
    """Give every button of a message its own action_id (replies number theirs from 0 each)."""
    n = 0
    for block in message:
        for element in [*(block.get("elements") or []), block.get("accessory") or {}]:
            if element.get("type") == "button" and element.get("action_id", "").startswith(f"{ACTION}:b"):
                element["action_id"] = f"{ACTION}:b{n}"
                n += 1
    return message


def document_messages(reply: Reply) -> list[tuple[str, list[dict]]]:
    """An exported Markdown document as preformatted text, split over as many blocks as needed."""
    doc = escape(reply.document)
    size = SECTION_TEXT - 8
    chunks = [doc[i : i + size] for i in range(0, len(doc), size)]
    blocks = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{escape(reply.title or '')}* · {escape(reply.text)}"}}
    ]
    blocks += [{"type": "section", "text": {"type": "mrkdwn", "text": f"```{chunk}```"}} for chunk in chunks]
    return [(escape(reply.text), blocks[i : i + MESSAGE_BLOCKS]) for i in range(0, len(blocks), MESSAGE_BLOCKS)]


def chosen_blocks(original: list[dict], label: str, locale: str) -> list[dict]:
    """The message a button was clicked in, without its buttons, saying what was chosen."""
    kept = [b for b in original if b.get("type") not in ("actions",)]
    kept.append(
        {"type": "context", "elements": [{"type": "mrkdwn", "text": escape(t(locale, "slack.chosen", label=label))}]}
    )
    return kept[:MESSAGE_BLOCKS]


# --- forms (modals) --------------------------------------------------------------------------


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


def context(text: str) -> dict:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": cut(escape(text), SECTION_TEXT)}]}


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
        opts = [option(c) for c in f.options[:100]]
        element = {
            "type": "multi_static_select" if f.kind == "multichoice" else "static_select",
            "action_id": "v",
            "options": opts,
            "placeholder": plain(t(locale, "slack.pick")),
        }
        selected = [o for o in opts if o["value"] in f.selected]
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


def section_texts(reply: Reply, locale: str) -> list[str]:
    """Each step of a reply as mrkdwn: its title, then its lines."""
    out = []
    for section in reply.sections:
        lines = [f"*{escape(section.heading)}*"]
        lines += [f"*{escape(line.label)}:* {escape(line.value)}" for line in section.lines] or [
            f"_{escape(t(locale, 'doc.empty_step'))}_"
        ]
        out.append("\n".join(lines))
    return out


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
        else:
            values[path] = element.get("value")
    return values


def home_view(replies: list[Reply], locale: str) -> dict:
    """The App Home tab: the person's drafts and published descriptions, with buttons to continue,
    and their indicators with the next reminder of each."""
    home, more = replies[0], replies[1:]
    blocks: list[dict] = [
        {"type": "header", "text": plain(home.title or "", 150)},
        {"type": "section", "text": {"type": "mrkdwn", "text": cut(escape(home.text), SECTION_TEXT)}},
        {"type": "actions", "elements": [button(c, n) for n, c in enumerate(home.actions)]},
        {"type": "divider"},
    ]
    for n, choice in enumerate(home.options[: MODAL_BLOCKS - len(blocks)]):
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": cut(escape(choice.label), SECTION_TEXT)},
                "accessory": button(Choice(t(locale, "button.resume"), choice.value), 10 + n),
            }
        )
    for part in more:
        room = MODAL_BLOCKS - len(blocks) - 3
        if room <= 0:
            break
        blocks += [
            {"type": "divider"},
            {"type": "header", "text": plain(part.title or "", 150)},
            {"type": "section", "text": {"type": "mrkdwn", "text": cut(escape(part.text), SECTION_TEXT)}},
        ]
        for n, choice in enumerate(part.options[:room]):
            blocks.append(
                {
                    "type": "section",
                    "text": {"type": "mrkdwn", "text": cut(escape(choice.label), SECTION_TEXT)},
                    "accessory": button(Choice(t(locale, "button.details"), choice.value), 100 + n),
                }
            )
    return {"type": "home", "blocks": blocks}
