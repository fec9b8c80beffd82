"""Names that imitate: hidden characters go, and look-alikes cannot pass for one another."""

from __future__ import annotations

from sqlmodel import select

from bot.monitor import resolve_owners
from bot.settings import Settings
from models import Identity, Intervention, Organisation, Person
from tests.helpers import Browser
from tests.slack_driver import texts
from wwidw.app import Core, create_app

CYRILLIC_O = "\u043e"  # о, as in "Wооnstad"
ZERO_WIDTH, RIGHT_TO_LEFT = "\u200b", "\u202e"


def test_a_workspace_cannot_take_a_name_that_looks_like_another_organisations(slack_network, fake_slack, db):
    assert slack_network.install("T1", "Woonstad Noord").status_code == 200
    assert slack_network.install("T2", "Gemeente Zuid").status_code == 200
    fake_slack.admins.add("U9")
    admin = slack_network.user("U9", "T2")
    for look_alike in (
        f"W{CYRILLIC_O}{CYRILLIC_O}nstad Noord",  # Cyrillic letters
        "Ｗｏｏｎｓｔａｄ Noord",  # full-width
        f"Woon{ZERO_WIDTH}stad Noord",  # an invisible space
        "W00nstad Noord",  # digits for letters
        "wóónstad noord",  # accents and case
    ):
        answer = admin.command(f"organisatie {look_alike}").text
        assert "sprekend op lijkt" in answer, (look_alike, answer)
    assert "hoort nu bij organisatie Woonstad Zuid" in admin.command(f"organisatie Woonstad{RIGHT_TO_LEFT} Zuid").text
    with db.transaction() as s:
        assert sorted(s.exec(select(Organisation.name))) == ["Woonstad Noord", "Woonstad Zuid"]


def test_the_web_chat_cannot_join_or_found_a_look_alike_of_a_workspaces_organisation(db, make_server):
    server = make_server(create_app(core=Core(Settings(database_url=db.url, _env_file=None))))
    with db.transaction() as s:
        s.add(Organisation(name="Woonstad Rotterdam", slack_team_id="T1"))
    web = Browser(base_url=server.url, follow_redirects=True)
    refused = web.post("/start", data={"name": "Eve", "organisation": f"W{CYRILLIC_O}onstad Rotterdam"})
    assert refused.status_code == 400 and "sprekend op lijkt" in refused.text
    joined = web.post("/start", data={"name": f"Eve{ZERO_WIDTH}{RIGHT_TO_LEFT} Smit", "organisation": "Buurtteam Oost"})
    assert joined.status_code == 200
    other = Browser(base_url=server.url, follow_redirects=True)
    other.post("/start", data={"name": "Dirk", "organisation": "Ｂuurtteam Oost"})  # the same one, full-width
    with db.transaction() as s:
        people = {p.display_name: s.get(Organisation, p.organisation_id).name for p in s.exec(select(Person))}
    assert people == {"Eve Smit": "Buurtteam Oost", "Dirk": "Buurtteam Oost"}


def test_a_slack_name_is_stored_without_hidden_characters(slack, fake_slack, db):
    fake_slack.users["U3"] = f"{RIGHT_TO_LEFT}Piet{ZERO_WIDTH} de Vries\u2066"
    assert "Hoi Piet de Vries" in texts(slack.user("U3").say("hallo"))
    with db.transaction() as s:
        assert s.exec(select(Person.display_name)).one() == "Piet de Vries"


def test_a_colleague_whose_name_imitates_another_makes_the_name_name_no_one(db):
    with db.transaction() as s:
        org = Organisation(name="Woonstad Noord")
        s.add(org)
        s.flush()
        author, anna, fake = (Person(organisation_id=org.id, display_name=n) for n in ("Bram", "Anna Jansen", "x"))
        s.add_all([author, anna, fake])
        s.flush()
        iv = Intervention(organisation_id=org.id, author_id=author.id, title="Buurtmoestuin")
        s.add(iv)
        s.flush()
        assert resolve_owners(s, iv, "anna jansen") == [anna.id]
        fake.display_name = "Аnna Jansen"  # a Cyrillic А: a second Anna Jansen to the eye
        assert resolve_owners(s, iv, "Anna Jansen") == [author.id]  # ambiguous: the author measures it
        assert resolve_owners(s, iv, "Anna") == [author.id]
        assert not s.exec(select(Identity)).all()
