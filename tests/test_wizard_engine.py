from datetime import date

from sqlmodel import select

from models import Conversation, Effect, Indicator, Intervention, Report
from tests.helpers import FULL_WALK, Chat


def stored(db):
    with db.transaction() as s:
        return s.exec(select(Intervention)).one()


def test_full_walk_stores_every_answer_and_publishes(db):
    chat = Chat(db)
    chat.say("nieuw")
    assert chat.question.text.startswith("Wat is de titel")
    for answer in FULL_WALK:
        assert chat.question is not None, (answer, chat.texts())
        chat.say(answer)
        assert "error" not in chat.kinds(), (answer, chat.texts())
    assert chat.last[-1].kind == "review"
    chat.say("publiceer")
    assert "Gepubliceerd" in chat.texts()
    iv = stored(db)
    assert iv.status == "published" and iv.visibility == "partners"
    assert iv.title == "Buurtmoestuin Kruiskamp"
    assert iv.start_date == date(2027, 3, 1) and iv.end_date == date(2028, 12, 31)
    assert iv.themes == ["sociale-cohesie", "woonomgeving"]
    assert iv.partner_organisations == ["gemeente Amersfoort", "Welzijn Centraal"]
    assert iv.budget == 12500 and iv.target_group_size == 250
    with db.transaction() as s:
        effects = s.exec(select(Effect).order_by(Effect.position)).all()
        assert [e.name for e in effects] == ["Sociale cohesie", "Ontmoeting / sociale contacten"]
        indicator = s.exec(select(Indicator)).one()
        assert indicator.name == "Rapportcijfer sociale samenhang"
        assert (indicator.kind, indicator.unit, indicator.baseline, indicator.target) == ("outcome", "cijfer", 5.8, 6.5)
        assert indicator.frequency == "yearly" and indicator.owner == "ik"
        assert s.exec(select(Report)).one().url == "https://example.nl/projectplan.pdf"


def test_back_skip_and_invalid_answers(db):
    chat = Chat(db)
    chat.say("nieuw")
    chat.say("Titel A")
    assert chat.question.text.startswith("In welke wijk")
    chat.say("terug")
    assert chat.question.text.startswith("Wat is de titel")
    assert "Titel A" in chat.question.note
    chat.say("overslaan")  # keeps the title
    chat.say("Wijk")
    chat.say("Gemeente")
    chat.say("overslaan")  # partners
    chat.say("31-2-2027")
    assert chat.kinds()[0] == "error" and "bestaat niet" in chat.texts()
    chat.say("morgen")
    chat.say("ook niet")
    assert "overslaan" in chat.texts().lower() and any(a.value.startswith("cmd:skip@") for a in chat.last[0].actions)
    chat.say("1-3-2027")
    chat.say("1-1-2027")
    assert "ligt voor 1-3-2027" in chat.texts()
    iv = stored(db)
    assert iv.title == "Titel A" and iv.start_date == date(2027, 3, 1) and iv.end_date is None


def test_pause_resume_edit_and_language(db):
    chat = Chat(db)
    chat.say("nieuw")
    chat.say("Klushuizen Oost")
    chat.say("pauze")
    assert "Gepauzeerd" in chat.texts()
    other = Chat(db)  # the same person, a new engine: nothing lives in memory
    other.say("verder")
    assert other.question.text.startswith("In welke wijk")
    other.say("language en")
    assert other.question.text.startswith("In which neighbourhood")
    other.say("bewerk stap 1")
    assert other.question.text.startswith("What is the title")
    other.say("Klushuizen Oost 2")
    for _ in range(7):
        other.say("skip")
    assert other.last[-1].kind == "review"
    assert stored(db).title == "Klushuizen Oost 2"


def test_several_drafts_and_choosing_one(db):
    chat = Chat(db)
    chat.say("nieuw")
    chat.say("Eerste")
    chat.say("nieuw")
    chat.say("Tweede")
    chat.say("mijn")
    listing = chat.last[-1]
    assert listing.kind == "list" and len(listing.options) == 2
    first = next(o for o in listing.options if "Eerste" in o.label)
    chat.say(action=first.value)
    assert chat.question.text.startswith("In welke wijk")
    with db.transaction() as s:
        conv = s.exec(select(Conversation)).one()
        assert s.get(Intervention, conv.intervention_id).title == "Eerste"


def test_people_do_not_see_each_others_drafts(db):
    anna, bert = Chat(db), Chat(db, name="Bert", external_id="U_BERT")
    anna.say("nieuw")
    anna.say("Geheim")
    with db.transaction() as s:
        iv_id = s.exec(select(Intervention)).one().id
    bert.say(f"kies {iv_id}")
    assert "vind ik niet" in bert.texts()


