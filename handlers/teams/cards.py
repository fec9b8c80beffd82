"""Replies and forms as Adaptive Cards (version 1.5, what Teams renders), within Teams' limits.

Buttons are `Action.Submit`: Teams sends their `data` back as the `value` of a message activity.
`data` always names what it is: {"wwidw": <action value>} for a wizard button, {"wwidw_form": …}
for a step form, {"wwidw_measure": …} for a reminder's value, {"wwidw_comment": …} for a comment,
{"wwidw_analysis": …} for an expert analysis.
Text that people typed goes into TextBlocks with Markdown links and images defused, so nobody
can disguise a link in a description others read.
"""

from __future__ import annotations

import json

from microsoft_agents.activity import Activity, ActivityTypes, Attachment

from bot.analyses import AnalysisForm
from bot.formatting import editable_number
from bot.forms import OTHER, Form, FormField
from bot.i18n import t
from bot.replies import Choice, Reply

VERSION = "1.5"
ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"
MAX_BYTES = 26_000  # Teams refuses messages over about 28 KB; the activity around the card needs some room
BUTTONS_AS_CHOICES_ABOVE = 6
TEXT_MAX = 4000
INPUT_MAX = 2000  # a longer answer does not go into a form card: a step's answers must fit one message
# Card-side checks of typed fields (Adaptive Cards' `regex`): loose, the server decides.
CHECKS = {
    "number": (r"^.*\d.*$", "invalid.number"),
    "link": (r"^\S+\.\S+$", "invalid.link"),
}


def safe(text: str | None) -> str:
    """Plain text for a TextBlock: no Markdown links or images (Teams renders `[x](url)`)."""
    text = text or ""
    if len(text) > TEXT_MAX:  # for display only; the whole text stays stored (and in exports)
        text = text[: TEXT_MAX - 1] + "…"
    return text.replace("](", "]\u200b(").replace("![", "!\u200b[")


def text_block(text: str, **style) -> dict:
    return {"type": "TextBlock", "text": safe(text), "wrap": True, **style}


def card(body: list[dict], actions: list[dict] | None = None) -> dict:
    content = {"type": "AdaptiveCard", "version": VERSION, "body": body}
    if actions:
        content["actions"] = actions
    return content


def attachment(content: dict) -> dict:
    return Attachment(content_type=ADAPTIVE_CARD, content=content).model_dump(by_alias=True, exclude_none=True)


def message(content: dict) -> dict:
    """A message activity carrying one card, as the connector takes it."""
    activity = Activity(
        type=ActivityTypes.message, attachments=[Attachment(content_type=ADAPTIVE_CARD, content=content)]
    )
    return activity.model_dump(by_alias=True, exclude_none=True)


def submit(choice: Choice, data: dict | None = None) -> dict:
    action = {"type": "Action.Submit", "title": choice.label[:80], "data": data or {"wwidw": choice.value}}
    if choice.style == "primary":
        action["style"] = "positive"
    elif choice.style == "danger":
        action["style"] = "destructive"
    return action


# --- replies -------------------------------------------------------------------------------------


def reply_body(reply: Reply, locale: str) -> tuple[list[dict], list[dict]]:
    """A reply as card elements and card-level actions."""
    if reply.kind in DIGEST_KINDS:
        return DIGEST_KINDS[reply.kind](reply, locale), []
    body: list[dict] = []
    if reply.title:
        body.append(text_block(reply.title, weight="Bolder", size="Medium"))
    if reply.text:
        body.append(text_block(reply.text, color="Attention" if reply.kind == "error" else "Default"))
    for section in reply.sections:
        body.append(text_block(section.heading, weight="Bolder", spacing="Medium"))
        facts = [{"title": safe(line.label)[:200], "value": safe(line.value)} for line in section.lines]
        body.append(
            {"type": "FactSet", "facts": facts} if facts else text_block(t(locale, "doc.empty_step"), isSubtle=True)
        )
    if reply.document:  # an export: all of it, over as many blocks (and cards) as it takes
        doc = reply.document
        body += [text_block(doc[i : i + TEXT_MAX - 1], fontType="Monospace") for i in range(0, len(doc), TEXT_MAX - 1)]
    if reply.note:
        body.append(text_block(reply.note, isSubtle=True, size="Small"))
    actions = []
    if reply.options:
        body_part, option_actions = options(reply, locale)
        body += body_part
        actions += option_actions
    actions += [submit(c) for c in reply.actions]
    return body, actions


def choice_set(choices: list[Choice]) -> dict:
    """A ChoiceSet's choices. Grouped ones (the effect ordering) carry their group in the title and
    can be filtered by typing, so a group's name or a word finds them among a hundred and more."""
    if not any(c.group for c in choices):
        return {"style": "compact", "choices": [{"title": c.label[:300], "value": c.value} for c in choices[:100]]}
    titled = [{"title": f"{c.group} · {c.label}"[:300], "value": c.value} for c in choices[:300]]
    return {"style": "filtered", "choices": titled}


