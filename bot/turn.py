"""One turn of one person: what they did (a `Turn`), in one database transaction, and the replies.

`TurnRun` holds the turn's state (the person, their conversation, the description in view, the
language, the replies) and hands the work to its parts, one file each:

    walk        bot/navigation.py  where the conversation is in the steps, and where it goes next
    buttons     bot/buttons.py     buttons that belong to a question or a description
    asking      bot/answers.py     the question, the answer and its validation, moving on
    editing     bot/editing.py     commands on a description (back, skip, publish, …)
    menus       bot/menus.py       the review, one's own descriptions, the menu
    measuring   bot/measuring.py   reminders, values, progress, working hours
    library     bot/library.py     searching, reading, comments, archetypes
    indicators  bot/indicators.py  the indicator overviews
    absence     bot/absence.py     days off: "afwezig tot 12 januari", "weer aanwezig"
    roles       bot/roles.py       one's profile, and a curator giving roles: "rol expert Karin"
    analyses    bot/analyses.py    an expert's analysis of a description: "analyseer 12 oordeel: …"
    curation    bot/curation.py    curators keeping the archetypes: "nieuw archetype", "archetype klushuis"
"""

from __future__ import annotations

from functools import cached_property

from sqlalchemy import bindparam
from sqlalchemy import select as sql_select
from sqlmodel import Session, select

from bot import effect_finder, search
from bot.absence import Absence
from bot.analyses import ACTIONS as ANALYSIS_ACTIONS
from bot.analyses import Analyses
from bot.answers import Asking
from bot.buttons import Buttons
from bot.commands import Command, parse_action, parse_command, parse_text_command, typed_choice
from bot.curation import Curation, typed_part
from bot.editing import Editing
from bot.i18n import t
from bot.indicators import ACTIONS as INDICATOR_ACTIONS
from bot.indicators import IndicatorTurn
from bot.library import ACTIONS as LIBRARY_ACTIONS
from bot.library import Library
from bot.measuring import ACTIONS as MEASURING_ACTIONS
from bot.measuring import Measuring
from bot.menus import Menus
from bot.monitor import reschedule
from bot.navigation import Walk
from bot.removal import Removal
from bot.replies import Reply, Turn
from bot.roles import Roles
from bot.schedule import DEFAULT_TZ, as_utc
from models import Conversation, Intervention, Person
from models.db import insert_missing
from models.tables import utcnow

# Built once: this runs in every turn, and a Core statement costs less than the ORM's.
LOCK = (
    sql_select(Conversation.__table__.c.id)
    .where(Conversation.__table__.c.person_id == bindparam("person_id"))
    .with_for_update()
)


def load_turn(session: Session, person_id: int):
    """The person, their conversation (locked for this turn) and its description; a first contact
    creates the conversation. Returns (person, conversation, description, new)."""
    row = locked_conversation(session, person_id)
    if row is not None:
        return *row, False
    if session.get(Person, person_id) is None:
        raise LookupError(f"no person {person_id}")
    # Two first events of one person (a message and the App Home opening) can arrive at once on
    # two replicas: the one that did not create the row waits for it and goes on with it.
    conn = session.connection()
    created = conn.execute(
        insert_missing(conn.dialect.name, Conversation.__table__, "person_id").returning(Conversation.__table__.c.id),
        Conversation.new_row(person_id),
    ).first()
    return *locked_conversation(session, person_id), created is not None


def locked_conversation(session: Session, person_id: int):
    if session.get_bind().dialect.name != "sqlite":
        # A PostgreSQL statement reads what was committed when it began: take the lock first, so
        # the query below sees everything the turn we waited for wrote. (SQLite transactions start
        # with the write lock already held.)
        session.connection().execute(LOCK, {"person_id": person_id})
    return session.exec(
        select(Person, Conversation, Intervention)
        .select_from(Conversation)
        .join(Person, Person.id == Conversation.person_id)
        .outerjoin(Intervention, Intervention.id == Conversation.intervention_id)
        .where(Conversation.person_id == person_id)
    ).first()  # (person, conversation, description) or None