def test_publish_requires_required_fields(db):
    chat = Chat(db)
    chat.say("nieuw")
    chat.say("Alleen een titel")
    chat.say("publiceer")
    assert "Nog verplicht" in chat.texts()
    assert stored(db).status == "draft"


def test_edit_a_published_description_later(db):
    chat = Chat(db)
    chat.say("nieuw")
    for answer in FULL_WALK:
        chat.say(answer)
    chat.say("publiceer")
    chat.say("nieuw")  # work on something else in between
    chat.say("Iets anders")
    chat.say("mijn")
    published = next(o for o in chat.last[-1].options if "Buurtmoestuin" in o.label)
    chat.say(action=published.value)
    assert chat.last[-1].kind == "review" and "gepubliceerd" in chat.last[-1].text
    chat.say(action="cmd:edit:1")
    chat.say("Buurtmoestuin Kruiskamp-Zuid")
    for _ in range(7):
        chat.say("overslaan")
    assert chat.last[-1].kind == "review"
    with db.transaction() as s:
        iv = s.exec(select(Intervention).where(Intervention.status == "published")).one()
        assert iv.title == "Buurtmoestuin Kruiskamp-Zuid" and iv.updated_at > iv.published_at


def test_removing_a_list_item_in_the_chat(db):
    chat = Chat(db)
    chat.say("nieuw")
    chat.say("bewerk stap 4")
    for answer in [
        "Sociale cohesie",
        "Cijfer omhoog",
        "ja",
        "Minder overlast",
        "Minder meldingen",
        "ja",
        "Minder leegstand",
    ]:
        chat.say(answer)
    chat.say("terug")
    chat.say("terug")
    chat.say("terug")  # back at effect 2's name
    assert "Effect 2" in chat.question.title
    chat.say("verwijder")
    assert "Effect 2 is verwijderd" in chat.texts()
    assert "Effect 2" in chat.question.title and "Minder leegstand" in chat.question.note
    with db.transaction() as s:
        names = [e.name for e in s.exec(select(Effect).order_by(Effect.position))]
        assert names == ["Sociale cohesie", "Minder leegstand"]
    chat.say("overzicht")
    chat.say("verwijder")
    assert "niets om te verwijderen" in chat.texts()


def test_old_and_double_clicked_buttons_do_not_answer_a_later_question(db):
    chat = Chat(db)
    chat.say("nieuw")
    for answer in ["T", "W", "G", "overslaan", "overslaan", "overslaan"]:
        chat.say(answer)
    finished = next(o for o in chat.question.options if o.label == "Afgerond")
    chat.say("lopend")  # typed instead of clicked
    chat.say("1")
    chat.say(action=finished.value)  # the old button, now that step 2 is asked
    assert "hoort bij een eerdere vraag" in chat.texts() and chat.question.text.startswith("Wat is er aan de hand")
    chat.say("bewerk stap 4")
    chat.say("Sociale cohesie")
    chat.say("Cijfer omhoog")
    yes = next(o for o in chat.question.options if o.label == "Ja")
    chat.say(action=yes.value)
    chat.say(action=yes.value)  # double click
    assert "hoort bij een eerdere vraag" in chat.texts()
    with db.transaction() as s:
        iv = s.exec(select(Intervention)).one()
        assert iv.project_status == "lopend" and iv.situation is None
        assert [e.name for e in s.exec(select(Effect))] == ["Sociale cohesie", None]


def test_review_buttons_act_on_their_own_description(db):
    chat = Chat(db)
    chat.say("nieuw")
    chat.say("Eerste")
    chat.say("overzicht")
    edit_step_one = chat.last[-1].options[0]
    chat.say("nieuw")
    chat.say("Tweede")
    chat.say(action=edit_step_one.value)  # from the first description's review
    assert chat.question.text.startswith("Wat is de titel") and "Eerste" in chat.question.note
    chat.say("Eerste, verbeterd")
    with db.transaction() as s:
        assert sorted(iv.title for iv in s.exec(select(Intervention))) == ["Eerste, verbeterd", "Tweede"]


def test_an_item_added_and_left_empty_disappears(db):
    chat = Chat(db)
    chat.say("nieuw")
    chat.say("bewerk stap 4")
    chat.say("Sociale cohesie")
    chat.say("Cijfer omhoog")
    chat.say("ja")  # effect 2 is added, then nothing is typed for it
    chat.say("overzicht")
    review = chat.last[-1]
    assert [line.label for line in review.sections[3].lines] == ["Effect 1"]
    chat.say("nieuw")  # leaving the draft for another one
    with db.transaction() as s:
        assert [e.name for e in s.exec(select(Effect))] == ["Sociale cohesie"]


