"""Buttons that belong to a question or a description.

A button's value carries a token ("cmd:skip@q.12.3.title.0."): a question's buttons act only
while that question is asked, so an old or double-clicked button never answers a later one; a
"new description" button counts once from where it was offered; a description's buttons (edit,
publish) first bring that description back.
"""

from __future__ import annotations

from bot.parts import TurnPart
from bot.values import is_number
from models import Intervention


def bound(value: str, token: str) -> str:
    """A button value that only counts while `token` still holds (see `Buttons.accept`)."""
    return f"{value}@{token}"


def for_description(value: str, iv: Intervention) -> str:
    return bound(value, f"d.{iv.id}")


class Buttons(TurnPart):
    def question_token(self) -> str:
        c, iv = self.run.walk.cursor, self.run.iv
        return f"q.{iv.id}.{c.step}.{c.field}.{c.item}.{c.sub or ''}" if c and iv else "q.none"

    def state_token(self) -> str:
        """Where the conversation is now; a "new description" button counts once from here."""
        c = self.run.conv
        return f"s.{c.intervention_id or 0}.{c.phase}.{c.step}.{c.field or ''}.{c.item}.{c.sub or ''}"

    def for_question(self, value: str) -> str:
        return bound(value, self.question_token())

    def once_from_here(self, value: str) -> str:
        return bound(value, self.state_token())

    def accept(self, token: str) -> bool:
        """Whether a button stamped with `token` may act now."""
        run = self.run
        if not token:
            return True
        if token.startswith("q."):
            return run.conv.phase == "asking" and token == self.question_token()
        if token.startswith("s."):
            return token == self.state_token()
        if token.startswith("d.") and is_number(token[2:]):
            if run.iv is not None and run.iv.id == int(token[2:]):
                return True
            other = self.s.get(Intervention, int(token[2:]))
            if other is None or other.author_id != self.person.id:
                return False
            run.set_intervention(other)
            run.walk.place(None)
            run.conv.phase = "review"
            return True
        return False

    def stale(self) -> None:
        """A button that no longer applies: nothing changes, and the person sees where they are."""
        run = self.run
        run.refused = True
        self.say("stale")
        if run.conv.phase == "asking" and run.walk.cursor is not None and run.iv is not None:
            return run.asking.ask(repeat=True)
        if run.conv.phase == "review" and run.iv is not None:
            return run.menus.review()
        run.menus.menu(first=False)
