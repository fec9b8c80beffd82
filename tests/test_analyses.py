"""Expert analyses (bot/analyses.py): an expert writes one part per message, publishes it, and it
shows under the description wherever the description shows, to whoever may read it and no one
else; it is searched, marked in lists, told to the author and announced in digests."""

import html
import json
from datetime import UTC, datetime, timedelta

from sqlmodel import select

from bot import roles
from bot.documents import as_dict, render_markdown
from bot.library import description_reply
from bot.settings import Settings
from bot.wizard import Wizard
from handlers.slack import modals
from handlers.teams import cards
from models import Analysis, Intervention, OutboxMessage, Person
from reminders.digests import Digests
from tests.helpers import Browser, Chat
from tests.slack_driver import texts
from tests.test_cli_and_storage import wwidw
from tests.test_digests import channel_posts, deliver, describe, sender_for, subscribed
from tests.test_library import publish
from wwidw.app import Core, create_app

DOI = "10.1177/0042098014561337"


def expert(db, chat: Chat) -> Chat:
    with db.transaction() as s:
        roles.grant(s, chat.person_id, "expert", by=None)
    return chat


def author_and_expert(db) -> tuple[Chat, Chat]:
    """Anna, who writes descriptions, and Karin, an expert of another organisation."""
    anna = Chat(db, name="Anna Jansen", external_id="U1", platform="slack", workspace="T1")
    return anna, expert(db, Chat(db, name="Karin de Vries", external_id="U9", platform="slack", workspace="T9"))


def stored(db, iv_id: int) -> list[Analysis]:
    with db.transaction() as s:
        return list(s.exec(select(Analysis).where(Analysis.intervention_id == iv_id)))


def notices(db, person_id: int) -> list[str]:
    with db.transaction() as s:
        mine = OutboxMessage.person_id == person_id
        rows = s.exec(select(OutboxMessage).where(mine, OutboxMessage.dedupe_key.like("analysis:%")))
        return [" ".join(filter(None, (r["title"], r["text"], r["note"]))) for row in rows for r in row.body["replies"]]


def analysis_section(replies):
    (reply,) = [r for r in replies if r.kind == "description"]
    return [s for s in reply.sections if s.no is None]


def written(db, karin: Chat, iv_id: int) -> None:
    """Karin's analysis, part by part, published."""
    for part in (
        "stap 3: De doelgroep is scherp omschreven.",
        "bestanddelen: Vaste gezichten in de buurt; een plek om elkaar te treffen.",
        f"onderzoek: {DOI} Bolt & Van Kempen 2015\nhttps://www.movisie.nl/artikel/ontmoeting Movisie",
        "oordeel: Goed onderbouwd; de effecten zijn aannemelijk.",
    ):
        assert karin.say(f"analyseer {iv_id} {part}")[0].kind != "error", part
    assert "gepubliceerd" in karin.say(f"analyseer {iv_id} publiceer")[0].text


