"""Roles in the knowledge bank (bot/roles.py): the operator gives them (`wwidw person role`), a
curator gives them to colleagues in the chat; they show in one's `profiel` and beside one's name in
what one writes, and no one names a person of another organisation."""

import json
from datetime import UTC, datetime

from sqlmodel import select

from models import OutboxMessage, PersonRole
from tests.helpers import Chat
from tests.slack_driver import texts
from tests.test_cli_and_storage import wwidw
from tests.test_digests import deliver, sender_for
from tests.test_library import publish


def roles_in_db(db, person_id: int) -> list[str]:
    with db.transaction() as s:
        return sorted(s.exec(select(PersonRole.role).where(PersonRole.person_id == person_id)))


def notices_to(db, person_id: int) -> list[str]:
    with db.transaction() as s:
        mine = OutboxMessage.person_id == person_id
        rows = s.exec(select(OutboxMessage).where(mine, OutboxMessage.dedupe_key.like("role:%")))
        return [r["text"] for row in rows for r in row.body["replies"]]


def test_the_profile_says_who_one_is_and_that_one_has_no_role_yet(db):
    anna = Chat(db, name="Anna Jansen", external_id="U1", platform="slack", workspace="T1")
    (reply,) = anna.say("profiel")
    assert reply.title == "Je profiel"
    lines = reply.text.split("\n")
    assert lines[0] == "Naam: Anna Jansen" and "Rollen: geen" in lines
    assert "Werktijden: 08:00–18:00, maandag, dinsdag, woensdag, donderdag, vrijdag" in lines
    assert "Tijdzone: Europe/Amsterdam" in lines and "curator" in reply.note
    anna.say("language en")
    (reply,) = anna.say("my profile")
    assert reply.title == "Your profile" and "Roles: none" in reply.text.split("\n")


def test_the_operator_gives_lists_and_takes_a_role(db):
    anna = Chat(db, name="Anna Jansen", external_id="U1", platform="slack", workspace="T1")
    who = str(anna.person_id)
    listed = wwidw("person", "role", who, database_url=db.url)
    assert listed.returncode == 0 and listed.stdout.strip() == f"#{who} Anna Jansen: no roles", listed.stderr
    given = wwidw("person", "role", "Anna Jansen", "expert", database_url=db.url)
    assert given.returncode == 0 and given.stdout.strip() == f"#{who} Anna Jansen is now expert", given.stderr
    again = wwidw("person", "role", who, "expert", database_url=db.url)
    assert "already; nothing changed" in again.stdout and roles_in_db(db, anna.person_id) == ["expert"]
    (notice,) = notices_to(db, anna.person_id)  # told once, by the operator
    assert "Je hebt de rol expert gekregen van de beheerder" in notice
    assert "Rollen: expert" in anna.say("profiel")[0].text
    wwidw("person", "role", who, "curator", database_url=db.url)
    assert "Rollen: expert, curator" in anna.say("profiel")[0].text
    taken = wwidw("person", "role", who, "expert", "--remove", database_url=db.url)
    assert taken.returncode == 0 and "is no longer expert" in taken.stdout
    assert roles_in_db(db, anna.person_id) == ["curator"]
    listed = wwidw("person", "role", who, database_url=db.url)
    assert listed.stdout.strip() == f"#{who} Anna Jansen: curator"


def test_a_wrong_role_command_is_one_line_and_changes_nothing(db):
    anna = Chat(db, name="Anna Jansen", external_id="U1", platform="slack", workspace="T1")
    who = str(anna.person_id)
    for args, said in (
        (("person", "role", who, "koning"), "invalid choice: 'koning'"),
        (("person", "role", "Niemand", "expert"), "no person 'Niemand'"),
        (("person", "role", who, "--remove"), "--remove needs the role"),
        (("person", "export", who, "expert"), "person export takes no role"),
    ):
        result = wwidw(*args, database_url=db.url)
        assert result.returncode != 0 and "Traceback" not in result.stderr, (args, result.stderr)
        assert said in result.stderr.splitlines()[-1], (args, result.stderr)
    assert roles_in_db(db, anna.person_id) == []


def test_only_a_curator_gives_roles_and_only_to_a_colleague(db):
    anna = Chat(db, name="Anna Jansen", external_id="U1", platform="slack", workspace="T1")
    bram = Chat(db, name="Bram de Boer", external_id="U2", platform="slack", workspace="T1")
    Chat(db, name="Bram Bos", external_id="U3", platform="slack", workspace="T1")
    karin = Chat(db, name="Karin Smit", external_id="U9", platform="slack", workspace="T9")  # elsewhere
    (reply,) = bram.say("rol expert Anna Jansen")
    assert reply.kind == "error" and "alleen een curator" in reply.text
    assert roles_in_db(db, anna.person_id) == []
    wwidw("person", "role", str(anna.person_id), "curator", database_url=db.url)
    for typed, answer in (
        ("rol expert Karin Smit", "Ik vind niemand die 'Karin Smit' heet in je organisatie"),
        ("rol expert Bram", "Ik vind niemand die 'Bram' heet"),  # two colleagues are called Bram
        ("rol expert", "Noem de rol en de collega"),
        ("rol koning Bram de Boer", "Noem de rol en de collega"),
    ):
        (reply,) = anna.say(typed)
        assert reply.kind == "error" and answer in reply.text, (typed, reply.text)
    assert roles_in_db(db, karin.person_id) == [] and roles_in_db(db, bram.person_id) == []
    (reply,) = anna.say("rol expert Bram de Boer")
    assert reply.text == "Bram de Boer is nu expert. Ik heb het Bram de Boer laten weten."
    assert reply.about == [bram.person_id]  # forgetting Bram rewrites his name here
    (notice,) = notices_to(db, bram.person_id)
    assert notice.startswith("Je hebt de rol expert gekregen van Anna Jansen.")
    (reply,) = anna.say("rol expert bram de boer")
    assert "is al expert; er is niets veranderd" in reply.text and len(notices_to(db, bram.person_id)) == 1
    (reply,) = anna.say("rol weg expert Bram de Boer")
    assert reply.text == "Bram de Boer is geen expert meer." and roles_in_db(db, bram.person_id) == []
    (reply,) = anna.say("rol weg expert Bram de Boer")
    assert "was geen expert; er is niets veranderd" in reply.text
    (reply,) = anna.say("rol expert Anna Jansen")
    assert reply.text == "Je bent nu expert." and roles_in_db(db, anna.person_id) == ["curator", "expert"]


