"""What a new user meets first: help that answers the question, and lists that a typed number or
name chooses from as a click would."""

from sqlmodel import select

from bot.documents import render_markdown
from bot.forms import Forms
from bot.library import description_reply
from models import Conversation, Intervention
from tests.helpers import FULL_WALK, Chat


def walked(db, **instead):
    """A published full walk, with some answers replaced ({"1-1-2027": "1-1-2024"})."""
    chat = Chat(db)
    chat.say("nieuw")
    for answer in FULL_WALK:
        chat.say(instead.get(answer, answer))
    chat.say("publiceer")
    return chat


def test_help_at_a_question_answers_that_question_first(db):
    chat = Chat(db)
    chat.say("nieuw")
    chat.say("hulp")
    help_reply, question = chat.last
    assert help_reply.kind == "help" and question.text.startswith("Wat is de titel")
    assert help_reply.text.startswith("Een korte, herkenbare naam")
    assert "hulp alles" in help_reply.note
    assert len(help_reply.text) + len(help_reply.note) < 250  # not the whole list of commands
    chat.say("hulp alles")
    everything, question = chat.last
    assert "'werktijden 9:00-17:00 ma-vr'" in everything.text and question.text.startswith("Wat is de titel")
    chat.say("Titel")  # still answering the same question
    assert chat.question.text.startswith("In welke wijk")


def test_help_at_add_another_and_away_from_questions(db):
    chat = Chat(db)
    chat.say("nieuw")
    for answer in FULL_WALK[:16]:
        chat.say(answer)
    assert chat.question.input == "choice"  # another effect?
    chat.say("help")
    assert "nog één toe te voegen" in chat.last[0].text
    chat.say("pauze")
    chat.say("hulp")
    assert "'meting' (een meting invullen)" in chat.last[0].text and chat.last[0].actions


def test_a_typed_number_or_name_picks_an_indicator_to_measure(db):
    chat = walked(db, **{"1-3-2027": "1-3-2024", "1-1-2027": "1-1-2024"})  # measured yearly since 2024
    chat.say("meting")
    assert chat.question.text == "Voor welke indicator wil je een meting invullen?"
    chat.say("1")
    assert chat.question.text.startswith("Over welke periode gaat de meting van Rapportcijfer sociale samenhang?")
    chat.say("meting")
    chat.say("rapportcijfer sociale samenhang")  # the indicator's name, without the description's
    assert chat.question.text.startswith("Over welke periode")
    chat.say("2")  # the period before the current one
    assert chat.last[-1].reminder_id is not None and "2025" in chat.texts()
    chat.say("6,1")  # and now a number is the value again
    assert "6,1" in chat.texts() and "error" not in chat.kinds()
    chat.say("voortgang")
    assert "5,8 → 6,1 (2025) → streefwaarde 6,5 · 43 % van de beoogde verbetering bereikt" in chat.texts()
    chat.say("meting")
    chat.say("1")
    chat.say("2")
    chat.say("5,2")  # lower than the baseline, where higher is better
    chat.say("voortgang")
    assert "5,8 → 5,2 (2025) → streefwaarde 6,5 · verder van de streefwaarde dan bij de nulmeting" in chat.texts()


def test_measuring_that_has_not_begun_says_so(db):
    chat = walked(db)  # the baseline is measured on 1-1-2027, next month
    chat.say("meting")
    chat.say("1")
    assert chat.texts() == (
        "Voor 'Rapportcijfer sociale samenhang' valt er nog niets in te vullen: "
        "de eerste meetperiode begint op 1-1-2027."
    )


def test_typed_choices_in_lists_and_what_they_leave_alone(db):
    chat = walked(db, **{FULL_WALK[0]: "Klushuizen Oost"})
    chat.say("nieuw")
    chat.say("Buurtmoestuin Zuid")
    chat.say("pauze")
    chat.say("mijn")
    labels = [o.label for o in chat.last[0].options]
    assert len(labels) == 2 and labels[0].startswith("#2 Buurtmoestuin Zuid")
    chat.say("klushuizen")  # the beginning of one label
    assert chat.last[-1].kind == "review" and chat.last[-1].title == "Klushuizen Oost"
    chat.say("3")  # the review's list: step 3
    assert chat.question.title.startswith("Stap 3 van 8")
    chat.say("mijn")
    chat.say("#2")
    assert chat.question.text.startswith("In welke wijk")  # back in the draft where it was left
    chat.say("pauze")
    chat.say("mijn")
    chat.say("hulp")  # a command stays a command
    assert chat.last[0].kind == "help"
    chat.say("mijn")
    chat.say("9")  # no ninth item: nothing is chosen
    assert chat.last[-1].kind != "review"
    with db.transaction() as s:
        assert s.exec(select(Conversation)).one().offered is None  # the menu offers no list