def test_an_expert_writes_an_analysis_part_by_part_and_readers_see_it_once_published(db):
    anna, karin = author_and_expert(db)
    iv_id = publish(db, anna.person_id, "Buurtkamer Kruiskamp", "public", approach="Een huiskamer in de wijk.")

    (reply,) = karin.say(f"lees {iv_id}")
    assert [a.value for a in reply.actions] == [f"analyse:{iv_id}"] and "analyseer" in reply.note
    assert not anna.say(f"lees {iv_id}")[0].actions  # not an expert: nothing to analyse with
    (reply,) = karin.say(action=f"analyse:{iv_id}")
    assert reply.title == "Expertanalyse van 'Buurtkamer Kruiskamp'" and f"analyseer {iv_id} stap 3" in reply.text
    (reply,) = karin.say(f"analyseer {iv_id} oordeel: Goed onderbouwd.")
    assert "Nog nodig om te publiceren: een beoordeling van een stap" in reply.text
    assert [a.value for a in reply.actions] == [f"aform:{iv_id}"]
    (reply,) = karin.say(f"analyseer {iv_id} stap 3: De doelgroep is scherp omschreven.")
    assert reply.actions[0].value == f"analyse:{iv_id}:publish" and "concept" in reply.text
    refs = f"analyseer {iv_id} onderzoek: doi:{DOI}. Bolt & Van Kempen 2015\nhttps://www.movisie.nl/x Movisie"
    (reply,) = karin.say(refs)
    (research,) = [line.value for line in reply.sections[0].lines if line.label == "Onderzoek"]
    assert research == f"1. https://doi.org/{DOI} — Bolt & Van Kempen 2015\n2. https://www.movisie.nl/x — Movisie"
    karin.say(f"analyseer {iv_id} bestanddelen: Vaste gezichten in de buurt.")

    # A draft is the expert's alone: not under the description, not in search, not in documents.
    assert not analysis_section(anna.say(f"lees {iv_id}"))
    assert "error" in [r.kind for r in anna.say("zoek gezichten")]
    with db.transaction() as s:
        assert "Expertanalyse" not in render_markdown(s, s.get(Intervention, iv_id), "nl")

    (reply,) = karin.say(action=f"analyse:{iv_id}:publish")
    assert reply.text == "Je analyse van 'Buurtkamer Kruiskamp' is gepubliceerd. De auteur krijgt bericht."
    (told,) = notices(db, anna.person_id)
    assert "Karin de Vries · expert heeft een expertanalyse van 'Buurtkamer Kruiskamp' gepubliceerd" in told
    assert "Goed onderbouwd." in told

    (section,) = analysis_section(anna.say(f"lees {iv_id}"))
    assert section.title.startswith("Expertanalyse van Karin de Vries · expert (")
    assert [line.label for line in section.lines] == [
        "Stap 3 · Doelgroep",
        "Werkzame bestanddelen",
        "Onderzoek",
        "Oordeel",
    ]
    (found,) = anna.say("zoek gezichten")  # the analysis's words find the description
    assert found.options[0].label.endswith("· expertanalyse") and found.options[0].value == f"read:{iv_id}"
    with db.transaction() as s:
        iv = s.get(Intervention, iv_id)
        document = render_markdown(s, iv, "nl")
        data = as_dict(s, iv)
    assert "## Expertanalyse van Karin de Vries · expert" in document and f"https://doi.org/{DOI}" in document
    (exported,) = data["analyses"]
    assert exported["expert"] == "Karin de Vries" and exported["steps"] == {3: "De doelgroep is scherp omschreven."}
    assert exported["references"][0] == {"link": f"https://doi.org/{DOI}", "doi": DOI, "note": "Bolt & Van Kempen 2015"}

    # Changed after publishing: readers see it at once; the author is told only once.
    karin.say(f"analyseer {iv_id} oordeel: Sterk onderbouwd.")
    assert analysis_section(anna.say(f"lees {iv_id}"))[0].lines[-1].value == "Sterk onderbouwd."
    assert len(notices(db, anna.person_id)) == 1
    assert "al gepubliceerd" in karin.say(f"analyseer {iv_id} publiceer")[0].text
    (mine,) = karin.say("analyses")
    assert [o.label for o in mine.options] == [f"#{iv_id} Buurtkamer Kruiskamp · gepubliceerd"]

    (listed,) = [r for r in anna.say("mijn") if r.kind == "list"]
    assert listed.options[0].label.endswith("· expertanalyse")
    assert "verwijderd" in karin.say(f"analyseer {iv_id} verwijder")[0].text
    assert not analysis_section(anna.say(f"lees {iv_id}")) and not stored(db, iv_id)
    assert "error" in [r.kind for r in anna.say("zoek gezichten")]


