"""Archetypes: the shipped data (migration 0017's frozen copy, the first records) fits the step
definition and is what the database holds, `find` is forgiving but not reckless, and `prefill`
fills a draft on both databases."""

from __future__ import annotations

import tomllib

import pytest

from bot import archetype_records, archetypes, definition, store
from bot.archetypes import ArchetypeError, check, check_names, prefill
from bot.definition import PROJECT_SPECIFIC, PROJECT_SPECIFIC_ITEM
from models import Intervention, Organisation, Person
from models.db import MIGRATIONS

KEYS = {"verkoop-huurwoningen", "sloop-nieuwbouw", "klushuizen", "buurtbeheerbedrijf", "achter-de-voordeur"}
RAW = tomllib.loads((MIGRATIONS / "versions" / "0017_archetypes.toml").read_text("utf-8"))["archetype"]
SHIPPED = [check(raw) for raw in RAW]


def raw_of(key: str) -> dict:
    return next(a for a in RAW if a["key"] == key)


def get(key: str) -> archetypes.Archetype:
    return next(a for a in SHIPPED if a.key == key)


def find(words):
    return archetypes.find(words, SHIPPED)


def test_the_five_archetypes_load_with_both_languages():
    assert {a.key for a in SHIPPED} == KEYS
    check_names(SHIPPED)
    for a in SHIPPED:
        assert a.name("nl") == a.name_nl and a.name("en") == a.name_en
        assert a.summary("nl") and a.summary("en") and a.summary("nl") != a.summary("en")


def test_the_database_starts_with_the_shipped_archetypes_as_version_one(db):
    with db.transaction() as s:
        current = archetype_records.current(s)
        assert [r.key for r in current] == [raw["key"] for raw in RAW]
        for record, shipped in zip(current, SHIPPED, strict=True):
            assert record.version.number == 1 and record.version.published_by is None
            assert dict(record.archetype.fields) == dict(shipped.fields)
            assert (record.archetype.name_en, record.archetype.summary_nl) == (shipped.name_en, shipped.summary_nl)
            assert record.archetype.aliases == shipped.aliases
        assert not any(archetype_records.sources_of(s, r.version.id) for r in current)
        assert archetype_records.named(s, "klushuis").key == "klushuizen"
        assert archetype_records.named(s, "onbekend") is None


@pytest.mark.parametrize("key", sorted(KEYS))
def test_every_field_key_is_a_generic_step_field(key):
    a = get(key)
    for field_key, value in a.fields.items():
        _, f = definition.find_field(field_key)  # raises KeyError for an unknown key
        assert field_key not in PROJECT_SPECIFIC
        if f.kind == "list":
            for item in value:
                assert set(item) <= {sub.key for sub in f.items}
                assert not set(item) & PROJECT_SPECIFIC_ITEM
    # The substance of a description is there; the project's own details are not.
    for expected in ("themes", "situation", "final_target_group", "effects", "approach", "theory_of_change"):
        assert expected in a.fields
    assert "title" not in a.fields and "budget" not in a.fields and "visibility" not in a.fields


@pytest.mark.parametrize("key", sorted(KEYS))
def test_choices_are_valid_option_keys(key):
    a = get(key)
    themes = definition.find_field("themes")[1]
    assert a.fields["themes"] and set(a.fields["themes"]) <= {o.key for o in themes.options}
    indicators = definition.find_field("indicators")[1]
    for item in a.fields["indicators"]:
        for sub_key in ("kind", "unit", "frequency", "direction"):
            assert item[sub_key] in {o.key for o in indicators.item(sub_key).options}, (item["name"], sub_key)
    assert {item["kind"] for item in a.fields["indicators"]} >= {"output", "outcome", "cost"}


