"""Microsoft Teams: Bot Framework activities in, wizard turns through the core, Adaptive Cards out.

`POST /api/messages` checks the request's Bearer token (handlers/teams/auth.py) before anything
is read from the activity. A personal chat is the wizard; a team channel takes the `kanaal`
commands (digests) when the bot is mentioned. Replies go back through the Bot Framework
connector (handlers/teams/connector.py). An activity the Bot Framework sends again (same id) is
recorded in the turn's own transaction and so handled once.
"""

from __future__ import annotations

import hashlib
import html
import logging
import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from microsoft_agents.activity import Activity, ChannelAccount

from bot import effect_finder
from bot.analyses import FORM as ANALYSIS_FORM
from bot.analyses import AnalysisForm
from bot.forms import FormError, StaleForm
from bot.i18n import t
from bot.messages import ReplyTo
from bot.monitor import reminder_actions
from bot.people import ensure_person, update_profile, web_key
from bot.replies import Choice, Reply, Turn
from bot.subscriptions import Where
from bot.values import MAX_INTEGER
from bot.wizard import Outcome
from handlers.teams import cards
from handlers.teams.connector import ConnectorError
from handlers.teams.conversations import Place, channel_data, part, remember
from handlers.teams.registrations import Registration, Registrations

log = logging.getLogger("wwidw.teams")
TAG = re.compile(r"</?[A-Za-z][^<>]{0,500}>")  # markup, not "<5" typed in a sentence
MENTION = re.compile(r"<at>[^<]{0,500}</at>", re.IGNORECASE)
CHANNEL_WORDS = {"kanaal", "channel"}
MAX_TEXT = 30_000  # Teams' own message limit is about 28 KB
TYPEAHEAD_RESULTS = 15  # what Teams shows of a typeahead's answer


def record_id(value) -> int | None:
    """A database id sent back by a card (a number, or digits in text); None for anything else."""
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_INTEGER else None


def known_zone(name) -> str | None:
    """An IANA time zone name Teams sent, if it is one we know."""
    if not isinstance(name, str) or not 0 < len(name) <= 64:
        return None
    try:
        ZoneInfo(name)
    except (ValueError, ZoneInfoNotFoundError):
        return None
    return name


def is_shared(activity: Activity, place: Place) -> bool:
    """Whether people of other organisations may read where this was said: a shared channel
    (`channelData.channel.type`; Graph calls it `membershipType`) or a group chat."""
    channel = part(channel_data(activity), "channel")
    kinds = {str(channel.get(key) or "").casefold() for key in ("type", "membershipType")}
    return place.kind != "channel" or "shared" in kinds


def plain_text(text: str) -> str:
    """What someone typed: mentions of the bot and HTML formatting removed."""
    return html.unescape(TAG.sub("", MENTION.sub("", (text or "")[:MAX_TEXT]))).strip()