def test_every_wrong_analysis_gets_a_clear_answer_and_changes_nothing(db):
    anna, karin = author_and_expert(db)
    public = publish(db, anna.person_id, "Buurtkamer Kruiskamp", "public")
    private = publish(db, anna.person_id, "Intern plan", "organisation")
    (reply,) = anna.say(f"analyseer {public} oordeel: Prima")
    assert reply.kind == "error" and "alleen een expert" in reply.text
    (reply,) = anna.say("analyses")
    assert reply.kind == "error" and "alleen een expert" in reply.text
    (reply,) = karin.say(f"analyseer {private} oordeel: Prima")
    assert reply.kind == "error" and f"Beschrijving {private} bestaat niet" in reply.text
    (reply,) = karin.say("analyseer 99999")
    assert reply.kind == "error" and "Beschrijving 99999 bestaat niet" in reply.text
    karin.say("nieuw")
    karin.say("pauze")
    with db.transaction() as s:
        own_draft = s.exec(select(Intervention.id).where(Intervention.author_id == karin.person_id)).one()
    assert "nog een concept" in karin.say(f"analyseer {own_draft} oordeel: x")[0].text
    assert "Je hebt nog geen analyses" in karin.say("analyses")[0].text
    assert "nog geen analyse van beschrijving" in karin.say(f"analyseer {public} publiceer")[0].text

    karin.say(f"analyseer {public} stap 2: Helder.")
    karin.say(f"analyseer {public} onderzoek: {DOI}")
    before = [(a.steps, a.references, a.judgement, a.elements) for a in stored(db, public)]
    for typed, answer in (
        (f"analyseer {public} stap 9: te ver", "Noem een stap van 1 tot 8"),
        (f"analyseer {public} stap 0: te vroeg", "Noem een stap van 1 tot 8"),
        (f"analyseer {public} oordeel: " + "x" * 3001, "hoogstens 3000 tekens"),
        (f"analyseer {public} mening: mooi", "Dat deel ken ik niet"),
        (f"analyseer {public} onderzoek: een goed boek", "een DOI (10.1000/xyz) of een link"),
        (f"analyseer {public} onderzoek: {DOI}\neen goed boek", "een DOI (10.1000/xyz) of een link"),
        (f"analyseer {public} onderzoek: javascript:alert(1)", "een DOI (10.1000/xyz) of een link"),
        (f"analyseer {public} onderzoek: https://localhost/x", "een DOI (10.1000/xyz) of een link"),
        (f"analyseer {public} onderzoek: ", "een DOI (10.1000/xyz) of een link"),
        (f"analyseer {public} onderzoek weg 5", "Dat nummer staat niet in je onderzoekslijst"),
        (f"analyseer {public} onderzoek: " + "\n".join(f"https://e.nl/{n}" for n in range(20)), "Hoogstens 20"),
        (f"analyseer {public} publiceer", "er ontbreekt een oordeel"),
    ):
        (reply,) = karin.say(typed)
        assert reply.kind == "error" and answer in reply.text, (typed, reply.text)
    assert [(a.steps, a.references, a.judgement, a.elements) for a in stored(db, public)] == before
    karin.say(f"analyseer {public} onderzoek: {DOI} nogmaals")  # the same DOI is kept once
    assert len(stored(db, public)[0].references) == 1
    karin.say(f"analyseer {public} onderzoek weg 1")
    assert stored(db, public)[0].references == []
    karin.say(f"analyseer {public} stap 2:")  # an empty assessment takes the step out
    assert stored(db, public)[0].steps == {}

    # While a question of one's own description is open, the words are its answer.
    karin.say("verder")
    karin.say(f"analyseer {public} oordeel: Titel van het concept")
    assert stored(db, public)[0].judgement is None


def in_slack(db, slack):
    """Anna and Bram in one Slack workspace, Bram an expert (given without a notice, so no message
    waits before the answers the test looks for): the two and Anna's person id."""
    anna, bram = slack.user("U1"), slack.user("U2")
    anna.say("hallo")
    bram.say("hallo")
    with db.transaction() as s:
        ids = dict(s.exec(select(Person.display_name, Person.id)).all())
        roles.grant(s, ids["Bram de Boer"], "expert", by=None)
    return anna, bram, ids["Anna Jansen"]


def test_an_expert_analyses_in_slack_and_the_author_is_told_by_direct_message(db, slack, fake_slack):
    anna, bram, anna_id = in_slack(db, slack)
    iv_id = publish(db, anna_id, "Buurtbeheer Kruiskamp", "organisation")
    message = bram.say(f"analyseer {iv_id} stap 2: Sterk onderbouwd met de wijkcijfers & enquêtes")
    assert "Opgeslagen" in texts(message)
    bram.say(f"analyseer {iv_id} onderzoek: <https://www.platform31.nl/wijk|Platform31 over wijken>")
    bram.say(f"analyseer {iv_id} oordeel: Overtuigend")
    assert "is gepubliceerd" in texts(bram.say(f"analyseer {iv_id} publiceer"))
    (a,) = stored(db, iv_id)
    assert a.steps == {"2": "Sterk onderbouwd met de wijkcijfers & enquêtes"}  # Slack's &amp; undone
    assert a.references[0]["link"] == "https://www.platform31.nl/wijk"
    before = fake_slack.last_seq
    deliver(sender_for(db, fake_slack), datetime.now(UTC))
    told = [c.args for c in fake_slack.posts(before) if c.args["channel"] in ("U1", "DU1")]
    assert any("Bram de Boer · expert heeft een expertanalyse" in texts(m) for m in told), told
    shown = texts(anna.say(f"lees {iv_id}"))
    assert "Expertanalyse van Bram de Boer · expert" in shown and "Stap 2 · " in shown