def test_a_question_keeps_its_own_typed_answers(db):
    chat = Chat(db)
    chat.say("nieuw")
    for answer in FULL_WALK[:7]:
        chat.say(answer)
    assert chat.question.text.startswith("Bij welke thema")
    chat.say("1, 3")  # two themes, not the first button
    assert chat.question.title.startswith("Stap 2 van 8")
    with db.transaction() as s:
        assert s.exec(select(Conversation)).one().offered is None


def test_the_description_and_its_export_label_what_they_show(db):
    chat = walked(db)
    with db.transaction() as s:
        iv = s.exec(select(Intervention)).one()
        document = render_markdown(s, iv, "nl")
        page = "\n".join(
            f"{line.label}: {line.value}" for sec in description_reply(s, iv, "nl").sections for line in sec.lines
        )
    for shown in (document, page):
        assert (
            "Rapportcijfer sociale samenhang · Soort: Outcome · Eenheid: Rapportcijfer 1-10 · Nulmeting: 5,8 · "
            "Datum nulmeting: 1-1-2027 · Streefwaarde: 6,5 · Streefdatum: 31-12-2028 · Hoger is beter · "
            "Meetfrequentie: Jaarlijks · Gemeten door: Anna" in shown
        )
        assert "Uren: 320 uur" in shown.replace("**", "") and "250 mensen of huishoudens" in shown
        assert "Zichtbaarheid" not in shown and "· ik" not in shown
    chat.say("overzicht")  # the author's review keeps who may see it
    assert any(line.label == "Zichtbaarheid" for sec in chat.last[-1].sections for line in sec.lines)


def test_dutch_that_a_professional_writes():
    """The words the programme uses: no "digest", no "doel" for a target (step 4 is about aims),
    "één" where it counts, and the labels of the method."""
    import tomllib
    from pathlib import Path

    def texts(data):
        for value in data.values():
            yield from texts(value) if isinstance(value, dict) else [value] if isinstance(value, str) else []

    root = Path(__file__).parent.parent / "bot"
    dutch = "\n".join(texts(tomllib.loads((root / "locale" / "nl.toml").read_text("utf-8"))))
    steps = (root / "data" / "steps.toml").read_text("utf-8")
    dutch += "\n".join(line for line in steps.splitlines() if "_nl =" in line or line.strip().startswith("nl ="))
    for wrong in ("digest", "Digest", "een voor een", "Kies er een", "Een of meer", "doel {", "Meet:", "Dead weight",
                  "Nu ingevuld", "van de weg naar", "Typ de waarde van", "database is even", "'help'"):  # fmt: skip
        assert wrong not in dutch, wrong


def test_periods_read_as_part_of_a_sentence():
    from datetime import date

    from bot import formatting

    assert (
        formatting.period(date(2026, 10, 1), date(2026, 12, 31), "nl", in_sentence=True) == "het 4e kwartaal van 2026"
    )
    assert formatting.period(date(2026, 10, 1), date(2026, 12, 31), "nl") == "4e kwartaal 2026"  # a button
    assert formatting.period(date(2026, 10, 12), date(2026, 10, 18), "nl", in_sentence=True) == "week 42 van 2026"
    assert formatting.period(date(2026, 10, 1), date(2026, 10, 31), "nl", in_sentence=True) == "oktober 2026"


def test_forms_speak_as_forms(db):
    """A form, a Slack modal or a Teams card cannot be typed at: its hints never say 'typ' or
    'overslaan'; the chat keeps saying how to skip."""
    chat = walked(db)
    forms = Forms(db)
    for locale, words in (("nl", ("typ ", "overslaan", "sla over")), ("en", ("type ", "skip"))):
        chat.say("language " + locale)
        for step in range(1, 9):
            form = forms.form(chat.person_id, 1, step)
            hints = " ".join(f"{f.help} {form.notice or ''}" for f in form.fields).casefold()
            assert not [word for word in words if word in hints], (locale, step)
    chat.say("taal nl")
    chat.say("bewerk stap 8")
    for _ in range(3):
        chat.say("overslaan")
    assert chat.question.text.startswith("Wat is de nulmeting")
    chat.say("hulp")
    assert chat.last[0].text == "Een getal, bijvoorbeeld 6,1. Sla over als er nog geen nulmeting is."
