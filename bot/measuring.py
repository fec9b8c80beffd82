"""The measuring side of a chat turn: reminder buttons, typed values, filling in a past period,
progress and working hours. A part of a wizard turn (bot/turn.py), in its transaction.

Button values: "rem:<what>:<reminder>" (value, later, none, skip, confirm), "ind:<indicator>"
(pick an indicator to fill in), "per:<indicator>:<period start>" (pick a period).
"""

from __future__ import annotations

import re
from datetime import date, datetime

from sqlmodel import select

from bot import formatting
from bot.absence import absence_note
from bot.i18n import t
from bot.monitor import (
    MAX_VALUE,
    Context,
    context,
    current_measurements,
    hours_of,
    implausible,
    indicators_of,
    last_value,
    looks_like_value,
    may_answer,
    owners_of,
    parse_value,
    record,
    reference,
    reminder_reply,
    reschedule_person,
    schedule_of,
)
from bot.parts import TurnPart
from bot.replies import Choice
from bot.schedule import Period, next_working_morning, timezone
from bot.store import readable
from bot.values import Invalid, is_number, parse_time
from models import Indicator, Intervention, Measurement, Reminder
from models.tables import utcnow

PAST_PERIODS = 12  # how far back "meting" offers periods to fill in
ACTIONS = ("rem", "ind", "per")


