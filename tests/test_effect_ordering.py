"""The effect ordering (bot/data/effects.toml): effects in groups, each with who benefits and
suggested indicators; step 4 shows them by group in Slack, Teams and the web, and a word typed in
the chat finds them."""

from sqlmodel import select

from bot import definition
from bot.definition import effect_problem
from bot.forms import Forms
from models import Effect
from tests.helpers import Browser, Chat
from tests.slack_driver import options_of
from tests.teams_driver import contents

# The first catalogue's keys and names: descriptions store an effect by its name, so these stay.
FIRST = {
    "sociale-cohesie": ("Sociale cohesie", "Social cohesion"),
    "straatbeeld": ("Straatbeeld / uitstraling", "Streetscape / appearance"),
    "ontmoeting": ("Ontmoeting / sociale contacten", "Meeting / social contacts"),
    "veiligheidsgevoel": ("Veiligheidsgevoel", "Sense of safety"),
    "overlast": ("Minder overlast", "Less nuisance"),
    "leefbaarheid": ("Leefbaarheid", "Liveability"),
    "verhuurbaarheid": ("Verhuurbaarheid", "Lettability"),
    "onderhoudskosten": ("Lagere onderhoudskosten", "Lower maintenance costs"),
    "zelfredzaamheid": ("Zelfredzaamheid", "Self-reliance"),
    "participatie": ("Participatie", "Participation"),
    "betaalachterstanden": ("Minder betaalachterstanden", "Fewer payment arrears"),
    "leegstand": ("Minder leegstand", "Less vacancy"),
    "vervuiling": ("Schonere buurt", "Cleaner neighbourhood"),
    "criminaliteit": ("Minder criminaliteit", "Less crime"),
    "burenconflicten": ("Minder burenconflicten", "Fewer neighbour disputes"),
    "eenzaamheid": ("Minder eenzaamheid", "Less loneliness"),
    "gezondheid": ("Betere gezondheid", "Better health"),
    "werk": ("Meer mensen aan het werk", "More people in work"),
    "schulden": ("Minder schulden", "Less debt"),
    "armoede": ("Minder armoede", "Less poverty"),
    "jeugd": ("Kansen voor jeugd", "Opportunities for youth"),
    "jongerenoverlast": ("Minder jongerenoverlast", "Less youth nuisance"),
    "woningkwaliteit": ("Betere woningkwaliteit", "Better housing quality"),
    "woontevredenheid": ("Woontevredenheid", "Residential satisfaction"),
    "binding": ("Binding met de buurt", "Attachment to the neighbourhood"),
    "vertrouwen": ("Vertrouwen in instanties", "Trust in institutions"),
    "energie": ("Lagere energielasten", "Lower energy costs"),
    "groen": ("Meer en beter groen", "More and better green space"),
    "verkeersveiligheid": ("Verkeersveiligheid", "Road safety"),
    "vrijwilligers": ("Meer vrijwilligers", "More volunteers"),
    "imago": ("Beter imago van de wijk", "Better image of the neighbourhood"),
    "sociale-stijging": ("Sociale stijging", "Social mobility"),
    "zorgmijders": ("Zorgmijders in beeld", "Care avoiders reached"),
    "huisuitzettingen": ("Minder huisuitzettingen", "Fewer evictions"),
    "kosten": ("Kosten van de interventie", "Cost of the intervention"),
}


def test_the_ordering_has_groups_beneficiaries_indicators_and_a_source_for_every_effect():
    effects, groups = definition.effects(), definition.effect_groups()
    assert len(effects) >= 100 and len(groups) >= 9
    assert {"wonen", "leefbaarheid", "veiligheid", "sociale-samenhang", "participatie", "gezondheid-zorg",
            "werk-inkomen", "onderwijs", "vastgoed-financien"} <= {g.key for g in groups}  # fmt: skip
    assert {g.key for g in groups} == {e.group.key for e in effects}  # no empty group
    order = [g.key for g in groups]
    assert [e.group.key for e in effects] == sorted((e.group.key for e in effects), key=order.index)
    for e in effects:
        assert e.beneficiaries and e.indicators and e.source in ("wwidw", "eigen"), e.key
    finance = {e.key for e in effects if e.group.key == "vastgoed-financien"}
    assert {"vastgoedwaarde", "mutatiekosten", "leegstandskosten", "incassokosten"} <= finance
    assert {"zorgkosten", "politiekosten", "uitkeringen"} <= {e.key for e in effects}  # public savings
    # Descriptions made with the first catalogue keep their effects, in either language.
    for key, (nl, en) in FIRST.items():
        assert definition.effect_by_name(nl).key == key and definition.effect_by_name(en).key == key