def test_the_modal_the_dialog_and_the_web_page_show_the_analysis_and_comment_only_on_steps(db, make_server):
    anna, karin = author_and_expert(db)
    iv_id = publish(db, anna.person_id, "Buurtkamer Kruiskamp", "public")
    written(db, karin, iv_id)
    (reply,) = Wizard(db).read(anna.person_id, iv_id).replies
    modal = json.dumps(modals.description_modal(reply, "nl"), ensure_ascii=False)
    assert "Expertanalyse van Karin de Vries · expert" in modal and "Vaste gezichten" in modal
    (step_select,) = [b for b in modals.description_modal(reply, "nl")["blocks"] if b.get("block_id") == "step"]
    assert len(step_select["element"]["options"]) == 8
    card = cards.description_card(reply, "nl", in_dialog=True)
    assert "Expertanalyse van Karin de Vries · expert" in json.dumps(card, ensure_ascii=False)
    (choices,) = [b for b in card["body"] if b.get("id") == "step"]
    assert len(choices["choices"]) == 8

    server = make_server(create_app(core=Core(Settings(database_url=db.url, _env_file=None))))
    visitor = Browser(base_url=server.url, follow_redirects=True)
    page = visitor.get(f"/beschrijvingen/{iv_id}").text
    assert "Expertanalyse van Karin de Vries · expert" in page and "Bolt &amp; Van Kempen 2015" in page
    assert "expertanalyse" in visitor.get("/beschrijvingen").text
    assert "expertanalyse" in visitor.get("/beschrijvingen", params={"q": "gezichten"}).text
    assert "Expertanalyse" in visitor.get(f"/beschrijvingen/{iv_id}.md").text
    assert json.loads(visitor.get(f"/beschrijvingen/{iv_id}.json").text)["analyses"][0]["judgement"]


def test_a_new_analysis_is_announced_in_the_digest(db, slack, fake_slack):
    anna_id, sub, since, due, sender = subscribed(db, slack, fake_slack, "C_LANG")
    iv_id = describe(db, anna_id, "Moestuin Sint Anna", since - timedelta(days=3))  # in an earlier digest
    karin = expert(db, Chat(db, name="Karin de Vries", external_id="U9", platform="slack", workspace="T9"))
    written(db, karin, iv_id)
    with db.transaction() as s:
        (a,) = s.exec(select(Analysis))
        a.published_at = since + timedelta(minutes=1)
        s.get(Intervention, iv_id).updated_at = due + timedelta(minutes=5)  # edited since: the next digest's
    before = fake_slack.last_seq
    Digests(db).run(due)
    deliver(sender, due)
    posted = "\n".join(texts(m) for m in channel_posts(fake_slack, "C_LANG", before))
    assert "Moestuin Sint Anna" in posted and "nieuwe expertanalyse" in posted
    assert "1 met een nieuwe expertanalyse" in posted and "1 bijgewerkt" not in posted