EFFECTS_DATASET = "effects"


def typeahead(choices: list[Choice], picked: str) -> dict:
    """The effect ordering in a form: its hundred and more choices would fill a card's 28 KB with
    two effects, so Teams asks for them as the person types (an `application/search` invoke,
    answered by `search_response`); the card holds only the one chosen now."""
    chosen = [{"title": f"{c.group} · {c.label}"[:300], "value": c.value} for c in choices if c.value == picked]
    return {"style": "filtered", "choices": chosen, "choices.data": {"type": "Data.Query", "dataset": EFFECTS_DATASET}}


def search_response(choices: list[Choice]) -> dict:
    """The answer to a typeahead's `application/search` invoke."""
    results = [{"title": f"{c.group} · {c.label}"[:300], "value": c.value} for c in choices]
    return {"statusCode": 200, "type": "application/vnd.microsoft.search.searchResponse", "value": {"results": results}}


def options(reply: Reply, locale: str) -> tuple[list[dict], list[dict]]:
    if reply.multi:
        choices = [{"title": c.label[:200], "value": c.value[4:]} for c in reply.options]  # without "opt:"
        picker = {
            "type": "Input.ChoiceSet",
            "id": "opts",
            "isMultiSelect": True,
            "style": "expanded",
            "choices": choices,
        }
        return [picker], [{"type": "Action.Submit", "title": t(locale, "slack.ok"), "data": {"wwidw_multi": True}}]
    if len(reply.options) > BUTTONS_AS_CHOICES_ABOVE or any(len(c.label) > 60 for c in reply.options):
        picker = {"type": "Input.ChoiceSet", "id": "pick", **choice_set(reply.options)}
        picker["placeholder"] = t(locale, "slack.pick")
        return [picker], [{"type": "Action.Submit", "title": t(locale, "slack.ok"), "data": {"wwidw_pick": True}}]
    return [{"type": "ActionSet", "actions": [submit(c) for c in reply.options]}], []


def digest_head(reply: Reply, locale: str) -> list[dict]:
    return [text_block(reply.title or "", weight="Bolder", size="Large"), text_block(reply.text)]


def digest_theme(reply: Reply, locale: str) -> list[dict]:
    return [text_block(reply.text, weight="Bolder", size="Medium", spacing="Large", separator=True)]


def digest_item(reply: Reply, locale: str) -> list[dict]:
    head = f"**{safe(reply.title)}**" + (f"  _{safe(reply.note)}_" if reply.note else "")
    item = [{"type": "TextBlock", "text": head, "wrap": True}, text_block(reply.text, spacing="None")]
    if reply.actions:
        # In a channel the description opens in a dialog, for whoever clicks (Teams' `task/fetch`).
        read = reply.actions[0]
        item.append(
            {"type": "ActionSet", "actions": [submit(read, {"wwidw": read.value, "msteams": {"type": "task/fetch"}})]}
        )
    return [{"type": "Container", "items": item, "spacing": "Medium"}]


DIGEST_KINDS = {"digest": digest_head, "digest_theme": digest_theme, "digest_item": digest_item}


def messages(replies: list[Reply], locale: str) -> list[dict]:
    """The replies of one turn as Adaptive Cards, as few as fit Teams' message size."""
    out: list[dict] = []
    body: list[dict] = []
    actions: list[dict] = []
    for reply in replies:
        if reply.kind in ("reminder", "value"):
            # A reminder carries its own value field; it is a card of its own.
            out += [card(body, actions)] if body else []
            body, actions = [], []
            out.append(measure_card(reply, locale))
            continue
        if reply.kind == "description":
            out += [card(body, actions)] if body else []
            body, actions = [], []
            out.append(description_card(reply, locale))
            continue
        part, part_actions = reply_body(reply, locale)
        if actions:  # buttons belong under the reply they answer: close the card here
            out.append(card(body, actions))
            body, actions = [], []
        if body and size(card(body + part, part_actions)) > MAX_BYTES:
            out.append(card(body))
            body = []
        body += part
        actions = part_actions
    if body or actions:
        out.append(card(body, actions))
    return [piece for content in out for piece in split(content)]


