"""One deployment for many Slack workspaces: each installs the app through Slack's OAuth redirects,
is answered with its own token (refreshed when it rotates), and an uninstall holds what waits for
that workspace until it installs again."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from slack_sdk.oauth.installation_store import Bot
from sqlalchemy import inspect, text
from sqlmodel import select as select_rows

from bot.messages import enqueue
from bot.organisations import web_may_use
from bot.people import ensure_person, find_person
from bot.replies import Reply
from models import Identity, Organisation, OutboxMessage, Person
from models.secrets import SecretKeyError, Vault, check
from reminders.digests import Digests
from reminders.outbox import OutboxSender
from tests.fakes.slack_api import CLIENT_ID, CLIENT_SECRET
from tests.slack_driver import start_install, texts
from tests.test_cli_and_storage import wwidw
from tests.test_digests import describe, organisation_of, subscription


def organisations(db) -> dict[str, str]:
    with db.transaction() as s:
        return {o.slack_team_id: o.name for o in s.exec(select_rows(Organisation)) if o.slack_team_id}


def bots(db) -> list[str]:
    with db.engine.connect() as conn:
        return [r[0] for r in conn.execute(text("SELECT team_id FROM slack_bots ORDER BY team_id"))]


def eventually(check, timeout: float = 10.0):
    """Events are acknowledged at once and handled after: wait for what one does."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "the event was not handled in time"
        time.sleep(0.02)


def tell(db, user: str, team: str, words: str, now: datetime) -> None:
    """A message for a Slack person in the outbox, as a reminder or a nudge is written."""
    with db.transaction() as s:
        person = find_person(s, "slack", team, user)
        assert enqueue(s, person, f"test:{user}:{words}", [Reply(text=words)], "nl", now)


def outbox(db) -> list[tuple[str, str, int, str | None]]:
    """The messages the bot sent of its own accord (its replies to what people typed aside)."""
    with db.transaction() as s:
        query = select_rows(OutboxMessage).where(~OutboxMessage.dedupe_key.like("reply:%"))
        rows = s.exec(query.order_by(OutboxMessage.id))
        return [(m.workspace, m.status, m.attempts, m.error) for m in rows]


@pytest.fixture
def network(slack_network):
    """Two workspaces installed, someone of each has talked to the bot."""
    assert slack_network.install("T1", "Woonstad Noord").status_code == 200
    assert slack_network.install("T2", "Gemeente Zuid").status_code == 200
    slack_network.user("U1", "T1").say("hallo")
    slack_network.user("U9", "T2").say("hallo")
    return slack_network


def test_two_workspaces_install_and_each_is_answered_with_its_own_token(db, slack_network, fake_slack):
    page = slack_network.install("T1", "Woonstad Noord")
    assert page.status_code == 200 and "Woonstad Noord" in page.text and "slack://app?team=T1" in page.text
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert "slack-app-oauth-state=" in page.headers["set-cookie"]  # the state cookie is cleared
    assert slack_network.install("T2", "Gemeente Zuid").status_code == 200
    assert organisations(db) == {"T1": "Woonstad Noord", "T2": "Gemeente Zuid"}
    assert bots(db) == ["T1", "T2"]
    assert fake_slack.granted["T2"].split(",") == slack_network.settings.slack_scopes.split(",")

    reply_1 = slack_network.user("U1", "T1").say("nieuw")
    reply_9 = slack_network.user("U9", "T2").say("nieuw")
    assert "titel van de interventie" in texts(reply_1) and "titel van de interventie" in texts(reply_9)
    posts = {c.args["channel"]: c.team for c in fake_slack.posts()}
    assert posts == {"DU1": "T1", "DU9": "T2"}
    with db.transaction() as s:
        orgs = {p.display_name: s.get(Organisation, p.organisation_id).name for p in s.exec(select_rows(Person))}
    assert orgs == {"Anna Jansen": "Woonstad Noord", "Gebruiker U9": "Gemeente Zuid"}


def test_a_workspace_that_did_not_install_is_not_answered(db, slack_network, fake_slack):
    assert slack_network.install("T1", "Woonstad Noord").status_code == 200
    response = slack_network.user("U7", "T7").sender.event(
        {"type": "message", "channel_type": "im", "channel": "DU7", "user": "U7", "text": "hallo", "team": "T7"},
        team="T7",
    )
    assert response.status_code in (200, 401)
    assert fake_slack.posts() == []
    with db.transaction() as s:
        assert s.exec(select_rows(Person)).all() == []


