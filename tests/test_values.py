from datetime import date

import pytest

from bot import definition
from bot.commands import Command, parse_command
from bot.formatting import editable_number
from bot.formatting import number as format_number
from bot.values import Invalid, parse, parse_date, parse_number


@pytest.mark.parametrize(
    "text,locale,expected",
    [
        ("3,5", "nl", 3.5),
        ("1.250", "nl", 1250),
        ("1.250,75", "nl", 1250.75),
        ("€ 12.500", "nl", 12500),
        ("12500,50", "nl", 12500.5),
        ("15%", "nl", 15),
        ("-2", "nl", -2),
        ("1,250.75", "en", 1250.75),
        ("1,250", "en", 1250),
        ("3.5", "nl", 3.5),
        ("3.5", "en", 3.5),
        ("1 250", "nl", 1250),
        ("42 euro", "nl", 42),
    ],
)
def test_numbers_in_dutch_and_english(text, locale, expected):
    assert parse_number(text, locale) == expected


@pytest.mark.parametrize("text", ["veel", "1,2,3", "1..2", "", "12abc", "--1"])
def test_not_numbers(text):
    with pytest.raises(Invalid):
        parse_number(text)


@pytest.mark.parametrize(
    "text,expected",
    [
        ("1-3-2027", date(2027, 3, 1)),
        ("01/03/2027", date(2027, 3, 1)),
        ("1.3.2027", date(2027, 3, 1)),
        ("2027-03-01", date(2027, 3, 1)),
        ("1 maart 2027", date(2027, 3, 1)),
        ("1 March 2027", date(2027, 3, 1)),
        ("March 1, 2027", date(2027, 3, 1)),
        ("15 okt 2026", date(2026, 10, 15)),
        ("1-3-27", date(2027, 3, 1)),
    ],
)
def test_dates(text, expected):
    assert parse_date(text) == expected


def test_impossible_and_unknown_dates_say_why():
    with pytest.raises(Invalid) as impossible:
        parse_date("31-2-2027")
    assert impossible.value.key == "invalid.date_impossible"
    with pytest.raises(Invalid) as unknown:
        parse_date("morgen")
    assert unknown.value.key == "invalid.date"


def test_fields_by_kind():
    _, size = definition.find_field("target_group_size")
    assert parse(size, "250", "nl") == 250
    with pytest.raises(Invalid):
        parse(size, "2,5", "nl")
    with pytest.raises(Invalid):
        parse(size, "-3", "nl")
    _, status = definition.find_field("project_status")
    assert parse(status, "2", "nl") == "lopend" and parse(status, "Finished", "en") == "afgerond"
    with pytest.raises(Invalid):
        parse(status, "misschien", "nl")
    _, themes = definition.find_field("themes")
    assert parse(themes, "1, veiligheid; Eigen thema", "nl") == ["sociale-cohesie", "veiligheid", "Eigen thema"]
    _, title = definition.find_field("title")
    with pytest.raises(Invalid) as long:
        parse(title, "x" * 151, "nl")
    assert long.value.params == {"limit": 150, "length": 151}
    with pytest.raises(Invalid):
        parse(title, "   ", "nl")
    url = definition.step(8).field("reports").item("url")
    assert parse(url, "www.example.nl/plan.pdf", "nl") == "https://www.example.nl/plan.pdf"
    for bad in ["javascript:alert(1)", "ftp://x.nl", "geen link", "http://localhost"]:
        with pytest.raises(Invalid):
            parse(url, bad, "nl")


def test_format_number():
    assert format_number(12500.5, "nl") == "12.500,5" and format_number(12500.5, "en") == "12,500.5"


def test_commands_are_whole_messages_only():
    assert parse_command("Terug") == Command("back")
    assert parse_command("bewerk stap 3") == Command("edit", "3")
    assert parse_command("edit step 8") == Command("edit", "8")
    assert parse_command("kies #12") == Command("open", "12")
    assert parse_command("taal en") == Command("language", "en")
    assert parse_command("Stop de overlast in de wijk") is None
    assert parse_command("x" * 1000) is None


def test_the_definition_has_eight_steps_and_a_catalogue_of_effects():
    assert [s.no for s in definition.steps()] == list(range(1, 9))
    assert len(definition.effects()) >= 30
    assert all(e.indicators for e in definition.effects())
    for s in definition.steps():
        for f in s.fields:
            assert f.nl and f.en and f.help_nl and f.help_en, f.key


def test_odd_characters_and_sizes_get_reasons_not_crashes():
    _, size = definition.find_field("target_group_size")
    for text in ["9" * 400, "99999999999", "1e400"]:
        with pytest.raises(Invalid):
            parse(size, text, "nl")
    _, status = definition.find_field("project_status")
    with pytest.raises(Invalid):
        parse(status, "²", "nl")
    _, title = definition.find_field("title")
    assert parse(title, "Buurt\x00tuin\x07", "nl") == "Buurttuin"
    url = definition.step(8).field("reports").item("url")
    with pytest.raises(Invalid) as long:
        parse(url, "example.nl/" + "a" * 1985, "nl")
    assert long.value.key == "invalid.too_long"
    _, themes = definition.find_field("themes")
    typed = ",".join(f"t{n}" for n in range(160))  # 479 characters typed, 638 as stored
    with pytest.raises(Invalid):
        parse(themes, typed, "nl")


def test_numbers_shown_and_edited():
    assert format_number(0.004, "nl") == "0" and format_number(12.345, "nl") == "12,35"
    assert format_number(-0.001, "en") == "0" and format_number(1234567.5, "nl") == "1.234.567,5"
    for value in [0.004, 12.345, 1234.123456789012, 1e-07, 2.5e20, 12500.0, -3.25]:
        for locale in ("nl", "en"):
            assert parse_number(editable_number(value, locale), locale) == value, (value, locale)