def split(content: dict) -> list[dict]:
    """A card too big for one Teams message as several, in order: a long list of facts is cut
    between facts, and the inputs and buttons stay together at the end of the last one."""
    if size(content) <= MAX_BYTES:
        return [content]
    body = list(content.get("body") or [])
    tail: list[dict] = []
    while body and body[-1].get("type", "").startswith("Input."):
        tail.insert(0, body.pop())
    pieces: list[list[dict]] = [[]]
    for element in body:
        for part in facts_apart(element):
            if pieces[-1] and size(card(pieces[-1] + [part])) > MAX_BYTES:
                pieces.append([])
            pieces[-1].append(part)
    if tail and size(card(pieces[-1] + tail, content.get("actions"))) > MAX_BYTES:
        pieces.append([])
    pieces[-1] += tail
    return [card(piece) for piece in pieces[:-1]] + [card(pieces[-1], content.get("actions"))]


def facts_apart(element: dict) -> list[dict]:
    """A FactSet too big for a message as FactSets of fewer facts; anything else as it is."""
    if element.get("type") != "FactSet" or size(card([element])) <= MAX_BYTES:
        return [element]
    return [{"type": "FactSet", "facts": [fact]} for fact in element["facts"]]


def size(content: dict) -> int:
    return len(json.dumps(content, ensure_ascii=False).encode())


# --- a reminder's value, a description to read --------------------------------------------------------


def measure_card(reply: Reply, locale: str, error: str | None = None, confirm_value: float | None = None) -> dict:
    """A reminder with its value field: "Opslaan" stores the value, the other buttons act as in Slack."""
    body, _ = reply_body(Reply(text=reply.text, title=reply.title, note=reply.note), locale)
    if error:
        body.append(text_block(error, color="Attention"))
    value = {"type": "Input.Text", "id": "value", "label": t(locale, "slack.value_label"), "maxLength": 60}
    if confirm_value is not None:
        value["value"] = editable_number(confirm_value, locale)
    note = {"type": "Input.Text", "id": "note", "label": t(locale, "slack.note_label"), "isMultiline": True}
    note["maxLength"] = 1000
    body += [value, note]
    reminder_id = reply.reminder_id or reminder_of(reply)
    # The question travels with the card, to show it again when the value needs another look.
    data = {"wwidw_measure": reminder_id, "prompt": (reply.text or "")[:1000], "title": (reply.title or "")[:200]}
    if confirm_value is not None:
        data["confirmed"] = confirm_value
    save = {"type": "Action.Submit", "title": t(locale, "button.save_done"), "style": "positive", "data": data}
    others = [submit(c) for c in reply.actions if not c.value.startswith("rem:value:")]
    return card(body, [save, *others])


def reminder_of(reply: Reply) -> int | None:
    for choice in reply.actions:
        if choice.value.startswith("rem:value:"):
            return int(choice.value.rsplit(":", 1)[1])
    return None


def description_card(reply: Reply, locale: str, in_dialog: bool = False) -> dict:
    """A description to read, with a place to comment on one step when it is published; in the
    chat also its buttons (an expert's *Analyseer*), which a dialog could only submit to itself."""
    shown = Reply(text=reply.text, title=reply.title, sections=reply.sections)
    shown.actions = [] if in_dialog else reply.actions
    body, actions = reply_body(shown, locale)
    if reply.note:  # published: comments welcome
        steps = [{"title": s.heading[:200], "value": str(s.no)} for s in reply.sections if s.no]
        body += [
            {"type": "Input.ChoiceSet", "id": "step", "label": t(locale, "library.comment_step_label"),
             "style": "compact", "choices": steps},
            {"type": "Input.Text", "id": "comment", "label": t(locale, "library.comment_text_label"),
             "isMultiline": True, "maxLength": 3000},
        ]  # fmt: skip
        data = {"wwidw_comment": reply.intervention_id}
        actions.append({"type": "Action.Submit", "title": t(locale, "library.comment_submit"), "data": data})
    return card(body, actions)


# --- an expert analysis as a form ----------------------------------------------------------------------


def analysis_card(form: AnalysisForm, errors: dict[str, str] | None = None, values: dict | None = None) -> dict:
    """An expert's analysis as one card: a field per part, a toggle to publish it, errors beside
    the fields when it comes back."""
    locale, errors, values = form.locale, errors or {}, values or {}
    body = [text_block(form.title, weight="Bolder", size="Medium")]
    body.append(text_block(f"{form.note} {t(locale, 'analysis.form_intro')}", isSubtle=True))
    for f in form.fields:
        typed = values.get(f.path)
        element = {"type": "Input.Text", "id": f.path, "label": f.label[:200], "isMultiline": True}
        element["maxLength"] = f.max_len
        if f.help:
            element["placeholder"] = f.help[:200]
        if value := typed if isinstance(typed, str) else f.value:
            element["value"] = value
        body.append(element)
        if f.path in errors:
            body.append(text_block(errors[f.path], color="Attention", size="Small", spacing="None"))
    if not form.published:
        body.append({"type": "Input.Toggle", "id": "publish", "title": t(locale, "analysis.publish"), "value": "false"})
    save = {"type": "Action.Submit", "title": t(locale, "analysis.save"), "style": "positive"}
    return card(body, [{**save, "data": {"wwidw_analysis": form.intervention_id}}])