class TurnRun:
    """One turn for one person; collects replies in `self.replies`."""

    def __init__(self, session: Session, person_id: int, default_locale: str, default_tz: str = DEFAULT_TZ):
        self.s = session
        self.default_tz = default_tz
        self.default_locale = default_locale
        self.started = utcnow()
        self.person, self.conv, iv, self.first_contact = load_turn(session, person_id)
        self.locale = self.person.locale or default_locale
        self.replies: list[Reply] = []
        self._iv: Intervention | None = iv if iv is not None and iv.author_id == person_id else None
        self.refused = False  # a button that no longer applied: nothing was changed
        self.walk = Walk(self)

    # The other parts are made when a turn first needs them: most turns use only a few.

    @cached_property
    def buttons(self) -> Buttons:
        return Buttons(self)

    @cached_property
    def asking(self) -> Asking:
        return Asking(self)

    @cached_property
    def editing(self) -> Editing:
        return Editing(self)

    @cached_property
    def menus(self) -> Menus:
        return Menus(self)

    @cached_property
    def measuring(self) -> Measuring:
        return Measuring(self)

    @cached_property
    def library(self) -> Library:
        return Library(self)

    @cached_property
    def removal(self) -> Removal:
        return Removal(self)

    @cached_property
    def indicators(self) -> IndicatorTurn:
        return IndicatorTurn(self)

    @cached_property
    def absence(self) -> Absence:
        return Absence(self)

    @cached_property
    def roles(self) -> Roles:
        return Roles(self)

    @cached_property
    def analyses(self) -> Analyses:
        return Analyses(self)

    @cached_property
    def curation(self) -> Curation:
        return Curation(self)

    def t(self, key: str, **params) -> str:
        return t(self.locale, key, **params)

    def say(self, key: str, kind: str = "info", **params) -> Reply:
        reply = Reply(text=self.t(key, **params), kind=kind)
        self.replies.append(reply)
        return reply

    # --- the description in view -------------------------------------------------------------

    @property
    def iv(self) -> Intervention | None:
        if self._iv is None and self.conv.intervention_id:
            iv = self.s.get(Intervention, self.conv.intervention_id)
            self._iv = iv if iv and iv.author_id == self.person.id else None
        return self._iv

    def look_at(self, iv: Intervention) -> None:
        """Work with `iv` in this turn without making it the conversation's description."""
        self._iv = iv
        self.walk.forget()

    def set_intervention(self, iv: Intervention | None) -> None:
        """Make `iv` the description the conversation is about; the caller places the cursor."""
        if self.conv.intervention_id != (iv.id if iv else None):
            current = self.s.get(Intervention, self.conv.intervention_id) if self.conv.intervention_id else None
            cursor = self.walk.cursor
            if current is not None and current.author_id == self.person.id and cursor is not None:
                self.look_at(current)
                self.walk.prune_empty_items(cursor, keep=None)  # an item added there and left empty
            self.conv.field = None  # the old cursor belongs to the old description
            self.conv.intervention_id = iv.id if iv else None
        self.look_at(iv)

    def published_changed(self) -> None:
        """A published description changed in this turn: the search index and its reminders follow."""
        iv = self._iv
        if iv is not None and iv.status == "published" and as_utc(iv.updated_at) >= self.started:
            search.reindex(self.s, iv)
            reschedule(self.s, iv, utcnow(), self.default_tz)

    # --- what the person did -----------------------------------------------------------------

    def dispatch(self, turn: Turn) -> None:
        if self.person.unreachable_since is not None:
            # They talk to us again, so the platform reaches them after all: reminders resume.
            self.person.unreachable_since = self.person.unreachable_reason = None
            self.measuring.reschedule_mine()
        kind = turn.action.partition(":")[0] if turn.action else None
        if kind in MEASURING_ACTIONS:
            return self.measuring.action(turn.action)
        if kind in INDICATOR_ACTIONS:
            return self.indicators.action(turn.action)
        if kind in LIBRARY_ACTIONS:
            return self.library.action(turn.action)
        if kind in ANALYSIS_ACTIONS:
            return self.analyses.action(turn.action)
        if turn.text is not None and not turn.command and self.conv.offered:
            picked = self.picked(turn.text)
            if picked is not None:
                return self.dispatch(Turn(action=picked))
        if turn.text is not None and self.measuring.wants(turn.text):
            return self.measuring.typed(turn.text)
        if (part := typed_part(turn.text, self.iv)) is not None:
            return self.curation.archetype(part)
        # Anything else: a number typed later answers the wizard again, not an old reminder.
        self.conv.reminder_id = None
        if turn.action:
            return self.button(turn.action)
        text = (turn.text or "").strip()
        with_text = parse_text_command(text) if turn.command or self.conv.phase != "asking" else None
        command = with_text or parse_command(text)
        if command:
            return self.command(command)
        if self.conv.phase == "asking" and self.iv is not None and self.walk.cursor is not None:
            return self.asking.answer(text)
        if self.conv.phase == "review" and self.iv is not None:
            self.say("review.typed")
            return self.menus.review()
        return self.menus.menu(first=self.first_contact)

    def picked(self, text: str) -> str | None:
        """What a typed number or name chooses from the list offered last; a command typed there
        stays a command."""
        if parse_command(text) or parse_text_command(text):
            return None
        if effect_finder.is_found_list(self.conv.offered):
            # Effects found by a word: a number or a whole name picks; another word searches again.
            typed = " ".join(text.casefold().split())
            whole = [v for label, v in self.conv.offered if label.casefold() == typed]
            return whole[0] if whole else typed_choice(text, self.conv.offered) if typed.isdigit() else None
        return typed_choice(text, self.conv.offered)

    def remember_offer(self) -> None:
        """The last reply's list, for a number or name typed next. A question's own answers are
        left to its parser ("1, 4" picks two themes); buttons beside a question are not a list."""
        last = self.replies[-1] if self.replies else None
        offered = [[c.label, c.value] for c in last.options] if last is not None else []
        if any(value.startswith("opt:") for _, value in offered) and last.input != "found":
            offered = []
        if (self.conv.offered or []) != offered:
            self.conv.offered = offered or None

    def button(self, action: str) -> None:
        kind, arg = parse_action(action)
        parts = [part.partition("@") for part in arg.split("|")] if kind == "opts" else [arg.partition("@")]
        tokens = {token for _, _, token in parts}
        if len(tokens) > 1 or not self.buttons.accept(tokens.pop()):
            return self.buttons.stale()
        values = [value for value, _, _ in parts]
        if kind == "cmd":
            name, _, value = values[0].partition(":")
            return self.command(Command(name, value or None))
        if kind in ("opt", "opts"):
            return self.asking.answer(", ".join(values), picked=True)
        return self.menus.unknown()

    def command(self, cmd: Command) -> None:
        editing, menus, library = self.editing, self.menus, self.library
        plain = {
            "back": editing.back,
            "skip": editing.skip,
            "pause": editing.pause,
            "help": editing.help,
            "help_all": editing.help_all,
            "summary": editing.summary,
            "new": editing.new,
            "resume": editing.resume,
            "publish": editing.publish,
            "export": editing.export,
            "remove": editing.remove,
            "mine": menus.mine,
            "menu": lambda: menus.menu(first=self.first_contact),
            "archetypes": library.archetypes,
            "indicators": self.indicators.overview,
            "measure": self.measuring.measure,
            "withdraw_confirmed": self.removal.withdraw_confirmed,
            "delete_confirmed": self.removal.delete_confirmed,
            "present": self.absence.present,
            "profile": self.roles.profile,
            "analyses": self.analyses.mine,
            "new_archetype": self.curation.new,
        }
        with_arg = {
            "edit": editing.edit,
            "open": editing.open,
            "language": editing.language,
            "form": editing.form,
            "read": library.read,
            "indicator": self.indicators.show,
            "indicator_new": self.indicators.add,
            "progress": self.measuring.progress,
            "hours": self.measuring.working_hours,
            "withdraw": self.removal.withdraw,
            "delete": self.removal.delete,
            "away": self.absence.away,
        }
        if cmd.name in plain:
            return plain[cmd.name]()
        if cmd.name in with_arg:
            return with_arg[cmd.name](cmd.arg)
        if cmd.name == "search":
            return library.search(cmd.text)
        if cmd.name == "comment":
            return library.comment(cmd.arg, cmd.text)
        if cmd.name == "role":
            return self.roles.role(cmd.text)
        if cmd.name == "analyse":
            return self.analyses.analyse(cmd.arg, cmd.text)
        if cmd.name == "from":
            return library.new_from(cmd.text or cmd.arg)
        if cmd.name == "archetype":
            return self.curation.archetype(cmd.text or cmd.arg)
        if cmd.name == "archetype_edit":
            return self.curation.edit(cmd.text or cmd.arg)
        return menus.unknown()