def test_an_install_that_is_cancelled_forged_or_replayed_installs_nothing(db, slack_network, fake_slack):
    http = slack_network.sender.http
    query, cookie = start_install(http)
    cancelled = http.get("/slack/oauth_redirect", params={"error": "access_denied", "state": query["state"]})
    assert cancelled.status_code == 200 and "geannuleerd" in cancelled.text

    # A state the browser was not given (another installer's, or made up): refused.
    _, other_cookie = start_install(http)
    code = fake_slack.consent(query["client_id"], query["scope"], "T2", "Gemeente Zuid")
    forged = http.get("/slack/oauth_redirect", params={"code": code, "state": query["state"]},
                      headers={"Cookie": other_cookie})  # fmt: skip
    assert forged.status_code == 400 and "verlopen" in forged.text
    no_cookie = http.get("/slack/oauth_redirect", params={"code": code, "state": query["state"]})
    assert no_cookie.status_code == 400
    made_up = http.get("/slack/oauth_redirect", params={"code": code, "state": "made-up"},
                       headers={"Cookie": "slack-app-oauth-state=made-up"})  # fmt: skip
    assert made_up.status_code == 401

    # The real one works once; the same redirect again is refused (its state is used up), and so
    # is the used code with a fresh state.
    good = http.get("/slack/oauth_redirect", params={"code": code, "state": query["state"]}, headers={"Cookie": cookie})
    assert good.status_code == 200
    again = http.get(
        "/slack/oauth_redirect", params={"code": code, "state": query["state"]}, headers={"Cookie": cookie}
    )
    assert again.status_code == 401
    fresh, fresh_cookie = start_install(http)
    reused = http.get("/slack/oauth_redirect", params={"code": code, "state": fresh["state"]},
                      headers={"Cookie": fresh_cookie})  # fmt: skip
    assert reused.status_code == 401 and "Begin opnieuw" in reused.text
    assert code not in reused.text + again.text + forged.text
    assert bots(db) == ["T2"] and organisations(db) == {"T2": "Gemeente Zuid"}


def test_tokens_are_sealed_at_rest_and_need_the_key(db, network, fake_slack):
    tokens = list(fake_slack.tokens) + list(fake_slack.refresh_tokens)
    dump = []
    with db.engine.connect() as conn:
        for table in inspect(conn).get_table_names():
            dump += [str(v) for row in conn.execute(text(f'SELECT * FROM "{table}"')) for v in row]
    assert len(dump) > 50 and not [v for v in dump if any(token in v for token in tokens)]
    assert check(db, Vault(network.key)) >= 2
    with pytest.raises(SecretKeyError):
        check(db, Vault(Vault.new_key()))
    with pytest.raises(SecretKeyError):
        check(db, Vault(None))


def test_a_rotating_token_is_refreshed_before_it_expires_and_the_new_one_is_used(db, slack_network, fake_slack):
    fake_slack.expires_in = 3600  # within the two hours before expiry in which a token is refreshed
    assert slack_network.install("T2", "Gemeente Zuid").status_code == 200
    first = next(t for t, team in fake_slack.tokens.items() if team == "T2")
    fake_slack.expires_in = 12 * 3600
    slack_network.user("U9", "T2").say("hallo")
    refreshes = [c for c in fake_slack.of("oauth.v2.access") if c.args.get("grant_type") == "refresh_token"]
    assert len(refreshes) == 1
    reply = fake_slack.posts()[-1]
    assert reply.token != first and reply.token.startswith("xoxe.xoxb-T2-")
    # Stored for the next request and for the outbox sender (another process).
    slack_network.user("U9", "T2").say("mijn")
    assert fake_slack.posts()[-1].token == reply.token
    now = datetime.now(UTC)
    tell(db, "U9", "T2", "Vergeet je meting niet", now)
    sender = OutboxSender(db, {"slack": slack_network.transport()}, workers=1)
    sender.drain(now)
    sender.close()
    assert fake_slack.posts()[-1].args["text"] == "Vergeet je meting niet"
    assert fake_slack.posts()[-1].token == reply.token
    assert len([c for c in fake_slack.of("oauth.v2.access") if c.args.get("grant_type")]) == 1