def test_forgetting_an_expert_keeps_published_analyses_anonymous_and_deletes_drafts(db):
    anna, karin = author_and_expert(db)
    published = publish(db, anna.person_id, "Buurtkamer Kruiskamp", "public")
    drafted = publish(db, anna.person_id, "Tweede plan", "public")
    written(db, karin, published)
    karin.say(f"analyseer {drafted} oordeel: Nog over nadenken")
    exported = json.loads(wwidw("person", "export", str(karin.person_id), database_url=db.url).stdout)
    assert sorted(a["intervention_id"] for a in exported["analyses"]) == sorted([published, drafted])
    forgot = wwidw("person", "forget", str(karin.person_id), "--yes", database_url=db.url)
    assert "draft analyses 1" in forgot.stdout and "published analyses kept, anonymous 1" in forgot.stdout
    assert not stored(db, drafted)
    (section,) = analysis_section(anna.say(f"lees {published}"))
    assert section.title.startswith("Expertanalyse van (verwijderde gebruiker) (") and "Karin" not in section.title

    # Deleting the description takes its analyses with it.
    for typed in (f"intrekken {published}", f"verwijder beschrijving {published}"):
        (ask,) = anna.say(typed)
        anna.say(action=ask.options[0].value)
    with db.transaction() as s:
        assert s.get(Intervention, published) is None
    assert not stored(db, published)


def test_an_analysis_is_seen_by_whoever_may_read_the_description_and_no_one_else(db):
    anna = Chat(db, name="Anna Jansen", external_id="U1", platform="slack", workspace="T1")
    colleague = Chat(db, name="Bram de Boer", external_id="U2", platform="slack", workspace="T1")
    outsider = Chat(db, name="Carla Smit", external_id="U3", platform="slack", workspace="T3")
    karin = expert(db, Chat(db, name="Karin de Vries", external_id="U4", platform="slack", workspace="T1"))
    iv_id = publish(db, anna.person_id, "Intern plan", "organisation")
    written(db, karin, iv_id)
    assert analysis_section(colleague.say(f"lees {iv_id}"))
    assert "error" not in [r.kind for r in colleague.say("zoek gezichten")]
    for typed in (f"lees {iv_id}", "zoek gezichten", f"analyseer {iv_id}", "analyses"):
        shown = " ".join(str(r) for r in outsider.say(typed))
        assert "Vaste gezichten in de buurt" not in shown and "Intern plan" not in shown, typed
    with db.transaction() as s:
        reply = description_reply(s, s.get(Intervention, iv_id), "nl")
    assert analysis_section([reply])


def form_values(**parts) -> dict:
    return {f"step.{no}": "" for no in range(1, 9)} | {"elements": "", "research": "", "judgement": ""} | parts


def test_an_expert_writes_the_analysis_as_a_slack_modal(db, slack, fake_slack):
    anna, bram, anna_id = in_slack(db, slack)
    iv_id = publish(db, anna_id, "Buurtbeheer Kruiskamp", "organisation")
    bram.say(f"lees {iv_id}")
    bram.click("Analyseer")
    before = fake_slack.last_seq
    bram.click("Als formulier", wait=False)  # the modal opens after the click is acknowledged
    view = fake_slack.wait_for("views.open", after=before)[-1].args["view"]
    assert view["callback_id"] == "wwidw_analysis" and json.loads(view["private_metadata"]) == {"iv": iv_id}
    paths = [b["block_id"] for b in view["blocks"] if b["type"] == "input"]
    assert paths == [f"step.{no}" for no in range(1, 9)] + ["elements", "research", "judgement", "publish"]
    wrong = bram.submit(view, {"research": "een boek zonder link", "judgement": "Overtuigend", "publish": ["1"]})
    assert wrong.json()["response_action"] == "errors" and "research" in wrong.json()["errors"]
    incomplete = bram.submit(view, {"judgement": "Overtuigend", "publish": ["1"]})
    assert "een beoordeling van een stap" in incomplete.json()["errors"]["elements"]
    assert not stored(db, iv_id)  # a form with errors stores nothing
    before = fake_slack.last_seq
    done = bram.submit(
        view, {"step.5": "Goed uitgevoerd", "research": f"https://doi.org/{DOI} Bolt", "judgement": "Overtuigend",
               "publish": ["1"]},
    )  # fmt: skip
    assert done.status_code == 200 and done.json().get("response_action") == "clear"
    (a,) = stored(db, iv_id)
    assert a.published_at and a.steps == {"5": "Goed uitgevoerd"} and a.references[0]["doi"] == DOI
    confirmation = fake_slack.wait_for("chat.postMessage", after=before, channel="U2")[-1].args
    assert "is gepubliceerd" in texts(confirmation)
    before = fake_slack.last_seq
    bram.click("Als formulier", wait=False)  # published: the form holds it, without the publish box
    again = fake_slack.wait_for("views.open", after=before)[-1].args["view"]
    fields = {b["block_id"]: b["element"] for b in again["blocks"] if b["type"] == "input"}
    assert "publish" not in fields and fields["step.5"]["initial_value"] == "Goed uitgevoerd"
    assert fields["research"]["initial_value"] == f"https://doi.org/{DOI} — Bolt"


