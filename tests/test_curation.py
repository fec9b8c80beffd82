"""Archetypes in the database (bot/curation.py, bot/archetype_records.py): a curator drafts one in
the eight steps, links what it rests on and publishes a version; earlier versions stay readable;
a description records the version it started from; and what goes wrong gets a clear answer."""

import threading

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from bot import archetype_records, roles
from bot.forms import Forms
from bot.replies import Turn
from bot.settings import Settings
from bot.wizard import Wizard
from models import ArchetypeDraft, ArchetypeOrigin, ArchetypeVersion, Conversation, Intervention
from models.db import alembic_config
from tests.helpers import Browser, Chat
from tests.slack_driver import texts
from tests.test_library import publish
from wwidw.app import Core, create_app

ANSWERS = {
    "title": "Buurtkamers",
    "themes": "1",
    "situation": "Bewoners kennen elkaar niet meer.",
    "final_target_group": "Ouderen die alleen wonen",
    "name": "Ontmoeting / sociale contacten",
    "success_criterion": "Bewoners kennen meer buren bij naam.",
    "approach": "Een huiskamer in de wijk, elke werkdag open.",
    "__more__": "nee",
}
PROJECT_QUESTIONS = {"neighbourhood", "municipality", "start_date", "budget", "baseline", "owner", "visibility"}


def curator(db, chat: Chat) -> Chat:
    with db.transaction() as s:
        roles.grant(s, chat.person_id, "curator", by=None)
    return chat


def position(db, chat: Chat) -> tuple[str, str | None]:
    with db.transaction() as s:
        conv = s.exec(select(Conversation).where(Conversation.person_id == chat.person_id)).one()
        return conv.phase, conv.sub or conv.field


def walk(db, chat: Chat, answers: dict) -> list[str]:
    """Answer every question the wizard asks (skipping what `answers` has not); the keys asked."""
    asked = []
    for _ in range(80):
        phase, key = position(db, chat)
        if phase != "asking":
            return asked
        asked.append(key)
        chat.say(answers.get(key, "overslaan") if key not in asked[:-1] or key == "__more__" else "overslaan")
    raise AssertionError(f"the walk did not end: {asked}")


def versions(db, key: str) -> list[ArchetypeVersion]:
    with db.transaction() as s:
        return [r.version for r in archetype_records.history(s, key)]


