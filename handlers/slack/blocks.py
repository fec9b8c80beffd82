"""Replies and forms as Block Kit, within Slack's limits.

All text that may contain what people typed is escaped for mrkdwn (&, <, >), so nobody can
smuggle in @channel mentions or disguised links. Long texts are cut for display only; the full
text stays in the database.
"""

from __future__ import annotations

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


def select_options(choices: list[Choice]) -> dict:
    """A select's options: under their group headings when they have them (Slack allows 100 per
    group, so the whole effect ordering fits), else at most 100 in one list."""
    if not any(c.group for c in choices):
        return {"options": [option(c) for c in choices[:100]]}
    groups: dict[str, list[dict]] = {}
    for c in choices:
        groups.setdefault(c.group or "–", []).append(option(c))
    return {"option_groups": [{"label": plain(g), "options": opts[:100]} for g, opts in list(groups.items())[:100]]}


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
    choices = reply.options if any(c.group for c in reply.options) else reply.options[:100]  # see select_options
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
                        **select_options(choices),
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


def context(text: str) -> dict:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": cut(escape(text), SECTION_TEXT)}]}


def section_texts(reply: Reply, locale: str) -> list[str]:
    """Each step of a reply as mrkdwn: its title, then its lines (a long step is shortened where it
    is shown; it is whole in the export). An expert analysis, of parts up to a section block's
    length each, goes on over as many texts as it takes."""
    out = []
    for section in reply.sections:
        lines = [f"*{escape(section.heading)}*"]
        lines += [f"*{escape(line.label)}:* {escape(line.value)}" for line in section.lines] or [
            f"_{escape(t(locale, 'doc.empty_step'))}_"
        ]
        if section.no is not None:
            out.append("\n".join(lines))
            continue
        text = ""
        for line in lines:
            if text and len(text) + 1 + len(line) > SECTION_TEXT:
                out.append(text)
                text = ""
            text = f"{text}\n{line}" if text else line
            while len(text) > SECTION_TEXT:
                out.append(text[:SECTION_TEXT])
                text = text[SECTION_TEXT:]
        out.append(text)
    return out


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
