"""The AVG's rights for one person: an export of everything stored about them, and forgetting
them so that nothing names them any more, while what they shared stays, anonymous."""

import json
import re

from sqlalchemy import MetaData
from sqlalchemy import select as sa_select
from sqlmodel import select

from bot import privacy
from bot.names import naming
from bot.people import ensure_person
from bot.replies import reply_to_dict
from bot.values import owners_shown
from models import (
    ChatMessage,
    Comment,
    Conversation,
    Identity,
    Indicator,
    IndicatorOwner,
    Intervention,
    Measurement,
    OutboxMessage,
    Person,
)
from models.tables import utcnow
from tests.helpers import FULL_WALK, Chat
from tests.test_cli_and_storage import wwidw

NAME, SLACK_ID = "Anna Jansen", "U0ANNA77"


def walk(chat, **instead):
    chat.say("nieuw")
    for answer in FULL_WALK:
        chat.say(instead.get(answer, answer))
    chat.say("publiceer")


def everything_stored(db) -> str:
    """Every value of every row of every table, as text: what a grep of the database sees (the
    tables of slack_sdk's installation store too)."""
    tables = MetaData()
    tables.reflect(db.engine)
    with db.engine.connect() as conn:
        rows = [found for table in tables.sorted_tables for found in conn.execute(sa_select(table))]
    return "\n".join(" ".join(str(v) for v in found) for found in rows)


def anna_and_karin(db):
    anna = Chat(db, name=NAME, external_id=SLACK_ID, platform="slack", workspace="T1")
    karin = Chat(db, name="Karin de Boer", external_id="U0KARIN1", platform="slack", workspace="T1")
    walk(anna)  # published, indicator measured by "ik"
    walk(karin, **{"ik": "Karin de Boer, Anna Jansen"})  # Anna measures with Karin
    anna.say("nieuw")
    anna.say("Mijn geheime concept")
    anna.say("pauze")
    anna.say("reageer 2 stap 2: Goed onderbouwd")  # Karin is told, by name
    with db.transaction() as s:
        ind = s.exec(select(Indicator).where(Indicator.intervention_id == 1)).one()
        s.add(
            Measurement(
                indicator_id=ind.id,
                period_start=utcnow().date(),
                period_end=utcnow().date(),
                value=6,
                entered_by=anna.person_id,
            )
        )
        web = s.exec(select(Identity).where(Identity.person_id == anna.person_id)).one()
        s.add(ChatMessage(identity_id=web.id, sender="user", body={"text": "hallo, ik ben Anna Jansen"}))
    return anna, karin


def test_an_export_holds_everything_about_the_person(db):
    anna, _ = anna_and_karin(db)
    with db.transaction() as s:
        (person,) = privacy.find(s, f"slack:T1:{SLACK_ID}")
        assert privacy.find(s, NAME) == [person] and privacy.find(s, str(person.id)) == [person]
        data = json.loads(json.dumps(privacy.export(s, person)))  # plain JSON all the way
    assert data["person"]["display_name"] == NAME and data["identities"][0]["external_id"] == SLACK_ID
    assert {d["status"] for d in data["descriptions"]} == {"published", "draft"}
    assert data["comments"][0]["body"] == "Goed onderbouwd" and data["measurements"][0]["value"] == 6
    assert {i["intervention_id"] for i in data["indicators_measured"]} == {1, 2}
    assert data["web_chat"][0]["body"]["text"] == "hallo, ik ben Anna Jansen"


