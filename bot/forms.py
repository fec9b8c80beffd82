"""Form mode: one step at a time as a form (a Slack modal, an HTML form), validated as a whole.

A form is described by `Form`/`FormField`; each adapter renders it its own way and sends back
the raw values under each field's `path` ("title", "effects.0.name"). Nothing is stored unless
every value of the step is valid; then the conversation moves on to the next step.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot import definition, formatting, store
from bot.definition import Field
from bot.i18n import t
from bot.replies import Choice
from bot.schedule import DEFAULT_TZ
from bot.turn import TurnRun
from bot.values import MAX_INTEGER, Invalid, is_number, parse
from models import Intervention
from models.db import Database
from models.tables import utcnow

OTHER = ".other"  # suffix of the free-text companion of a choice that allows other answers


@dataclass
class FormField:
    path: str
    label: str
    kind: str
    required: bool
    help: str
    value: str = ""  # the current value as the person would type it
    selected: list[str] = field(default_factory=list)  # current option keys
    options: list[Choice] = field(default_factory=list)
    allow_other: bool = False
    group: str | None = None  # "Effect 2" for a field of a list item
    max_len: int | None = None


@dataclass
class Form:
    intervention_id: int
    step: int
    total: int
    title: str
    fields: list[FormField]
    locale: str
    version: str  # when the description was last changed; a submission must come back with it
    notice: str | None = None


class FormError(Exception):
    """The form cannot be shown or stored at all (not yours, unknown step)."""


class StaleForm(Exception):
    """The description changed after the form was shown (in the chat, another form, another
    device): storing the form would undo that, so it is shown again with the current answers."""


def version_of(iv: Intervention) -> str:
    return iv.updated_at.isoformat()


def editable(f: Field, value, locale: str) -> tuple[str, list[str]]:
    """A stored value as text to edit, and the option keys it selects."""
    if value in (None, "", []):
        return "", []
    if f.kind == "date":
        return formatting.day(value, locale), []
    if f.kind == "number":
        return formatting.editable_number(float(value), locale), []
    if f.kind == "multichoice":
        keys = {o.key for o in f.options}
        chosen = [v for v in value if v in keys]
        return ", ".join(v for v in value if v not in keys), chosen
    if f.kind == "choice":
        keys = {o.key for o in f.options}
        return ("", [value]) if value in keys else (str(value), [])
    return str(value), []


def as_text(value) -> str:
    """A submitted value as text, whatever shape a client sent it in."""
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return ", ".join(as_text(v) for v in value)
    return value.strip() if isinstance(value, str) else ""


def survives(f: Field, row, parsed: dict) -> bool:
    """Whether a list item still holds anything once a form's values for it are stored."""
    if any(value is not None for value in parsed.values()):
        return True
    return row is not None and any(
        getattr(row, sub.key) not in (None, "", []) for sub in f.items if sub.key not in parsed
    )


