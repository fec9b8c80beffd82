"""Indicators outside the wizard's steps: the `indicatoren` overview with each indicator's next
reminder (also shown on Slack's App Home and the web page), one indicator's card, and adding an
indicator to a published description (`indicator nieuw 12`).

Indicators are defined in step 8; editing one later opens step 8 of its description as a form,
and storing that form reschedules its reminders (see `TurnRun.published_changed` in bot/turn.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from bot import definition, formatting, store
from bot.absence import absence_note
from bot.i18n import t
from bot.measuring import progress_line
from bot.monitor import Context, indicators_of, owners_of
from bot.names import naming, shown_name
from bot.parts import TurnPart
from bot.replies import Choice, Reply
from bot.schedule import as_utc, timezone
from bot.values import is_number
from models import Indicator, Intervention, Person

ACTIONS = ("indicator",)  # button values "indicator:<id>"
INDICATOR_STEP = 8


@dataclass
class Row:
    ind: Indicator
    iv: Intervention


def rows_of(session: Session, person: Person) -> list[Row]:
    return [Row(ind, iv) for ind, iv in indicators_of(session, person)]


def first_owner(session: Session, ind: Indicator, iv: Intervention) -> Person | None:
    return session.get(Person, (owners_of(session, ind.id) or [iv.author_id])[0])


def next_reminder(session: Session, row: Row, default_tz: str, locale: str) -> str:
    """When the next reminder arrives, in its recipient's own time zone."""
    if row.iv.status != "published":
        return t(locale, "indicators.after_publishing")
    owner = first_owner(session, row.ind, row.iv)
    if owner is not None and owner.unreachable_since is not None:
        return t(locale, "indicators.paused", name=naming(owner.id, shown_name(owner.display_name, locale)))
    if row.ind.next_due_at is None:
        return t(locale, "indicators.no_reminder")
    moment = as_utc(row.ind.next_due_at).astimezone(timezone(owner.timezone if owner else None, default_tz))
    return formatting.moment(moment, locale)


@dataclass
class Entry:
    """One indicator as the overviews list it."""

    id: int
    name: str
    intervention_id: int
    title: str
    rhythm: str
    next: str
    standing: str
    editable: bool  # the reader wrote the description, so may change the indicator

    @property
    def label(self) -> str:
        return f"{self.name} · #{self.intervention_id} {self.title} · {self.next}"


def entries(session: Session, person: Person, default_tz: str, locale: str) -> list[Entry]:
    return [
        Entry(
            id=row.ind.id,
            name=row.ind.name,
            intervention_id=row.iv.id,
            title=row.iv.title or t(locale, "untitled"),
            rhythm=rhythm_text(row.ind, locale),
            next=t(locale, "indicators.next", when=next_reminder(session, row, default_tz, locale)),
            standing=progress_line(session, Context(row.ind, row.iv), locale, with_name=False),
            editable=row.iv.author_id == person.id,
        )
        for row in rows_of(session, person)
    ]


def rhythm_text(ind: Indicator, locale: str) -> str:
    f = definition.find_field("indicators")[1]
    frequency = next((sub for sub in f.items if sub.key == "frequency"), None)
    return formatting.field_value(frequency, ind.frequency, locale) if frequency and ind.frequency else "–"


class IndicatorTurn(TurnPart):
    """The `indicatoren` commands and buttons."""

    def overview(self) -> None:
        reply = home_reply(self.s, self.person, self.default_tz, self.locale)
        if reply is None:
            self.run.say("indicators.none")
            return
        reply.kind = "list"
        reply.actions = [Choice(self.run.t("indicators.add"), "cmd:indicator_new")]
        self.run.replies.append(reply)

    def action(self, value: str) -> None:
        _, _, ref = value.partition(":")
        self.show(ref)

    def show(self, ref: str | None) -> None:
        row = self.readable(ref)
        if row is None:
            self.run.say("indicators.not_found", kind="error", id=ref or "?")
            return self.overview()
        ind, iv, locale = row.ind, row.iv, self.locale
        owners = owners_of(self.s, ind.id)
        people = [p for p in (self.s.get(Person, i) for i in owners) if p]
        names = [naming(p.id, shown_name(p.display_name, locale)) for p in people]
        facts = [
            self.run.t("indicators.description", id=iv.id, title=iv.title or self.run.t("untitled")),
            progress_line(self.s, Context(ind, iv), locale, with_name=False),
            self.run.t("indicators.rhythm", rhythm=rhythm_text(ind, locale)),
            self.run.t("indicators.owners", names=", ".join(names) or "–"),
            self.run.t("indicators.next_line", when=next_reminder(self.s, row, self.default_tz, locale)),
        ]
        actions = [
            Choice(self.run.t("monitor.button.value"), f"ind:{ind.id}", "primary"),
            Choice(self.run.t("indicators.progress"), f"cmd:progress:{iv.id}"),
        ]
        if iv.author_id == self.person.id:
            actions.append(Choice(self.run.t("indicators.edit"), f"form:{iv.id}:{INDICATOR_STEP}"))
        self.run.replies.append(
            Reply(text="\n".join(facts), kind="info", title=ind.name, actions=actions, intervention_id=iv.id)
        )

    def readable(self, ref: str | None) -> Row | None:
        """An indicator this person measures or whose description they wrote."""
        if not is_number(ref or ""):
            return None
        ind = self.s.get(Indicator, int(ref))
        iv = self.s.get(Intervention, ind.intervention_id) if ind is not None else None
        if iv is None or ind.name is None:
            return None
        if iv.author_id != self.person.id and self.person.id not in owners_of(self.s, ind.id):
            return None
        return Row(ind, iv)

    def add(self, ref: str | None) -> None:
        """Step 8 of a description as a form: its empty slot takes the new indicator."""
        iv = self.s.get(Intervention, int(ref)) if is_number(ref or "") else self.run.iv
        if iv is None or iv.author_id != self.person.id:
            mine = store.drafts_and_published(self.s, self.person.id, limit=40)
            if not mine:
                self.run.say("no_drafts")
                return
            reply = self.run.say("indicators.pick_description", kind="question")
            reply.options = [
                Choice(f"#{d.id} {d.title or self.run.t('untitled')}", f"cmd:indicator_new:{d.id}") for d in mine
            ]
            return
        self.run.look_at(iv)
        self.run.replies.append(
            Reply(
                text=self.run.t("indicators.add_text", title=iv.title or self.run.t("untitled")),
                kind="form",
                step=INDICATOR_STEP,
                intervention_id=iv.id,
                title=iv.title or self.run.t("untitled"),
                actions=[
                    Choice(
                        self.run.t("button.open_form", no=INDICATOR_STEP),
                        f"form:{iv.id}:{INDICATOR_STEP}",
                        "primary",
                    )
                ],
            )
        )


def home_reply(session: Session, person: Person, default_tz: str, locale: str) -> Reply | None:
    """The indicators block of a person's overview (App Home, web page); None without any."""
    found = entries(session, person, default_tz, locale)
    if not found:
        return None
    return Reply(
        text=t(locale, "indicators.text"),
        kind="indicators",
        title=t(locale, "indicators.title"),
        options=[Choice(e.label, f"indicator:{e.id}") for e in found],
        note=absence_note(person, default_tz, locale),  # why the next reminders come late
    )