def test_a_wrong_effect_in_the_data_file_is_named_when_it_is_read():
    groups, people, units = {"wonen": None}, {"bewoners": None}, {"aantal"}
    good = {"key": "x", "nl": "X", "en": "X", "group": "wonen", "beneficiaries": ["bewoners"], "source": "eigen",
            "indicator": [{"nl": "Aantal", "en": "Number", "kind": "output", "unit": "aantal"}]}  # fmt: skip
    assert effect_problem(good, set(), groups, people, units) is None
    for change, said in (
        ({"group": "wonne"}, "no group 'wonne'"),
        ({"beneficiaries": ["bewoners", "koning"]}, "no beneficiary 'koning'"),
        ({"source": "wikipedia"}, "source 'wikipedia'"),
        ({"indicator": [{"nl": "A", "en": "A", "kind": "output", "unit": "liter"}]}, "unit 'liter'"),
    ):
        assert said in effect_problem(good | change, set(), groups, people, units)
    assert "used twice" in effect_problem(good, {"x"}, groups, people, units)


def effect_question(chat: Chat) -> None:
    chat.say("nieuw")
    chat.say("bewerk stap 4")
    assert chat.question.text.startswith("Welk effect wil je bereiken?")


def stored_effects(db) -> list[str]:
    with db.transaction() as s:
        return [e.name for e in s.exec(select(Effect).order_by(Effect.position))]


def test_a_word_typed_in_the_chat_finds_effects_and_eigen_keeps_ones_own(db):
    anna = Chat(db, name="Anna")
    effect_question(anna)
    (found,) = anna.say("veiligheid")  # a group's name: its effects
    assert found.kind == "list" and found.title == "Effecten gevonden"
    labels = [o.label for o in found.options]
    assert "Minder woninginbraken" in labels and "Veiligheidsgevoel" in labels
    assert {o.group for o in found.options} == {"Veiligheid"} and "eigen: veiligheid" in found.note
    (found,) = anna.say("woninginbraak")  # by the stem: "woninginbraken"
    assert [o.label for o in found.options] == ["Minder woninginbraken"]
    anna.say("1")  # the first of the list found, not of the whole ordering
    assert stored_effects(db) == ["Minder woninginbraken"]
    assert anna.question.text.startswith("Wanneer is dit effect een succes?")
    anna.say("Twintig procent minder inbraken in twee jaar.")
    anna.say("ja")
    anna.say("eigen: Veiliger fietsenstalling")
    anna.say("Minder diefstal uit de stalling.")
    anna.say("ja")
    anna.say("Minder leegstand")  # a whole name is answered at once
    assert stored_effects(db) == ["Minder woninginbraken", "Veiliger fietsenstalling", "Minder leegstand"]
    anna.say("Leegstand onder 2%.")
    anna.say("ja")
    anna.say("We willen dat bewoners zich thuis voelen in de nieuwe flat")  # a sentence: one's own
    assert stored_effects(db)[-1] == "We willen dat bewoners zich thuis voelen in de nieuwe flat"
    anna.say("language en")
    anna.say("bewerk stap 4")
    (found,) = anna.say("vacancy")
    assert {"Less vacancy", "Lower vacancy costs"} <= {o.label for o in found.options}
    (found,) = anna.say("burglary")  # by the English stem
    assert [o.label for o in found.options] == ["Fewer burglaries"]