def test_a_role_command_while_answering_a_question_is_an_answer(db):
    anna = Chat(db, name="Anna Jansen", external_id="U1", platform="slack", workspace="T1")
    wwidw("person", "role", str(anna.person_id), "curator", database_url=db.url)
    Chat(db, name="Bram de Boer", external_id="U2", platform="slack", workspace="T1")
    anna.say("nieuw")
    replies = anna.say("Rol expert Bram de Boer")  # the title of a new description
    assert "error" not in [r.kind for r in replies]
    assert anna.say("overzicht")[0].sections[0].lines[0].value == "Rol expert Bram de Boer"
    with db.transaction() as s:
        assert not s.exec(select(PersonRole).where(PersonRole.role == "expert")).all()


def test_a_curator_gives_a_role_in_slack_and_it_shows_beside_the_experts_comments(db, slack, fake_slack):
    anna, bram = slack.user("U1"), slack.user("U2")
    anna.say("hallo")
    bram.say("hallo")
    with db.transaction() as s:
        from models import Person

        anna_id = s.exec(select(Person.id).where(Person.display_name == "Anna Jansen")).one()
        bram_id = s.exec(select(Person.id).where(Person.display_name == "Bram de Boer")).one()
    wwidw("person", "role", "slack:T1:U1", "curator", database_url=db.url)
    assert "Je hebt de rol curator gekregen van de beheerder" in " ".join(notices_to(db, anna_id))
    message = anna.say("rol expert Bram de Boer")
    assert "Bram de Boer is nu expert" in texts(message) and roles_in_db(db, bram_id) == ["expert"]
    before = fake_slack.last_seq
    deliver(sender_for(db, fake_slack), datetime.now(UTC))
    told = [c.args for c in fake_slack.posts(before) if c.args["channel"] in ("U2", "DU2")]
    assert any("Je hebt de rol expert gekregen van Anna Jansen" in texts(m) for m in told), told
    iv_id = publish(db, anna_id, "Buurtbeheer Kruiskamp", "organisation")
    message = bram.say(f"reageer {iv_id} stap 2: Sterk onderbouwd met de wijkcijfers")
    assert "error" not in str(message.get("blocks"))
    message = anna.say(f"lees {iv_id}")
    assert "Reactie van Bram de Boer · expert" in texts(message)
    with db.transaction() as s:
        notice = s.exec(select(OutboxMessage).where(OutboxMessage.dedupe_key.like("comment:%"))).one()
        assert notice.person_id == anna_id and "Bram de Boer · expert" in json.dumps(notice.body, ensure_ascii=False)
    assert "Rollen: expert" in texts(bram.say("profiel"))


def test_the_export_holds_ones_roles_and_forgetting_takes_them(db):
    anna = Chat(db, name="Anna Jansen", external_id="U1", platform="slack", workspace="T1")
    who = str(anna.person_id)
    wwidw("person", "role", who, "expert", database_url=db.url)
    exported = json.loads(wwidw("person", "export", who, database_url=db.url).stdout)
    assert [r["role"] for r in exported["roles"]] == ["expert"] and exported["roles"][0]["granted_by"] is None
    forgot = wwidw("person", "forget", who, "--yes", database_url=db.url)
    assert forgot.returncode == 0 and "roles 1" in forgot.stdout, forgot.stderr
    assert roles_in_db(db, anna.person_id) == []


def test_an_experts_description_carries_the_role_in_its_document(db):
    karin = Chat(db, name="Karin de Vries", external_id="U1", platform="slack", workspace="T1")
    iv_id = publish(db, karin.person_id, "Buurtbeheer Kruiskamp", "organisation")
    wwidw("person", "role", str(karin.person_id), "expert", database_url=db.url)
    document = wwidw("export", str(iv_id), database_url=db.url)
    assert document.returncode == 0 and "Karin de Vries · expert" in document.stdout, document.stderr
    karin.say("language en")
    karin.say(f"open {iv_id}")
    (reply,) = [r for r in karin.say("export") if r.kind == "export"]
    assert "Karin de Vries · expert" in reply.document


def test_two_curators_giving_one_role_at_once_store_it_once(db):
    import threading

    from bot import roles

    bram = Chat(db, name="Bram de Boer", external_id="U2", platform="slack", workspace="T1")
    first_in, results, errors = threading.Event(), [], []

    def give(hold: bool) -> None:
        try:
            with db.transaction() as s:
                results.append(roles.grant(s, bram.person_id, "expert", by=None))
                if hold:
                    first_in.set()
                    threading.Event().wait(0.3)  # the other grant arrives while this one is open
        except Exception as error:  # noqa: BLE001 - the test reports any failure below
            errors.append(error)

    first = threading.Thread(target=give, args=(True,))
    first.start()
    assert first_in.wait(10)
    second = threading.Thread(target=give, args=(False,))
    second.start()
    first.join(10)
    second.join(10)
    assert not errors and sorted(results) == [False, True]
    assert roles_in_db(db, bram.person_id) == ["expert"]
