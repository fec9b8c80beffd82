"""Where a conversation is in the step definition, and where it goes next.

The position is a `Cursor`: a step, a field and, in a list (effects, indicators, reports), the
item and the field of that item. `MORE` is the "add another?" question after an item. The
questions of a step depend on how many items its lists hold now, so the sequence is worked out
from the description each time rather than stored.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot import definition, store
from bot.definition import Field, Option
from bot.parts import TurnPart

MORE = "__more__"  # the "add another item?" question after a list item


@dataclass(frozen=True)
class Cursor:
    step: int
    field: str
    item: int = 0
    sub: str | None = None


class Walk(TurnPart):
    """The step definition as walked for the description in view (`run.iv`)."""

    def __init__(self, run):
        super().__init__(run)
        self._rows: dict[str, list] = {}

    def forget(self) -> None:
        """Another description came into view: its lists are read afresh."""
        self._rows.clear()

    @property
    def cursor(self) -> Cursor | None:
        conv = self.run.conv
        if not conv.field:
            return None
        return Cursor(conv.step, conv.field, conv.item, conv.sub)

    # --- the definition ----------------------------------------------------------------------

    def field_at(self, c: Cursor) -> Field:
        f = definition.step(c.step).field(c.field)
        return f.item(c.sub) if c.sub and c.sub != MORE else f

    def list_field_at(self, c: Cursor) -> Field | None:
        f = definition.step(c.step).field(c.field)
        return f if f.kind == "list" else None

    def options_for(self, f: Field) -> tuple[Option, ...]:
        if f.options_from == "effects":
            return tuple(e.option() for e in definition.effects())
        if f.options_from == "indicators":
            return tuple(Option(key, s.nl, s.en) for key, s in self.suggested_indicators())
        return f.options

    def suggested_beneficiaries(self) -> list[Option]:
        """Who typically benefits from the catalogue effects chosen in step 4, most named first."""
        effects_field = definition.find_field("effects")[1]
        counted: dict[Option, int] = {}
        for row in self.rows(effects_field):
            effect = definition.effect_by_name(row.name or "")
            for who in effect.beneficiaries if effect else ():
                counted[who] = counted.get(who, 0) + 1
        return sorted(counted, key=lambda who: -counted[who])

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

    # --- the order of the questions ---------------------------------------------------------

    def step_sequence(self, no: int) -> list[Cursor]:
        """The questions of one step in order, given how many items its lists have now."""
        seq: list[Cursor] = []
        kind = self.run.iv.kind if self.run.iv is not None else "description"
        for f in definition.step(no).fields:
            if not definition.asked(f, kind):
                continue
            if f.kind != "list":
                seq.append(Cursor(no, f.key))
                continue
            n = len(self.rows(f))
            if n == 0:
                seq.append(Cursor(no, f.key, 0, f.items[0].key))
                continue
            subs = [sub for sub in f.items if sub.chat and definition.asked(sub, kind, item=True)]
            seq += [Cursor(no, f.key, i, sub.key) for i in range(n) for sub in subs]
            seq.append(Cursor(no, f.key, n - 1, MORE))
        return seq

    def first_of(self, no: int) -> Cursor | None:
        """The first question of step `no`, or None past the last step."""
        return self.step_sequence(no)[0] if 1 <= no <= len(definition.steps()) else None

    def last(self) -> Cursor:
        return self.step_sequence(len(definition.steps()))[-1]

    def index_of(self, c: Cursor, seq: list[Cursor]) -> int:
        if c in seq:
            return seq.index(c)
        # The cursor points at something that no longer exists: the nearest question of its field.
        same = [i for i, other in enumerate(seq) if (other.step, other.field) == (c.step, c.field)]
        return same[min(c.item, len(same) - 1)] if same else 0

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

    # --- list items -------------------------------------------------------------------------

    def rows(self, list_field: Field) -> list:
        """The items of a list field, read once per turn (lists change only through add/remove)."""
        if list_field.key not in self._rows:
            self._rows[list_field.key] = store.items(self.s, self.run.iv, list_field)
        return self._rows[list_field.key]

    def item_row(self, list_field: Field, index: int, create: bool = False):
        rows = self.rows(list_field)
        if index < len(rows):
            return rows[index]
        return self.add_item(list_field) if create else None

    def add_item(self, list_field: Field):
        self._rows.pop(list_field.key, None)
        return store.add_item(self.s, self.run.iv, list_field)

    def remove_item(self, list_field: Field, row) -> None:
        self._rows.pop(list_field.key, None)
        store.remove_item(self.s, self.run.iv, list_field, row)

    def current_value(self, c: Cursor):
        list_field = self.list_field_at(c)
        if list_field is None:
            return store.get(self.run.iv, self.field_at(c))
        row = self.item_row(list_field, c.item)
        return getattr(row, c.sub) if row is not None and c.sub != MORE else None

    # --- placing the cursor -----------------------------------------------------------------

    def place(self, c: Cursor | None) -> None:
        """Put the wizard at question `c` (None: no question, e.g. at the review)."""
        conv, iv = self.run.conv, self.run.iv
        if self.cursor is not None and iv is not None:
            self.prune_empty_items(self.cursor, keep=c)
        conv.step = c.step if c else 0
        conv.field = c.field if c else None
        conv.item = c.item if c else 0
        conv.sub = c.sub if c else None
        if iv is not None:
            iv.resume_at = c.__dict__.copy() if c else None

    def prune_empty_items(self, old: Cursor, keep: Cursor | None) -> None:
        """Remove the items of `old`'s list that were added and left empty, all but `keep`'s."""
        list_field = self.list_field_at(old)
        if list_field is None:
            return
        for index, row in enumerate(list(self.rows(list_field))):
            kept = keep is not None and (keep.step, keep.field, keep.item) == (old.step, old.field, index)
            if not kept and store.item_is_empty(list_field, row):
                self.remove_item(list_field, row)
