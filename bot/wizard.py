"""The wizard engine: one small state machine that walks the step definition.

`Wizard.handle` runs one turn as one database transaction: the answer and the new position
are committed before any reply is sent, so a crash between turns loses nothing and the next
turn continues at the right question. A platform event id, when given, is recorded in the
same transaction, so a retried event is handled once.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from bot import definition, search, store
from bot.commands import Command, parse_action, parse_command, parse_text_command
from bot.definition import Field, Option
from bot.documents import render_markdown
from bot.i18n import t
from bot.indicators import ACTIONS as INDICATOR_ACTIONS
from bot.indicators import Entry, IndicatorTurn, entries, home_reply
from bot.library import ACTIONS as LIBRARY_ACTIONS
from bot.library import Library, description_reply
from bot.measuring import ACTIONS as MEASURING_ACTIONS
from bot.measuring import Measuring
from bot.monitor import as_utc, reschedule
from bot.organisations import adopt_workspace_name, name_command
from bot.replies import Choice, Reply, Turn
from bot.subscriptions import Where, channel_command
from bot.values import Invalid, is_number, match_option, parse, parse_yes_no
from models import Conversation, Intervention, Person, ProcessedEvent
from models.db import Database, insert_missing
from models.tables import utcnow

DEFAULT_TZ = "Europe/Amsterdam"
MORE = "__more__"  # the "add another item?" question after a list item
MAX_FAILURES = 3


@dataclass(frozen=True)
class Cursor:
    step: int
    field: str
    item: int = 0
    sub: str | None = None


@dataclass
class Outcome:
    """What a turn produced: the replies, in the language the person now speaks."""

    replies: list[Reply]
    locale: str
    refused: bool = False  # a button that no longer applied: nothing was changed


class Wizard:
    def __init__(self, db: Database, default_locale: str = "nl", default_tz: str = DEFAULT_TZ):
        self.db = db
        self.default_locale = default_locale
        self.default_tz = default_tz

    def handle(self, person_id: int, turn: Turn, event_id: str | None = None, platform: str = "") -> Outcome | None:
        """Apply one turn; returns the replies, or None when `event_id` was handled before."""
        for attempt in range(2):
            try:
                with self.db.transaction() as session:
                    if event_id:
                        # Inserted with the turn's other changes: a second copy of the event fails
                        # on the primary key, rolls its whole turn back and sends nothing.
                        session.add(ProcessedEvent(event_id=event_id[:128], platform=platform))
                    run = TurnRun(session, person_id, self.default_locale, self.default_tz)
                    run.dispatch(turn)
                    run.published_changed()
                    return Outcome(run.replies, run.locale, run.refused)
            except IntegrityError:
                if event_id and self.seen(event_id):
                    return None
                if attempt:
                    raise
                # Two first turns of one person raced to create the conversation: go again.
        raise AssertionError("unreachable")

    def measure(
        self, person_id: int, reminder_id: int, text: str, note: str | None = None, confirmed: float | None = None
    ) -> tuple[dict, Outcome]:
        """A value entered in a form for a reminder: (problems by field, the turn's replies)."""
        with self.db.transaction() as session:
            run = TurnRun(session, person_id, self.default_locale, self.default_tz)
            problems = Measuring(run, self.default_tz).submit(reminder_id, text, note, confirmed)
            return problems, Outcome(run.replies, run.locale)

    def chart(self, person_id: int, intervention_id: int) -> bytes | None:
        """The progress chart of a description the person may see, as PNG."""
        from bot.charts import progress_png

        with self.db.transaction() as session:
            run = TurnRun(session, person_id, self.default_locale, self.default_tz)
            iv = Measuring(run, self.default_tz).visible_intervention(str(intervention_id))
            return progress_png(session, iv, run.locale) if iv is not None else None

    def home(self, person_id: int) -> Outcome:
        """A person's overview (e.g. Slack's App Home): their descriptions with a way back into each,
        then their indicators with the next reminder of each."""
        with self.db.transaction() as session:
            run = TurnRun(session, person_id, self.default_locale, self.default_tz)
            indicators = home_reply(session, run.person, self.default_tz, run.locale)
            return Outcome([run.home(), *([indicators] if indicators else [])], run.locale)

    def indicators(self, person_id: int) -> tuple[list[Entry], str]:
        """A person's indicators with their next reminders (the web page), and their language."""
        with self.db.transaction() as session:
            run = TurnRun(session, person_id, self.default_locale, self.default_tz)
            return entries(session, run.person, self.default_tz, run.locale), run.locale

    def read(self, person_id: int, intervention_id: int) -> Outcome:
        """A description to read outside the conversation (a Teams dialog): the description, or why
        not. Unlike a turn it changes nothing, not even where the conversation is."""
        with self.db.transaction() as session:
            person = session.get(Person, person_id)
            locale = (person.locale if person else None) or self.default_locale
            iv = store.readable(session, person, intervention_id)
            if iv is None:
                return Outcome(
                    [Reply(text=t(locale, "library.not_readable", id=intervention_id), kind="error")], locale
                )
            return Outcome([description_reply(session, iv, locale)], locale)

    def comment(self, person_id: int, intervention_id: int, step: str, text: str) -> Outcome:
        """A comment written in a form (a Slack modal): the confirmation, or an error reply."""
        with self.db.transaction() as session:
            run = TurnRun(session, person_id, self.default_locale, self.default_tz)
            Library(run, self.default_tz).comment(f"{intervention_id}:{step}", text)
            return Outcome(run.replies, run.locale)

    def channel(self, person_id: int, where: Where, text: str) -> str:
        """A `kanaal …` command typed in a channel: subscribe it to digests, cancel, list."""
        for attempt in range(2):
            try:
                with self.db.transaction() as session:
                    person = session.get(Person, person_id)
                    return channel_command(session, person, where, text, self.default_locale, self.default_tz)
            except IntegrityError:
                # Two people subscribed the channel at once on two replicas: the second sees the first's.
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def workspace_name(self, platform: str, workspace: str, name: str) -> None:
        """What the platform calls a workspace, for an organisation nobody has named yet."""
        with self.db.transaction() as session:
            adopt_workspace_name(session, platform, workspace, name)

    def organisation(self, person_id: int, text: str, is_admin: bool) -> str:
        """`organisatie [naam]`: show the person's organisation, or name it (administrators)."""
        with self.db.transaction() as session:
            person = session.get(Person, person_id)
            return name_command(session, person, text, is_admin, person.locale or self.default_locale)

    def seen(self, event_id: str) -> bool:
        with self.db.transaction() as session:
            return session.get(ProcessedEvent, event_id[:128]) is not None

    def locale_of(self, person_id: int) -> str:
        with self.db.transaction() as session:
            person = session.get(Person, person_id)
            return (person.locale if person else None) or self.default_locale


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
        session.exec(select(Conversation.id).where(Conversation.person_id == person_id).with_for_update())
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
        self._rows: dict[str, list] = {}
        self.refused = False

    # --- helpers -------------------------------------------------------------------------

    def t(self, key: str, **params) -> str:
        return t(self.locale, key, **params)

    def say(self, key: str, kind: str = "info", **params) -> Reply:
        reply = Reply(text=self.t(key, **params), kind=kind)
        self.replies.append(reply)
        return reply

    @property
    def iv(self) -> Intervention | None:
        if self._iv is None and self.conv.intervention_id:
            iv = self.s.get(Intervention, self.conv.intervention_id)
            self._iv = iv if iv and iv.author_id == self.person.id else None
        return self._iv

    def look_at(self, iv: Intervention) -> None:
        """Work with `iv` in this turn without making it the conversation's description."""
        self._iv = iv
        self._rows.clear()

    def set_intervention(self, iv: Intervention | None) -> None:
        """Make `iv` the description the conversation is about; the caller places the cursor."""
        if self.conv.intervention_id != (iv.id if iv else None):
            current = self.s.get(Intervention, self.conv.intervention_id) if self.conv.intervention_id else None
            if current is not None and current.author_id == self.person.id and self.cursor is not None:
                self.look_at(current)
                self.prune_empty_items(self.cursor, keep=None)  # an item added there and left empty
            self.conv.field = None  # the old cursor belongs to the old description
            self.conv.intervention_id = iv.id if iv else None
        self.look_at(iv)

    @property
    def cursor(self) -> Cursor | None:
        if not self.conv.field:
            return None
        return Cursor(self.conv.step, self.conv.field, self.conv.item, self.conv.sub)

    def field_at(self, c: Cursor) -> Field:
        f = definition.step(c.step).field(c.field)
        return f.item(c.sub) if c.sub and c.sub != MORE else f

    def list_field_at(self, c: Cursor) -> Field | None:
        f = definition.step(c.step).field(c.field)
        return f if f.kind == "list" else None

    def step_sequence(self, no: int) -> list[Cursor]:
        """The questions of one step in order, given how many items its lists have now."""
        seq: list[Cursor] = []
        for f in definition.step(no).fields:
            if f.kind != "list":
                seq.append(Cursor(no, f.key))
                continue
            n = len(self.rows(f))
            if n == 0:
                seq.append(Cursor(no, f.key, 0, f.items[0].key))
                continue
            seq += [Cursor(no, f.key, i, sub.key) for i in range(n) for sub in f.items if sub.chat]
            seq.append(Cursor(no, f.key, n - 1, MORE))
        return seq

    def first_of(self, no: int) -> Cursor | None:
        """The first question of step `no`, or None past the last step."""
        return self.step_sequence(no)[0] if 1 <= no <= len(definition.steps()) else None

    def index_of(self, c: Cursor, seq: list[Cursor]) -> int:
        if c in seq:
            return seq.index(c)
        # The cursor points at something that no longer exists: the nearest question of its field.
        same = [i for i, other in enumerate(seq) if (other.step, other.field) == (c.step, c.field)]
        return same[min(c.item, len(same) - 1)] if same else 0

    def options_for(self, f: Field) -> tuple[Option, ...]:
        if f.options_from == "effects":
            return tuple(Option(e.key, e.nl, e.en) for e in definition.effects())
        if f.options_from == "indicators":
            return tuple(Option(key, s.nl, s.en) for key, s in self.suggested_indicators())
        return f.options

    def suggested_indicators(self):
        """Indicators proposed by the catalogue for the effects chosen in step 4."""
        effects_field = definition.find_field("effects")[1]
        seen, out = set(), []
        for row in self.rows(effects_field):
            effect = definition.effect_by_name(row.name or "")
            for n, suggestion in enumerate(effect.indicators if effect else ()):
                if suggestion.nl not in seen:
                    seen.add(suggestion.nl)
                    out.append((f"{effect.key}.{n}", suggestion))
        return out

    def item_row(self, list_field: Field, index: int, create: bool = False):
        rows = self.rows(list_field)
        if index < len(rows):
            return rows[index]
        return self.add_item(list_field) if create else None

    def rows(self, list_field: Field) -> list:
        """The items of a list field, read once per turn (lists change only through add/remove)."""
        if list_field.key not in self._rows:
            self._rows[list_field.key] = store.items(self.s, self.iv, list_field)
        return self._rows[list_field.key]

    def add_item(self, list_field: Field):
        self._rows.pop(list_field.key, None)
        return store.add_item(self.s, self.iv, list_field)

    def remove_item(self, list_field: Field, row) -> None:
        self._rows.pop(list_field.key, None)
        store.remove_item(self.s, self.iv, list_field, row)

    def current_value(self, c: Cursor):
        list_field = self.list_field_at(c)
        if list_field is None:
            return store.get(self.iv, self.field_at(c))
        row = self.item_row(list_field, c.item)
        return getattr(row, c.sub) if row is not None and c.sub != MORE else None

    # --- buttons that belong to a question or a description ------------------------------

    def question_token(self) -> str:
        c = self.cursor
        return f"q.{self.iv.id}.{c.step}.{c.field}.{c.item}.{c.sub or ''}" if c and self.iv else "q.none"

    def state_token(self) -> str:
        """Where the conversation is now; a "new description" button counts once from here."""
        c = self.conv
        return f"s.{c.intervention_id or 0}.{c.phase}.{c.step}.{c.field or ''}.{c.item}.{c.sub or ''}"

    def bound(self, value: str, token: str) -> str:
        """A button value that only counts while `token` still holds (see `accept`)."""
        return f"{value}@{token}"

    def accept(self, token: str) -> bool:
        """Whether a button stamped with `token` may act now. A question's buttons act only while
        that question is asked (an old or double-clicked button must not answer a later one); a
        description's buttons (edit, publish) first bring that description back."""
        if not token:
            return True
        if token.startswith("q."):
            return self.conv.phase == "asking" and token == self.question_token()
        if token.startswith("s."):
            return token == self.state_token()
        if token.startswith("d.") and is_number(token[2:]):
            if self.iv is not None and self.iv.id == int(token[2:]):
                return True
            other = self.s.get(Intervention, int(token[2:]))
            if other is None or other.author_id != self.person.id:
                return False
            self.set_intervention(other)
            self.place(None)
            self.conv.phase = "review"
            return True
        return False

    def stale(self) -> None:
        self.refused = True
        self.say("stale")
        if self.conv.phase == "asking" and self.cursor is not None and self.iv is not None:
            return self.ask(repeat=True)
        if self.conv.phase == "review" and self.iv is not None:
            return self.review()
        self.menu(first=False)

    # --- dispatch ------------------------------------------------------------------------

    def published_changed(self) -> None:
        """A published description changed in this turn: the search index and its reminders follow."""
        iv = self._iv
        if iv is not None and iv.status == "published" and as_utc(iv.updated_at) >= self.started:
            search.reindex(self.s, iv)
            reschedule(self.s, iv, utcnow(), self.default_tz)

    def dispatch(self, turn: Turn) -> None:
        measuring = Measuring(self, self.default_tz)
        if self.person.unreachable_since is not None:
            # They talk to us again, so the platform reaches them after all: reminders resume.
            self.person.unreachable_since = self.person.unreachable_reason = None
            measuring.reschedule_mine()
        if turn.action and turn.action.partition(":")[0] in MEASURING_ACTIONS:
            return measuring.action(turn.action)
        if turn.action and turn.action.partition(":")[0] in INDICATOR_ACTIONS:
            return IndicatorTurn(self, self.default_tz).action(turn.action)
        if turn.action and turn.action.partition(":")[0] in LIBRARY_ACTIONS:
            return Library(self, self.default_tz).action(turn.action)
        if turn.text is not None and measuring.wants(turn.text):
            return measuring.typed(turn.text)
        # Anything else: a number typed later answers the wizard again, not an old reminder.
        self.conv.reminder_id = None
        if turn.action:
            kind, arg = parse_action(turn.action)
            parts = [part.partition("@") for part in arg.split("|")] if kind == "opts" else [arg.partition("@")]
            tokens = {token for _, _, token in parts}
            if len(tokens) > 1 or not self.accept(tokens.pop()):
                return self.stale()
            values = [value for value, _, _ in parts]
            if kind == "cmd":
                name, _, value = values[0].partition(":")
                return self.command(Command(name, value or None))
            if kind in ("opt", "opts"):
                return self.answer(", ".join(values))
            return self.unknown()
        text = (turn.text or "").strip()
        with_text = parse_text_command(text) if turn.command or self.conv.phase != "asking" else None
        command = with_text or parse_command(text)
        if command:
            return self.command(command)
        if self.conv.phase == "asking" and self.iv is not None and self.cursor is not None:
            return self.answer(text)
        if self.conv.phase == "review" and self.iv is not None:
            self.say("review.typed")
            return self.review()
        return self.menu(first=self.first_contact)

    def command(self, cmd: Command) -> None:
        handler = {
            "back": self.back,
            "skip": self.skip,
            "pause": self.pause,
            "help": self.help,
            "summary": self.summary,
            "new": self.new,
            "resume": self.resume,
            "mine": self.mine,
            "publish": self.publish,
            "export": self.export,
            "remove": self.remove,
            "menu": lambda: self.menu(first=self.first_contact),
        }.get(cmd.name)
        if handler:
            return handler()
        if cmd.name == "edit":
            return self.edit(cmd.arg)
        if cmd.name == "open":
            return self.open(cmd.arg)
        if cmd.name == "language":
            return self.language(cmd.arg)
        if cmd.name == "form":
            return self.form(cmd.arg)
        library = Library(self, self.default_tz)
        if cmd.name == "search":
            return library.search(cmd.text)
        if cmd.name == "read":
            return library.read(cmd.arg)
        if cmd.name == "comment":
            return library.comment(cmd.arg, cmd.text)
        if cmd.name == "archetypes":
            return library.archetypes()
        if cmd.name == "from":
            return library.new_from(cmd.text or cmd.arg)
        indicators = IndicatorTurn(self, self.default_tz)
        if cmd.name == "indicators":
            return indicators.overview()
        if cmd.name == "indicator":
            return indicators.show(cmd.arg)
        if cmd.name == "indicator_new":
            return indicators.add(cmd.arg)
        measuring = Measuring(self, self.default_tz)
        if cmd.name == "measure":
            return measuring.measure()
        if cmd.name == "progress":
            return measuring.progress(cmd.arg)
        if cmd.name == "hours":
            return measuring.working_hours(cmd.arg)
        return self.unknown()

    def unknown(self) -> None:
        self.say("unknown", kind="error")
        self.menu(first=False)

    def needs_description(self) -> bool:
        """True (after saying so) when there is no description to work on."""
        if self.iv is not None:
            return False
        self.say("no_current", kind="error")
        self.menu(first=False)
        return True

    # --- answering -----------------------------------------------------------------------

    def answer(self, text: str) -> None:
        c = self.cursor
        if self.conv.phase != "asking" or c is None or self.iv is None:
            return self.menu(first=False)
        list_field = self.list_field_at(c)
        if c.sub == MORE:
            yes = parse_yes_no(text)
            if yes is None:
                return self.reject(Invalid("invalid.yes_no"))
            if not yes:
                return self.move(self.after_list(c))
            if len(self.rows(list_field)) >= list_field.max_items:
                self.say("list.full", max=list_field.max_items)
                return self.move(self.after_list(c))
            self.add_item(list_field)
            return self.move(Cursor(c.step, c.field, c.item + 1, list_field.items[0].key))
        f = self.field_at(c)
        options = self.options_for(f)
        try:
            value = parse(f, text, self.locale, options)
            self.check_order(f, value, list_field, c)
        except Invalid as invalid:
            return self.reject(invalid)
        if list_field is None:
            store.put(self.iv, f, value)
        else:
            row = self.item_row(list_field, c.item, create=True)
            setattr(row, f.key, value)
            self.iv.updated_at = utcnow()
            if f.options_from == "indicators":
                self.prefill_indicator(row, text, options)
        self.move(self.following(c))

    def check_order(self, f: Field, value, list_field: Field | None = None, c: Cursor | None = None) -> None:
        if list_field is None:
            problem = store.order_problem(
                f, value, lambda key: store.get(self.iv, definition.find_field(key)[1]), self.locale
            )
        else:
            row = self.item_row(list_field, c.item)
            problem = store.order_problem(
                f, value, lambda key: getattr(row, key, None), self.locale, siblings=list_field.items
            )
        if problem:
            raise problem

    def prefill_indicator(self, row, text: str, options) -> None:
        option = match_option(text, options, self.locale)
        suggestion = dict(self.suggested_indicators()).get(option.key) if option else None
        if suggestion:
            row.kind = row.kind or suggestion.kind
            row.unit = row.unit or suggestion.unit

    def reject(self, invalid: Invalid) -> None:
        self.conv.failures += 1
        reply = Reply(text=self.t(invalid.key, **invalid.params), kind="error")
        f = self.field_at(self.cursor) if self.cursor.sub != MORE else None
        if self.conv.failures >= MAX_FAILURES and f is not None:
            reply.note = f"{self.t('invalid.stuck')}\n{f.help(self.locale)}"
            reply.actions = [
                Choice(self.t("button.help"), "cmd:help"),
                Choice(self.t("button.skip"), self.bound("cmd:skip", self.question_token())),
            ]
        elif f is not None and f.help(self.locale):
            reply.note = f.help(self.locale)
        self.replies.append(reply)
        self.ask(repeat=True)

    # --- moving --------------------------------------------------------------------------

    def following(self, c: Cursor) -> Cursor | None:
        seq = self.step_sequence(c.step)
        i = self.index_of(c, seq)
        return seq[i + 1] if i + 1 < len(seq) else self.first_of(c.step + 1)

    def preceding(self, c: Cursor) -> Cursor | None:
        seq = self.step_sequence(c.step)
        i = self.index_of(c, seq)
        if i > 0:
            return seq[i - 1]
        return self.step_sequence(c.step - 1)[-1] if c.step > 1 else None

    def after_list(self, c: Cursor) -> Cursor | None:
        seq = self.step_sequence(c.step)
        later = [x for x in seq[self.index_of(c, seq) :] if x.field != c.field]
        return later[0] if later else self.first_of(c.step + 1)

    def move(self, target: Cursor | None) -> None:
        """Go to `target` (None: past the last question), tidy up, and ask what comes next."""
        old = self.cursor
        if old is not None and target is not None and self.conv.back_to_review and target.step != old.step:
            target = None  # editing one step: that step is done
        self.conv.failures = 0
        self.conv.updated_at = utcnow()
        if target is None:
            self.place(None)
            self.conv.back_to_review = False
            self.conv.phase = "review"
            if old is not None:
                self.say("saved_all")
            return self.review()
        self.conv.phase = "asking"
        self.place(target)
        if old is not None and target.step != old.step:
            self.say("step_done", no=old.step)
        self.ask()

    def place(self, c: Cursor | None) -> None:
        """Put the wizard at question `c` (None: no question, e.g. at the review)."""
        if self.cursor is not None and self.iv is not None:
            self.prune_empty_items(self.cursor, keep=c)
        self.conv.step = c.step if c else 0
        self.conv.field = c.field if c else None
        self.conv.item = c.item if c else 0
        self.conv.sub = c.sub if c else None
        if self.iv is not None:
            self.iv.resume_at = c.__dict__.copy() if c else None

    def prune_empty_items(self, old: Cursor, keep: Cursor | None) -> None:
        list_field = self.list_field_at(old)
        if list_field is None:
            return
        for index, row in enumerate(list(self.rows(list_field))):
            kept = keep is not None and (keep.step, keep.field, keep.item) == (old.step, old.field, index)
            if not kept and store.item_is_empty(list_field, row):
                self.remove_item(list_field, row)

    def ask(self, repeat: bool = False) -> None:
        c = self.cursor
        if c is None or self.iv is None:
            return self.menu(first=False)
        step = definition.step(c.step)
        list_field = self.list_field_at(c)
        title = self.t("ask.title", no=step.no, total=len(definition.steps()), step=step.title(self.locale))
        if list_field is not None:
            title += f" · {list_field.item_label(self.locale)} {c.item + 1}"
        token = self.question_token()
        actions = [Choice(self.t("button.back"), self.bound("cmd:back", token))] if c != self.first_of(1) else []
        actions += [
            Choice(self.t("button.skip"), self.bound("cmd:skip", token)),
            Choice(self.t("button.help"), "cmd:help"),
            Choice(self.t("button.pause"), "cmd:pause"),
        ]
        if c.sub == MORE:
            self.replies.append(
                Reply(
                    text=list_field.more(self.locale),
                    kind="question",
                    title=title,
                    input="choice",
                    options=[
                        Choice(self.t("button.yes"), self.bound("opt:yes", token), "primary"),
                        Choice(self.t("button.no"), self.bound("opt:no", token)),
                    ],
                    actions=actions,
                    intervention_id=self.iv.id,
                )
            )
            return
        f = self.field_at(c)
        if list_field is not None and c.item == 0 and c.sub == list_field.items[0].key and not repeat:
            self.replies.append(Reply(text=list_field.question(self.locale), kind="info", title=title))
        value = self.current_value(c)
        note = (
            self.t("ask.current", value=store.display(f, value, self.locale)) if value not in (None, "", []) else None
        )
        if f.required and note is None:
            note = self.t("ask.required")
        self.replies.append(
            Reply(
                text=f.question(self.locale),
                kind="question",
                title=title,
                note=note,
                input=f.kind,
                options=[Choice(o.label(self.locale), self.bound(f"opt:{o.key}", token)) for o in self.options_for(f)],
                multi=f.kind == "multichoice",
                actions=actions,
                intervention_id=self.iv.id,
            )
        )

    # --- commands ------------------------------------------------------------------------

    def back(self) -> None:
        c = self.cursor
        if self.conv.phase == "review" and self.iv is not None:
            self.conv.back_to_review = False
            return self.move_fresh(self.step_sequence(len(definition.steps()))[-1])
        if c is None or self.iv is None:
            return self.menu(first=False)
        target = self.preceding(c)
        if target is None:
            self.say("first_question")
            return self.ask()
        self.move(target)

    def move_fresh(self, target: Cursor) -> None:
        self.conv.phase = "asking"
        self.place(target)
        self.conv.failures = 0
        self.ask()

    def skip(self) -> None:
        c = self.cursor
        if self.conv.phase != "asking" or c is None or self.iv is None:
            return self.menu(first=False)
        list_field = self.list_field_at(c)
        if list_field is not None:
            row = self.item_row(list_field, c.item)
            first = c.sub == list_field.items[0].key
            if c.sub == MORE or (first and (row is None or getattr(row, c.sub) in (None, ""))):
                if row is not None and store.item_is_empty(list_field, row):
                    self.remove_item(list_field, row)
                return self.move(self.after_list(c))
        f = self.field_at(c)
        if f.required and self.current_value(c) in (None, "", []):
            self.say("skipped_required")
        self.move(self.following(c))

    def remove(self) -> None:
        """Delete the list item (an effect, an indicator, a report) the current question is about."""
        c = self.cursor
        list_field = self.list_field_at(c) if c is not None and self.conv.phase == "asking" else None
        row = self.item_row(list_field, c.item) if list_field is not None and c.sub != MORE else None
        if row is None:
            self.say("remove.nothing", kind="error")
            return self.ask() if self.conv.phase == "asking" else self.menu(first=False)
        label = f"{list_field.item_label(self.locale)} {c.item + 1}"
        others = [r for r in self.rows(list_field) if r is not row and not store.item_is_empty(list_field, r)]
        if self.iv.status == "published" and list_field.required and not others:
            self.say("remove.last_required", kind="error", item=list_field.item_label(self.locale).lower())
            return self.ask()
        self.remove_item(list_field, row)
        self.say("remove.done", item=label)
        rest = self.rows(list_field)
        if c.item < len(rest):
            return self.move_fresh(Cursor(c.step, c.field, c.item, list_field.items[0].key))
        if rest:
            return self.move_fresh(Cursor(c.step, c.field, len(rest) - 1, MORE))
        self.move_fresh(Cursor(c.step, c.field, 0, list_field.items[0].key))

    def pause(self) -> None:
        if self.iv is None:
            return self.menu(first=False)
        self.conv.phase = "paused"
        self.say("paused", title=self.iv.title or self.t("untitled"), id=self.iv.id).actions = [
            Choice(self.t("button.resume"), "cmd:resume", "primary"),
            Choice(self.t("button.mine"), "cmd:mine"),
        ]

    def help(self) -> None:
        c = self.cursor
        reply = Reply(text=self.t("help.commands"), kind="help", title=self.t("help.title"))
        if self.conv.phase == "asking" and c is not None and c.sub != MORE and self.iv is not None:
            reply.note = self.field_at(c).help(self.locale)
            self.replies.append(reply)
            return self.ask(repeat=True)
        reply.actions = self.menu_actions()
        self.replies.append(reply)

    def summary(self) -> None:
        if self.needs_description():
            return
        self.conv.phase = "review"
        self.review()

    def review(self) -> None:
        iv = self.iv
        missing = store.missing_required(self.s, iv)
        status = self.t("review.published" if iv.status == "published" else "review.draft")
        reply = Reply(
            text=status,
            kind="review",
            title=iv.title or self.t("untitled"),
            sections=store.describe(self.s, iv, self.locale),
            intervention_id=iv.id,
            options=[
                Choice(
                    self.t("button.edit_step", no=s.no, step=s.title(self.locale)),
                    self.bound(f"cmd:edit:{s.no}", f"d.{iv.id}"),
                )
                for s in definition.steps()
            ],
        )
        if missing:
            reply.note = self.t("review.missing", fields=self.missing_text(missing))
        elif iv.status == "draft":
            reply.note = self.t("review.ready")
            reply.actions.append(Choice(self.t("button.publish"), self.bound("cmd:publish", f"d.{iv.id}"), "primary"))
        if self.conv.field:
            reply.actions.append(Choice(self.t("button.resume"), "cmd:resume"))
        reply.actions.append(Choice(self.t("button.mine"), "cmd:mine"))
        self.replies.append(reply)

    def missing_text(self, missing) -> str:
        return ", ".join(f"{f.label(self.locale)} ({self.t('step_word')} {no})" for no, f in missing)

    def new(self) -> None:
        iv = store.new_draft(self.s, self.person)
        self.set_intervention(iv)
        self.conv.back_to_review = False
        self.say("new", id=iv.id)
        self.move_fresh(self.first_of(1))

    def resume(self) -> None:
        iv = self.iv or store.latest_draft(self.s, self.person.id)
        if iv is None:
            self.say("no_drafts")
            return self.menu(first=False)
        if iv is not self.iv:
            return self.open_intervention(iv)
        if self.conv.field:
            self.conv.phase = "asking"
            self.say("resumed", title=iv.title or self.t("untitled"))
            return self.ask()
        self.conv.phase = "review"
        self.review()

    def mine(self) -> None:
        rows = store.drafts_and_published(self.s, self.person.id)
        if not rows:
            self.say("no_drafts")
            return self.menu(first=False)
        lines = [Choice(self.listing_label(iv), f"cmd:open:{iv.id}") for iv in rows]
        self.replies.append(
            Reply(
                text=self.t("mine.text"),
                kind="list",
                title=self.t("mine.title"),
                options=lines,
                actions=[Choice(self.t("button.new"), self.bound("cmd:new", self.state_token()))],
            )
        )

    def home(self) -> Reply:
        rows = store.drafts_and_published(self.s, self.person.id, limit=40)
        return Reply(
            text=self.t("home.intro") if rows else self.t("home.empty"),
            kind="home",
            title=self.t("home.title"),
            options=[Choice(self.listing_label(iv), f"cmd:open:{iv.id}") for iv in rows],
            actions=[
                Choice(self.t("button.new"), self.bound("cmd:new", self.state_token()), "primary"),
                Choice(self.t("home.form_button"), "cmd:form"),
            ],
        )

    def listing_label(self, iv: Intervention) -> str:
        state = self.t("status.published" if iv.status == "published" else "status.draft")
        when = f"{iv.updated_at.day}-{iv.updated_at.month}-{iv.updated_at.year}"
        return f"#{iv.id} {iv.title or self.t('untitled')} ({state}, {when})"

    def open(self, arg: str | None) -> None:
        iv = self.s.get(Intervention, int(arg)) if is_number(arg) else None
        if iv is None or iv.author_id != self.person.id:
            self.say("not_found", kind="error", id=arg or "?")
            return self.mine()
        self.open_intervention(iv)

    def open_intervention(self, iv: Intervention) -> None:
        self.set_intervention(iv)
        self.conv.back_to_review = False
        self.conv.failures = 0
        where = iv.resume_at if iv.status == "draft" else None
        if where:
            self.conv.phase = "asking"
            self.place(Cursor(**where))
            self.say("opened", id=iv.id, title=iv.title or self.t("untitled"))
            return self.ask()
        self.place(None)
        self.conv.phase = "review"
        self.review()

    def edit(self, arg: str | None) -> None:
        if self.needs_description():
            return
        total = len(definition.steps())
        if not (is_number(arg) and 1 <= int(arg) <= total):
            self.say("edit.bad_step", kind="error", total=total)
            return self.ask() if self.conv.phase == "asking" else self.review()
        no = int(arg)
        self.conv.back_to_review = True
        self.move_fresh(self.first_of(no))

    def publish(self) -> None:
        if self.needs_description():
            return
        iv = self.iv
        missing = store.missing_required(self.s, iv)
        if missing:
            self.say("publish.missing", kind="error", fields=self.missing_text(missing))
            self.conv.phase = "review"
            return self.review()
        first_time = iv.status != "published"
        iv.status = "published"
        iv.published_at = iv.published_at or utcnow()
        iv.updated_at = utcnow()
        self.place(None)
        self.conv.phase = "review"
        visibility = store.display(definition.find_field("visibility")[1], iv.visibility, self.locale)
        self.say("publish.done" if first_time else "publish.updated", id=iv.id, visibility=visibility).actions = [
            Choice(self.t("button.new"), self.bound("cmd:new", self.state_token())),
            Choice(self.t("button.mine"), "cmd:mine"),
        ]

    def export(self) -> None:
        if self.needs_description():
            return
        self.replies.append(
            Reply(
                text=self.t("export.text"),
                kind="export",
                title=self.iv.title or self.t("untitled"),
                document=render_markdown(self.s, self.iv, self.locale),
                intervention_id=self.iv.id,
            )
        )

    def language(self, code: str | None) -> None:
        self.person.locale = code if code in ("nl", "en") else "nl"
        self.locale = self.person.locale
        self.say("language.set")
        if self.conv.phase == "asking" and self.cursor is not None and self.iv is not None:
            self.ask()
        elif self.conv.phase == "review" and self.iv is not None:
            self.review()

    def form(self, arg: str | None) -> None:
        """Ask the adapter to show a step as a form (a Slack modal, an HTML form)."""
        if self.iv is None:
            self.set_intervention(store.new_draft(self.s, self.person))
            self.move_fresh(self.first_of(1))
            self.replies.clear()
        total = len(definition.steps())
        no = int(arg) if is_number(arg) and 1 <= int(arg) <= total else (self.conv.step or 1)
        self.replies.append(
            Reply(
                text=self.t("form.text", no=no),
                kind="form",
                step=no,
                intervention_id=self.iv.id,
                title=self.iv.title or self.t("untitled"),
                actions=[Choice(self.t("button.open_form", no=no), f"form:{self.iv.id}:{no}", "primary")],
            )
        )

    def menu_actions(self) -> list[Choice]:
        return [
            Choice(self.t("button.new"), self.bound("cmd:new", self.state_token()), "primary"),
            Choice(self.t("button.resume"), "cmd:resume"),
            Choice(self.t("button.mine"), "cmd:mine"),
            Choice(self.t("button.help"), "cmd:help"),
        ]

    def menu(self, first: bool) -> None:
        key = "welcome" if first else "menu"
        self.say(key, name=self.person.display_name).actions = self.menu_actions()