def test_forgetting_leaves_no_personal_data_and_keeps_what_was_shared(db):
    anna, karin = anna_and_karin(db)
    assert NAME in everything_stored(db) and SLACK_ID in everything_stored(db)
    with db.transaction() as s:
        done = privacy.forget(s, s.get(Person, anna.person_id), "Europe/Amsterdam", "nl")
    assert done["drafts deleted"] == 1 and done["published descriptions kept, anonymous"] == 1
    assert done["comments kept, anonymous"] == 1 and done["measurements kept, anonymous"] == 1
    stored = everything_stored(db)
    for trace in (NAME, "Anna", SLACK_ID, "Mijn geheime concept"):
        assert trace not in stored, trace
    with db.transaction() as s:
        iv = s.get(Intervention, 1)
        assert iv.status == "published" and s.get(Person, iv.author_id).display_name == privacy.FORGOTTEN
        assert s.exec(select(Comment)).one().body == "Goed onderbouwd"
        karins = s.exec(select(Indicator).where(Indicator.intervention_id == 2)).one()
        assert karins.owner == "Karin de Boer"
    # The same Slack user coming back is someone new: nothing of the old one is theirs again.
    again = ensure_person(db, "slack", "T1", SLACK_ID, NAME)
    assert again != anna.person_id
    karin.say("lees 1")  # what Anna shared is still there to read
    assert "Buurtmoestuin Kruiskamp" in karin.texts() and "error" not in karin.kinds()


def test_the_operator_exports_and_forgets_a_person_in_one_command(db):
    anna, _ = anna_and_karin(db)
    exported = wwidw("person", "export", f"slack:T1:{SLACK_ID}", database_url=db.url)
    assert exported.returncode == 0, exported.stderr
    assert json.loads(exported.stdout)["person"]["display_name"] == NAME
    unsure = wwidw("person", "forget", NAME, database_url=db.url)
    assert unsure.returncode == 1 and unsure.stderr.count("\n") == 1 and "--yes" in unsure.stderr
    assert NAME in everything_stored(db)  # nothing happened without --yes
    nobody = wwidw("person", "forget", "Niemand", "--yes", database_url=db.url)
    assert nobody.returncode == 1 and nobody.stderr.count("\n") == 1
    forgot = wwidw("person", "forget", str(anna.person_id), "--yes", database_url=db.url)
    assert forgot.returncode == 0 and "drafts deleted 1" in forgot.stdout, forgot.stderr
    assert NAME not in everything_stored(db)


def test_forgetting_rewrites_only_the_messages_about_them_and_only_their_name(db):
    anna = Chat(db, name="Anna", external_id="U0ANNA01", platform="slack", workspace="T1")
    karin = Chat(db, name="Karin de Boer", external_id="U0KARIN1", platform="slack", workspace="T1")
    walk(karin)
    anna.say("reageer 1 stap 2: Goed onderbouwd")  # Karin is told "Anna reageerde …"
    annabel = ensure_person(db, "web", "", "browser-of-annabel", "Annabel")  # of no organisation of Anna's
    letter = ensure_person(db, "web", "", "browser-of-a", "A")
    other = {"text": "Hallo Annabel! Anna van Woonstad deelde iets.", "kind": "info", "about": []}
    about_letter = {"text": "A heeft 'Aantal' niet ingevuld.", "title": "A B", "kind": "info", "about": [letter]}
    with db.transaction() as s:
        web = s.exec(select(Identity).where(Identity.person_id == annabel)).one()
        s.add(ChatMessage(identity_id=web.id, sender="bot", body=other))
        s.add(ChatMessage(identity_id=web.id, sender="bot", body=about_letter | {"about": []}))
        s.add(ChatMessage(identity_id=web.id, sender="bot", body=about_letter))
    with db.transaction() as s:
        privacy.forget(s, s.get(Person, anna.person_id), "Europe/Amsterdam", "nl")
        privacy.forget(s, s.get(Person, letter), "Europe/Amsterdam", "nl")
    with db.transaction() as s:
        notice = s.exec(select(OutboxMessage).where(OutboxMessage.person_id == karin.person_id)).one()
        (reply,) = notice.body["replies"]
        assert reply["text"].startswith("(verwijderde gebruiker) reageerde") and "Anna" not in reply["text"]
        kept, unrelated, rewritten = [m.body for m in s.exec(select(ChatMessage).order_by(ChatMessage.id))]
    assert kept == other  # "Annabel" and another Anna, in a message about neither, stay as written
    assert unrelated == about_letter | {"about": []}  # a one-letter name touches nothing else
    assert set(rewritten) == set(about_letter)  # the keys are keys still
    assert rewritten["text"] == "(verwijderde gebruiker) heeft 'Aantal' niet ingevuld."
    assert rewritten["title"] == "(verwijderde gebruiker) B"