def test_dates_keep_their_order_from_both_sides(db):
    chat = Chat(db)
    chat.say("nieuw")
    for answer in ["T", "W", "G", "overslaan", "1-3-2027", "31-12-2027"]:
        chat.say(answer)
    chat.say("bewerk stap 1")
    for _ in range(4):
        chat.say("overslaan")
    chat.say("1-1-2028")  # a start after the end
    assert "ligt na 31-12-2027" in chat.texts()
    chat.say("1-6-2027")
    with db.transaction() as s:
        iv = s.exec(select(Intervention)).one()
        assert (str(iv.start_date), str(iv.end_date)) == ("2027-06-01", "2027-12-31")


def test_a_published_description_keeps_what_publishing_needs(db):
    from bot.forms import Forms, version_of

    chat = Chat(db)
    chat.say("nieuw")
    for answer in FULL_WALK:
        chat.say(answer)
    chat.say("publiceer")
    with db.transaction() as s:
        iv = s.exec(select(Intervention)).one()
    forms = Forms(db)
    errors = forms.submit(chat.person_id, iv.id, 1, {"title": "", "municipality": "Utrecht"}, version_of(iv))
    assert "gepubliceerd" in errors["title"]
    errors = forms.submit(
        chat.person_id,
        iv.id,
        4,
        {f"effects.{i}.{k}": "" for i in (0, 1) for k in ("name", "success_criterion")},
        version_of(iv),
    )
    assert "effects.0.name" in errors
    chat.say("bewerk stap 4")
    chat.say("verwijder")
    chat.say("verwijder")
    assert "moet minstens één effect hebben" in chat.texts()
    with db.transaction() as s:
        iv = s.exec(select(Intervention)).one()
        assert iv.title == "Buurtmoestuin Kruiskamp" and iv.municipality == "Amersfoort"
        assert [e.name for e in s.exec(select(Effect))] == ["Ontmoeting / sociale contacten"]


def test_a_form_waiting_for_a_chat_turn_sees_what_that_turn_wrote(db):
    """The chat turn holds the conversation while the form is submitted: the form must notice."""
    import threading
    import time

    import pytest

    from bot.forms import Forms, StaleForm, version_of
    from models.tables import utcnow

    chat = Chat(db)
    chat.say("nieuw")
    with db.transaction() as s:
        iv = s.exec(select(Intervention)).one()
    version = version_of(iv)
    started = threading.Event()

    def slow_chat_turn():
        with db.transaction() as s:
            conv = s.exec(select(Conversation).with_for_update()).one()
            changed = s.get(Intervention, iv.id)
            changed.title, changed.updated_at = "Uit de chat", utcnow()
            conv.failures = 0
            s.flush()
            started.set()
            time.sleep(0.5)

    turn = threading.Thread(target=slow_chat_turn)
    turn.start()
    started.wait()
    with pytest.raises(StaleForm):
        Forms(db).submit(chat.person_id, iv.id, 1, {"title": "Uit het formulier"}, version)
    turn.join()
    with db.transaction() as s:
        assert s.get(Intervention, iv.id).title == "Uit de chat"


def test_showing_a_form_of_another_draft_does_not_move_the_chat(db):
    from bot.forms import Forms

    chat = Chat(db)
    chat.say("nieuw")
    chat.say("Eerste")
    chat.say("nieuw")
    chat.say("Tweede")  # the chat now asks draft 2's neighbourhood
    with db.transaction() as s:
        first = s.exec(select(Intervention).where(Intervention.title == "Eerste")).one()
    Forms(db).form(chat.person_id, first.id, 1)
    chat.say("Wijk van de tweede")
    with db.transaction() as s:
        rows = {iv.title: iv.neighbourhood for iv in s.exec(select(Intervention))}
    assert rows == {"Eerste": None, "Tweede": "Wijk van de tweede"}


def test_working_hours_and_indicator_rhythms_in_the_chat(db):
    import pytest

    from models import Person

    chat = Chat(db)
    chat.say("hallo")
    reply = chat.say("werktijden 9:00-17:00 ma-do")[-1]
    assert "tussen 09:00 en 17:00 op maandag, dinsdag, woensdag, donderdag" in reply.text
    with db.transaction() as s:
        person = s.get(Person, chat.person_id)
        assert (person.working_hours, person.working_days) == ("09:00-17:00", "1234")
    assert chat.say("werktijden 18:00-9:00")[-1].kind == "error"
    assert chat.say("werktijden zo-ma 9-17")[-1].kind == "error"
    # A typed rhythm is accepted when the engine can schedule it, refused otherwise.
    from bot import definition
    from bot.values import Invalid, parse

    frequency = definition.step(8).field("indicators").item("frequency")
    assert parse(frequency, "elke 3 weken", "nl") == "elke 3 weken"
    assert parse(frequency, "2", "nl") == "monthly"
    with pytest.raises(Invalid):
        parse(frequency, "af en toe", "nl")