def test_a_curator_drafts_an_archetype_in_the_eight_steps_and_people_start_from_it(db):
    anna = Chat(db, name="Anna Jansen", external_id="U1", platform="slack", workspace="T1")
    karin = curator(db, Chat(db, name="Karin de Vries", external_id="U2", platform="slack", workspace="T1"))
    source = publish(db, anna.person_id, "Buurtkamer Kruiskamp", "organisation")
    private = publish(db, Chat(db, name="Carla", external_id="U3", platform="slack", workspace="T3").person_id,
                      "Elders", "organisation")  # fmt: skip

    assert "voor curatoren" in anna.say("nieuw archetype")[0].text  # not a curator: nothing made
    (made, question) = karin.say("nieuw archetype")
    assert made.text.startswith("Concept-archetype #") and question.kind == "question"
    asked = walk(db, karin, ANSWERS)
    assert "title" in asked and "approach" in asked and not PROJECT_QUESTIONS & set(asked), asked
    review = karin.last[-1]
    assert review.kind == "review" and "samenvatting ('archetype samenvatting: …')" in review.note
    assert "Publiceer" not in [a.label for a in review.actions]

    # What it rests on, with bad input refused and nothing stored.
    for typed, problem in (
        ("archetype samenvatting: ", "één tot 300 tekens"),
        ("archetype samenvatting: " + "x" * 301, "één tot 300 tekens"),
        (f"archetype bronnen: {source}, {private}", f"#{private}"),
        ("archetype bronnen: twaalf", "met hun nummers"),
        ("archetype bijeenkomst: Wat werkt in buurtkamers; 31-2-2026", "naam; datum; plaats"),
        ("archetype bijeenkomst: ; 12-11-2026", "naam; datum; plaats"),
    ):
        (reply,) = karin.say(typed)
        assert reply.kind == "error" and problem in reply.text, typed
    assert "nog niet gepubliceerd" in karin.say("publiceer")[0].text
    karin.say("archetype samenvatting: Een huiskamer voor de buurt, met vaste gastvrouwen.")
    karin.say(f"archetype bronnen: #{source}")
    karin.say("archetype bijeenkomst: Wat werkt in buurtkamers; 12-11-2026; Utrecht")
    section = karin.last[-1].sections[-1]
    assert section.title == "Archetype" and [line.value for line in section.lines] == [
        "Een huiskamer voor de buurt, met vaste gastvrouwen.",
        f"#{source} Buurtkamer Kruiskamp",
        "'Wat werkt in buurtkamers' (12-11-2026, Utrecht)",
    ]
    (done,) = karin.say("publiceer")
    assert done.text.startswith("Versie 1 van het archetype 'Buurtkamers' staat in de kennisbank")
    with db.transaction() as s:  # the draft is done: its content lives on in the version
        assert not s.exec(select(Intervention).where(Intervention.kind == "archetype")).all()
        assert not s.exec(select(ArchetypeDraft)).all()
    (version,) = versions(db, "buurtkamers")
    with db.transaction() as s:
        assert archetype_records.sources_of(s, version.id) == [source]
    assert version.fields["approach"] == ANSWERS["approach"]
    assert version.fields["effects"] == [{"name": "Ontmoeting / sociale contacten", "success_criterion": ANSWERS[
        "success_criterion"]}]  # fmt: skip
    assert "title" not in version.fields and version.published_by == karin.person_id

    (shown,) = anna.say("archetype buurtkamers")
    assert shown.title == "Buurtkamers · versie 1"
    assert (
        "Gebaseerd op 1 praktijkbeschrijving en de bijeenkomst 'Wat werkt in buurtkamers' (12-11-2026, Utrecht)."
        in shown.text
    )
    assert "door Karin de Vries · curator" in shown.text and shown.options[0].value == f"read:{source}"
    listed = anna.say("archetypen")[0]
    assert any(o.label.startswith("Buurtkamers: Een huiskamer") for o in listed.options)
    started = anna.say("nieuw op basis van buurtkamers")[0]
    assert "(versie 1). Gebaseerd op 1 praktijkbeschrijving" in started.text
    with db.transaction() as s:
        iv = s.exec(
            select(Intervention).where(Intervention.author_id == anna.person_id, Intervention.status == "draft")
        ).one()
        assert iv.approach == ANSWERS["approach"] and s.get(ArchetypeOrigin, iv.id).version_id == version.id
    assert "Gestart vanuit het archetype 'Buurtkamers', versie 1." in anna.say("overzicht")[-1].text
    assert "Gestart vanuit het archetype 'Buurtkamers', versie 1." in anna.say(f"lees {iv.id}")[0].text
    # Someone who cannot read the source sees how many there are, not which.
    carla = Chat(db, name="Carla", external_id="U3", platform="slack", workspace="T3")
    (outside,) = carla.say("archetype buurtkamers")
    assert "1 praktijkbeschrijving" in outside.text and not outside.options
    # A source deleted is a source no more: never counted, never another description's number.
    for typed in (f"intrekken {source}", f"verwijder beschrijving {source}"):
        (ask,) = anna.say(typed)
        anna.say(action=ask.options[0].value)
    assert "Gebaseerd op 0 praktijkbeschrijvingen en de bijeenkomst" in anna.say("archetype buurtkamers")[0].text