def test_an_expert_writes_the_analysis_as_a_teams_card(db, teams):
    from bot.people import ensure_person
    from tests.teams_driver import TENANT, contents
    from tests.teams_driver import texts as card_texts

    anna, karin = teams.user(), teams.user("29:karin", "Karin de Vries")
    anna.say("hallo")
    karin.say("hallo")
    anna_id = ensure_person(db, "teams", TENANT, anna.user, "Anna de Vries")
    karin_id = ensure_person(db, "teams", TENANT, karin.user, "Karin de Vries")
    with db.transaction() as s:
        roles.grant(s, karin_id, "expert", by=None)
    iv_id = publish(db, anna_id, "Buurtbeheer Kruiskamp", "organisation")
    karin.say(f"lees {iv_id}")
    karin.click("Analyseer")  # the chat's description card has the expert's button
    (card,) = contents(karin.click("Als formulier")[-1])
    ids = [e.get("id") for e in card["body"] if e.get("id")]
    assert ids == [f"step.{no}" for no in range(1, 9)] + ["elements", "research", "judgement", "publish"]
    before = teams.connector.last_seq
    karin.click("Opslaan", {"research": "geen link", "judgement": "Overtuigend", "publish": "true"})
    (update,) = [c for c in teams.connector.calls if c.seq > before and c.kind == "update"]
    assert "een DOI (10.1000/xyz) of een link" in card_texts([update.body])
    kept = next(e for e in contents(update.body)[0]["body"] if e.get("id") == "judgement")
    assert kept["value"] == "Overtuigend" and not stored(db, iv_id)
    answer = karin.click("Opslaan", {"elements": "Vaste gezichten", "judgement": "Overtuigend", "publish": "true"})
    assert "is gepubliceerd" in card_texts(answer)
    (a,) = stored(db, iv_id)
    assert a.published_at and a.elements == "Vaste gezichten"


def test_an_expert_writes_the_analysis_on_the_web_page(db, make_server):
    server = make_server(create_app(core=Core(Settings(database_url=db.url, _env_file=None))))
    karin = Browser(base_url=server.url, follow_redirects=True)
    karin.post("/start", data={"name": "Karin de Vries", "organisation": "Universiteit Utrecht"})
    anna = Chat(db, name="Anna Jansen", external_id="U1", platform="slack", workspace="T1")
    iv_id = publish(db, anna.person_id, "Buurtkamer Kruiskamp", "public")
    assert karin.get(f"/beschrijvingen/{iv_id}/analyse").status_code == 403  # not an expert (yet)
    assert 'analyse"' not in karin.get(f"/beschrijvingen/{iv_id}").text
    with db.transaction() as s:
        karin_id = s.exec(select(Person.id).where(Person.display_name == "Karin de Vries")).one()
        roles.grant(s, karin_id, "expert", by=None)
    assert f"/beschrijvingen/{iv_id}/analyse" in karin.get(f"/beschrijvingen/{iv_id}").text
    page = karin.get(f"/beschrijvingen/{iv_id}/analyse")
    assert page.status_code == 200 and 'name="step.8"' in page.text and "Opslaan en publiceren" in page.text
    empty = karin.post(f"/beschrijvingen/{iv_id}/analyse", data=form_values())
    assert empty.status_code == 400 and "Vul ten minste één deel in" in empty.text
    wrong = karin.post(
        f"/beschrijvingen/{iv_id}/analyse", data=form_values(judgement="Sterk <b>werk</b>", research="geen link")
    )
    assert wrong.status_code == 400 and "Sterk &lt;b&gt;werk&lt;/b&gt;" in wrong.text and not stored(db, iv_id)
    saved = karin.post(
        f"/beschrijvingen/{iv_id}/analyse",
        data=form_values(**{"step.2": "Helder", "judgement": "Sterk <b>werk</b>", "publish": "1"}),
    )
    assert saved.status_code == 200 and "Expertanalyse van Karin de Vries · expert" in saved.text
    assert "Sterk &lt;b&gt;werk&lt;/b&gt;" in saved.text  # shown as typed, never as markup
    assert "Je analyse van 'Buurtkamer Kruiskamp' is gepubliceerd" in html.unescape(karin.get("/").text)  # chat too
    other = publish(db, anna.person_id, "Intern plan", "organisation")
    assert karin.get(f"/beschrijvingen/{other}/analyse").status_code == 403
    assert karin.post(f"/beschrijvingen/{other}/analyse", data=form_values(judgement="x")).status_code == 403
    assert not stored(db, other)