@pytest.mark.parametrize("key", sorted(KEYS))
def test_effect_and_indicator_names_resolve_where_intended(key):
    raw = raw_of(key)["fields"]
    for effect in raw["effects"]:
        found = definition.effect_by_name(effect["name"])
        assert (found is None) == effect.get("own", False), effect["name"]
        assert effect["success_criterion"].strip()
    suggestions = {s.nl: s for e in definition.effects() for s in e.indicators}
    for indicator in raw["indicators"]:
        suggestion = suggestions.get(indicator["name"])
        assert (suggestion is None) == indicator.get("own", False), indicator["name"]
        if suggestion:
            assert (indicator["kind"], indicator["unit"]) == (suggestion.kind, suggestion.unit)
    # Most effects come from the catalogue, so step 8 can suggest their indicators.
    assert sum(not e.get("own", False) for e in raw["effects"]) >= len(raw["effects"]) - 1


@pytest.mark.parametrize("key", sorted(KEYS))
def test_texts_fit_their_fields(key):
    a = get(key)
    assert len(a.name_nl) <= 150 and len(a.name_en) <= 150
    for field_key, value in a.fields.items():
        f = definition.find_field(field_key)[1]
        if f.kind in ("text", "longtext"):
            assert 0 < len(value) <= f.limit, field_key
        if f.kind == "multichoice":
            assert len(", ".join(value)) <= f.limit
        if f.kind == "list":
            assert len(value) <= f.max_items
            for item in value:
                for sub_key, sub_value in item.items():
                    sub = f.item(sub_key)
                    assert sub.limit is None or len(sub_value) <= sub.limit, (field_key, sub_key)


# --- the loader refuses what does not fit --------------------------------------------------------

MINIMAL = """
[[archetype]]
key = "test"
name_nl = "Proef"
name_en = "Trial"
summary_nl = "Een proef."
summary_en = "A trial."
  [archetype.fields]
  situation = "Iets is aan de hand."
"""


def loads(text: str) -> list[archetypes.Archetype]:
    found = [check(raw) for raw in tomllib.loads(text)["archetype"]]
    check_names(found)
    return found


def test_a_minimal_archetype_loads():
    (a,) = loads(MINIMAL)
    assert a.key == "test" and dict(a.fields) == {"situation": "Iets is aan de hand."}


@pytest.mark.parametrize(
    "extra,message",
    [
        ('  sitaution = "typo"', "no such field"),
        ('  title = "Buurtmoestuin"', "belongs to one project"),
        ("  budget = 1000", "belongs to one project"),
        ('  themes = ["wonen", "huisvesting"]', "'huisvesting' is not an option"),
        ('  themes = ["wonen", "wonen"]', "listed twice"),
        ('  themes = "wonen"', "list of option keys"),
        ('  activity_frequency = "' + "x" * 201 + '"', "at most 200"),
        ('  approach = "   "', "non-empty"),
        (
            '  [[archetype.fields.effects]]\n  name = "Sociale cohesi"\n  success_criterion = "ja"',
            "not in the catalogue",
        ),
        (
            '  [[archetype.fields.effects]]\n  name = "Sociale cohesie"\n  own = true\n  success_criterion = "ja"',
            "drop own",
        ),
        ('  [[archetype.fields.effects]]\n  name = "Sociale cohesie"', "missing ['success_criterion']"),
        ('  [[archetype.fields.effects]]\n  name = "Sociale cohesie"\n  sucess = "ja"', "not a field of effects"),
        (
            '  [[archetype.fields.indicators]]\n  name = "Mutatiegraad"\n  frequency = "daily"\n  direction = "down"',
            "'daily' is not an option",
        ),
        (
            '  [[archetype.fields.indicators]]\n  name = "Mutatiegraad"\n  frequency = "yearly"\n'
            '  direction = "down"\n  baseline = 5',
            "belongs to one project",
        ),
        (
            '  [[archetype.fields.indicators]]\n  name = "Mutatiegraad"\n  kind = "output"\n'
            '  frequency = "yearly"\n  direction = "down"',
            "contradicts the catalogue",
        ),
        (
            '  [[archetype.fields.indicators]]\n  name = "Eigen maat"\n  own = true\n  kind = "outcome"\n'
            '  frequency = "yearly"\n  direction = "up"',
            "missing ['unit']",
        ),
    ],
)
def test_the_loader_refuses_what_the_step_definition_does_not_allow(extra, message):
    with pytest.raises(ArchetypeError, match=message.replace("[", r"\[").replace("]", r"\]")):
        loads(MINIMAL + extra + "\n")


