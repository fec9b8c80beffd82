"""Taking a description back: withdrawing a published one from the knowledge bank, deleting a
draft. Both ask first, with buttons that count for that one description only; a typed "ja" counts
as the button (bot/turn.py `picked`)."""

from __future__ import annotations

from sqlmodel import select

from bot import search, store
from bot.buttons import for_description
from bot.messages import cancel_reminders
from bot.monitor import reschedule
from bot.parts import TurnPart
from bot.replies import Choice, Reply
from bot.values import is_number
from models import Indicator, Intervention, Reminder
from models.tables import utcnow


class Removal(TurnPart):
    def which(self, arg: str | None) -> Intervention | None:
        """The description meant: a number of one's own, or the one in view."""
        if is_number(arg or ""):
            iv = self.s.get(Intervention, int(arg))
            return iv if iv is not None and iv.author_id == self.person.id else None
        return self.run.iv

    def ask(self, key: str, confirm: str, iv: Intervention) -> None:
        title = iv.title or self.t("untitled")
        self.replies.append(
            Reply(
                text=self.t(f"removal.{key}_ask", id=iv.id, title=title),
                kind="confirm",
                title=self.t(f"removal.{key}_title"),
                options=[
                    Choice(self.t(f"removal.{key}_yes"), for_description(f"cmd:{confirm}", iv), "danger"),
                    Choice(self.t("removal.no"), for_description("cmd:summary", iv)),
                ],
                intervention_id=iv.id,
            )
        )

    # --- withdrawing ---------------------------------------------------------------------------

    def withdraw(self, arg: str | None) -> None:
        iv = self.which(arg)
        if iv is None:
            return self.say("removal.none", kind="error", id=arg or "")
        if iv.status != "published":
            return self.say("removal.not_published", id=iv.id)
        self.ask("withdraw", "withdraw_confirmed", iv)

    def withdraw_confirmed(self) -> None:
        """Back to a draft that only its author sees: out of search, digests and reminders; the
        measurements stay, and publishing again brings it back."""
        run, iv = self.run, self.run.iv
        if iv is None or iv.status != "published":
            return run.buttons.stale()
        iv.status = "draft"
        iv.updated_at = utcnow()
        search.reindex(self.s, iv)
        reschedule(self.s, iv, utcnow(), self.default_tz)
        open_ones = select(Reminder.id).join(Indicator).where(Indicator.intervention_id == iv.id)
        cancel_reminders(self.s, set(self.s.exec(open_ones.where(Reminder.status == "open"))))
        run.conv.phase = "review"
        run.walk.place(None)
        self.say("removal.withdrawn", id=iv.id, title=iv.title or self.t("untitled"))
        run.menus.review()

    # --- deleting ------------------------------------------------------------------------------

    def delete(self, arg: str | None) -> None:
        iv = self.which(arg)
        if iv is None:
            return self.say("removal.none", kind="error", id=arg or "")
        if iv.status == "published":
            return self.say("removal.withdraw_first", id=iv.id)
        self.ask("delete", "delete_confirmed", iv)

    def delete_confirmed(self) -> None:
        run, iv = self.run, self.run.iv
        if iv is None or iv.status == "published":
            return run.buttons.stale()
        reminders = select(Reminder.id).join(Indicator).where(Indicator.intervention_id == iv.id)
        cancel_reminders(self.s, set(self.s.exec(reminders)))
        number, title = iv.id, iv.title or self.t("untitled")
        run.set_intervention(None)
        store.delete_description(self.s, iv)
        self.say("removal.deleted", id=number, title=title)
        run.menus.menu(first=False)