def test_processes_refresh_a_workspaces_token_once_and_all_use_the_new_one(db, slack_network, fake_slack):
    """A refresh token works once (the fake spends it, as Slack does): three worker processes'
    senders and the web server's bolt, all finding the token about to expire at once, refresh it
    once, and every one of them goes on with the new token."""
    fake_slack.expires_in = 3600
    assert slack_network.install("T2", "Gemeente Zuid").status_code == 200
    fake_slack.expires_in = 12 * 3600
    workers = [slack_network.transport().workspaces for _ in range(3)]  # each with its own engine
    with ThreadPoolExecutor(max_workers=13) as pool:
        said = pool.submit(slack_network.user("U9", "T2").say, "hallo")
        found = [pool.submit(w.token, "T2") for w in workers for _ in range(4)]
        tokens = {f.result(timeout=30) for f in found}
        reply = said.result(timeout=30)
    refreshes = [c for c in fake_slack.of("oauth.v2.access") if c.args.get("grant_type") == "refresh_token"]
    assert len(refreshes) == 1
    assert len(tokens) == 1 and fake_slack.tokens[tokens.pop()] == "T2"
    assert fake_slack.posts()[-1].token in fake_slack.tokens and texts(reply)
    with db.engine.connect() as conn:  # the install's row, holding the new token
        stored = conn.execute(text("SELECT COUNT(*) FROM slack_bots WHERE team_id = 'T2'")).scalar()
    assert stored == 1 and slack_network.transport().workspaces.token("T2") in fake_slack.tokens


def test_an_install_state_is_used_once_even_by_two_redirects_at_once_and_old_ones_are_cleared(db, slack_network):
    states = slack_network.core.slack.states
    state = states.issue()
    with ThreadPoolExecutor(max_workers=8) as pool:
        used = list(pool.map(lambda _: states.consume(state), range(8)))
    assert used.count(True) == 1
    old = states.issue()
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE slack_oauth_states SET expire_at = :t"), {"t": datetime(2026, 1, 1)})
    assert not states.consume(old)
    states.issue()  # clears what expired
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM slack_oauth_states")).scalar() == 1


def test_an_uninstall_holds_that_workspaces_messages_until_it_installs_again(db, network, fake_slack):
    now = datetime.now(UTC)
    sender = OutboxSender(db, {"slack": network.transport()}, workers=2)
    tell(db, "U1", "T1", "Eerste voor Noord", now)
    tell(db, "U9", "T2", "Eerste voor Zuid", now)
    sender.drain(now)
    assert [m[1] for m in outbox(db)] == ["sent", "sent"]

    fake_slack.revoke("T2")
    assert network.sender.event({"type": "app_uninstalled"}, team="T2").status_code == 200
    eventually(lambda: bots(db) == ["T1"])
    tell(db, "U1", "T1", "Tweede voor Noord", now)
    tell(db, "U9", "T2", "Tweede voor Zuid", now)
    before = fake_slack.last_seq
    sender.drain(now)
    assert [c.args["text"] for c in fake_slack.posts(after=before)] == ["Tweede voor Noord"]
    # The sender, in a process of its own, may still try the token it read: refused, it waits too.
    assert outbox(db)[3][:3] == ("T2", "pending", 0) and outbox(db)[3][3] in ("token_revoked", "not_installed")
    # Much later it is tried again, and waits again, never using up an attempt.
    later = now + timedelta(hours=3)
    for _ in range(3):
        sender.drain(later)
        later += timedelta(hours=1)
    assert outbox(db)[3] == ("T2", "pending", 0, "not_installed")

    assert network.install("T2", "Gemeente Zuid").status_code == 200  # re-installed: it goes out now
    before = fake_slack.last_seq
    sender.drain(now + timedelta(seconds=1))
    sender.drain(now + timedelta(seconds=2))
    sender.close()
    delivered = fake_slack.posts(after=before)
    assert [(c.args["text"], c.team) for c in delivered] == [("Tweede voor Zuid", "T2")]
    assert [m[1] for m in outbox(db)] == ["sent"] * 4


