"""The wizard: what adapters call. Each entry point is one database transaction.

`Wizard.handle` runs one turn (bot/turn.py) as one database transaction: the answer and the new position
are committed before any reply is sent, so a crash between turns loses nothing and the next
turn continues at the right question. A platform event id, when given, is recorded in the
same transaction, so a retried event is handled once.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cache

from bot import store
from bot.analyses import AnalysisForm
from bot.charts import progress_png
from bot.i18n import t
from bot.indicators import Entry, entries, home_reply
from bot.library import description_reply
from bot.messages import Owed, ReplyTo, owe_replies, release
from bot.names import STRAY, unmarked
from bot.organisations import adopt_workspace_name, name_command
from bot.people import workspace_organisation
from bot.replies import Reply, Turn
from bot.schedule import DEFAULT_TZ
from bot.subscriptions import Where, channel_command
from bot.turn import TurnRun
from models import Person, ProcessedEvent
from models.db import Database, insert_missing
from models.tables import utcnow

EVENTS = ProcessedEvent.__table__


@dataclass
class Outcome:
    """What a turn produced: the replies, in the language the person now speaks."""

    replies: list[Reply]
    locale: str
    refused: bool = False  # a button that no longer applied: nothing was changed
    owed: Owed | None = None  # the replies' outbox row, when they go through the outbox


class Wizard:
    def __init__(self, db: Database, default_locale: str = "nl", default_tz: str = DEFAULT_TZ):
        self.db = db
        self.default_locale = default_locale
        self.default_tz = default_tz

    def handle(
        self,
        person_id: int,
        turn: Turn,
        event_id: str | None = None,
        platform: str = "",
        reply_to: ReplyTo | None = None,
    ) -> Outcome | None:
        """Apply one turn; returns the replies, or None when `event_id` was handled before. With
        `reply_to`, the replies are put in the outbox in the turn's own transaction: stored answer
        and owed question commit together (the adapter then makes the first try at once)."""

        if turn.text and STRAY.search(turn.text):
            turn = replace(turn, text=STRAY.sub("", turn.text))  # marks of names are ours only

        def one_turn(session) -> Outcome | None:
            if event_id and not first_copy(session, event_id, platform):
                return None
            run = TurnRun(session, person_id, self.default_locale, self.default_tz)
            run.dispatch(turn)
            run.remember_offer()
            run.published_changed()
            return owed(session, Outcome(run.replies, run.locale, run.refused), person_id, reply_to)

        # Two first turns of one person may race to create the conversation.
        return self.db.racing(one_turn)

    def measure(
        self,
        person_id: int,
        reminder_id: int,
        text: str,
        note: str | None = None,
        confirmed: float | None = None,
        reply_to: ReplyTo | None = None,
    ) -> tuple[dict, Outcome]:
        """A value entered in a form for a reminder: (problems by field, the turn's replies). The
        replies go to `reply_to` only when the value was stored; problems are shown in the form."""
        with self.db.transaction() as session:
            run = TurnRun(session, person_id, self.default_locale, self.default_tz)
            problems = run.measuring.submit(reminder_id, text, note, confirmed)
            outcome = Outcome(run.replies, run.locale)
            return problems, owed(session, outcome, person_id, None if problems else reply_to)

    def chart(self, person_id: int, intervention_id: int) -> bytes | None:
        """The progress chart of a description the person may see, as PNG."""
        with self.db.transaction() as session:
            run = TurnRun(session, person_id, self.default_locale, self.default_tz)
            iv = run.measuring.visible_intervention(str(intervention_id))
            return progress_png(session, iv, run.locale) if iv is not None else None

    def home(self, person_id: int) -> Outcome:
        """A person's overview (e.g. Slack's App Home): their descriptions with a way back into each,
        then their indicators with the next reminder of each."""
        with self.db.transaction() as session:
            run = TurnRun(session, person_id, self.default_locale, self.default_tz)
            indicators = home_reply(session, run.person, self.default_tz, run.locale)
            return Outcome([run.menus.home(), *([indicators] if indicators else [])], run.locale)

    def indicators(self, person_id: int) -> tuple[list[Entry], str]:
        """A person's indicators with their next reminders (the web page), and their language."""
        with self.db.transaction() as session:
            run = TurnRun(session, person_id, self.default_locale, self.default_tz)
            found = entries(session, run.person, self.default_tz, run.locale)
            # a page, not a message: nothing to rewrite later, so no marks of whom it names
            return [replace(e, next=unmarked(e.next)) for e in found], run.locale

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
            return Outcome([description_reply(session, iv, locale, person)], locale)

    def comment(
        self, person_id: int, intervention_id: int, step: str, text: str, reply_to: ReplyTo | None = None
    ) -> Outcome:
        """A comment written in a form (a Slack modal): the confirmation (owed to `reply_to`), or
        an error reply (for the form to show)."""
        with self.db.transaction() as session:
            run = TurnRun(session, person_id, self.default_locale, self.default_tz)
            run.library.comment(f"{intervention_id}:{step}", text)
            failed = any(r.kind == "error" for r in run.replies)
            return owed(session, Outcome(run.replies, run.locale), person_id, None if failed else reply_to)

    def analysis_form(self, person_id: int, intervention_id: int) -> AnalysisForm | Outcome:
        """An expert's analysis of a description as a form, or the reply saying why there is none."""
        with self.db.transaction() as session:
            run = TurnRun(session, person_id, self.default_locale, self.default_tz)
            return run.analyses.form(str(intervention_id)) or Outcome(run.replies, run.locale)

    def save_analysis(
        self, person_id: int, intervention_id: int, values: dict, publish: bool, reply_to: ReplyTo | None = None
    ) -> tuple[dict[str, str], Outcome]:
        """A filled-in analysis form: {path: problem} (nothing stored), or {} and the confirmation
        (owed to `reply_to`); a form that cannot be stored at all says why in the outcome."""
        with self.db.transaction() as session:
            run = TurnRun(session, person_id, self.default_locale, self.default_tz)
            errors = run.analyses.submit(str(intervention_id), values, publish)
            failed = bool(errors) or any(r.kind == "error" for r in run.replies)
            return errors or {}, owed(
                session, Outcome(run.replies, run.locale), person_id, None if failed else reply_to
            )

    def channel(self, person_id: int, where: Where, text: str) -> str:
        """A `kanaal …` command typed in a channel: subscribe it to digests, cancel, list. Two
        people subscribing one channel at once on two replicas: the second sees the first's."""

        def command(session) -> str:
            person = session.get(Person, person_id)
            return channel_command(session, person, where, text, self.default_locale, self.default_tz)

        return self.db.racing(command)

    def installed(self, platform: str, workspace: str, name: str) -> str:
        """A workspace installed the app (again): its organisation, under the workspace's name until
        an administrator names it; what waited for the workspace goes out now. Returns its name."""
        with self.db.transaction() as session:
            org = workspace_organisation(session, platform, workspace)
            adopt_workspace_name(session, platform, workspace, name)
            release(session, platform, workspace)
            return org.name

    def workspace_name(self, platform: str, workspace: str, name: str) -> None:
        """What the platform calls a workspace, for an organisation nobody has named yet."""
        with self.db.transaction() as session:
            adopt_workspace_name(session, platform, workspace, name)

    def organisation(self, person_id: int, text: str, is_admin: bool) -> str:
        """`organisatie [naam]`: show the person's organisation, or name it (administrators)."""
        with self.db.transaction() as session:
            person = session.get(Person, person_id)
            return name_command(session, person, text, is_admin, person.locale or self.default_locale)

    def locale_of(self, person_id: int) -> str:
        with self.db.transaction() as session:
            person = session.get(Person, person_id)
            return (person.locale if person else None) or self.default_locale


@cache
def event_insert(dialect: str):
    """Built once per database kind: this runs in every turn."""
    return insert_missing(dialect, EVENTS, "event_id").returning(EVENTS.c.event_id)


def first_copy(session, event_id: str, platform: str) -> bool:
    """Record a platform event id in the turn's transaction; False when it was handled before. A
    second copy arriving while the first is still being handled waits for it (the row is locked
    until that turn commits) and is then skipped; if the first turn failed, the copy runs it."""
    conn = session.connection()
    row = {"event_id": event_id[:128], "platform": platform, "received_at": utcnow()}
    return conn.execute(event_insert(conn.dialect.name), row).first() is not None


def owed(session, outcome: Outcome, person_id: int, reply_to: ReplyTo | None) -> Outcome:
    """The outcome, with its replies put in the outbox when they are to go to `reply_to`."""
    if reply_to is not None:
        outcome.owed = owe_replies(session, reply_to, person_id, outcome.replies, outcome.locale)
    return outcome
