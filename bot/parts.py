"""A part of a wizard turn: what every part (navigation, answers, commands, menus, measuring,
the knowledge bank, indicators) shares. A part works in its turn's transaction and reaches the
other parts through the turn (`self.run`)."""

from __future__ import annotations

from bot.i18n import t
from bot.replies import Reply


class TurnPart:
    def __init__(self, run):
        self.run = run
        self.s = run.s
        self.person = run.person
        self.default_tz = run.default_tz

    @property
    def locale(self) -> str:
        return self.run.locale

    @property
    def replies(self) -> list[Reply]:
        return self.run.replies

    def t(self, key: str, **params) -> str:
        return t(self.run.locale, key, **params)

    def say(self, key: str, kind: str = "info", **params) -> Reply:
        return self.run.say(key, kind=kind, **params)