def test_after_a_search_only_the_list_found_is_picked_from(db):
    anna = Chat(db, name="Anna")
    effect_question(anna)
    anna.say("woninginbraak")  # one effect found
    (wrong, _) = anna.say("2")
    assert wrong.kind == "error" and "Kies een nummer van 1 tot 1" in wrong.text and stored_effects(db) == []
    anna.say("veiligheid")
    (found,) = anna.say("woning")  # another word searches again, it picks nothing
    assert found.title == "Effecten gevonden" and stored_effects(db) == []
    (found,) = anna.say("leegstand")  # a key is a word like any other
    assert {"Minder leegstand", "Lagere leegstandskosten"} <= {o.label for o in found.options}
    assert stored_effects(db) == []
    (wrong, _) = anna.say("eigen:")
    assert wrong.kind == "error" and "Typ na 'eigen:' je eigen effect" in wrong.text
    anna.say("eigen: Verkeer")  # one's own, never matched with "Verkeersveiligheid"
    assert stored_effects(db) == ["Verkeer"]


def test_slack_lists_the_effects_under_their_groups_within_its_limits(db, slack, fake_slack):
    anna = slack.user("U1")
    anna.say("nieuw")
    message = anna.say("bewerk stap 4")
    (select_,) = [e for b in message["blocks"] for e in b.get("elements") or [] if e.get("type") == "static_select"]
    groups = [g["label"]["text"] for g in select_["option_groups"]]
    assert groups[:3] == ["Wonen", "Leefbaarheid en woonomgeving", "Veiligheid"]
    assert len(options_of(select_)) == len(definition.effects())  # more than one list of 100 holds
    anna.pick("Minder woninginbraken")
    assert stored_effects(db) == ["Minder woninginbraken"]
    # the fake Slack checks every select against Slack's limits (see the `slack` fixture)


def test_teams_and_the_web_form_show_the_groups(db, teams, make_server):
    from bot.settings import Settings
    from wwidw.app import Core, create_app

    anna = teams.user()
    anna.say("nieuw")
    cards = anna.say("bewerk stap 4")
    (picker,) = [e for c in cards for card in contents(c) for e in card["body"] if e.get("id") == "pick"]
    assert picker["style"] == "filtered" and len(picker["choices"]) == len(definition.effects())
    assert "Veiligheid · Minder woninginbraken" in [c["title"] for c in picker["choices"]]

    server = make_server(create_app(core=Core(Settings(database_url=db.url, _env_file=None))))
    web = Browser(base_url=server.url, follow_redirects=True)
    web.post("/start", data={"name": "Bram"})
    web.post("/say", data={"text": "nieuw"})
    with db.transaction() as s:
        from models import Intervention, Person

        bram = s.exec(select(Person).where(Person.display_name == "Bram")).one()
        iv_id = s.exec(select(Intervention.id).where(Intervention.author_id == bram.id)).one()
    page = web.get(f"/formulier/{iv_id}/4").text
    assert '<optgroup label="Veiligheid">' in page and '<optgroup label="Vastgoed en financiën">' in page
    form = Forms(db).form(bram.id, iv_id, 4)
    # Teams' form asks for the effects as one types: the card holds only the one chosen.
    anna_form = contents(anna.say("formulier 4")[-1])[0]
    (field,) = [e for e in anna_form["body"] if e.get("id") == "effects.0.name"]
    assert field["choices.data"] == {"type": "Data.Query", "dataset": "effects"} and field["choices"] == []
    answer = teams.sender.post(anna.activity(type="invoke", name="application/search",
                                             value={"queryText": "inbraak", "dataset": "effects"}))  # fmt: skip
    assert answer.json() == {
        "statusCode": 200,
        "type": "application/vnd.microsoft.search.searchResponse",
        "value": {"results": [{"title": "Veiligheid · Minder woninginbraken", "value": "inbraken"}]},
    }
    assert {c.group for f in form.fields for c in f.options if f.path.endswith("name")} >= {"Wonen", "Veiligheid"}


def test_step_7_names_who_usually_benefits_from_the_effects_chosen(db):
    anna = Chat(db, name="Anna")
    effect_question(anna)
    for answer in ("Lagere mutatiekosten", "Onder 2.000 euro per woning.", "ja", "Minder woninginbraken",
                   "Een derde minder.", "nee"):  # fmt: skip
        anna.say(answer)
    anna.say("bewerk stap 7")
    while not anna.question.text.startswith("Wie profiteert ervan"):
        anna.say("overslaan")
    assert "Bij de gekozen effecten hebben meestal baat: woningcorporatie, bewoners, politie en justitie." in (
        anna.question.note
    )