def test_an_owner_written_with_en_shows_each_name(db):
    karin = Chat(db, name="Karin de Boer", external_id="U0KARIN1", platform="slack", workspace="T1")
    walk(karin, **{"ik": "Piet en ik"})
    karin.say("lees 1")
    assert "Piet en Karin de Boer" in str([r.sections for r in karin.last])
    assert owners_shown("Piet, ik", "Karin") == "Piet, Karin" and owners_shown("Piet & ik", "K") == "Piet & K"


def test_forgetting_rewrites_exactly_where_a_reply_names_them(db):
    anna = Chat(db, name="Anna", external_id="U0ANNA01", platform="slack", workspace="T1")
    piet = Chat(db, name="Piet Bakker", external_id="U0PIET01", platform="slack", workspace="T1")
    Chat(db, name="Anna de Vries", external_id="U0ANNA02", platform="slack", workspace="T1")
    karin = Chat(db, name="Karin de Boer", external_id="U0KARIN1", platform="slack", workspace="T1")
    owners = "Anna, Anna de Vries en Piet"  # Piet by a first name no colleague shares
    walk(karin, **{"Buurtmoestuin Kruiskamp": "Moestuin Sint Anna", "ik": owners})
    anna.say("reageer 1 stap 2: Goed onderbouwd")
    with db.transaction() as s:
        s.get(Person, anna.person_id).unreachable_since = utcnow()  # her indicator is paused
    shown = [*karin.say("lees 1"), *karin.say("indicatoren")]
    assert "Anna, Anna de Vries en Piet" in str(shown) and "gepauzeerd: Anna" in str(shown)
    assert not re.search("[\ue000-\uf8ff]", str(shown))  # the marks of whom it names never show
    legacy = {"text": "Anna reageerde op 'Moestuin Sint Anna'.", "kind": "info"}  # before replies said whom
    with db.transaction() as s:
        slack = s.exec(select(Identity).where(Identity.person_id == karin.person_id)).one()
        for body in [*map(reply_to_dict, shown), legacy]:
            s.add(ChatMessage(identity_id=slack.id, sender="bot", body=body))
    with db.transaction() as s:
        privacy.forget(s, s.get(Person, anna.person_id), "Europe/Amsterdam", "en")  # Karin chose no language
        privacy.forget(s, s.get(Person, piet.person_id), "Europe/Amsterdam", "en")
        assert s.exec(select(Indicator).where(Indicator.intervention_id == 1)).one().owner == "Anna de Vries"
        stored = [m.body for m in s.exec(select(ChatMessage).order_by(ChatMessage.id))]
    *replies, old = stored
    text = json.dumps(replies, ensure_ascii=False)
    assert "Moestuin Sint Anna" in text and "Anna de Vries" in text and "(deleted user), Anna de Vries en" in text
    assert not re.search(r"\bPiet\b|\bAnna\b(?! de Vries)", text.replace("Sint Anna", ""))
    assert "gepauzeerd: (deleted user)" in text and "Reactie van (deleted user)" in text
    assert old["text"] == "(deleted user) reageerde op 'Moestuin Sint (deleted user)'."  # whole words, no more known


def stored_for(db, chat, replies) -> None:
    """What a web transcript keeps of replies shown to `chat`."""
    with db.transaction() as s:
        identity = s.exec(select(Identity).where(Identity.person_id == chat.person_id)).one()
        for reply in replies:
            s.add(ChatMessage(identity_id=identity.id, sender="bot", body=reply_to_dict(reply)))


