"""The commands that work on a description: back, skip, remove, pause, help, new, resume, open,
edit a step, publish, export, language and form."""

from __future__ import annotations

from bot import definition, formatting, store
from bot.documents import render_markdown
from bot.navigation import MORE, Cursor
from bot.parts import TurnPart
from bot.replies import Choice, Reply
from bot.values import is_number
from models import Intervention
from models.tables import utcnow


class Editing(TurnPart):
    # --- moving through the questions ---------------------------------------------------------

    def back(self) -> None:
        run, walk = self.run, self.run.walk
        c = walk.cursor
        if run.conv.phase == "review" and run.iv is not None:
            run.conv.back_to_review = False
            return run.asking.move_fresh(walk.last())
        if c is None or run.iv is None:
            return run.menus.menu(first=False)
        target = walk.preceding(c)
        if target is None:
            self.say("first_question")
            return run.asking.ask()
        run.asking.move(target)

    def skip(self) -> None:
        run, walk = self.run, self.run.walk
        c = walk.cursor
        if run.conv.phase != "asking" or c is None or run.iv is None:
            return run.menus.menu(first=False)
        list_field = walk.list_field_at(c)
        if list_field is not None:
            row = walk.item_row(list_field, c.item)
            first = c.sub == list_field.items[0].key
            if c.sub == MORE or (first and (row is None or getattr(row, c.sub) in (None, ""))):
                if row is not None and store.item_is_empty(list_field, row):
                    walk.remove_item(list_field, row)
                return run.asking.move(walk.after_list(c))
        f = walk.field_at(c)
        if f.required and walk.current_value(c) in (None, "", []):
            self.say("skipped_required")
        run.asking.move(walk.following(c))

    def remove(self) -> None:
        """Delete the list item (an effect, an indicator, a report) the current question is about."""
        run, walk = self.run, self.run.walk
        c = walk.cursor
        list_field = walk.list_field_at(c) if c is not None and run.conv.phase == "asking" else None
        row = walk.item_row(list_field, c.item) if list_field is not None and c.sub != MORE else None
        if row is None:
            self.say("remove.nothing", kind="error")
            return run.asking.ask() if run.conv.phase == "asking" else run.menus.menu(first=False)
        label = f"{list_field.item_label(self.locale)} {c.item + 1}"
        others = [r for r in walk.rows(list_field) if r is not row and not store.item_is_empty(list_field, r)]
        if run.iv.status == "published" and list_field.required and not others:
            self.say("remove.last_required", kind="error", item=list_field.item_label(self.locale).lower())
            return run.asking.ask()
        walk.remove_item(list_field, row)
        self.say("remove.done", item=label)
        rest = walk.rows(list_field)
        first_sub = list_field.items[0].key
        if c.item < len(rest):
            return run.asking.move_fresh(Cursor(c.step, c.field, c.item, first_sub))
        if rest:
            return run.asking.move_fresh(Cursor(c.step, c.field, len(rest) - 1, MORE))
        run.asking.move_fresh(Cursor(c.step, c.field, 0, first_sub))

    def edit(self, arg: str | None) -> None:
        run = self.run
        if run.menus.needs_description():
            return
        total = len(definition.steps())
        if not (is_number(arg) and 1 <= int(arg) <= total):
            self.say("edit.bad_step", kind="error", total=total)
            return run.asking.ask() if run.conv.phase == "asking" else run.menus.review()
        run.conv.back_to_review = True
        run.asking.move_fresh(run.walk.first_of(int(arg)))

    # --- pausing and help ----------------------------------------------------------------------

    def pause(self) -> None:
        run = self.run
        if run.iv is None:
            return run.menus.menu(first=False)
        run.conv.phase = "paused"
        self.say("paused", title=run.iv.title or self.t("untitled"), id=run.iv.id).actions = [
            Choice(self.t("button.resume"), "cmd:resume", "primary"),
            Choice(self.t("button.mine"), "cmd:mine"),
        ]

    def help(self, everything: bool = False) -> None:
        """At a question, help with that question first and one line on where the rest is; the
        whole list of commands only when asked for (`hulp alles`) or away from a question."""
        run, walk = self.run, self.run.walk
        c = walk.cursor
        at_question = run.conv.phase == "asking" and c is not None and run.iv is not None
        if at_question and not everything:
            hint = self.t("help.more_items") if c.sub == MORE else walk.field_at(c).help(self.locale)
            reply = Reply(text=hint or self.t("help.no_hint"), kind="help", title=self.t("help.question_title"))
            reply.note = self.t("help.where_all")
            self.replies.append(reply)
            return run.asking.ask(repeat=True)
        reply = Reply(text=self.t("help.commands"), kind="help", title=self.t("help.title"))
        self.replies.append(reply)
        if at_question:
            return run.asking.ask(repeat=True)
        reply.actions = run.menus.menu_actions()

    def help_all(self) -> None:
        self.help(everything=True)

    def language(self, code: str | None) -> None:
        run = self.run
        self.person.locale = code if code in ("nl", "en") else "nl"
        run.locale = self.person.locale
        self.say("language.set")
        if run.conv.phase == "asking" and run.walk.cursor is not None and run.iv is not None:
            run.asking.ask()
        elif run.conv.phase == "review" and run.iv is not None:
            run.menus.review()

    # --- which description -----------------------------------------------------------------------

    def new(self) -> None:
        run = self.run
        iv = store.new_draft(self.s, self.person)
        run.set_intervention(iv)
        run.conv.back_to_review = False
        self.say("new", id=iv.id)
        run.asking.move_fresh(run.walk.first_of(1))

    def resume(self) -> None:
        run = self.run
        iv = run.iv or store.latest_draft(self.s, self.person.id)
        if iv is None:
            self.say("no_drafts")
            return run.menus.menu(first=False)
        if iv is not run.iv:
            return self.open_intervention(iv)
        if run.conv.field:
            run.conv.phase = "asking"
            self.say("resumed", title=iv.title or self.t("untitled"))
            return run.asking.ask()
        run.conv.phase = "review"
        run.menus.review()

    def open(self, arg: str | None) -> None:
        iv = self.s.get(Intervention, int(arg)) if is_number(arg) else None
        if iv is None or iv.author_id != self.person.id:
            self.say("not_found", kind="error", id=arg or "?")
            return self.run.menus.mine()
        self.open_intervention(iv)

    def open_intervention(self, iv: Intervention) -> None:
        run = self.run
        run.set_intervention(iv)
        run.conv.back_to_review = False
        run.conv.failures = 0
        where = iv.resume_at if iv.status == "draft" else None
        if where:
            run.conv.phase = "asking"
            run.walk.place(Cursor(**where))
            self.say("opened", id=iv.id, title=iv.title or self.t("untitled"))
            return run.asking.ask()
        run.walk.place(None)
        run.conv.phase = "review"
        run.menus.review()

    # --- finishing ------------------------------------------------------------------------------

    def summary(self) -> None:
        if self.run.menus.needs_description():
            return
        self.run.conv.phase = "review"
        self.run.menus.review()

    def publish(self) -> None:
        run = self.run
        if run.menus.needs_description():
            return
        iv = run.iv
        if iv.kind == definition.ARCHETYPE:
            return run.curation.publish()
        missing = store.missing_required(self.s, iv)
        if missing:
            self.say("publish.missing", kind="error", fields=run.menus.missing_text(missing))
            run.conv.phase = "review"
            return run.menus.review()
        first_time = iv.status != "published"
        iv.status = "published"
        iv.published_at = iv.published_at or utcnow()
        iv.updated_at = utcnow()
        run.walk.place(None)
        run.conv.phase = "review"
        visibility = formatting.field_value(definition.find_field("visibility")[1], iv.visibility, self.locale)
        self.say("publish.done" if first_time else "publish.updated", id=iv.id, visibility=visibility).actions = [
            Choice(self.t("button.new"), run.buttons.once_from_here("cmd:new")),
            Choice(self.t("button.mine"), "cmd:mine"),
        ]

    def export(self) -> None:
        run = self.run
        if run.menus.needs_description():
            return
        self.replies.append(
            Reply(
                text=self.t("export.text"),
                kind="export",
                title=run.iv.title or self.t("untitled"),
                document=render_markdown(self.s, run.iv, self.locale, marked=True),
                intervention_id=run.iv.id,
            )
        )

    def form(self, arg: str | None) -> None:
        """Ask the adapter to show a step as a form (a Slack modal, an HTML form)."""
        run = self.run
        if run.iv is None:
            run.set_intervention(store.new_draft(self.s, self.person))
            run.asking.move_fresh(run.walk.first_of(1))
            self.replies.clear()
        total = len(definition.steps())
        no = int(arg) if is_number(arg) and 1 <= int(arg) <= total else (run.conv.step or 1)
        self.replies.append(
            Reply(
                text=self.t("form.text", no=no),
                kind="form",
                step=no,
                intervention_id=run.iv.id,
                title=run.iv.title or self.t("untitled"),
                actions=[Choice(self.t("button.open_form", no=no), f"form:{run.iv.id}:{no}", "primary")],
            )
        )