def test_a_token_revoked_mid_digest_holds_the_rest_and_the_event_ends_the_install(db, network, fake_slack):
    now = datetime.now(UTC)
    sender = OutboxSender(db, {"slack": network.transport()}, workers=1)
    long_one = [Reply(text=f"Deel {n}: tekst") for n in range(120)]  # three Slack messages
    with db.transaction() as s:
        assert enqueue(s, find_person(s, "slack", "T2", "U9"), "test:long", long_one, "nl", now)
    # The token dies (the app removed in Slack, no event yet) once the first part went out.
    original = fake_slack.result

    def revoke_after_first(method, args, team):
        answered = original(method, args, team)
        if method == "chat.postMessage" and team == "T2":
            fake_slack.revoke("T2")
        return answered

    fake_slack.result = revoke_after_first
    sender.drain(now)
    fake_slack.result = original
    (row,) = [m for m in outbox(db) if m[0] == "T2"]
    assert row == ("T2", "pending", 0, "token_revoked")
    with db.transaction() as s:
        message = s.exec(select_rows(OutboxMessage).where(~OutboxMessage.dedupe_key.like("reply:%"))).one()
        assert message.parts_sent == 1
    assert network.sender.event({"type": "tokens_revoked", "tokens": {"bot": ["UBOTT2"]}}, team="T2").status_code == 200
    eventually(lambda: bots(db) == ["T1"])
    assert network.install("T2", "Gemeente Zuid").status_code == 200
    sender.drain(now + timedelta(seconds=1))
    sender.close()
    # Every part once, in order: the first with the old token, the rest with the new install's.
    parts = [c for c in fake_slack.posts() if c.team == "T2" and "Deel" in c.args["text"]]
    firsts = [int(c.args["text"].split("Deel ")[1].split(":")[0]) for c in parts]
    assert len(parts) > 1 and firsts == sorted(set(firsts)) and len({c.token for c in parts}) == 2
    assert outbox(db)[-1][1] == "sent"


def test_names_of_installed_workspaces_are_theirs(db, network):
    """A web visitor cannot take or enter an installed workspace's organisation."""
    with db.transaction() as s:
        assert not web_may_use(s, "gemeente zuid") and not web_may_use(s, "Woonstad Noord")
        assert web_may_use(s, "Buurthuis De Linde")


def test_many_workspaces_need_the_secret_key_to_start(db):
    env = {**os.environ, "DATABASE_URL": db.url, "SLACK_CLIENT_ID": CLIENT_ID, "SLACK_CLIENT_SECRET": CLIENT_SECRET,
           "SLACK_SIGNING_SECRET": "s"}  # fmt: skip
    env.pop("WWIDW_SECRET_KEY", None)
    started = subprocess.run([sys.executable, "-m", "wwidw.cli", "worker"], capture_output=True, text=True, env=env,
                             timeout=60)  # fmt: skip
    assert started.returncode == 1 and started.stderr.count("\n") == 1 and "WWIDW_SECRET_KEY" in started.stderr
    assert CLIENT_SECRET not in started.stderr


def test_a_partner_digest_in_one_workspace_lists_what_partners_in_others_share(db, network, fake_slack):
    """Workspace A's channel reads a partner description written in workspace B and one written in
    Teams tenant C, never their private ones; it is posted with A's own token."""
    organisation_of(db, find_id(db, "T1", "U1"), "Woonstad Noord", partner=True)
    assert "wekelijks" in network.user("U1", "T1").command("kanaal abonneer", channel="C_NOORD").text
    sub = subscription(db, "C_NOORD")
    since, due = sub.since.replace(tzinfo=UTC), sub.next_due_at.replace(tzinfo=UTC)
    zuid = find_id(db, "T2", "U9")
    organisation_of(db, zuid, "Gemeente Zuid", partner=True)
    teams = ensure_person(db, "teams", "tenant-c", "29:carla", "Carla")
    organisation_of(db, teams, "Welzijn Oost", partner=True)
    describe(db, zuid, "Buurtbus Zuid", since + timedelta(hours=1), visibility="partners")
    describe(db, zuid, "Intern plan Zuid", since + timedelta(hours=2), visibility="organisation")
    describe(db, teams, "Taalcafé Oost", since + timedelta(hours=3), visibility="partners")
    describe(db, teams, "Intern plan Oost", since + timedelta(hours=4), visibility="organisation")
    assert Digests(db).run(due) == (1, 1)
    sender = OutboxSender(db, {"slack": network.transport()}, workers=2)
    for step in range(0, 60, 2):
        sender.drain(due + timedelta(seconds=step))
    sender.close()
    (digest,) = [c for c in fake_slack.posts() if c.args["channel"] == "C_NOORD" and "Buurtbus" in texts(c.args)]
    shown = texts(digest.args)
    assert "Taalcafé Oost" in shown and "Intern plan" not in shown
    assert digest.team == "T1"