def test_odd_references_and_near_words_are_refused_and_store_nothing(db):
    anna, karin = author_and_expert(db)
    iv_id = publish(db, anna.person_id, "Buurtkamer Kruiskamp", "public")
    for typed in ("mening: mooi", "onderzoek: https://[x]/rapport", "onderzoek: https://[abc", "oordeelkundig"):
        (reply,) = karin.say(f"analyseer {iv_id} {typed}")
        assert reply.kind == "error", typed
    assert not stored(db, iv_id)  # a wrong first change makes no empty draft
    karin.say(f"analyseer {iv_id} oordeel: Goed")
    (reply,) = karin.say(f"analyseer {iv_id} oordeelkundig bekeken")
    assert reply.kind == "error" and stored(db, iv_id)[0].judgement == "Goed"
    karin.say(
        f"analyseer {iv_id} onderzoek: Plan\x00 (https://x.nl/plan.pdf)\nhttps://example.org/files/10.12345/r.pdf"
    )
    karin.say(f"analyseer {iv_id} stap 1: Helder")
    assert "gepubliceerd" in karin.say(f"analyseer {iv_id} publiceer")[0].text  # indexed on PostgreSQL too
    refs = stored(db, iv_id)[0].references
    assert refs == [
        {"link": "https://x.nl/plan.pdf", "doi": None, "note": "Plan"},
        {"link": "https://example.org/files/10.12345/r.pdf", "doi": None, "note": ""},
    ]


def test_an_expert_removes_their_analysis_once_the_description_or_the_role_is_gone(db):
    anna, karin = author_and_expert(db)
    first = publish(db, anna.person_id, "Geheim plan", "public")
    second = publish(db, anna.person_id, "Tweede plan", "public")
    written(db, karin, first)
    written(db, karin, second)
    with db.transaction() as s:
        s.get(Intervention, first).visibility = "organisation"  # no longer Karin's to read
        roles.revoke(s, karin.person_id, "expert")
    (listed,) = karin.say("analyses")
    labels = [o.label for o in listed.options]
    assert f"#{first} · niet meer te lezen; 'analyseer {first} verwijder' haalt je analyse weg" in labels
    assert not any("Geheim plan" in label for label in labels)
    assert "error" == karin.say(f"analyseer {second} oordeel: Anders")[0].kind  # no longer an expert
    for iv_id in (first, second):
        assert (
            karin.say(f"analyseer {iv_id} verwijder")[0].text == f"Je analyse van beschrijving {iv_id} is verwijderd."
        )
        assert not stored(db, iv_id)
    assert "error" not in [r.kind for r in anna.say(f"lees {second}")]
    assert not analysis_section(anna.say(f"lees {second}"))


def test_a_long_analysis_is_whole_in_slacks_description_modal(db):
    anna, karin = author_and_expert(db)
    iv_id = publish(db, anna.person_id, "Buurtkamer Kruiskamp", "public")
    for part, end in (("stap 2", "EINDE-A"), ("bestanddelen", "EINDE-B"), ("oordeel", "EINDE-C")):
        assert karin.say(f"analyseer {iv_id} {part}: " + "woord " * 480 + end)[0].kind != "error"
    karin.say(f"analyseer {iv_id} publiceer")
    (reply,) = Wizard(db).read(anna.person_id, iv_id).replies
    view = modals.description_modal(reply, "nl")
    shown = "".join(b["text"]["text"] for b in view["blocks"] if b.get("type") == "section")
    assert all(end in shown for end in ("EINDE-A", "EINDE-B", "EINDE-C"))
    assert all(len(b["text"]["text"]) <= 3000 for b in view["blocks"] if b.get("type") == "section")
