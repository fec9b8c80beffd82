"""Microsoft Teams end to end: signed activities in, Adaptive Cards out, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import select

from bot.people import ensure_person
from models import Identity, Intervention, Measurement, Person, Subscription, TeamsConversation
from reminders.digests import Digests
from reminders.engine import Engine
from reminders.outbox import OutboxSender
from reminders.runner import unreachable_handler
from tests.helpers import FULL_WALK
from tests.monitoring import published
from tests.teams_driver import APP_ID, BOT, TENANT, actions, contents, texts

DUE = datetime(2027, 1, 29, 8, 30, tzinfo=UTC)  # the January reminder of a monthly indicator


def people(db) -> int:
    with db.transaction() as s:
        return len(s.exec(select(Person)).all())


def test_only_activities_with_a_valid_token_for_this_bot_are_acted_on(db, teams):
    anna = teams.user()
    activity = anna.activity(text="hallo")
    sender, identity = teams.sender, teams.identity
    refused = {
        "no token": sender.post(activity, token=None),
        "expired": sender.post(activity, token=identity.token(APP_ID, teams.connector.url, expires_in=-600)),
        "another bot": sender.post(activity, token=identity.token("another-app", teams.connector.url)),
        "another issuer": sender.post(
            activity, token=identity.token(APP_ID, teams.connector.url, issuer="https://evil.example")
        ),
        "another serviceUrl": sender.post(activity, token=identity.token(APP_ID, "https://evil.example/")),
        "unknown key": sender.post(
            activity, token=identity.token(APP_ID, teams.connector.url, kid=identity.add_key(False))
        ),
    }
    assert {name: r.status_code for name, r in refused.items()} == {
        "no token": 401, "expired": 401, "another bot": 403, "another issuer": 401,
        "another serviceUrl": 403, "unknown key": 401,
    }  # fmt: skip
    assert people(db) == 0 and teams.connector.activities_sent() == []
    assert sender.post(activity).status_code == 200
    assert "Anna de Vries" in texts([c.body for c in teams.connector.activities_sent()])
    bad = teams.sender.http.post("/api/messages", content=b"{not json", headers={"Authorization": "Bearer x"})
    assert bad.status_code == 401  # the token first, even for a body that is not an activity


def test_installing_the_app_greets_and_keeps_the_conversation(db, teams):
    anna = teams.user()
    update = anna.activity(type="conversationUpdate", membersAdded=[{"id": BOT}])
    update.pop("text", None)
    cards = anna.send(update)
    assert "Welkom" in texts(cards) or "Hoi" in texts(cards)
    again = anna.send({**update, "id": update["id"]})  # the same activity delivered twice
    assert again == []
    with db.transaction() as s:
        (ref,) = s.exec(select(TeamsConversation)).all()
        assert (ref.conversation_id, ref.kind, ref.tenant_id) == (anna.chat, "personal", TENANT)
        identity = s.exec(select(Identity).where(Identity.platform == "teams")).one()
        assert (identity.workspace, identity.external_id, ref.person_id) == (TENANT, anna.user, identity.person_id)


def test_the_whole_wizard_in_a_personal_chat(db, teams):
    anna = teams.user()
    assert "Nieuwe beschrijving" in texts(anna.say("hallo"))
    cards = anna.click("Nieuwe beschrijving")
    assert "Wat is de titel" in texts(cards)
    for answer in FULL_WALK:
        cards = anna.say(answer)
    assert "Dit is het overzicht van je concept" in texts(cards)
    cards = anna.click("Publiceren")
    assert "Gepubliceerd!" in texts(cards)
    with db.transaction() as s:
        iv = s.exec(select(Intervention)).one()
        assert (iv.status, iv.title, iv.visibility) == ("published", "Buurtmoestuin Kruiskamp", "partners")
    assert not teams.connector.violations


def test_choices_are_buttons_and_navigation_works(db, teams):
    anna = teams.user()
    anna.say("nieuw")
    for answer in FULL_WALK[:6]:
        anna.say(answer)
    cards = anna.say("terug")
    assert "Wanneer eindigt de interventie" in texts(cards)
    anna.say("31-12-2028")
    cards = anna.click("Lopend")  # project status: an option as a button
    assert "thema" in texts(cards).lower()
    picker = next(e for c in cards for content in contents(c) for e in content["body"] if e.get("id") == "opts")
    wanted = ",".join(choice["value"] for choice in picker["choices"][:2])
    cards = anna.click("OK", {"opts": wanted})
    with db.transaction() as s:
        iv = s.exec(select(Intervention)).one()
        assert iv.project_status == "lopend" and len(iv.themes) == 2
    # An old button (the status question's) changes nothing now.
    assert "Die knop hoort bij een eerdere vraag" in texts(anna.click("Lopend"))
    with db.transaction() as s:
        assert s.exec(select(Intervention)).one().project_status == "lopend"


def test_a_step_as_a_form_card_with_errors_from_the_server(db, teams):
    anna = teams.user()
    anna.say("hallo")
    cards = anna.say("formulier")
    form = contents(cards[-1])[0]
    ids = [e.get("id") for e in form["body"] if e.get("id")]
    assert {"title", "neighbourhood", "start_date", "themes"} <= set(ids)
    title = next(e for e in form["body"] if e.get("id") == "title")
    assert title["type"] == "Input.Text" and title.get("maxLength") == 150
    before = teams.connector.last_seq
    anna.click("Bewaar en verder", {"title": "Buurtmoestuin", "start_date": "2027-03-01", "end_date": "2027-01-01"})
    (update,) = [c for c in teams.connector.calls if c.seq > before and c.kind == "update"]
    shown = texts([update.body])
    assert "Deze datum ligt na 1-1-2027" in shown  # the dates' order, beside the field
    kept = next(e for e in contents(update.body)[0]["body"] if e.get("id") == "title")
    assert kept["value"] == "Buurtmoestuin"  # the card comes back with what was typed
    with db.transaction() as s:
        assert s.exec(select(Intervention)).one().title is None  # nothing stored from a form with errors
    cards = anna.click(
        "Bewaar en verder",
        {
            "title": "Buurtmoestuin",
            "neighbourhood": "Kruiskamp",
            "municipality": "Amersfoort",
            "start_date": "2027-03-01",
        },
    )
    assert "Stap 2 van 8" in texts(cards)
    with db.transaction() as s:
        iv = s.exec(select(Intervention)).one()
        assert (iv.title, iv.neighbourhood, str(iv.start_date)) == ("Buurtmoestuin", "Kruiskamp", "2027-03-01")
    # Typed numbers are checked in the card already (and by the server again).
    budget = next(e for e in contents(anna.say("formulier 7")[-1])[0]["body"] if e.get("id") == "budget")
    assert budget["regex"] and "geen getal" in budget["errorMessage"]


def teams_sender(db, teams) -> OutboxSender:
    return OutboxSender(db, {"teams": teams.transport()}, workers=2, on_unreachable=unreachable_handler(Engine(db)))


def test_a_reminder_is_answered_from_its_card(db, teams):
    anna = teams.user()
    anna.send(anna.activity(text="hallo", localTimezone="Europe/London"))
    anna.send(anna.activity(text="hallo", localTimezone="Mars/Olympus_Mons"))  # not a zone: ignored
    anna.say("hallo")
    anna_id = ensure_person(db, "teams", TENANT, anna.user, "Anna")
    published(db, anna_id, [{"remind_day": 29, "name": "Bezoekers", "baseline": 10, "target": 40}])
    assert Engine(db).run(DUE) == 0  # 09:30 in Amsterdam, but only 08:30 in London: not yet
    Engine(db).run(DUE + timedelta(hours=1))
    before = teams.connector.last_seq
    teams_sender(db, teams).drain(DUE + timedelta(hours=1))
    (sent,) = teams.connector.activities_sent(after=before)
    reminder = sent.body
    with db.transaction() as s:
        assert s.get(Person, anna_id).timezone == "Europe/London"  # 09:00 in London, not in Amsterdam
    shown = texts([reminder])
    assert "Bezoekers" in shown and "januari 2027" in shown
    assert [a["title"] for a in actions(contents(reminder)[0])][:2] == ["Bewaar", "Later"]
    cards = anna.click("Bewaar", {"value": "400", "note": ""})  # ten times the baseline: asks first
    cards = anna.click("Bewaar", {"value": "25", "note": "na de zomer"})
    assert "25" in texts(cards)
    with db.transaction() as s:
        (m,) = s.exec(select(Measurement)).all()
        assert (m.value, m.note) == (25.0, "na de zomer")


def test_a_blocked_person_pauses_and_the_coordinator_is_told(db, teams):
    anna, bram = teams.user(), teams.user("29:bram", "Bram Bakker")
    anna.say("hallo")
    bram.say("hallo")
    anna_id = ensure_person(db, "teams", TENANT, anna.user, "Anna")
    bram_id = ensure_person(db, "teams", TENANT, bram.user, "Bram")
    published(db, anna_id, [{"remind_day": 29, "name": "Bezoekers", "owner": "Bram"}])
    teams.connector.blocked.add(bram.chat)
    Engine(db).run(DUE)
    sender = teams_sender(db, teams)
    sender.drain(DUE)
    sender.drain(DUE + timedelta(seconds=5))
    with db.transaction() as s:
        assert s.get(Person, bram_id).unreachable_reason == "teams: MessageWritesBlocked"
    told = [c.body for c in teams.connector.activities_sent() if c.conversation_id == anna.chat]
    assert "Bram" in texts(told[-1:])


def test_a_429_is_answered_once_later(db, teams):
    anna = teams.user()
    anna.say("hallo")
    anna_id = ensure_person(db, "teams", TENANT, anna.user, "Anna")
    published(db, anna_id, [{"remind_day": 29, "name": "Bezoekers"}])
    Engine(db).run(DUE)
    teams.connector.fail("send", 429, headers={"Retry-After": "3"})
    sender = teams_sender(db, teams)
    before = teams.connector.last_seq
    sender.drain(DUE)
    assert teams.connector.activities_sent(after=before) == []
    sender.drain(DUE + timedelta(seconds=1))  # Retry-After not yet over
    assert teams.connector.activities_sent(after=before) == []
    sender.drain(DUE + timedelta(seconds=4))
    assert len(teams.connector.activities_sent(after=before)) == 1


def test_a_digest_page_of_several_cards_stays_in_one_thread_and_a_429_repeats_nothing(db, teams):
    from bot.messages import channel_message
    from bot.replies import Choice, Reply

    anna = teams.user()
    channel = "19:wijkteam@thread.tacv2"
    data = {"tenant": {"id": TENANT}, "channel": {"id": channel, "name": "Wijkteam"}, "team": {"id": "19:t"}}
    teams.sender.post(anna.activity(conversation=channel, kind="channel", text="kanaal abonneer", channelData=data))
    page = [Reply(kind="digest", title="Digest", text="Nieuw en bijgewerkt")] + [
        Reply(kind="digest_item", title=f"Project {n}", text="x" * 900, actions=[Choice("Lees", f"read:{n}")])
        for n in range(60)
    ]
    with db.transaction() as s:
        sub = s.exec(select(Subscription)).one()
        s.add(channel_message(sub, "groot", page, DUE))
    sender = teams_sender(db, teams)
    sender.drain(DUE)  # the confirmation of the subscription
    before = teams.connector.last_seq

    def busy_after_the_first_card(call):
        if call.kind == "send" and call.seq == before + 1:
            teams.connector.fail("send", 429, headers={"Retry-After": "3"})

    teams.connector.listener = busy_after_the_first_card
    sender.drain(DUE + timedelta(seconds=2))
    assert len(teams.connector.activities_sent(after=before)) == 1
    sender.drain(DUE + timedelta(seconds=6))
    first, *rest = teams.connector.activities_sent(after=before)
    assert first.conversation_id == channel and len(rest) >= 2
    assert all(c.conversation_id == f"{channel};messageid={first.activity_id}" for c in rest)
    shown = texts([c.body for c in [first, *rest]])
    assert all(shown.count(f"**Project {n}**") == 1 for n in range(60))


def test_a_channel_subscribes_and_gets_its_digest(db, teams):
    anna = teams.user()
    channel = "19:wijkteam@thread.tacv2"
    mention = anna.activity(
        conversation=channel,
        kind="channel",
        text="<at>Wat Werkt in de Wijk</at> kanaal abonneer wekelijks",
        channelData={"tenant": {"id": TENANT}, "channel": {"id": channel, "name": "Wijkteam"}, "team": {"id": "19:t"}},
    )
    before = teams.connector.last_seq
    assert teams.sender.post(mention).status_code == 200
    (answer,) = teams.connector.activities_sent(after=before)
    assert answer.conversation_id == channel and answer.reply_to_id == mention["id"]
    assert "krijgt nu het overzicht" in texts([answer.body]) and "/invite" not in texts([answer.body])
    before = teams.connector.last_seq
    teams.sender.post({**mention, "id": "help", "text": "<at>Wat Werkt in de Wijk</at> kanaal"})
    (help_text,) = teams.connector.activities_sent(after=before)
    help_text = texts([help_text.body])
    assert "'@Wat Werkt in de Wijk kanaal abonneer" in help_text and "/wwidw" not in help_text
    with db.transaction() as s:
        sub = s.exec(select(Subscription)).one()
        assert (sub.platform, sub.workspace, sub.channel, sub.channel_name) == ("teams", TENANT, channel, "Wijkteam")
        since, due = sub.since.replace(tzinfo=UTC), sub.next_due_at.replace(tzinfo=UTC)
    anna_id = ensure_person(db, "teams", TENANT, anna.user, "Anna")
    for n in range(25):
        iv_id, _ = published(db, anna_id, [], title=f"Project {n}", themes=["wonen"], neighbourhood="Kruiskamp")
        with db.transaction() as s:
            iv = s.get(Intervention, iv_id)
            iv.updated_at = iv.published_at = since + timedelta(minutes=n + 1)
    assert Digests(db).run(due) == (1, 2)
    sender = teams_sender(db, teams)
    before = teams.connector.last_seq
    for step in range(0, 20, 2):
        sender.drain(due + timedelta(seconds=step))
    posted = teams.connector.activities_sent(after=before)
    confirmation, first, second = posted
    assert "aangemeld voor het overzicht" in texts([confirmation.body])
    assert first.conversation_id == channel and "Project 24" in texts([first.body])
    assert second.conversation_id == f"{channel};messageid={first.activity_id}"  # the rest in its thread
    assert "Vervolg (2/2)" in texts([second.body])

    # "Lees" opens the description in a dialog for whoever clicks.
    read = next(a for a in actions(contents(first.body)[0]) if a["title"] == "Lees")
    invoke = anna.activity(
        conversation=channel, kind="channel", type="invoke", name="task/fetch", value={"data": read["data"]}
    )
    response = teams.sender.post(invoke)
    assert response.status_code == 200
    task = response.json()["task"]
    assert task["type"] == "continue" and "Project 24" in texts([{"attachments": [task["value"]["card"]]}])


def test_a_stranger_tenant_cannot_read_a_private_description(db, teams):
    anna = teams.user()
    anna.say("hallo")
    anna_id = ensure_person(db, "teams", TENANT, anna.user, "Anna")
    iv_id, _ = published(db, anna_id, [], title="Geheim plan")
    eve = teams.user("29:eve", "Eve", tenant="00000000-0000-0000-0000-00000000beef")
    cards = eve.say(f"lees {iv_id}")
    assert "Geheim plan" not in texts(cards) and "niet gedeeld" in texts(cards)
    invoke = eve.activity(type="invoke", name="task/fetch", value={"data": {"wwidw": f"read:{iv_id}"}})
    task = teams.sender.post(invoke).json()["task"]
    assert task["type"] == "message" and "Geheim plan" not in task["value"]


def test_many_long_replies_are_split_into_cards_under_teams_size_limit():
    from bot.replies import Choice, Reply
    from handlers.teams import cards

    replies = [Reply(kind="digest", title="Digest", text="Nieuw en bijgewerkt")]
    replies += [
        Reply(
            kind="digest_item",
            title=f"Project {n}",
            text="x" * 900,
            note="nieuw",
            actions=[Choice("Lees", f"read:{n}")],
        )
        for n in range(120)
    ]
    made = cards.messages(replies, "nl")
    assert len(made) > 3 and all(cards.size(c) <= cards.MAX_BYTES for c in made)
    shown = texts([{"attachments": [cards.attachment(c)]} for c in made])
    assert all(f"Project {n}" in shown for n in range(120))
    # One reply too big for a message (a long description to read) is split too, its comment box last.
    from bot.replies import Line, Section

    sections = [Section(no, f"Stap {no}", [Line(f"Veld {n}", "y" * 3900) for n in range(8)]) for no in range(1, 9)]
    read = Reply(
        kind="description", title="Lang", text="Woonstad", note="reageer", sections=sections, intervention_id=7
    )
    made = cards.messages([read], "nl")
    assert len(made) > 5 and all(cards.size(c) <= cards.MAX_BYTES for c in made)
    assert [e["id"] for e in made[-1]["body"] if e.get("id")] == ["step", "comment"] and made[-1]["actions"]
    assert not any(c.get("actions") for c in made[:-1])
    # Someone's text cannot become a link in a card.
    (card,) = cards.messages([Reply(text="klik [hier](https://evil.example) ![x](https://evil.example/x.png)")], "nl")
    assert "](" not in card["body"][0]["text"].replace("]\u200b(", "")


def test_other_bot_framework_channels_and_malformed_activities_change_nothing(db, teams):
    anna = teams.user()
    webchat = teams.sender.post(anna.activity(text="hallo", channelId="webchat"))
    kid = teams.identity.add_key(endorsements=("webchat",))  # a key Teams may not use
    token = teams.identity.token(APP_ID, teams.connector.url, kid=kid)
    foreign_key = teams.sender.post(anna.activity(text="hallo"), token=token)
    assert (webchat.status_code, foreign_key.status_code) == (403, 403)
    assert people(db) == 0
    anna.say("hallo")
    odd = [
        anna.activity(value={"wwidw_measure": 10**20}),
        anna.activity(value={"wwidw": "form:²:1"}),
        anna.activity(value={"wwidw_comment": "x", "comment": "hoi"}),
        anna.activity(value={"wwidw_form": {"iv": "1; DROP TABLE", "step": None}}),
        anna.activity(value=["not", "an", "object"]),
        anna.activity(text={"not": "text"}),
        anna.activity(channelData={"tenant": "a string"}),
        anna.activity(type="conversationUpdate", recipient="a string", membersAdded=7),
        anna.activity(type="invoke", name="task/fetch", value={"data": {"wwidw": "cmd:new"}}),
        {**anna.activity(text="hallo"), "from": "someone"},
    ]
    for activity in odd:
        assert teams.sender.post(activity).status_code == 200, activity
    with db.transaction() as s:
        assert s.exec(select(Intervention)).all() == []  # the dialog runs no wizard command


def test_installing_greets_once_although_teams_says_it_twice(db, teams):
    anna = teams.user()
    first = anna.send(anna.activity(type="installationUpdate", action="add"))
    second = anna.send(anna.activity(type="conversationUpdate", membersAdded=[{"id": BOT}, {"id": anna.user}]))
    assert len(first) == 1 and second == []


def test_a_big_step_form_leaves_out_the_items_that_do_not_fit(db, teams):
    from bot.forms import Forms
    from handlers.teams import cards
    from models import Indicator

    anna = teams.user()
    anna.say("nieuw")
    anna_id = ensure_person(db, "teams", TENANT, anna.user, "Anna")
    with db.transaction() as s:
        iv = s.exec(select(Intervention)).one()
        iv.approach = "é" * 5000  # too long to edit in a card: shown as such, left as it is
        for n in range(12):
            s.add(Indicator(intervention_id=iv.id, position=n, name=f"Indicator {n}", kind="output", unit="aantal"))
        iv_id = iv.id
    step8 = cards.form_card(Forms(db).form(anna_id, iv_id, 8))
    assert cards.size(step8) <= cards.MAX_BYTES
    assert "Niet alle onderdelen passen" in texts([{"attachments": [cards.attachment(step8)]}])
    step5 = cards.form_card(Forms(db).form(anna_id, iv_id, 5))
    assert "approach" not in [e.get("id") for e in step5["body"]] and cards.size(step5) <= cards.MAX_BYTES
    before = teams.connector.last_seq
    anna.send(anna.activity(value={"wwidw": f"form:{iv_id}:8"}))
    assert len(teams.connector.activities_sent(after=before)) == 1 and not teams.connector.violations
    with db.transaction() as s:
        assert s.get(Intervention, iv_id).approach == "é" * 5000


def test_a_doubtful_value_brings_the_whole_reminder_card_back(db, teams):
    anna = teams.user()
    anna.say("hallo")
    anna_id = ensure_person(db, "teams", TENANT, anna.user, "Anna")
    published(db, anna_id, [{"remind_day": 29, "name": "Bezoekers", "baseline": 10, "target": 40}])
    Engine(db).run(DUE)
    teams_sender(db, teams).drain(DUE)
    before = teams.connector.last_seq
    anna.click("Bewaar", {"value": "400", "note": ""})
    (update,) = [c for c in teams.connector.calls if c.seq > before and c.kind == "update"]
    shown = texts([update.body])
    assert "Bezoekers" in shown and "grote sprong" in shown
    assert [a["title"] for a in actions(contents(update.body)[0])] == [
        "Bewaar",
        "Later",
        "Geen meting deze periode",
        "Overslaan",
    ]


def test_someone_met_only_in_a_team_gets_a_personal_chat_opened_for_a_reminder(db, teams):
    anna = teams.user()
    channel = "19:wijkteam@thread.tacv2"
    teams.sender.post(anna.activity(conversation=channel, kind="channel", text="<at>wwidw</at> kanaal lijst"))
    anna_id = ensure_person(db, "teams", TENANT, anna.user, "Anna")
    published(db, anna_id, [{"remind_day": 29, "name": "Bezoekers"}])
    Engine(db).run(DUE)
    before = teams.connector.last_seq
    teams_sender(db, teams).drain(DUE)
    (created,) = [c for c in teams.connector.calls if c.seq > before and c.kind == "create"]
    (sent,) = teams.connector.activities_sent(after=before)
    assert sent.conversation_id == created.activity_id or sent.conversation_id.startswith("a:")
    assert "Bezoekers" in texts([sent.body])
    with db.transaction() as s:
        assert s.get(Person, anna_id).unreachable_since is None
        assert s.exec(select(TeamsConversation).where(TeamsConversation.person_id == anna_id)).one().kind == "personal"


def test_a_shared_channel_or_a_group_chat_gets_no_digest(db, teams):
    anna = teams.user()
    channel = "19:gedeeld@thread.tacv2"
    data = {"tenant": {"id": TENANT}, "channel": {"id": channel, "name": "Met partners", "type": "shared"}}
    places = [
        (channel, "channel", data),  # how the Bot Framework says it
        (channel, "channel", {**data, "channel": {"id": channel, "membershipType": "shared"}}),  # how Graph says it
        ("19:groep@thread.v2", "groupChat", {"tenant": {"id": TENANT}}),
        ("a:onbekend", "meeting", {"tenant": {"id": TENANT}}),  # a kind we do not know: never a personal chat
    ]
    for conversation, kind, channel_data in places:
        before = teams.connector.last_seq
        mention = anna.activity(conversation=conversation, kind=kind, text="kanaal abonneer", channelData=channel_data)
        teams.sender.post(mention)
        (answer,) = teams.connector.activities_sent(after=before)
        assert answer.conversation_id == conversation and "andere organisaties" in texts([answer.body])
    with db.transaction() as s:
        assert s.exec(select(Subscription)).all() == []
    # Nor does a description open in a dialog there: who clicks may be of another organisation.
    anna_id = ensure_person(db, "teams", TENANT, anna.user, "Anna")
    iv_id, _ = published(db, anna_id, [], title="Intern plan")
    invoke = anna.activity(
        conversation=channel, kind="channel", type="invoke", name="task/fetch", channelData=data,
        value={"data": {"wwidw": f"read:{iv_id}"}},
    )  # fmt: skip
    task = teams.sender.post(invoke).json()["task"]
    assert task["type"] == "message" and "andere organisaties" in task["value"]


def test_a_channel_listing_shows_only_that_channel_since_everyone_reads_it(db, teams):
    anna = teams.user()
    data = {"tenant": {"id": TENANT}, "team": {"id": "19:t"}}

    def say(channel: str, name: str, text: str) -> str:
        before = teams.connector.last_seq
        data["channel"] = {"id": channel, "name": name}
        teams.sender.post(anna.activity(conversation=channel, kind="channel", text=text, channelData=data))
        return texts([c.body for c in teams.connector.activities_sent(after=before)])

    assert "krijgt nu het overzicht" in say("19:geheim@thread.tacv2", "Directie vertrouwelijk", "kanaal abonneer")
    assert "geen overzicht" in say("19:wijk@thread.tacv2", "Wijkteam", "kanaal lijst")
    assert "krijgt nu het overzicht" in say("19:wijk@thread.tacv2", "Wijkteam", "kanaal abonneer dagelijks")
    shown = say("19:wijk@thread.tacv2", "Wijkteam", "kanaal lijst")
    assert "#Wijkteam: dagelijks" in shown and "Directie" not in shown


def test_activities_of_two_conversations_with_the_same_id_are_both_answered(db, teams):
    """A Teams activity id is unique within its conversation only (it is often a timestamp)."""
    anna, bram = teams.user(), teams.user("29:bram", "Bram")
    for person in (anna, bram):
        assert "Nieuwe beschrijving" in texts(person.send({**person.activity(text="hallo"), "id": "1700000000000"}))
    assert bram.send({**bram.activity(text="hallo"), "id": "1700000000000"}) == []  # Bram's again: once