def find_id(db, team: str, user: str) -> int:
    with db.transaction() as s:
        return find_person(s, "slack", team, user).id


def test_a_message_whose_sender_died_is_looked_for_after_the_reinstall_not_sent_twice(db, network, fake_slack):
    now = datetime.now(UTC)
    sender = OutboxSender(db, {"slack": network.transport()}, workers=1)
    tell(db, "U9", "T2", "Al aangekomen", now)
    sender.drain(now)
    # The process died after Slack took the message and before it was recorded as sent.
    with db.transaction() as s:
        row = s.exec(select_rows(OutboxMessage).where(~OutboxMessage.dedupe_key.like("reply:%"))).one()
        row.status, row.lease_until = "sending", now - timedelta(seconds=1)
    fake_slack.revoke("T2")
    assert network.sender.event({"type": "app_uninstalled"}, team="T2").status_code == 200
    eventually(lambda: bots(db) == ["T1"])
    sender.drain(now + timedelta(seconds=1))
    with db.transaction() as s:
        row = s.exec(select_rows(OutboxMessage).where(~OutboxMessage.dedupe_key.like("reply:%"))).one()
        assert row.status == "sending" and row.error in ("token_revoked", "not_installed")  # to be looked for
    assert network.install("T2", "Gemeente Zuid").status_code == 200
    sender.drain(now + timedelta(minutes=11))
    sender.close()
    told = [c.args["text"] for c in fake_slack.posts() if c.args.get("channel") == "U9"]  # not the DM's replies
    assert told == ["Al aangekomen"]  # once
    assert outbox(db)[0][1] == "sent"


def test_a_workspace_of_an_enterprise_grid_org_is_found_by_its_team(db, slack_network):
    """Bolt stores such a workspace's install with the org's id, which an outbox message does not carry."""
    workspaces = slack_network.core.slack
    grid = Bot(app_id="A1", enterprise_id="E1", team_id="T5", bot_token="xoxb-T5-grid", bot_id="B5",
               bot_user_id="U5", bot_scopes="chat:write", installed_at=time.time())  # fmt: skip
    workspaces.store.save_bot(grid)
    assert workspaces.token("T5") == "xoxb-T5-grid" and workspaces.token("T6") is None


def test_someone_of_another_workspace_in_a_shared_channel_belongs_to_their_own_organisation(db, network, fake_slack):
    """Slack Connect: the payload names the channel's workspace (T1); users.info names theirs (T2)."""
    fake_slack.homes.update({"U8": "T2", "U9": "T2"})
    for user in ("U8", "U9"):
        before = fake_slack.last_seq
        assert network.user(user, "T1").command("mijn", channel="C_SHARED").status_code == 200
        fake_slack.wait_for("chat.postMessage", after=before, channel=user)
    with db.transaction() as s:
        people = {
            i.external_id: (i.workspace, s.get(Organisation, s.get(Person, i.person_id).organisation_id).name)
            for i in s.exec(select_rows(Identity).where(Identity.platform == "slack"))
        }
    # U9 is the one person they were in their own workspace, U8 joins that organisation too.
    assert people == {"U1": ("T1", "Woonstad Noord"), "U9": ("T2", "Gemeente Zuid"), "U8": ("T2", "Gemeente Zuid")}


def test_forgetting_the_installer_erases_them_from_the_install_and_the_workspace_keeps_working(db, slack_network):
    assert slack_network.install("T1", "Woonstad Noord", installer="U4").status_code == 200
    slack_network.user("U4", "T1").say("hallo")
    with db.transaction() as s:
        installer = find_person(s, "slack", "T1", "U4").id
    forgot = wwidw("person", "forget", str(installer), "--yes", database_url=db.url)
    assert forgot.returncode == 0 and "app installations naming them 1" in forgot.stdout, forgot.stderr
    with db.engine.connect() as conn:
        installs = conn.execute(text("SELECT user_id, user_token, bot_token FROM slack_installations")).all()
    assert [(user, token) for user, token, _ in installs] == [("", None)] and installs[0][2]
    assert "titel van de interventie" in texts(slack_network.user("U7", "T1").say("nieuw"))
