"""Teams for many tenants: each organisation's own bot registration, added by the operator, its
client secret sealed at rest. On SQLite and PostgreSQL, through the real request path."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlmodel import select

from bot.messages import enqueue
from bot.people import ensure_person
from bot.replies import Reply
from bot.settings import Settings
from handlers.teams import registrations
from models import Organisation, OutboxMessage, Person, TeamsRegistration
from models.secrets import SecretKeyError, Vault, check, reseal_all
from reminders.outbox import OutboxSender
from tests.fakes.entra import FakeEntra
from tests.fakes.teams_connector import FakeTeamsConnector
from tests.fakes.teams_identity import FakeIdentity
from tests.teams_driver import TeamsSender, TeamsUser, texts

KEY = Vault.new_key()
APP_A, TENANT_A = "0b6c5c3e-1f1e-4c8e-9a0a-00000000000a", "11111111-aaaa-4aaa-8aaa-111111111111"
APP_B, TENANT_B = "0b6c5c3e-1f1e-4c8e-9a0a-00000000000b", "22222222-bbbb-4bbb-8bbb-222222222222"
SECRET_A, SECRET_B = "secret-of-woonstad", "secret-of-gemeente"
NOW = datetime(2027, 1, 29, 9, 0, tzinfo=UTC)


class Network:
    """One deployment with no bot in its environment and the bots of two tenants in its database."""

    def __init__(self, db, make_server):
        from wwidw.app import Core, create_app

        self.db = db
        self.identity, self.entra = FakeIdentity(), FakeEntra(APP_A, SECRET_A, TENANT_A)
        self.entra.add_app(APP_B, SECRET_B, TENANT_B)
        self.connector = FakeTeamsConnector(self.entra)
        self.vault = Vault(KEY)
        registrations.add(db, self.vault, APP_A, TENANT_A, SECRET_A, "Woonstad Rotterdam")
        registrations.add(db, self.vault, APP_B, TENANT_B, SECRET_B, "Gemeente Amersfoort")
        settings = Settings(
            database_url=db.url,
            wwidw_secret_key=KEY,
            teams_openid_metadata_url=self.identity.metadata_url,
            _env_file=None,
        )
        self.core = Core(settings, teams_token_http=self.entra.client())
        self.server = make_server(create_app(core=self.core))

    def user(self, app_id: str, tenant: str, user: str, name: str) -> TeamsUser:
        sender = TeamsSender(self.server.url, self.identity, self.connector, app_id)
        return TeamsUser(sender, user, name, tenant=tenant)

    def bot_of(self, call) -> str:
        """The app whose token a connector call carried."""
        return self.entra.issued_to[call.authorization.removeprefix("Bearer ")]

    def sender(self) -> OutboxSender:
        from handlers.teams.delivery import TeamsTransport

        return OutboxSender(self.db, {"teams": TeamsTransport(self.db, self.core.teams)}, workers=2)

    def stop(self):
        self.connector.stop()
        self.identity.stop()


@pytest.fixture
def network(db, make_server):
    world = Network(db, make_server)
    yield world
    assert not world.connector.violations, world.connector.violations
    world.stop()


def test_each_tenant_is_answered_by_its_own_bot_and_is_its_own_organisation(db, network):
    anna = network.user(APP_A, TENANT_A, "29:anna", "Anna de Vries")
    bram = network.user(APP_B, TENANT_B, "29:bram", "Bram Bakker")
    assert "Anna" in texts(anna.say("hallo"))
    assert "Bram" in texts(bram.say("hallo"))
    sent = network.connector.activities_sent()
    assert {network.bot_of(c) for c in sent if c.conversation_id == anna.chat} == {APP_A}
    assert {network.bot_of(c) for c in sent if c.conversation_id == bram.chat} == {APP_B}
    with db.transaction() as s:
        names = {p.display_name: s.get(Organisation, p.organisation_id).name for p in s.exec(select(Person)).all()}
    assert names == {"Anna de Vries": "Woonstad Rotterdam", "Bram Bakker": "Gemeente Amersfoort"}


def test_one_tenants_bot_cannot_speak_for_another_tenant(db, network):
    mallory = network.user(APP_A, TENANT_B, "29:mallory", "Mallory")  # A's genuine token, B's tenant
    assert mallory.sender.post(mallory.activity(text="hallo")).status_code == 403
    stranger = network.user("0b6c5c3e-1f1e-4c8e-9a0a-0000000000ff", TENANT_A, "29:eve", "Eve")  # no bot of ours
    assert stranger.sender.post(stranger.activity(text="hallo")).status_code == 403
    with db.transaction() as s:
        assert s.exec(select(Person)).all() == []
    assert network.connector.activities_sent() == []


def test_a_proactive_message_goes_out_as_the_recipients_tenant_bot(db, network):
    bram = network.user(APP_B, TENANT_B, "29:bram", "Bram Bakker")
    bram.say("hallo")
    bram_id = ensure_person(db, "teams", TENANT_B, bram.user, "Bram")
    with db.transaction() as s:
        enqueue(s, s.get(Person, bram_id), "notice:1", [Reply(text="Je herinnering")], "nl", NOW)
    before = network.connector.last_seq
    network.sender().drain(NOW)
    (sent,) = network.connector.activities_sent(after=before)
    assert sent.conversation_id == bram.chat and network.bot_of(sent) == APP_B


def test_messages_for_a_removed_bot_wait_and_go_out_once_it_is_added_again(db, network):
    bram = network.user(APP_B, TENANT_B, "29:bram", "Bram Bakker")
    bram.say("hallo")
    bram_id = ensure_person(db, "teams", TENANT_B, bram.user, "Bram")
    assert registrations.remove(db, TENANT_B)
    network.core.teams._read_at = float("-inf")  # as after the registrations' refresh interval
    with db.transaction() as s:
        enqueue(s, s.get(Person, bram_id), "notice:1", [Reply(text="Je herinnering")], "nl", NOW)
    before = network.connector.last_seq
    sender = network.sender()
    for hour in range(30):  # far more passes than the outbox's attempts: none is used up
        sender.drain(NOW + timedelta(hours=hour))
    assert network.connector.activities_sent(after=before) == []
    with db.transaction() as s:
        waiting = s.exec(select(OutboxMessage).where(OutboxMessage.dedupe_key == "notice:1")).one()
        assert (waiting.status, waiting.attempts) == ("pending", 0)
    registrations.add(db, network.vault, APP_B, TENANT_B, SECRET_B)
    network.core.teams._read_at = float("-inf")
    sender.drain(datetime.now(UTC) + timedelta(seconds=1))
    (sent,) = network.connector.activities_sent(after=before)
    assert "herinnering" in texts([sent.body]) and network.bot_of(sent) == APP_B


def test_client_secrets_are_stored_sealed_and_open_only_with_the_key(db, network):
    with db.transaction() as s:
        rows = s.exec(select(TeamsRegistration)).all()
        dump = "\n".join(str(tuple(r)) for r in s.connection().execute(text("SELECT * FROM teams_registration")))
    assert len(rows) == 2 and SECRET_A not in dump and SECRET_B not in dump
    assert check(db, network.vault) == 2
    with pytest.raises(SecretKeyError):
        check(db, Vault(Vault.new_key()))  # a wrong key
    with pytest.raises(SecretKeyError):
        check(db, Vault(None))  # no key at all
    newer = Vault.new_key()
    assert reseal_all(db, Vault(f"{newer},{KEY}")) == 2  # the new key in front, the old one still opens
    assert check(db, Vault(newer)) == 2  # now the old key can go


def test_bad_registrations_are_refused_in_one_line(db, network):
    for app_id, tenant, secret in [
        ("not-a-guid", TENANT_A, "x"),
        (APP_A, "contoso.onmicrosoft.com", "x"),
        ("0b6c5c3e-1f1e-4c8e-9a0a-0000000000cc", TENANT_A, "x"),  # the tenant already has a bot
        (APP_A, TENANT_A, "two words"),
        (APP_A, TENANT_A, ""),
    ]:
        with pytest.raises(ValueError) as refused:
            registrations.add(db, network.vault, app_id, tenant, secret)
        assert "\n" not in str(refused.value) and secret not in str(refused.value) or not secret
    with pytest.raises(SecretKeyError):
        registrations.add(db, Vault(None), APP_A, TENANT_A, "nieuw-geheim")
    assert check(db, network.vault) == 2  # nothing was overwritten


def wwidw(*args, database_url, key=None, stdin=None):
    env = {**os.environ, "DATABASE_URL": database_url}
    env.pop("WWIDW_SECRET_KEY", None)
    if key:
        env["WWIDW_SECRET_KEY"] = key
    command = [sys.executable, "-m", "wwidw.cli", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, input=stdin, timeout=60)


def test_the_operator_adds_lists_and_removes_bots_and_a_start_without_the_key_stops_in_one_line(db, tmp_path):
    secret_file = tmp_path / "secret"
    secret_file.write_text(SECRET_A + "\n")
    no_key = wwidw("teams", "add", "--tenant-id", TENANT_A, "--app-id", APP_A, "--secret-file", str(secret_file),
                   database_url=db.url)  # fmt: skip
    assert no_key.returncode == 1 and "WWIDW_SECRET_KEY" in no_key.stderr and "Traceback" not in no_key.stderr
    added = wwidw("teams", "add", "--tenant-id", TENANT_A, "--app-id", APP_A, "--secret-file", "-",
                  "--name", "Woonstad Rotterdam", database_url=db.url, key=KEY, stdin=SECRET_A)  # fmt: skip
    assert added.returncode == 0 and "Woonstad Rotterdam" in added.stdout, added.stderr
    listed = wwidw("teams", "list", database_url=db.url)
    assert listed.returncode == 0 and APP_A in listed.stdout and SECRET_A not in listed.stdout
    for key in (None, Vault.new_key()):  # no key, a wrong key: one line, no traceback, nothing changed
        started = wwidw("worker", database_url=db.url, key=key)
        assert started.returncode == 1 and started.stderr.count("\n") == 1 and "WWIDW_SECRET_KEY" in started.stderr
        assert SECRET_A not in started.stderr + started.stdout
    assert wwidw("secrets", "check", database_url=db.url, key=KEY).returncode == 0
    assert wwidw("teams", "remove", "--tenant-id", TENANT_A, database_url=db.url).returncode == 0
    assert APP_A not in wwidw("teams", "list", database_url=db.url).stdout