class Measuring(TurnPart):
    """Reminder buttons, typed values, past periods, progress and working hours."""

    # --- entry points ------------------------------------------------------------------------

    def action(self, value: str) -> None:
        kind, _, rest = value.partition(":")
        if kind == "ind" and is_number(rest):
            return self.choose_period(int(rest))
        if kind == "per":
            ind_id, _, start = rest.partition(":")
            return self.open_period(int(ind_id) if is_number(ind_id) else 0, start)
        what, _, rest = rest.partition(":")
        ref, _, extra = rest.partition(":")
        reminder = self.reminder(int(ref)) if is_number(ref) else None
        if reminder is None:
            return self.gone()
        handler = {
            "value": self.ask_value,
            "later": self.later,
            "none": self.no_measurement,
            "skip": self.skip,
        }.get(what)
        if handler:
            return handler(reminder)
        if what == "confirm":
            raw, _, note = extra.partition(":")
            try:
                number = float(raw)
            except ValueError:
                return self.gone()
            if not abs(number) < MAX_VALUE:  # the button carried what was typed; a crafted one may not (nan, inf)
                return self.gone()
            return self.store(reminder, number, note or None, confirmed=True)
        return self.gone()

    def wants(self, text: str) -> bool:
        """Whether typed text answers the reminder the person got last."""
        return self.run.conv.reminder_id is not None and looks_like_value(text)

    def typed(self, text: str) -> None:
        reminder = self.reminder(self.run.conv.reminder_id)
        if reminder is None:
            self.run.conv.reminder_id = None
            return self.gone()
        try:
            value, note = parse_value(text, self.locale)
        except Invalid as invalid:
            self.say(invalid.key, kind="error", **invalid.params)
            return self.ask_value(reminder)
        self.store(reminder, value, note, confirmed=False)

    # --- reminders -----------------------------------------------------------------------------

    def reminder(self, reminder_id: int | None) -> Reminder | None:
        reminder = self.s.get(Reminder, reminder_id) if reminder_id else None
        if reminder is None:
            return None
        ctx = context(self.s, reminder.indicator_id)
        if ctx is None or not may_answer(self.s, self.person.id, reminder, ctx):
            return None
        return reminder

    def gone(self) -> None:
        self.run.refused = True
        self.say("monitor.gone", kind="error")

    def ctx(self, reminder: Reminder) -> Context:
        return context(self.s, reminder.indicator_id)

    def names(self, reminder: Reminder) -> dict:
        ctx = self.ctx(reminder)
        return {
            "indicator": ctx.ind.name or "?",
            "title": ctx.iv.title or self.t("untitled"),
            "period": formatting.period(reminder.period_start, reminder.period_end, self.locale, in_sentence=True),
        }

    def ask_value(self, reminder: Reminder) -> None:
        self.run.conv.reminder_id = reminder.id
        reply = self.say("monitor.type_value", kind="value", **self.names(reminder))
        reply.input = "number"
        reply.reminder_id = reminder.id
        reply.title = self.t("monitor.reminder_title")

    def submit(self, reminder_id: int, text: str, note: str | None, confirmed: float | None) -> dict:
        """A value entered in a form (a Slack modal). Returns problems by field: "value" for a
        value that cannot be stored, "confirm" (with "confirm_value") for one to confirm first."""
        reminder = self.reminder(reminder_id)
        if reminder is None:
            return {"value": self.t("monitor.gone")}
        try:
            value, extra = parse_value(text, self.locale)
        except Invalid as invalid:
            return {"value": self.t(invalid.key, **invalid.params)}
        ctx = self.ctx(reminder)
        if confirmed != value:
            doubt = implausible(ctx.ind, value, reference(self.s, ctx.ind, reminder.period_start))
            if doubt is not None:
                params = {k: ctx.number(v, self.locale) for k, v in doubt.params.items()}
                message = self.t(doubt.key, value=ctx.number(value, self.locale), **params)
                return {"confirm": message, "confirm_value": value}
        self.store(reminder, value, note or extra, confirmed=True)
        return {}

    def later(self, reminder: Reminder) -> None:
        if reminder.status != "open":
            return self.already(reminder)
        zone = timezone(self.person.timezone, self.default_tz)
        until = next_working_morning(utcnow(), zone, hours_of(self.person))
        reminder.snoozed = True
        reminder.follow_up_at = until
        self.run.conv.reminder_id = None
        local = until.astimezone(zone)
        when = f"{formatting.weekday(local.isoweekday(), self.locale)} {formatting.clock(local)}"
        self.say("monitor.snoozed", when=when)

    def no_measurement(self, reminder: Reminder) -> None:
        if reminder.status not in ("open", "skipped"):
            return self.already(reminder)
        ctx = self.ctx(reminder)
        record(self.s, ctx.ind, Period(reminder.period_start, reminder.period_end), None, None, self.person.id)
        self.close(reminder, "none")
        self.say("monitor.no_measurement", **self.names(reminder))

    def skip(self, reminder: Reminder) -> None:
        if reminder.status != "open":
            return self.already(reminder)
        self.close(reminder, "skipped")
        self.say("monitor.skipped", **self.names(reminder))

    def already(self, reminder: Reminder) -> None:
        self.run.refused = True
        reply = self.say("monitor.already", **self.names(reminder))
        reply.actions = [Choice(self.t("monitor.button.change"), f"rem:value:{reminder.id}")]

    def close(self, reminder: Reminder, status: str) -> None:
        reminder.status = status
        reminder.answered_at = utcnow()
        reminder.follow_up_at = None
        reminder.snoozed = False
        if self.run.conv.reminder_id == reminder.id:
            self.run.conv.reminder_id = self.next_open()

    def next_open(self) -> int | None:
        """Another reminder of this person still waiting, so a typed value goes there next."""
        return self.s.exec(
            select(Reminder.id)
            .where(Reminder.person_id == self.person.id, Reminder.status == "open", Reminder.snoozed.is_(False))
            .order_by(Reminder.id.desc())
            .limit(1)
        ).first()

    def store(self, reminder: Reminder, value: float, note: str | None, confirmed: bool) -> None:
        ctx = self.ctx(reminder)
        if not confirmed:
            doubt = implausible(ctx.ind, value, reference(self.s, ctx.ind, reminder.period_start))
            if doubt is not None:
                return self.confirm(reminder, ctx, value, note, doubt)
        period = Period(reminder.period_start, reminder.period_end)
        record(self.s, ctx.ind, period, value, note, self.person.id)
        self.close(reminder, "answered")
        reply = self.say("monitor.recorded", value=ctx.number(value, self.locale), **self.names(reminder))
        reply.note = self.standing(ctx)
        following = self.s.get(Reminder, self.run.conv.reminder_id) if self.run.conv.reminder_id else None
        if following is not None:
            self.replies.append(reminder_reply(self.s, following, self.ctx(following), self.locale, "next"))

    def confirm(self, reminder: Reminder, ctx: Context, value: float, note: str | None, doubt: Invalid) -> None:
        params = {k: ctx.number(v, self.locale) for k, v in doubt.params.items()}
        self.run.conv.reminder_id = reminder.id
        reply = self.say(doubt.key, kind="question", value=ctx.number(value, self.locale), **params)
        reply.note = self.t("monitor.confirm_note")
        keep = f"rem:confirm:{reminder.id}:{value!r}" + (f":{note[:1500]}" if note else "")
        reply.actions = [
            Choice(self.t("monitor.button.confirm", value=ctx.number(value, self.locale)), keep, "primary"),
            Choice(self.t("monitor.button.retype"), f"rem:value:{reminder.id}"),
        ]
        reply.input = "number"

    def standing(self, ctx: Context) -> str | None:
        """Where the indicator stands now, in one line."""
        return progress_line(self.s, ctx, self.locale, with_name=False)

    # --- filling in a past period ("meting") --------------------------------------------------

    def measure(self) -> None:
        rows = indicators_of(self.s, self.person)
        if not rows:
            return self.say("monitor.no_indicators")
        reply = self.say("monitor.pick_indicator", kind="question")
        reply.options = [Choice(f"{ind.name} · {iv.title or self.t('untitled')}", f"ind:{ind.id}") for ind, iv in rows]

    def allowed_indicator(self, indicator_id: int) -> Context | None:
        ctx = context(self.s, indicator_id)
        if ctx is None:
            return None
        if self.person.id == ctx.iv.author_id or self.person.id in owners_of(self.s, indicator_id):
            return ctx
        return None

    def choose_period(self, indicator_id: int) -> None:
        ctx = self.allowed_indicator(indicator_id)
        schedule = self.schedule(ctx) if ctx else None
        if schedule is None:
            return self.gone()
        today = datetime.now(schedule.zone).date()
        index = schedule.index_of(today)
        filled = {m.period_start for m in current_measurements(self.s, indicator_id)}
        periods = [schedule.period(i) for i in range(index, index - PAST_PERIODS, -1) if i >= 0]
        if not periods:  # measuring has not begun: nothing to pick yet
            first = formatting.day(schedule.period(0).start, self.locale)
            return self.say("monitor.no_period_yet", indicator=ctx.ind.name or "?", start=first)
        reply = self.say("monitor.pick_period", kind="question", indicator=ctx.ind.name or "?")
        reply.options = [
            Choice(
                formatting.period(p.start, p.end, self.locale) + (" ✓" if p.start in filled else ""),
                f"per:{indicator_id}:{p.start.isoformat()}",
            )
            for p in periods
        ]

    def schedule(self, ctx: Context):
        owner_id = (owners_of(self.s, ctx.ind.id) or [ctx.iv.author_id])[0]
        owner = self.s.get(type(self.person), owner_id)
        iv = ctx.iv
        if iv.status != "published":
            # Drafts have no reminders, but their periods can be filled in all the same.
            iv = Intervention(**{**iv.model_dump(), "status": "published"})
        return schedule_of(ctx.ind, iv, owner, self.default_tz, utcnow().date())

    def open_period(self, indicator_id: int, start: str) -> None:
        ctx = self.allowed_indicator(indicator_id)
        schedule = self.schedule(ctx) if ctx else None
        try:
            day = date.fromisoformat(start)
        except ValueError:
            day = None
        if schedule is None or day is None:
            return self.gone()
        period = schedule.period(schedule.index_of(day))
        reminder = self.s.exec(
            select(Reminder).where(Reminder.indicator_id == indicator_id, Reminder.period_start == period.start)
        ).first()
        if reminder is None:
            # A period nobody was reminded of: a reminder without a message, just to answer.
            reminder = Reminder(
                indicator_id=indicator_id,
                person_id=self.person.id,
                period_start=period.start,
                period_end=period.end,
                due_at=utcnow(),
            )
            self.s.add(reminder)
            self.s.flush()
        elif reminder.status != "open":
            reminder.status = "open"
        self.ask_value(reminder)

    # --- progress -------------------------------------------------------------------------------

    def progress(self, arg: str | None) -> None:
        iv = self.visible_intervention(arg)
        if iv is None:
            return self.say("monitor.no_progress", kind="error")
        ind_rows = list(
            self.s.exec(
                select(Indicator)
                .where(Indicator.intervention_id == iv.id, Indicator.name.is_not(None))
                .order_by(Indicator.position)
            )
        )
        lines = [progress_line(self.s, Context(ind, iv), self.locale) for ind in ind_rows]
        cost = cost_line(self.s, iv, ind_rows, self.locale)
        reply = self.say("monitor.progress", kind="progress", title=iv.title or self.t("untitled"))
        reply.title = self.t("monitor.progress_title", title=iv.title or self.t("untitled"))
        reply.text = "\n".join(lines) if lines else self.t("monitor.no_indicators_here")
        reply.note = cost
        reply.intervention_id = iv.id
        if any(current_measurements(self.s, ind.id) for ind in ind_rows):
            reply.input = "chart"

    def visible_intervention(self, arg: str | None) -> Intervention | None:
        if is_number(arg or ""):
            return readable(self.s, self.person, int(arg))
        return (
            self.run.iv
            or self.s.exec(
                select(Intervention)
                .where(Intervention.author_id == self.person.id)
                .order_by(Intervention.updated_at.desc())
                .limit(1)
            ).first()
        )

    # --- working hours --------------------------------------------------------------------------

    def working_hours(self, arg: str | None) -> None:
        """ "werktijden 9:00-17:00 ma-do": when reminders may arrive."""
        text = (arg or "").strip().casefold()
        if text:
            m = re.fullmatch(r"(\d{1,2}[:.]?\d{0,2})\s*-\s*(\d{1,2}[:.]?\d{0,2})(?:\s+(\S+))?", text)
            days = parse_days(m[3]) if m and m[3] else "12345"
            try:
                start, end = (parse_time(m[1]), parse_time(m[2])) if m else (None, None)
            except Invalid:
                start = end = None
            if start is None or start >= end or days is None:
                return self.say("monitor.hours_invalid", kind="error")
            self.person.working_hours = f"{start}-{end}"
            self.person.working_days = days
            self.reschedule_mine()
        hours = hours_of(self.person)
        start, end = formatting.clock(hours.start), formatting.clock(hours.end)
        reply = self.say("monitor.hours", start=start, end=end, days=formatting.weekdays(hours.days, self.locale))
        reply.note = absence_note(self.person, self.default_tz, self.locale)

    def reschedule_mine(self) -> None:
        reschedule_person(self.s, self.person.id, utcnow(), self.default_tz)