def test_the_loader_refuses_bad_keys_and_duplicates():
    with pytest.raises(ArchetypeError, match="slug"):
        loads(MINIMAL.replace('key = "test"', 'key = "Test Key"'))
    with pytest.raises(ArchetypeError, match="used twice"):
        loads(MINIMAL + MINIMAL.replace('name_nl = "Proef"', 'name_nl = "Ander"').replace("Trial", "Other"))
    with pytest.raises(ArchetypeError, match="also used by"):
        loads(MINIMAL + MINIMAL.replace('key = "test"', 'key = "tweede"'))
    with pytest.raises(ArchetypeError, match="unknown entries"):
        loads(MINIMAL.replace('summary_en = "A trial."', 'summary_en = "A trial."\ntitle = "x"'))


# --- find ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "words,key",
    [
        ("klushuizen", "klushuizen"),
        ("klushuis", "klushuizen"),
        ("  KLUSHUIZEN  ", "klushuizen"),
        ("klushuizn", "klushuizen"),
        ("Fixer-upper homes", "klushuizen"),
        ("verkoop", "verkoop-huurwoningen"),
        ("Verkoop   huurwoningen", "verkoop-huurwoningen"),
        ("huurwoningen verkopen", "verkoop-huurwoningen"),
        ("verkoop-huurwoningen", "verkoop-huurwoningen"),
        ("sloop en nieuwbouw", "sloop-nieuwbouw"),
        ("Sloop en nieuwbouw in aandachtswijken", "sloop-nieuwbouw"),
        ("herstructurering", "sloop-nieuwbouw"),
        ("buurtbeheerbedrijven", "buurtbeheerbedrijf"),
        ("Neighbourhood maintenance company", "buurtbeheerbedrijf"),
        ("achter de voordeur", "achter-de-voordeur"),
        ("Achter-de-Voordeur", "achter-de-voordeur"),
        ("huisbezoeken", "achter-de-voordeur"),
        ("behind the front door", "achter-de-voordeur"),
        ("de klushuizen", "klushuizen"),
        ("Klúshuizen", "klushuizen"),
    ],
)
def test_find_is_forgiving(words, key):
    found = find(words)
    assert found is not None and found.key == key


@pytest.mark.parametrize("words", ["homes", "home", "neighbourhood"])
def test_find_says_nothing_when_several_fit(words):
    assert find(words) is None


@pytest.mark.parametrize("words", ["moestuin", "buurtconciërge", "wijkfeest in de zomer", "de", "xyz"])
def test_find_says_nothing_for_unknown_names(words):
    assert find(words) is None


@pytest.mark.parametrize(
    "words",
    [
        "",
        "   ",
        "\n\t",
        "!!!",
        "\x00",
        "🙂",
        "'; DROP TABLE intervention; --",
        "x" * 10_000,
        "klushuizen " * 1000,
        None,
    ],
)
def test_find_survives_hostile_input(words):
    assert find(words) is None


# --- prefill -------------------------------------------------------------------------------------


def new_draft(db) -> int:
    with db.transaction() as s:
        org = Organisation(name="Woonstichting Test")
        s.add(org)
        s.flush()
        person = Person(organisation_id=org.id, display_name="Anna")
        s.add(person)
        s.flush()
        return store.new_draft(s, person).id


def lines(sections) -> dict[str, str]:
    return {f"{section.no}:{line.label}": line.value for section in sections for line in section.lines}