def test_a_revision_is_the_next_version_and_earlier_versions_stay_readable(db):
    karin = curator(db, Chat(db, name="Karin de Vries", external_id="U2", platform="slack", workspace="T1"))
    source = publish(db, karin.person_id, "Klushuizen in de Schans", "public")
    karin.say("bewerk archetype klushuis")
    karin.say("overzicht")
    assert "volgende versie van het archetype 'Klushuizen' (nu versie 1)" in karin.last[-1].text
    karin.say("bewerk stap 5")
    karin.say("Bewoners kopen een opknapwoning en knappen die zelf op.")
    karin.say(f"archetype bronnen: {source}")
    karin.say("overzicht")
    assert "Versie 2" in karin.say("publiceer")[0].text
    old, new = versions(db, "klushuizen")[::-1]
    assert (old.number, new.number) == (1, 2) and new.name_en == old.name_en == "Fixer-upper homes"
    assert new.fields["approach"] == "Bewoners kopen een opknapwoning en knappen die zelf op."
    with db.transaction() as s:
        checked = [r.archetype.fields for r in archetype_records.history(s, "klushuizen")]
    assert checked[0]["situation"] == checked[1]["situation"] and checked[0]["approach"] != checked[1]["approach"]
    (first,) = karin.say("archetype klushuizen versie 1")
    assert first.title == "Klushuizen · versie 1" and "eerdere versie" in first.note and not first.actions
    assert "Meegeleverd met de bot" in first.text
    (newest,) = karin.say("archetype klushuizen")
    assert "versie 1 (" in newest.note and newest.actions[0].label == "Begin op basis hiervan"
    karin.say("nieuw op basis van klushuizen")
    with db.transaction() as s:
        (origin,) = s.exec(select(ArchetypeOrigin))
        assert origin.version_id == new.id


