"""What a person sees between questions: the review of a description, their own descriptions
(`mijn`, the App Home), and the menu."""

from __future__ import annotations

from bot import curation, definition, formatting, search, store
from bot.buttons import for_description
from bot.parts import TurnPart
from bot.replies import Choice, Reply
from models import Intervention


class Menus(TurnPart):
    def review(self) -> None:
        run = self.run
        iv = run.iv
        missing = self.missing_text(store.missing_required(self.s, iv))
        status = self.t("review.published" if iv.status == "published" else "review.draft")
        started = curation.origin(self.s, iv, self.locale)
        status += f" {started}" if started else ""
        reply = Reply(
            text=status,
            kind="review",
            title=iv.title or self.t("untitled"),
            sections=store.describe(self.s, iv, self.locale),
            intervention_id=iv.id,
            options=[
                Choice(
                    self.t("button.edit_step", no=s.no, step=s.title(self.locale)),
                    for_description(f"cmd:edit:{s.no}", iv),
                )
                for s in definition.steps()
            ],
        )
        if iv.kind == definition.ARCHETYPE:
            missing = ", ".join(m for m in (missing, *run.curation.review(reply)) if m)
        if missing:
            reply.note = self.t("review.missing", fields=missing)
        elif iv.status == "draft":
            reply.note = self.t("review.ready")
            reply.actions.append(Choice(self.t("button.publish"), for_description("cmd:publish", iv), "primary"))
        if run.conv.field:
            reply.actions.append(Choice(self.t("button.resume"), "cmd:resume"))
        reply.actions.append(Choice(self.t("button.mine"), "cmd:mine"))
        take_back = "withdraw" if iv.status == "published" else "delete"
        reply.actions.append(Choice(self.t(f"button.{take_back}"), for_description(f"cmd:{take_back}", iv)))
        self.replies.append(reply)

    def missing_text(self, missing) -> str:
        return ", ".join(f"{f.label(self.locale)} ({self.t('step_word')} {no})" for no, f in missing)

    def mine(self) -> None:
        rows = store.drafts_and_published(self.s, self.person.id)
        if not rows:
            self.say("no_drafts")
            return self.menu(first=False)
        self.replies.append(
            Reply(
                text=self.t("mine.text"),
                kind="list",
                title=self.t("mine.title"),
                options=self.listing(rows),
                actions=[Choice(self.t("button.new"), self.run.buttons.once_from_here("cmd:new"))],
            )
        )

    def home(self) -> Reply:
        rows = store.drafts_and_published(self.s, self.person.id, limit=40)
        return Reply(
            text=self.t("home.intro") if rows else self.t("home.empty"),
            kind="home",
            title=self.t("home.title"),
            options=self.listing(rows),
            actions=[
                Choice(self.t("button.new"), self.run.buttons.once_from_here("cmd:new"), "primary"),
                Choice(self.t("home.form_button"), "cmd:form"),
            ],
        )

    def listing(self, rows: list[Intervention]) -> list[Choice]:
        analysed = search.analysed_ids(self.s, [iv.id for iv in rows])
        return [Choice(self.listing_label(iv, iv.id in analysed), f"cmd:open:{iv.id}") for iv in rows]

    def listing_label(self, iv: Intervention, analysed: bool) -> str:
        state = self.t("status.published" if iv.status == "published" else f"status.{iv.kind}_draft")
        when = formatting.day(iv.updated_at, self.locale)
        marker = f" · {self.t('analysis.marker')}" if analysed else ""
        return f"#{iv.id} {iv.title or self.t('untitled')} ({state}, {when}){marker}"

    def menu_actions(self) -> list[Choice]:
        return [
            Choice(self.t("button.new"), self.run.buttons.once_from_here("cmd:new"), "primary"),
            Choice(self.t("button.resume"), "cmd:resume"),
            Choice(self.t("button.mine"), "cmd:mine"),
            Choice(self.t("button.help"), "cmd:help"),
        ]

    def menu(self, first: bool) -> None:
        key = "welcome" if first else "menu"
        self.say(key, name=self.person.display_name).actions = self.menu_actions()

    def unknown(self) -> None:
        self.say("unknown", kind="error")
        self.menu(first=False)

    def needs_description(self) -> bool:
        """True (after saying so) when there is no description to work on."""
        if self.run.iv is not None:
            return False
        self.say("no_current", kind="error")
        self.menu(first=False)
        return True