# --- step forms ----------------------------------------------------------------------------------------


def form_card(form: Form, errors: dict[str, str] | None = None, values: dict | None = None) -> dict:
    """One step as a card: the inputs check what they can themselves (length, format), the server
    checks the rest and the card comes back with its errors beside the fields. As in a Slack modal,
    every plain field gets a place and list items fill the room that is left: an item that does not
    fit is not in the card, and what a card leaves out stays as it is."""
    locale, errors, values = form.locale, errors or {}, values or {}
    head = [text_block(t(locale, "slack.form_title", no=form.step, total=form.total), isSubtle=True)]
    head.append(text_block(form.title, weight="Bolder", size="Medium"))
    if form.notice:
        head.append(text_block(form.notice, color="Warning"))
    plain: list[dict] = []
    items: list[list[dict]] = []  # one per list item (an effect, an indicator)
    for f in form.fields:
        if f.group and (not items or items[-1][0]["text"] != safe(f.group)):
            items.append([text_block(f.group, weight="Bolder", spacing="Large", separator=True)])
        inputs = field_inputs(f, locale, values, hints=not f.group)  # hints only where there is room
        inputs += [
            text_block(errors[path], color="Attention", size="Small", spacing="None")
            for path in (f.path, f.path + OTHER)
            if path in errors
        ]
        (items[-1] if f.group else plain).extend(inputs)
    last = form.step == form.total
    data = {"wwidw_form": {"iv": form.intervention_id, "step": form.step, "v": form.version}}
    save = {"type": "Action.Submit", "title": t(locale, "button.save_done" if last else "button.save_next")}
    actions = [{**save, "style": "positive", "data": data}]
    body, left_out = head + plain, False
    note = text_block(t(locale, "slack.form_items_left_out"), isSubtle=True)
    for item in items:
        if size(card(body + item + [note], actions)) > MAX_BYTES:
            left_out = True
            continue
        body += item
    return card(body + ([note] if left_out else []), actions)


def field_inputs(f: FormField, locale: str, values: dict, hints: bool = True) -> list[dict]:
    label = f.label + (" *" if f.required else "")
    base = {"id": f.path, "label": label[:200]}
    if f.help and hints:
        base["placeholder"] = f.help[:200]
    typed = values.get(f.path)
    if f.kind == "date":
        value = typed if isinstance(typed, str) else iso_date(f.value)
        return [{"type": "Input.Date", **base, **({"value": value} if value else {})}]
    if f.kind in ("choice", "multichoice") and f.options:
        picked = typed if isinstance(typed, str) else ",".join(f.selected)
        element = {
            "type": "Input.ChoiceSet",
            **base,
            "isMultiSelect": f.kind == "multichoice",
            **(typeahead(f.options, picked) if any(c.group for c in f.options) else choice_set(f.options)),
        }
        if picked:
            element["value"] = picked
        out = [element]
        if f.allow_other:
            other = {"type": "Input.Text", "id": f.path + OTHER, "label": t(locale, "web.other")}
            other["maxLength"] = f.max_len or 500
            if f.value:
                other["value"] = f.value
            out.append(other)
        return out
    if len(f.value) > INPUT_MAX:  # left out of the card, so left as it is: changed in the chat
        return [text_block(f"{f.label}: {t(locale, 'slack.too_long_for_form')}", isSubtle=True)]
    element = {"type": "Input.Text", **base, "isMultiline": f.kind == "longtext"}
    element["maxLength"] = min(f.max_len or INPUT_MAX, INPUT_MAX)
    if f.kind in CHECKS:  # checked in the card before it is sent; the server checks it all again
        pattern, key = CHECKS[f.kind]
        element.update(regex=pattern, errorMessage=t(locale, key))
    value = typed if isinstance(typed, str) else f.value
    if value:
        element["value"] = value
    return [element]


def iso_date(shown: str) -> str | None:
    """ "1-3-2027" (as the form shows a date) as Input.Date's "2027-03-01"."""
    try:
        d, m, y = (int(p) for p in shown.split("-"))
    except ValueError:
        return None
    return f"{y:04d}-{m:02d}-{d:02d}"


def form_values(form: Form, value: dict) -> dict:
    """What a submitted form card carries, by field path, as the forms module reads it
    (a multi-select comes as "a,b"; the others as typed)."""
    out = {}
    for f in form.fields:
        for path in (f.path, f.path + OTHER):
            raw = value.get(path)
            if raw is None:
                continue
            if f.kind == "multichoice" and path == f.path:
                out[path] = [v for v in str(raw).split(",") if v]
            else:
                out[path] = str(raw)
    return out