class Forms:
    def __init__(self, db: Database, default_locale: str = "nl", default_tz: str = DEFAULT_TZ):
        self.db = db
        self.default_locale = default_locale
        self.default_tz = default_tz

    def _run(self, session, person_id: int, intervention_id: int, step_no: int) -> tuple[TurnRun, Intervention]:
        run = TurnRun(session, person_id, self.default_locale, self.default_tz)
        iv = session.get(Intervention, intervention_id) if 0 < intervention_id <= MAX_INTEGER else None
        if iv is None or iv.author_id != person_id or not 1 <= step_no <= len(definition.steps()):
            raise FormError(f"no form {intervention_id}/{step_no} for person {person_id}")
        run.look_at(iv)  # showing a form does not change what the chat is about; storing one does
        return run, iv

    def form(self, person_id: int, intervention_id: int, step_no: int) -> Form:
        with self.db.transaction() as session:
            run, iv = self._run(session, person_id, intervention_id, step_no)
            locale = run.locale
            fields: list[FormField] = []
            for f in definition.step(step_no).fields:
                if not definition.asked(f, iv.kind):
                    continue
                if f.kind != "list":
                    fields.append(self._field(run, f, f.key, store.get(iv, f), None))
                    continue
                rows = store.items(session, iv, f)
                slots = len(rows) + (1 if len(rows) < f.max_items else 0)
                for i in range(slots):
                    row = rows[i] if i < len(rows) else None
                    group = f"{f.item_label(locale)} {i + 1}"
                    for sub in (sub for sub in f.items if definition.asked(sub, iv.kind, item=True)):
                        value = getattr(row, sub.key) if row is not None else None
                        fields.append(self._field(run, sub, f"{f.key}.{i}.{sub.key}", value, group))
            step = definition.step(step_no)
            return Form(iv.id, step_no, len(definition.steps()), step.title(locale), fields, locale, version_of(iv))

    def _field(self, run: TurnRun, f: Field, path: str, value, group: str | None) -> FormField:
        options = run.walk.options_for(f)
        text, selected = editable(f, value, run.locale)
        if f.options_from and text:
            # Catalogue choices are stored by label: select the option whose label matches.
            match = next((o for o in options if text in (o.nl, o.en)), None)
            text, selected = ("", [match.key]) if match else (text, [])
        return FormField(
            path=path,
            label=f.question(run.locale),
            kind=f.kind,
            required=f.required and group is None,
            help=f.help(run.locale, form=True),
            value=text,
            selected=selected,
            options=[Choice(o.label(run.locale), o.key, group=o.group and o.group.label(run.locale)) for o in options],
            allow_other=f.allow_other,
            group=group,
            max_len=f.limit,
        )

    def stale_form(self, person_id: int, intervention_id: int, step_no: int) -> Form:
        form = self.form(person_id, intervention_id, step_no)
        form.notice = t(form.locale, "form.stale")
        return form

    def submit(
        self, person_id: int, intervention_id: int, step_no: int, values: dict, version: str | None
    ) -> dict[str, str]:
        """Validate and store a whole step. Returns {path: error text}; empty when stored.
        Raises StaleForm when the description changed since `version`."""
        with self.db.transaction() as session:
            run, iv = self._run(session, person_id, intervention_id, step_no)
            if version != version_of(iv):
                raise StaleForm(intervention_id)
            errors: dict[str, str] = {}
            scalar: dict[str, object] = {}
            lists: dict[str, dict[int, dict[str, object]]] = {}
            for f in definition.step(step_no).fields:
                if f.kind == "list":
                    lists[f.key] = self._parse_items(run, f, values, errors)
                elif f.key in values or f.key + OTHER in values:  # absent fields stay as they are
                    scalar[f.key] = self._parse(run, f, f.key, values, errors)

            def value_of(key: str):
                return scalar[key] if key in scalar else store.get(iv, definition.find_field(key)[1])

            for key, value in scalar.items():
                problem = store.order_problem(definition.find_field(key)[1], value, value_of, run.locale)
                if problem and key not in errors:
                    errors[key] = t(run.locale, problem.key, **problem.params)
            if iv.status == "published":
                self._keep_required(run, iv, step_no, scalar, lists, errors)
            if errors:
                return errors
            for key, value in scalar.items():
                store.put(iv, definition.step(step_no).field(key), value)
            for key, slots in lists.items():
                self._store_items(run, iv, definition.step(step_no).field(key), slots)
            iv.updated_at = utcnow()
            # The chat continues with this description after this step (or at its review).
            run.set_intervention(iv)
            following = run.walk.first_of(step_no + 1)
            run.conv.phase = "asking" if following else "review"
            run.conv.back_to_review = False
            run.walk.place(following)
            run.published_changed()
            return {}

    def _keep_required(self, run: TurnRun, iv: Intervention, step_no: int, scalar, lists, errors) -> None:
        """A published description keeps what publishing needs: required answers cannot be cleared."""
        message = t(run.locale, "invalid.required_published")
        for f in definition.step(step_no).fields:
            if not f.required:
                continue
            if f.kind != "list":
                if f.key in scalar and scalar[f.key] is None and f.key not in errors:
                    errors[f.key] = message
                continue
            rows, slots = run.walk.rows(f), lists.get(f.key, {})
            survivors = [i for i, row in enumerate(rows) if i not in slots and not store.item_is_empty(f, row)]
            survivors += [i for i, parsed in slots.items() if survives(f, rows[i] if i < len(rows) else None, parsed)]
            if slots and not survivors:
                errors.setdefault(f"{f.key}.{min(slots)}.{f.items[0].key}", message)

    def _parse(self, run: TurnRun, f: Field, path: str, values: dict, errors: dict):
        raw, other = values.get(path), as_text(values.get(path + OTHER))
        if isinstance(raw, (list, tuple)) and f.kind == "multichoice":
            raw = ", ".join([*(as_text(v) for v in raw), *([other] if other else [])])
        else:
            raw = as_text(raw) or other
        if not raw:
            return None
        try:
            return parse(f, raw, run.locale, run.walk.options_for(f))
        except Invalid as invalid:
            errors[path] = t(run.locale, invalid.key, **invalid.params)
            return None

    def _parse_items(self, run: TurnRun, f: Field, values: dict, errors: dict) -> dict[int, dict[str, object]]:
        indexes = sorted(
            {int(p.split(".")[1]) for p in values if p.startswith(f.key + ".") and is_number(p.split(".")[1], 3)}
        )
        slots = {}
        rows = run.walk.rows(f)
        for i in indexes[: f.max_items]:
            slots[i] = parsed = {}
            for sub in f.items:
                path = f"{f.key}.{i}.{sub.key}"
                if path in values or path + OTHER in values:
                    parsed[sub.key] = self._parse(run, sub, path, values, errors)
            row = rows[i] if i < len(rows) else None

            def value_of(key: str, parsed=parsed, row=row):
                return parsed[key] if key in parsed else getattr(row, key, None)

            for key, value in parsed.items():
                problem = store.order_problem(f.item(key), value, value_of, run.locale, siblings=f.items)
                if problem and f"{f.key}.{i}.{key}" not in errors:
                    errors[f"{f.key}.{i}.{key}"] = t(run.locale, problem.key, **problem.params)
        return slots

    def _store_items(self, run: TurnRun, iv: Intervention, f: Field, slots: dict[int, dict[str, object]]) -> None:
        rows = list(run.walk.rows(f))
        for i, parsed in sorted(slots.items()):
            row = rows[i] if i < len(rows) else None
            if not survives(f, row, parsed):
                if row is not None:
                    run.walk.remove_item(f, row)
                continue
            if row is None:
                row = run.walk.add_item(f)
            for key, value in parsed.items():
                setattr(row, key, value)
        # Renumber whatever is left, in order.
        for position, row in enumerate(run.walk.rows(f)):
            row.position = position