def test_two_curators_publishing_the_same_archetype_at_once_lose_nothing(db):
    karin = curator(db, Chat(db, name="Karin de Vries", external_id="U2", platform="slack", workspace="T1"))
    piet = curator(db, Chat(db, name="Piet Bakker", external_id="U4", platform="slack", workspace="T1"))
    source = publish(db, karin.person_id, "Klushuizen in de Schans", "public")
    for chat, approach in ((karin, "Karins aanpak."), (piet, "Piets aanpak.")):
        chat.say("bewerk archetype klushuis")
        chat.say("bewerk stap 5")
        chat.say(approach)
        chat.say(f"archetype bronnen: {source}")
    answers = {}
    start = threading.Barrier(2)

    def publish_as(chat):
        start.wait()
        answers[chat.person_id] = chat.say("publiceer")[0]

    threads = [threading.Thread(target=publish_as, args=(c,)) for c in (karin, piet)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    outcomes = sorted(reply.kind for reply in answers.values())
    assert outcomes == ["error", "info"], answers
    (refused,) = [(pid, r) for pid, r in answers.items() if r.kind == "error"]
    assert "intussen versie 2" in refused[1].text
    assert [v.number for v in versions(db, "klushuizen")] == [2, 1]
    with db.transaction() as s:  # the refused draft is kept, and now revises version 2
        (draft,) = s.exec(select(Intervention).where(Intervention.kind == "archetype"))
        assert draft.author_id == refused[0] and "aanpak" in draft.approach
    loser = karin if refused[0] == karin.person_id else piet
    assert "Versie 3" in loser.say("publiceer")[0].text
    assert [v.number for v in versions(db, "klushuizen")] == [3, 2, 1]


def test_a_version_people_started_from_is_not_removed(db):
    anna = Chat(db, name="Anna Jansen", external_id="U1", platform="slack", workspace="T1")
    karin = curator(db, Chat(db, name="Karin de Vries", external_id="U2", platform="slack", workspace="T1"))
    anna.say("nieuw op basis van buurtbeheerbedrijf")
    anna.say("pauze")
    assert "voor curatoren" in anna.say("archetype buurtbeheerbedrijf verwijder versie 1")[0].text
    (refused,) = karin.say("archetype buurtbeheerbedrijf verwijder versie 1")
    assert refused.kind == "error" and "1 beschrijving(en) zijn ermee begonnen" in refused.text
    assert "geen versie 7" in karin.say("archetype buurtbeheerbedrijf verwijder versie 7")[0].text
    (v1,) = versions(db, "buurtbeheerbedrijf")
    with pytest.raises(IntegrityError):  # the database holds the reference too
        with db.transaction() as s:
            s.exec(text("DELETE FROM archetype_version WHERE id = :id").bindparams(id=v1.id))
    # A version nobody started from goes; the archetype's earlier version is offered again.
    source = publish(db, karin.person_id, "Buurtbeheer Kruiskamp", "public")
    karin.say("bewerk archetype buurtbeheerbedrijf")
    karin.say(f"archetype bronnen: {source}")
    karin.say("publiceer")
    assert [v.number for v in versions(db, "buurtbeheerbedrijf")] == [2, 1]
    assert "is verwijderd" in karin.say("archetype buurtbeheerbedrijf verwijder versie 2")[0].text
    assert [v.number for v in versions(db, "buurtbeheerbedrijf")] == [1]
    assert "versie 1" in anna.say("archetype buurtbeheerbedrijf")[0].title
    for typed in ("bewerk archetype buurtbeheerbedrijf", "pauze", f"archetype bronnen: {source}", "publiceer"):
        karin.say(typed)
    assert [v.number for v in versions(db, "buurtbeheerbedrijf")] == [3, 1]  # 2 never means two versions
    assert "geen versie 0" in karin.say("archetype buurtbeheerbedrijf versie 0")[0].text


def test_what_a_curator_cannot_publish_gets_a_clear_answer(db):
    karin = curator(db, Chat(db, name="Karin de Vries", external_id="U2", platform="slack", workspace="T1"))
    source = publish(db, karin.person_id, "Buurtkamer", "public")
    assert "Open eerst je concept-archetype" in karin.say("archetype bronnen: 1")[0].text
    karin.say("nieuw archetype")
    karin.say("Klushuizen")  # the name of a shipped archetype
    karin.say("pauze")
    karin.say("archetype samenvatting: Nog een.")
    karin.say(f"archetype bronnen: {source}")
    (incomplete,) = [r for r in karin.say("publiceer") if r.kind == "error"]
    assert "Thema's (stap 1)" in incomplete.text and "(stap 5)" in incomplete.text
    karin.say("bewerk stap 4")  # an effect without its success criterion, which the wizard lets pass
    walk(db, karin, {**ANSWERS, "success_criterion": "overslaan"})
    (incomplete,) = [r for r in karin.say("publiceer") if r.kind == "error"]
    assert "effect 1: " in incomplete.text and "(stap 4)" in incomplete.text and "missing" not in incomplete.text
    for step in range(1, 6):  # each step edited, then back to the review
        karin.say(f"bewerk stap {step}")
        walk(db, karin, {**ANSWERS, "title": "Klushuizen"})
    taken = karin.say("publiceer")[0]
    assert "al een archetype met de naam 'Klushuizen'" in taken.text
    with db.transaction() as s:
        assert s.exec(select(Intervention).where(Intervention.kind == "archetype")).one().title == "Klushuizen"
    for typed in ("bewerk stap 1", "Buurthuizen", "overzicht"):
        karin.say(typed)
    assert "Versie 1 van het archetype 'Buurthuizen'" in karin.say("publiceer")[0].text


def test_forms_of_an_archetype_draft_leave_out_the_project_and_the_wizard_its_questions(db):
    karin = curator(db, Chat(db, name="Karin de Vries", external_id="U2", platform="slack", workspace="T1"))
    karin.say("nieuw archetype")
    with db.transaction() as s:
        iv_id = s.exec(select(Intervention.id).where(Intervention.kind == "archetype")).one()
    forms = Forms(db)
    assert [f.path for f in forms.form(karin.person_id, iv_id, 1).fields] == ["title", "themes"]
    indicator_paths = {f.path.split(".")[-1] for f in forms.form(karin.person_id, iv_id, 8).fields}
    assert "name" in indicator_paths and not indicator_paths & PROJECT_QUESTIONS
    form = forms.form(karin.person_id, iv_id, 1)
    assert forms.submit(karin.person_id, iv_id, 1, {"title": "Buurtkamers", "themes": ["wonen"]}, form.version) == {}
    with db.transaction() as s:
        assert s.get(Intervention, iv_id).themes == ["wonen"]


def test_archetypes_in_slack_teams_and_the_web_chat(db, slack, teams, make_server):
    from tests.teams_driver import texts as card_texts

    anna = slack.user("U1")
    anna.say("hallo")
    shown = texts(anna.say("archetype klushuis"))
    assert "Klushuizen · versie 1" in shown and "Meegeleverd met de bot" in shown
    assert "(versie 1)" in texts(anna.say("nieuw op basis van klushuizen"))
    assert "Gestart vanuit het archetype 'Klushuizen', versie 1." in texts(anna.say("overzicht"))
    refused = anna.command("nieuw archetype")
    assert refused.status_code == 200, refused.text

    carla = teams.user()
    carla.say("hallo")
    assert "Sloop en nieuwbouw in aandachtswijken · versie 1" in card_texts(carla.say("archetype sloop"))

    server = make_server(create_app(core=Core(Settings(database_url=db.url, _env_file=None))))
    with Browser(base_url=server.url, follow_redirects=True) as browser:
        browser.post("/start", data={"name": "Dirk"})
        page = browser.post("/say", data={"text": "archetype achter de voordeur"}).text
        assert "Achter de voordeur · versie 1" in page and "Begin op basis hiervan" in page


def test_the_migration_makes_the_shipped_archetypes_the_first_records_of_a_filled_database(db):
    with db.engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0016")
    with db.engine.begin() as conn:
        conn.execute(text("INSERT INTO organisation (id, name, is_partner, created_at) "
                          "VALUES (1, 'Woonstad', false, CURRENT_TIMESTAMP)"))  # fmt: skip
        conn.execute(text("INSERT INTO person (id, organisation_id, display_name, created_at) "
                          "VALUES (1, 1, 'Anna', CURRENT_TIMESTAMP)"))  # fmt: skip
        conn.execute(text("INSERT INTO intervention (id, organisation_id, author_id, status, title, created_at, "
                          "updated_at) VALUES (1, 1, 1, 'draft', 'Klushuizen Schans', CURRENT_TIMESTAMP, "
                          "CURRENT_TIMESTAMP)"))  # fmt: skip
    db.upgrade()
    with db.transaction() as s:
        assert s.get(Intervention, 1).kind == "description" and s.get(Intervention, 1).title == "Klushuizen Schans"
        assert len(archetype_records.current(s)) == 5
    (started, _) = Wizard(db).handle(1, Turn(text="nieuw op basis van klushuis")).replies
    assert "(versie 1)" in started.text


def test_a_curators_versions_are_in_their_export_and_stay_anonymous_when_they_are_forgotten(db):
    import json

    from tests.test_cli_and_storage import wwidw

    karin = curator(db, Chat(db, name="Karin de Vries", external_id="U2", platform="slack", workspace="T1"))
    source = publish(db, karin.person_id, "Klushuizen in de Schans", "public")
    for typed in ("bewerk archetype klushuis", "pauze", f"archetype bronnen: {source}", "publiceer"):
        karin.say(typed)
    exported = json.loads(wwidw("person", "export", str(karin.person_id), database_url=db.url).stdout)
    assert [v["number"] for v in exported["archetype versions"]] == [2]
    forgot = wwidw("person", "forget", str(karin.person_id), "--yes", database_url=db.url)
    assert "archetype versions kept, anonymous 1" in forgot.stdout
    (shown,) = Chat(db, name="Anna", external_id="U1", platform="slack", workspace="T1").say("archetype klushuis")
    assert "door (verwijderde gebruiker)" in shown.text and "Karin" not in shown.text
