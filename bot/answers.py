"""Asking the current question, taking and validating an answer, and moving on.

An answer is parsed for its field (bot/values.py), checked against the dates it must follow,
stored, and the conversation moves to the next question. After `MAX_FAILURES` answers that do
not fit, the bot offers help or skipping.
"""

from __future__ import annotations

from bot import definition, effect_finder, formatting, store
from bot.buttons import bound
from bot.definition import Field
from bot.navigation import MORE, Cursor
from bot.parts import TurnPart
from bot.replies import Choice, Reply
from bot.values import Invalid, is_number, match_option, parse, parse_yes_no
from models.tables import utcnow

MAX_FAILURES = 3


class Asking(TurnPart):
    # --- asking -------------------------------------------------------------------------------

    def ask(self, repeat: bool = False) -> None:
        run, walk = self.run, self.run.walk
        c = walk.cursor
        if c is None or run.iv is None:
            return run.menus.menu(first=False)
        step = definition.step(c.step)
        list_field = walk.list_field_at(c)
        title = self.t("ask.title", no=step.no, total=len(definition.steps()), step=step.title(self.locale))
        if list_field is not None:
            title += f" · {list_field.item_label(self.locale)} {c.item + 1}"
        token = run.buttons.question_token()  # every button of this question carries it
        actions = [Choice(self.t("button.back"), bound("cmd:back", token))] if c != walk.first_of(1) else []
        actions += [
            Choice(self.t("button.skip"), bound("cmd:skip", token)),
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
                        Choice(self.t("button.yes"), bound("opt:yes", token), "primary"),
                        Choice(self.t("button.no"), bound("opt:no", token)),
                    ],
                    actions=actions,
                    intervention_id=run.iv.id,
                )
            )
            return
        f = walk.field_at(c)
        if list_field is not None and c.item == 0 and c.sub == list_field.items[0].key and not repeat:
            self.replies.append(Reply(text=list_field.question(self.locale), kind="info", title=title))
        value = walk.current_value(c)
        shown = formatting.field_value(f, value, self.locale)
        note = self.t("ask.current", value=shown) if value not in (None, "", []) else None
        if f.required and note is None:
            note = self.t("ask.required")
        if f.key == "beneficiaries" and (who := walk.suggested_beneficiaries()):
            # The ordering knows who usually counts on the effects chosen in step 4.
            hint = self.t("ask.beneficiaries", who=", ".join(b.label(self.locale) for b in who))
            note = f"{note}\n{hint}" if note else hint
        self.replies.append(
            Reply(
                text=f.question(self.locale),
                kind="question",
                title=title,
                note=note,
                input=f.kind,
                options=[
                    Choice(
                        o.label(self.locale), bound(f"opt:{o.key}", token), group=o.group and o.group.label(self.locale)
                    )
                    for o in walk.options_for(f)
                ],
                multi=f.kind == "multichoice",
                actions=actions,
                intervention_id=run.iv.id,
            )
        )

    # --- answering ----------------------------------------------------------------------------

    def answer(self, text: str, picked: bool = False) -> None:
        """A typed answer, or (`picked`) the option keys a button or a list chose."""
        run, walk = self.run, self.run.walk
        c = walk.cursor
        if run.conv.phase != "asking" or c is None or run.iv is None:
            return run.menus.menu(first=False)
        list_field = walk.list_field_at(c)
        if c.sub == MORE:
            yes = parse_yes_no(text)
            if yes is None:
                return self.reject(Invalid("invalid.yes_no"))
            if not yes:
                return self.move(walk.after_list(c))
            if len(walk.rows(list_field)) >= list_field.max_items:
                self.say("list.full", max=list_field.max_items)
                return self.move(walk.after_list(c))
            walk.add_item(list_field)
            return self.move(Cursor(c.step, c.field, c.item + 1, list_field.items[0].key))
        f = walk.field_at(c)
        options = walk.options_for(f)
        if f.options_from == "effects" and not picked:
            if (own := effect_finder.own_effect(text)) is not None:
                # One's own effect, never matched against the ordering.
                if not own:
                    return self.reject(Invalid("effects.own_empty"))
                text, options = own, ()
            elif is_number(text.strip()) and effect_finder.is_found_list(run.conv.offered):
                return self.reject(Invalid("effects.not_in_list", count=len(run.conv.offered)))
            elif found := effect_finder.find(text, options):
                return self.offer_effects(text, found)
        try:
            value = parse(f, text, self.locale, options)
            self.check_order(f, value, list_field, c)
        except Invalid as invalid:
            return self.reject(invalid)
        if list_field is None:
            store.put(run.iv, f, value)
        else:
            row = walk.item_row(list_field, c.item, create=True)
            setattr(row, f.key, value)
            run.iv.updated_at = utcnow()
            if f.options_from == "indicators":
                self.prefill_indicator(row, text, options)
        self.move(walk.following(c))

    def check_order(self, f: Field, value, list_field: Field | None, c: Cursor) -> None:
        iv = self.run.iv
        if list_field is None:
            problem = store.order_problem(
                f, value, lambda key: store.get(iv, definition.find_field(key)[1]), self.locale
            )
        else:
            row = self.run.walk.item_row(list_field, c.item)
            problem = store.order_problem(
                f, value, lambda key: getattr(row, key, None), self.locale, siblings=list_field.items
            )
        if problem:
            raise problem

    def prefill_indicator(self, row, text: str, options) -> None:
        """An indicator picked from the catalogue brings its kind and unit."""
        option = match_option(text, options, self.locale)
        suggestion = dict(self.run.walk.suggested_indicators()).get(option.key) if option else None
        if suggestion:
            row.kind = row.kind or suggestion.kind
            row.unit = row.unit or suggestion.unit

    def offer_effects(self, text: str, found: list) -> None:
        """The effects a typed word finds, to pick one from; the question stays open, so typing
        another word searches again and 'eigen: …' keeps one's own."""
        token = self.run.buttons.question_token()
        shown = found[: effect_finder.MAX_SHOWN]
        key = "effects.found" if len(found) <= len(shown) else "effects.found_many"
        self.replies.append(
            Reply(
                text=self.t(key, words=text[:100], count=len(found), shown=len(shown)),
                kind="list",
                title=self.t("effects.found_title"),
                note=self.t("effects.own_hint", words=text[:100]),
                input="found",  # a number typed next picks from this list, not from the question's
                options=[
                    Choice(o.label(self.locale), bound(f"opt:{o.key}", token), group=o.group.label(self.locale))
                    for o in shown
                ],
                intervention_id=self.run.iv.id,
            )
        )

    def reject(self, invalid: Invalid) -> None:
        run, walk = self.run, self.run.walk
        run.conv.failures += 1
        reply = Reply(text=self.t(invalid.key, **invalid.params), kind="error")
        f = walk.field_at(walk.cursor) if walk.cursor.sub != MORE else None
        if run.conv.failures >= MAX_FAILURES and f is not None:
            reply.note = f"{self.t('invalid.stuck')}\n{f.help(self.locale)}"
            reply.actions = [
                Choice(self.t("button.help"), "cmd:help"),
                Choice(self.t("button.skip"), run.buttons.for_question("cmd:skip")),
            ]
        elif f is not None and f.help(self.locale):
            reply.note = f.help(self.locale)
        self.replies.append(reply)
        self.ask(repeat=True)

    # --- moving on ----------------------------------------------------------------------------

    def move(self, target: Cursor | None) -> None:
        """Go to `target` (None: past the last question), tidy up, and ask what comes next."""
        run, conv = self.run, self.run.conv
        old = run.walk.cursor
        if old is not None and target is not None and conv.back_to_review and target.step != old.step:
            target = None  # editing one step: that step is done
        conv.failures = 0
        conv.updated_at = utcnow()
        if target is None:
            run.walk.place(None)
            conv.back_to_review = False
            conv.phase = "review"
            if old is not None:
                self.say("saved_all")
            return run.menus.review()
        conv.phase = "asking"
        run.walk.place(target)
        if old is not None and target.step != old.step:
            self.say("step_done", no=old.step)
        self.ask()

    def move_fresh(self, target: Cursor) -> None:
        """Start asking at `target`, without the tidying and the "step done" of a move."""
        self.run.conv.phase = "asking"
        self.run.walk.place(target)
        self.run.conv.failures = 0
        self.ask()