def test_prefill_fills_a_draft_with_the_archetype(db):
    iv_id = new_draft(db)
    a = find("klushuis")
    with db.transaction() as s:
        prefill(s, s.get(Intervention, iv_id), a, "nl")
    with db.transaction() as s:
        iv = s.get(Intervention, iv_id)
        shown = lines(store.describe(s, iv, "nl"))
        missing = {f.key for _, f in store.missing_required(s, iv)}
        assert iv.title is None and iv.neighbourhood is None and iv.budget is None and iv.visibility is None
        assert iv.themes == ["wonen", "woonomgeving", "sociale-cohesie"]
        indicators = store.items(s, iv, definition.find_field("indicators")[1])

    assert shown["1:Thema's"] == "Wonen en vastgoed, Woonomgeving en straatbeeld, Sociale cohesie en ontmoeting"
    for key in ("situation", "final_target_group", "approach", "theory_of_change", "literature"):
        step, f = definition.find_field(key)
        assert shown[f"{step.no}:{f.label('nl')}"] == a.fields[key]
    effects = [v for k, v in shown.items() if k.startswith("4:Effect ")]
    assert len(effects) == len(a.fields["effects"])
    assert effects[0].startswith("Minder leegstand · Succescriterium: De geselecteerde panden zijn verkocht")
    assert shown["8:Indicator 1"] == (
        "Aantal verkochte klushuizen · Soort: Output · Eenheid: Aantal · Hoger is beter · Meetfrequentie: Per kwartaal"
    )
    assert shown["8:Indicator 3"] == (
        "Leegstandspercentage · Soort: Outcome · Eenheid: Procent · Lager is beter · Meetfrequentie: Jaarlijks"
    )
    assert [row.position for row in indicators] == list(range(len(a.fields["indicators"])))
    assert all(row.baseline is None and row.target is None and row.owner is None for row in indicators)

    # What only the project itself can say is still asked for; the archetype's part is done.
    assert {"title", "neighbourhood", "municipality", "project_status", "visibility"} <= missing
    assert not missing & {"themes", "situation", "final_target_group", "effects", "approach"}


def test_prefill_in_english_names_catalogue_effects_in_english(db):
    iv_id = new_draft(db)
    a = get("verkoop-huurwoningen")
    with db.transaction() as s:
        prefill(s, s.get(Intervention, iv_id), a, "en")
    with db.transaction() as s:
        iv = s.get(Intervention, iv_id)
        effects = [row.name for row in store.items(s, iv, definition.find_field("effects")[1])]
        indicators = [row.name for row in store.items(s, iv, definition.find_field("indicators")[1])]
        shown = lines(store.describe(s, iv, "en"))
    assert effects == [
        "Attachment to the neighbourhood",
        "Residential satisfaction",
        "Liveability",
        "Gemengde woningvoorraad",
    ]
    assert indicators[0] == "Aantal verkochte woningen" and indicators[3] == "Tenant turnover rate"
    assert shown["1:Themes"].startswith("Housing and real estate")
    assert shown["2:What is going on, and for whom"] == a.fields["situation"]


@pytest.mark.parametrize("key", sorted(KEYS))
def test_every_archetype_prefills_a_draft(db, key):
    iv_id = new_draft(db)
    a = get(key)
    with db.transaction() as s:
        iv = s.get(Intervention, iv_id)
        iv.neighbourhood = "Kruiskamp"  # something the author already said stays
        prefill(s, iv, a, "nl")
    with db.transaction() as s:
        iv = s.get(Intervention, iv_id)
        assert iv.neighbourhood == "Kruiskamp" and iv.title is None
        for field_key, value in a.fields.items():
            f = definition.find_field(field_key)[1]
            if f.kind == "list":
                assert len(store.items(s, iv, f)) == len(value)
            else:
                assert store.get(iv, f) == value
        missing = {f.key for _, f in store.missing_required(s, iv)}
    assert missing == {"title", "municipality", "project_status", "visibility"}


def test_prefill_refuses_a_published_description_and_a_full_list(db):
    iv_id = new_draft(db)
    a = get("buurtbeheerbedrijf")
    indicators = definition.find_field("indicators")[1]
    with db.transaction() as s:
        iv = s.get(Intervention, iv_id)
        for n in range(indicators.max_items - 2):
            store.add_item(s, iv, indicators, name=f"Eigen indicator {n}")
    with pytest.raises(ValueError, match="no room"):
        with db.transaction() as s:
            prefill(s, s.get(Intervention, iv_id), a, "nl")
    with db.transaction() as s:
        iv = s.get(Intervention, iv_id)
        assert iv.situation is None  # nothing was written
        iv.status = "published"
    with pytest.raises(ValueError, match="not a draft"):
        with db.transaction() as s:
            prefill(s, s.get(Intervention, iv_id), a, "nl")