def transcripts(db) -> str:
    with db.transaction() as s:
        return json.dumps([m.body for m in s.exec(select(ChatMessage))], ensure_ascii=False)


def test_a_name_written_otherwise_or_changed_since_is_rewritten_where_it_was_shown(db):
    anais = Chat(db, name="Anaïs Dubois", external_id="U0ANAIS1", platform="slack", workspace="T1")
    jan = Chat(db, name="jdevries", external_id="U0JAN0001", platform="slack", workspace="T1")
    karin = Chat(db, name="Karin de Boer", external_id="U0KARIN1", platform="slack", workspace="T1")
    walk(karin, **{"ik": "anais en ik"})  # no accent, no capital: her all the same
    jan.say("reageer 1 stap 2: Goed onderbouwd")
    stored_for(db, karin, karin.say("lees 1"))
    with db.transaction() as s:
        s.get(Person, jan.person_id).display_name = "Jan de Vries"  # his Slack profile, changed since
    with db.transaction() as s:
        privacy.forget(s, s.get(Person, anais.person_id), "Europe/Amsterdam", "nl")
        privacy.forget(s, s.get(Person, jan.person_id), "Europe/Amsterdam", "nl")
        notice = s.exec(select(OutboxMessage).where(OutboxMessage.person_id == karin.person_id)).one().body
    assert "anais" not in transcripts(db) and "jdevries" not in transcripts(db)
    assert notice["replies"][0]["text"].startswith("(verwijderde gebruiker) reageerde")


def test_a_first_name_that_meant_them_stays_theirs_when_a_colleague_of_that_name_comes(db):
    karin = Chat(db, name="Karin Smit", external_id="U0KARINA", platform="slack", workspace="T1")
    anna = Chat(db, name="Anna Jansen", external_id="U0ANNA01", platform="slack", workspace="T1")
    walk(anna, **{"ik": "Karin"})  # the only Karin then
    other = Chat(db, name="Karin de Boer", external_id="U0KARINB", platform="slack", workspace="T1")
    with db.transaction() as s:
        privacy.forget(s, s.get(Person, karin.person_id), "Europe/Amsterdam", "nl")
    with db.transaction() as s:
        ind = s.exec(select(Indicator)).one()
        owners = list(s.exec(select(IndicatorOwner.person_id).where(IndicatorOwner.indicator_id == ind.id)))
    assert ind.owner is None and owners == [anna.person_id] and other.person_id not in owners  # the author's now


def test_forgetting_leaves_their_name_in_no_list_offered_to_choose_from(db):
    anna = Chat(db, name="Anna Jansen", external_id="U0ANNA01", platform="slack", workspace="T1")
    karin = Chat(db, name="Karin de Boer", external_id="U0KARIN1", platform="slack", workspace="T1")
    walk(karin, **{"ik": "Anna Jansen"})
    with db.transaction() as s:
        s.get(Person, anna.person_id).unreachable_since = utcnow()
    assert "gepauzeerd: Anna Jansen" in str(karin.say("indicatoren"))
    with db.transaction() as s:
        privacy.forget(s, s.get(Person, anna.person_id), "Europe/Amsterdam", "nl")
        offered = s.exec(select(Conversation).where(Conversation.person_id == karin.person_id)).one().offered
    assert "Anna" not in json.dumps(offered) and "(verwijderde gebruiker)" in json.dumps(offered)


def test_a_typed_mark_names_no_one(db):
    anna = Chat(db, name="Anna Jansen", external_id="U0ANNA01", platform="slack", workspace="T1")
    karin = Chat(db, name="Karin de Boer", external_id="U0KARIN1", platform="slack", workspace="T1")
    walk(karin, **{"Buurtmoestuin Kruiskamp": "Tuin " + naming(anna.person_id, "Zonnebloem")})
    shown = karin.say("lees 1")
    assert shown[0].title == "Tuin Zonnebloem" and anna.person_id not in shown[0].about  # typed, no mark