class TeamsBot:
    def __init__(self, core, registrations: Registrations):
        self.core = core
        self.db, self.wizard, self.forms = core.db, core.wizard, core.forms
        self.registrations = registrations
        self.default_locale = core.settings.wwidw_locale

    # --- entry -------------------------------------------------------------------------------

    def handle(self, activity: Activity, registration: Registration) -> dict | None:
        """Act on one activity that came through `registration` (its token's audience); returns
        the body of the answer to an `invoke` (a dialog), if any."""
        place, sender = Place.of(activity, registration.app_id), activity.from_property
        if place is None or sender is None or not sender.id:
            return None  # nothing we could answer to
        kind = activity.type
        if kind in ("conversationUpdate", "installationUpdate"):
            return self.installed(activity, place, sender)
        if kind == "invoke" and activity.name == "application/search":
            return self.typeahead(activity, self.person(place, sender))
        if kind == "invoke":
            if place.kind != "personal" and is_shared(activity, place):
                # Whoever clicks in a shared channel may belong to another organisation than the
                # tenant the channel says: no description opens there.
                return {"task": {"type": "message", "value": t(self.default_locale, "channel.shared")}}
            return self.dialog(activity, place, self.person(place, sender))
        if kind != "message":
            return None
        person_id = self.person(place, sender, known_zone(activity.local_timezone))
        remember(self.db, place, person_id if place.kind == "personal" else None)
        if place.kind == "personal":
            self.personal(activity, place, person_id)
        else:
            self.channel(activity, place, person_id)
        return None

    def person(self, place: Place, sender: ChannelAccount, zone: str | None = None) -> int:
        name = sender.name if sender.name and sender.name.strip() else None
        # Teams names the Entra account too: the one its owner signs in with on the web.
        account = web_key("teams", place.tenant_id, sender.aad_object_id) if sender.aad_object_id else None
        person_id = ensure_person(self.db, "teams", place.tenant_id, sender.id[:128], name or sender.id, also=account)
        if name or zone:
            # Teams says who someone is and (in `localTimezone`) where: a new zone reschedules their reminders.
            update_profile(self.db, person_id, name, zone, self.core.settings.wwidw_timezone)
        return person_id

    def installed(self, activity: Activity, place: Place, sender: ChannelAccount) -> None:
        """The app was added to a personal chat or a team: remember where it lives, and greet a person."""
        added = [member.id for member in activity.members_added or []]
        bot_id = activity.recipient.id if activity.recipient is not None else None
        is_add = activity.action == "add" or (bot_id is not None and bot_id in added)
        if not is_add:
            return None
        person_id = self.person(place, sender) if place.kind == "personal" else None
        # Teams sends both an installationUpdate and a conversationUpdate: greet once.
        if remember(self.db, place, person_id) and person_id is not None:
            event_id = self.event_id(activity)
            outcome = self.wizard.handle(person_id, Turn(text=""), event_id, "teams", self.reply_to(place))
            if outcome is not None:
                self.deliver(outcome)
        return None

    # --- a personal chat: the wizard --------------------------------------------------------------

    def personal(self, activity: Activity, place: Place, person_id: int) -> None:
        if isinstance(activity.value, dict):
            return self.submitted(activity, place, person_id, activity.value)
        text = plain_text(activity.text or "")
        self.turn(activity, place, person_id, Turn(text=text))

    def turn(self, activity: Activity, place: Place, person_id: int, what: Turn) -> None:
        try:
            outcome = self.wizard.handle(person_id, what, self.event_id(activity), "teams", self.reply_to(place))
        except Exception:
            # Nothing of this turn was stored (its transaction rolled back); earlier answers are safe.
            log.exception("turn failed")
            self.send(place, [Reply(text=t(self.default_locale, "slack.error"), kind="error")], self.default_locale)
            return
        if outcome is None:
            log.info("activity %s was handled before; skipped", activity.id)
            return
        replies = []
        for reply in outcome.replies:
            if reply.kind == "form":
                self.send_form(place, person_id, reply.intervention_id, reply.step)
            else:
                replies.append(reply)
        self.deliver(outcome, replies if len(replies) < len(outcome.replies) else None)

    def submitted(self, activity: Activity, place: Place, person_id: int, value: dict) -> None:
        """A card's button: a wizard action, a step form, a reminder's value or a comment."""
        if isinstance(value.get("wwidw"), str):
            action = value["wwidw"][:2000]
            if action.startswith("form:"):
                _, iv_id, step = (action.split(":") + ["", ""])[:3]
                if record_id(iv_id) and record_id(step):
                    return self.send_form(place, person_id, record_id(iv_id), record_id(step))
            if action.startswith(f"{ANALYSIS_FORM}:") and record_id(action.partition(":")[2]):
                found = self.wizard.analysis_form(person_id, record_id(action.partition(":")[2]))
                if isinstance(found, AnalysisForm):
                    return self.post_cards(place, [cards.analysis_card(found)])
                return self.send(place, found.replies, found.locale)
            return self.turn(activity, place, person_id, Turn(action=action))
        if value.get("wwidw_multi") and isinstance(value.get("opts"), str) and value["opts"]:
            return self.turn(activity, place, person_id, Turn(action="opts:" + value["opts"].replace(",", "|")))
        if value.get("wwidw_pick") and isinstance(value.get("pick"), str) and value["pick"]:
            return self.turn(activity, place, person_id, Turn(action=value["pick"][:2000]))
        if isinstance(value.get("wwidw_form"), dict):
            return self.form_submitted(activity, place, person_id, value)
        if record_id(value.get("wwidw_measure")):
            return self.value_submitted(activity, place, person_id, value)
        if record_id(value.get("wwidw_comment")):
            return self.comment_submitted(place, person_id, value)
        if record_id(value.get("wwidw_analysis")):
            return self.analysis_submitted(activity, place, person_id, value)

    def send_form(self, place: Place, person_id: int, iv_id: int, step: int) -> None:
        try:
            form = self.forms.form(person_id, iv_id, step)
        except FormError:
            return
        self.post_cards(place, [cards.form_card(form)])

    def form_submitted(self, activity: Activity, place: Place, person_id: int, value: dict) -> None:
        meta = value["wwidw_form"]
        try:
            iv_id, step, version = int(meta["iv"]), int(meta["step"]), meta.get("v")
            form = self.forms.form(person_id, iv_id, step)
        except (KeyError, TypeError, ValueError, FormError):
            return
        values = cards.form_values(form, value)
        try:
            errors = self.forms.submit(person_id, iv_id, step, values, version)
        except StaleForm:
            return self.replace(activity, place, cards.form_card(self.forms.stale_form(person_id, iv_id, step)))
        except FormError:
            return
        if errors:
            typed = {k: v for k, v in value.items() if isinstance(v, str)}
            return self.replace(activity, place, cards.form_card(form, errors, typed))
        saved = Reply(text=t(form.locale, "web.form_saved", no=step))
        self.replace(activity, place, cards.card(cards.reply_body(saved, form.locale)[0]))
        if step < form.total:
            return self.send_form(place, person_id, iv_id, step + 1)
        self.turn(activity, place, person_id, Turn(action="cmd:summary"))

    def value_submitted(self, activity: Activity, place: Place, person_id: int, value: dict) -> None:
        reminder_id = record_id(value["wwidw_measure"])
        confirmed = value.get("confirmed") if isinstance(value.get("confirmed"), (int, float)) else None
        typed, note = str(value.get("value") or "")[:200], value.get("note")
        note = note if isinstance(note, str) else None
        problems, outcome = self.wizard.measure(person_id, reminder_id, typed, note, confirmed, self.reply_to(place))
        if problems:
            prompt = self.prompt_of(value, reminder_id, outcome.locale)
            error = problems.get("confirm") or problems.get("value")
            confirm_value = problems.get("confirm_value") if "confirm" in problems else None
            return self.replace(activity, place, cards.measure_card(prompt, outcome.locale, error, confirm_value))
        self.deliver(outcome)

    @staticmethod
    def prompt_of(value: dict, reminder_id: int, locale: str) -> Reply:
        """The reminder a value card was about, to show it again: its question as the card carried
        it (only the person who sent it sees it), and its buttons."""
        prompt, title = value.get("prompt"), value.get("title")
        return Reply(
            text=prompt[:1000] if isinstance(prompt, str) else "",
            title=title[:200] if isinstance(title, str) else None,
            actions=reminder_actions(reminder_id, locale),
            reminder_id=reminder_id,
        )

    def analysis_submitted(self, activity: Activity, place: Place, person_id: int, value: dict) -> None:
        iv_id = record_id(value["wwidw_analysis"])
        typed = {k: v[:MAX_TEXT] for k, v in value.items() if isinstance(v, str)}
        publish = typed.pop("publish", "false") == "true"
        errors, outcome = self.wizard.save_analysis(person_id, iv_id, typed, publish, self.reply_to(place))
        if outcome.owed is None and not errors:
            return self.send(place, outcome.replies, outcome.locale)  # why it could not be stored
        if errors:
            found = self.wizard.analysis_form(person_id, iv_id)
            if isinstance(found, AnalysisForm):
                return self.replace(activity, place, cards.analysis_card(found, errors, typed))
            return self.send(place, found.replies, found.locale)
        saved = Reply(text=t(outcome.locale, "analysis.saved"))
        self.replace(activity, place, cards.card(cards.reply_body(saved, outcome.locale)[0]))
        self.deliver(outcome)

    def comment_submitted(self, place: Place, person_id: int, value: dict) -> None:
        text = str(value.get("comment") or "").strip()
        if not text:
            return
        step, to = str(value.get("step") or "")[:5], self.reply_to(place)
        outcome = self.wizard.comment(person_id, record_id(value["wwidw_comment"]), step, text, to)
        if outcome.owed is None:
            return self.send(place, outcome.replies, outcome.locale)  # why the comment was not stored
        self.deliver(outcome)

    def typeahead(self, activity: Activity, person_id: int) -> dict:
        """A form's effect field asks for the effects that fit what is typed: the ordering is
        public, so this answers anyone, in their language."""
        value = activity.value if isinstance(activity.value, dict) else {}
        if value.get("dataset") != cards.EFFECTS_DATASET:
            return cards.search_response([])
        text = value.get("queryText") if isinstance(value.get("queryText"), str) else ""
        locale = self.wizard.locale_of(person_id)
        found = effect_finder.matching(text[:200], effect_finder.ordering(), TYPEAHEAD_RESULTS)
        return cards.search_response([Choice(o.label(locale), o.key, group=o.group.label(locale)) for o in found])

    # --- dialogs: reading a description from a digest ------------------------------------------------

    def dialog(self, activity: Activity, place: Place, person_id: int) -> dict | None:
        """`task/fetch` opens a description in a dialog (as Slack opens a modal); `task/submit`
        is the comment written there. Whatever the reader may not see, the dialog says so."""
        value = activity.value if isinstance(activity.value, dict) else {}
        data = value.get("data") if isinstance(value.get("data"), dict) else {}
        action = data.get("wwidw") if isinstance(data.get("wwidw"), str) else ""
        if activity.name == "task/fetch" and action.startswith("read:") and record_id(action[5:]):
            outcome = self.wizard.read(person_id, record_id(action[5:]))
            shown = next((r for r in outcome.replies if r.kind == "description"), None)
            if shown is None:
                return {"task": {"type": "message", "value": " ".join(r.text for r in outcome.replies)[:500]}}
            content = cards.description_card(shown, outcome.locale, in_dialog=True)
            if len(cards.split(content)) > 1:  # a dialog holds one card: a very long description is read in the chat
                return {
                    "task": {"type": "message", "value": t(outcome.locale, "teams.too_long", id=shown.intervention_id)}
                }
            title = (shown.title or "")[:60]
            return {"task": {"type": "continue", "value": {"title": title, "card": cards.attachment(content)}}}
        if activity.name == "task/submit" and record_id(data.get("wwidw_comment")):
            text = str(data.get("comment") or "").strip()
            if not text:
                return {"task": {"type": "message", "value": t(self.wizard.locale_of(person_id), "library.close")}}
            outcome = self.wizard.comment(
                person_id, record_id(data["wwidw_comment"]), str(data.get("step") or "")[:5], text
            )
            return {"task": {"type": "message", "value": " ".join(r.text for r in outcome.replies)[:500]}}
        return None

    # --- a team channel: digests ---------------------------------------------------------------------

    def channel(self, activity: Activity, place: Place, person_id: int) -> None:
        text = plain_text(activity.text or "")
        head, _, rest = text.partition(" ")
        locale = self.wizard.locale_of(person_id)
        if head.casefold() in CHANNEL_WORDS:
            where = Where(
                "teams",
                place.tenant_id,
                place.conversation_id,
                place.name,
                shared=is_shared(activity, place),
                seen_by_all=True,
            )
            answer = self.wizard.channel(person_id, where, rest)
        elif head.casefold() in ("organisatie", "organisation"):
            # Naming a tenant's organisation is for the operator (`wwidw organisation rename`).
            answer = self.wizard.organisation(person_id, rest, is_admin=False)
        else:
            answer = t(locale, "teams.channel_help")
        self.send(place, [Reply(text=answer)], locale, reply_to=activity.id)

    # --- sending ---------------------------------------------------------------------------------------

    @staticmethod
    def reply_to(place: Place) -> ReplyTo:
        """A personal chat's replies go through the outbox (handlers/teams/delivery.py finds the chat)."""
        return ReplyTo("teams", place.tenant_id, place.conversation_id)

    def deliver(self, outcome: Outcome, replies: list[Reply] | None = None) -> None:
        """The first try of what a turn owes, at once; the outbox sender delivers what it could not.
        `replies`: what is left when form cards went out on their own."""
        if outcome.owed is not None:
            self.core.outbox.first_try(outcome.owed, replies)

    def send(self, place: Place, replies: list[Reply], locale: str, reply_to: str | None = None) -> None:
        """Straight to the conversation: a channel command's answer under it, and the apology for
        a turn that failed (there is no transaction to write it in)."""
        self.post_cards(place, cards.messages(replies, locale), reply_to)

    def post_cards(self, place: Place, contents: list[dict], reply_to: str | None = None) -> None:
        for content in contents:
            try:
                self.connector(place).send(place.service_url, place.conversation_id, cards.message(content), reply_to)
            except ConnectorError as e:
                # The answer is already stored; the person can ask for the question again.
                log.warning("sending to Teams failed: %s %s", e.status, e.code)
                return

    def replace(self, activity: Activity, place: Place, content: dict) -> None:
        """Show a submitted card again in place (with its errors, or saved)."""
        card_id, message = activity.reply_to_id, cards.message(content)
        try:
            if card_id:
                self.connector(place).update(place.service_url, place.conversation_id, card_id, message)
            else:
                self.connector(place).send(place.service_url, place.conversation_id, message)
        except ConnectorError as e:
            log.warning("updating a Teams card failed: %s %s", e.status, e.code)

    def connector(self, place: Place):
        """The connector of the bot the activity came through: an answer goes out as that bot."""
        registrations = self.registrations
        return registrations.connector(registrations.for_app(place.app_id) or registrations.for_tenant(place.tenant_id))

    @staticmethod
    def event_id(activity: Activity) -> str | None:
        """An activity id is unique only within its conversation (it is often a timestamp)."""
        activity_id = activity.id
        conversation = activity.conversation.id if activity.conversation is not None else None
        if not (activity_id and conversation):
            return None
        return "teams:" + hashlib.sha256(f"{conversation}\n{activity_id}".encode()).hexdigest()