DAY_WORDS = {"ma": 1, "di": 2, "wo": 3, "do": 4, "vr": 5, "za": 6, "zo": 7}
DAY_WORDS.update({"mo": 1, "tu": 2, "we": 3, "th": 4, "fr": 5, "sa": 6, "su": 7})


def parse_days(text: str) -> str | None:
    """ "ma-vr", "ma,di,do", "mo-th" → "12345", "124", "1234"."""
    days: set[int] = set()
    for part in text.split(","):
        a, _, b = part.partition("-")
        first, last = DAY_WORDS.get(a[:2]), DAY_WORDS.get((b or a)[:2])
        if first is None or last is None or last < first:
            return None
        days.update(range(first, last + 1))
    return "".join(str(d) for d in sorted(days)) or None


def progress_line(session, ctx: Context, locale: str, with_name: bool = True) -> str:
    """ "Deelnemers: 5 → 12 (oktober 2026) → doel 20 · 47% van de weg" """

    return progress_text(ctx, last_value(session, ctx.ind.id), locale, with_name)


def progress_text(ctx: Context, latest: Measurement | None, locale: str, with_name: bool = True) -> str:
    """`progress_line` from facts already read (digests read them for many descriptions at once)."""
    ind = ctx.ind
    parts = [ctx.number(ind.baseline, locale) if ind.baseline is not None else "–"]
    if latest is not None:
        when = formatting.period(latest.period_start, latest.period_end, locale)
        parts.append(f"{ctx.number(latest.value, locale)} ({when})")
    else:
        parts.append(t(locale, "monitor.no_value_yet"))
    target = t(locale, "monitor.target_short", value=ctx.number(ind.target, locale)) if ind.target is not None else "–"
    parts.append(target)
    line = " → ".join(parts)
    if latest is not None and ind.baseline is not None and ind.target is not None and ind.target != ind.baseline:
        share = (latest.value - ind.baseline) / (ind.target - ind.baseline)
        key = "monitor.share" if share >= 0 else "monitor.share_negative"
        line += " · " + t(locale, key, percent=formatting.number(round(share * 100), locale))
    return f"{ind.name}: {line}" if with_name else line


def cost_line(session, iv: Intervention, indicators: list[Indicator], locale: str) -> str | None:
    """Costs measured so far beside the budget of step 7."""
    spent = sum(
        m.value
        for ind in indicators
        if ind.kind == "cost"
        for m in current_measurements(session, ind.id)
        if m.value is not None
    )
    if not any(ind.kind == "cost" for ind in indicators):
        return None
    if iv.budget:
        return t(
            locale,
            "monitor.costs_budget",
            spent=formatting.number(spent, locale),
            budget=formatting.number(iv.budget, locale),
            percent=formatting.number(round(spent / iv.budget * 100), locale),
        )
    return t(locale, "monitor.costs", spent=formatting.number(spent, locale))
