"""Signing in on the web with the identity people have in chat: Sign in with Slack (OpenID
Connect) and Microsoft (the authorization-code flow with PKCE), through the real redirects to the
fake providers and back, on SQLite and PostgreSQL. A signed-in person is the same person as in
chat, and continues the same draft; every forged, replayed, late or foreign answer is refused."""

from __future__ import annotations

import hashlib
import re
import uuid
from datetime import timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest
from sqlalchemy import inspect, text, update
from sqlmodel import select

from bot.settings import Settings
from handlers.teams import registrations
from handlers.web.sessions import SESSION_COOKIE
from models import Identity, Intervention, Organisation, Person, WebSession, WebSignIn
from models.secrets import Vault
from models.tables import utcnow
from tests.fakes.entra import FakeEntra
from tests.fakes.slack_api import CLIENT_ID
from tests.fakes.teams_connector import FakeTeamsConnector
from tests.fakes.teams_identity import FakeIdentity
from tests.helpers import Browser
from tests.slack_driver import SlackSender, SlackUser, install, workspaces_settings
from tests.teams_driver import TeamsSender, TeamsUser

KEY = Vault.new_key()
APP_C, TENANT_C = "0b6c5c3e-1f1e-4c8e-9a0a-00000000000c", "33333333-cccc-4ccc-8ccc-333333333333"
APP_D, TENANT_D = "0b6c5c3e-1f1e-4c8e-9a0a-00000000000d", "44444444-dddd-4ddd-8ddd-444444444444"
CHAT_PAGE = 'id="latest"'  # the answer box of the chat page
SIGN_IN_PAGE = 'href="/inloggen/slack"'


class Network:
    """One deployment: Slack for many workspaces, the Teams bots of two tenants, web sign-in."""

    def __init__(self, db, fake_slack, make_server, **settings):
        from wwidw.app import Core, create_app

        self.db, self.slack = db, fake_slack
        self.identity, self.entra = FakeIdentity(), FakeEntra(APP_C, "secret-c", TENANT_C)
        self.entra.add_app(APP_D, "secret-d", TENANT_D)
        self.connector = FakeTeamsConnector(self.entra)
        registrations.add(db, Vault(KEY), APP_C, TENANT_C, "secret-c", "Welzijn Centraal")
        registrations.add(db, Vault(KEY), APP_D, TENANT_D, "secret-d", "Gemeente Amersfoort")
        self.settings = workspaces_settings(
            db.url, fake_slack, KEY, teams_openid_metadata_url=self.identity.metadata_url, **settings
        )
        self.core = Core(self.settings, teams_token_http=self.entra.client())
        self.server = make_server(create_app(core=self.core))
        self.sender = SlackSender(self.server.url)

    def browser(self) -> Browser:
        return Browser(base_url=self.server.url, follow_redirects=True, timeout=30)

    def slack_user(self, user: str, team: str) -> SlackUser:
        return SlackUser(self.sender, self.slack, user, team)

    def teams_user(self, app_id: str, tenant: str, user: str, name: str) -> TeamsUser:
        return TeamsUser(TeamsSender(self.server.url, self.identity, self.connector, app_id), user, name, tenant=tenant)

    def sign_in_with_slack(self, browser: Browser, team: str, user: str, name: str):
        self.slack.signing_in = (team, user, name)
        return browser.get("/inloggen/slack")

    def sign_in_with_microsoft(self, browser: Browser, tenant: str, oid: str, name: str, home: str | None = None):
        """To Microsoft's sign-in page (msal's auth_uri, beyond our edge: the fake answers it) and back."""
        self.entra.signing_in = {"oid": oid, "name": name, "tenant": home or tenant}
        away = browser.get("/inloggen/microsoft", params={"tenant": tenant}, follow_redirects=False)
        assert away.status_code == 303, away.text
        assert away.headers["location"].startswith(f"https://login.microsoftonline.com/{tenant}/oauth2/v2.0/authorize")
        return browser.get(self.entra.authorize(away.headers["location"]))

    def stop(self):
        self.connector.stop()
        self.identity.stop()


@pytest.fixture
def network(db, fake_slack, make_server):
    world = Network(db, fake_slack, make_server)
    yield world
    world.stop()


def oid_of(teams_user: str) -> str:
    """The Entra object id the Teams driver gives a user (their `aadObjectId`)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, teams_user))


def draft_of(db, title: str) -> Intervention:
    with db.transaction() as s:
        return s.exec(select(Intervention).where(Intervention.title == title)).one()


def test_a_slack_user_signs_in_and_continues_the_draft_begun_in_slack(network, db):
    assert install(network.sender.http, network.slack, "T_A", "Woonstad Rotterdam").status_code == 200
    anna = network.slack_user("U_ANNA", "T_A")
    anna.say("nieuw")
    anna.say("Buurtmoestuin Kruiskamp")  # the title; the next question is the neighbourhood

    browser = network.browser()
    page = browser.get("/")
    assert SIGN_IN_PAGE in page.text and 'name="name"' not in page.text  # no one takes a name here
    assert "Inloggen met Microsoft (Gemeente Amersfoort)" in page.text
    page = network.sign_in_with_slack(browser, "T_A", "U_ANNA", "Anna Jansen")
    assert page.status_code == 200 and CHAT_PAGE in page.text, page.text
    assert "We gaan verder met &#39;Buurtmoestuin Kruiskamp&#39;" in page.text  # the draft begun in Slack
    assert "In welke wijk of buurt" in page.text  # and its next question

    page = browser.post("/say", data={"text": "Kruiskamp"})
    assert page.status_code == 200
    draft = draft_of(db, "Buurtmoestuin Kruiskamp")
    assert draft.neighbourhood == "Kruiskamp"
    anna.say("Amersfoort")  # and on in Slack: the same draft, one question further
    assert draft_of(db, "Buurtmoestuin Kruiskamp").municipality == "Amersfoort"
    with db.transaction() as s:
        person = s.get(Person, draft.author_id)
        platforms = {i.platform for i in s.exec(select(Identity).where(Identity.person_id == person.id))}
        assert platforms == {"slack", "web"}  # one person, reached in Slack first (reminders go there)
        assert s.get(Organisation, person.organisation_id).name == "Woonstad Rotterdam"
    assert "Buurtmoestuin Kruiskamp" in browser.get("/beschrijvingen").text  # their own draft


def test_a_teams_user_signs_in_with_microsoft_as_the_same_person(network, db):
    carla = network.teams_user(APP_C, TENANT_C, "29:carla", "Carla Smit")
    carla.say("nieuw")
    carla.say("Huiskamer van de wijk")

    browser = network.browser()
    page = network.sign_in_with_microsoft(browser, TENANT_C, oid_of("29:carla"), "Carla Smit")
    assert page.status_code == 200 and CHAT_PAGE in page.text, page.text
    browser.post("/say", data={"text": "Schothorst"})
    draft = draft_of(db, "Huiskamer van de wijk")
    assert draft.neighbourhood == "Schothorst"
    carla.say("Amersfoort")
    assert draft_of(db, "Huiskamer van de wijk").municipality == "Amersfoort"

    # Someone who signs in on the web first is the same person when they first write in Teams.
    other = network.browser()
    network.sign_in_with_microsoft(other, TENANT_D, oid_of("29:dirk"), "Dirk de Vries")
    other.post("/say", data={"text": "nieuw"})
    other.post("/say", data={"text": "Samen koken"})
    network.teams_user(APP_D, TENANT_D, "29:dirk", "Dirk de Vries").say("Vathorst")
    assert draft_of(db, "Samen koken").neighbourhood == "Vathorst"
    with db.transaction() as s:
        dirk = s.exec(select(Person).where(Person.display_name == "Dirk de Vries")).all()
        assert len(dirk) == 1 and s.get(Organisation, dirk[0].organisation_id).name == "Gemeente Amersfoort"


def test_forged_replayed_foreign_and_late_slack_answers_are_refused(network, db):
    install(network.sender.http, network.slack, "T_A", "Woonstad Rotterdam")
    browser = network.browser()
    network.slack.signing_in = ("T_A", "U_ANNA", "Anna")
    away = browser.get("/inloggen/slack", follow_redirects=False)
    back = browser.get(away.headers["location"], follow_redirects=False).headers["location"]
    query = dict(parse_qsl(urlsplit(back).query))

    forged = browser.get("/inloggen/slack/terug", params={**query, "state": "forged"})
    assert forged.status_code == 400 and "verlopen" in forged.text
    stranger = network.browser()  # the same answer in another browser (login CSRF)
    assert stranger.get(back).status_code == 400
    assert browser.get(back).status_code == 200 and CHAT_PAGE in browser.get("/").text  # the real one
    replayed = network.browser()
    replayed.cookies.update(browser.cookies)
    replayed.cookies.delete(SESSION_COOKIE)
    assert replayed.get(back).status_code == 400  # a state works once

    # Too late: a sign-in left at Slack's page for longer than ten minutes.
    late = network.browser()
    away = late.get("/inloggen/slack", follow_redirects=False)
    back = late.get(away.headers["location"], follow_redirects=False).headers["location"]
    with db.transaction() as s:
        s.exec(update(WebSignIn).values(created_at=utcnow() - timedelta(minutes=11)))
    assert late.get(back).status_code == 400

    network.slack.signing_in = "deny"
    cancelled = network.browser().get("/inloggen/slack")
    assert cancelled.status_code == 400 and "afgebroken" in cancelled.text


@pytest.mark.parametrize(
    "bad", [{"nonce": "someone-elses"}, {"aud": "9999.0000"}, {"iss": "https://evil.example"}, "forged", "expired"]
)
def test_an_id_token_with_the_wrong_nonce_audience_issuer_or_signature_is_refused(network, db, bad):
    install(network.sender.http, network.slack, "T_A", "Woonstad Rotterdam")
    if bad == "forged":
        network.slack.forge = network.entra.forge = True
    elif bad == "expired":
        network.slack.id_token_changes = network.entra.id_token_changes = {"exp": 1_700_000_000}
    else:
        network.slack.id_token_changes = dict(bad)
        network.entra.id_token_changes = {"aud": APP_D} if "aud" in bad else dict(bad)
    browser = network.browser()
    page = network.sign_in_with_slack(browser, "T_A", "U_ANNA", "Anna")
    assert page.status_code == 400 and "klopte niet" in page.text, page.text
    page = network.sign_in_with_microsoft(browser, TENANT_C, oid_of("29:carla"), "Carla")
    assert page.status_code == 400 and "klopte niet" in page.text, page.text
    assert CHAT_PAGE not in browser.get("/").text
    with db.transaction() as s:
        assert s.exec(select(WebSession)).all() == []


def test_a_provider_that_is_down_or_answers_nonsense_gets_a_friendly_page(network, db):
    install(network.sender.http, network.slack, "T_A", "Woonstad Rotterdam")
    network.slack.fail("openid.connect.token", 500)
    page = network.sign_in_with_slack(network.browser(), "T_A", "U_ANNA", "Anna")
    assert page.status_code == 503 and "niet bereikbaar" in page.text
    network.slack.fail("openid.connect.token", 429, headers={"Retry-After": "30"})
    assert network.sign_in_with_slack(network.browser(), "T_A", "U_ANNA", "Anna").status_code == 503
    network.slack.fail("openid.connect.token", 200, body={"ok": True, "id_token": "not-a-jwt"})
    assert network.sign_in_with_slack(network.browser(), "T_A", "U_ANNA", "Anna").status_code == 400
    browser = network.browser()  # odd answers at the door: no state, a huge one, an unknown provider
    assert browser.get("/inloggen/slack/terug").status_code == 400
    assert browser.get("/inloggen/slack/terug", params={"state": "x" * 5000, "code": "y" * 5000}).status_code == 400
    assert browser.get("/inloggen/microsoft/terug", params={"state": "x", "error": "access_denied"}).status_code == 400
    assert browser.get("/inloggen/github").url.path == "/"
    with db.transaction() as s:
        assert s.exec(select(WebSession)).all() == []
    assert network.sign_in_with_slack(network.browser(), "T_A", "U_ANNA", "Anna").status_code == 200  # and then fine


def test_an_account_of_another_tenant_or_an_uninstalled_workspace_gets_no_session(network, db):
    # A tenant's app whose sign-in page is given an account of another tenant (a guest, a forgery).
    browser = network.browser()
    page = network.sign_in_with_microsoft(browser, TENANT_C, oid_of("29:eve"), "Eve", home=TENANT_D)
    assert page.status_code == 400, page.text
    assert network.browser().get("/inloggen/microsoft", params={"tenant": str(uuid.uuid4())}).status_code == 400

    page = network.sign_in_with_slack(browser, "T_NEW", "U_EVE", "Eve")  # never installed here
    assert page.status_code == 403 and "nog niet geïnstalleerd" in page.text
    with db.transaction() as s:
        assert s.exec(select(WebSession)).all() == []
        assert s.exec(select(Organisation).where(Organisation.slack_team_id == "T_NEW")).first() is None


def test_sessions_end_at_logout_and_expiry_and_every_form_needs_its_token(network, db):
    install(network.sender.http, network.slack, "T_A", "Woonstad Rotterdam")
    browser = network.browser()
    network.sign_in_with_slack(browser, "T_A", "U_ANNA", "Anna")
    assert CHAT_PAGE in browser.get("/").text
    cookie = browser.cookies.get(SESSION_COOKIE)

    # A form without the browser's token, or with another's, is refused, and nothing is said.
    refused = browser.post("/say", data={"text": "nieuw", "csrf": "x" * 64})
    assert refused.status_code == 403 and "verlopen" in refused.text
    with db.transaction() as s:
        assert s.exec(select(Intervention)).all() == []
    assert browser.post("/say", data={"text": "nieuw"}).status_code == 200

    # The cookie itself: sealed, and the database keeps only the SHA-256 of what it holds.
    token = Vault(KEY).unseal(cookie, 3600)
    assert token and token not in cookie
    dump = database_dump(db)
    assert hashlib.sha256(token.encode()).hexdigest() in dump and token not in dump and cookie not in dump
    tampered = network.browser()
    tampered.cookies.set(SESSION_COOKIE, cookie[:-4] + "AAAA")
    assert SIGN_IN_PAGE in tampered.get("/").text

    # Logging out ends the session on the server: the same cookie, kept elsewhere, opens nothing.
    copy = network.browser()
    copy.cookies.set(SESSION_COOKIE, cookie)
    assert CHAT_PAGE in copy.get("/").text
    page = browser.post("/uitloggen", data={})
    assert SIGN_IN_PAGE in page.text and SESSION_COOKIE not in browser.cookies
    assert SIGN_IN_PAGE in copy.get("/").text

    # A session past its expiry is over, though its cookie still looks good.
    later = network.browser()
    network.sign_in_with_slack(later, "T_A", "U_ANNA", "Anna")
    with db.transaction() as s:
        s.exec(update(WebSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert SIGN_IN_PAGE in later.get("/").text
    assert SIGN_IN_PAGE in later.post("/say", data={"text": "hallo"}).text  # and is asked to sign in again


def test_local_mode_keeps_the_name_form_and_never_enters_an_installed_organisation(db, fake_slack, make_server):
    world = Network(db, fake_slack, make_server, wwidw_web_login="local")
    try:
        install(world.sender.http, world.slack, "T_A", "Woonstad Rotterdam")
        browser = world.browser()
        page = browser.get("/")
        assert 'name="name"' in page.text and SIGN_IN_PAGE not in page.text
        assert browser.get("/inloggen/slack").url.path == "/"  # no sign-in in local mode
        refused = browser.post("/start", data={"name": "Eve", "organisation": "Woonstad Rotterdam"})
        assert refused.status_code == 400
        assert CHAT_PAGE in browser.post("/start", data={"name": "Eve", "organisation": "Buurtclub"}).text
        assert browser.post("/say", data={"text": "nieuw", "csrf": ""}).status_code == 403
    finally:
        world.stop()


def test_signed_in_on_slack_in_a_real_browser_continues_the_draft(network, db, browser_page):
    install(network.sender.http, network.slack, "T_A", "Woonstad Rotterdam")
    anna = network.slack_user("U_ANNA", "T_A")
    anna.say("nieuw")
    anna.say("Buurtmoestuin Kruiskamp")
    network.slack.signing_in = ("T_A", "U_ANNA", "Anna Jansen")

    page = browser_page
    page.goto(network.server.url + "/")
    page.click("text=Inloggen met Slack")  # to the fake Slack's sign-in page and straight back
    page.wait_for_selector("#latest")
    page.fill("#latest input[name=text]", "Kruiskamp")
    page.click("#latest button[type=submit]")
    page.wait_for_selector("text=Kruiskamp")
    assert draft_of(db, "Buurtmoestuin Kruiskamp").neighbourhood == "Kruiskamp"
    page.click("header button")  # Uitloggen
    page.wait_for_selector("text=Inloggen met Slack")
    cookies = {c["name"] for c in page.context.cookies()}
    assert SESSION_COOKIE not in cookies


def test_signed_in_with_microsoft_in_a_real_browser_continues_the_draft(network, db, browser_page):
    carla = network.teams_user(APP_C, TENANT_C, "29:carla", "Carla Smit")
    carla.say("nieuw")
    carla.say("Huiskamer van de wijk")
    network.entra.signing_in = {"oid": oid_of("29:carla"), "name": "Carla Smit", "tenant": TENANT_C}

    page = browser_page
    # Microsoft's sign-in page lies beyond our edge: the fake answers it where the browser goes.
    login = "https://login.microsoftonline.com/**"
    page.route(
        login, lambda route: route.fulfill(status=302, headers={"Location": network.entra.authorize(route.request.url)})
    )
    page.goto(network.server.url + "/")
    page.click("text=Inloggen met Microsoft (Welzijn Centraal)")
    page.wait_for_selector("text=We gaan verder met 'Huiskamer van de wijk'")
    page.fill("#latest input[name=text]", "Schothorst")
    page.click("#latest button[type=submit]")
    page.wait_for_selector("text=Schothorst")
    assert draft_of(db, "Huiskamer van de wijk").neighbourhood == "Schothorst"


def database_dump(db) -> str:
    """Every row of every table as text, as a backup would hold it."""
    with db.engine.connect() as conn:
        tables = inspect(conn).get_table_names()
        return "\n".join(str(tuple(row)) for t in tables for row in conn.execute(text(f'SELECT * FROM "{t}"')))


def test_the_sign_in_page_names_each_tenant_by_its_organisation(network):
    page = network.browser().get("/")
    names = re.findall(r"Inloggen met Microsoft \(([^)]+)\)", page.text)
    assert names == ["Gemeente Amersfoort", "Welzijn Centraal"]


def test_sign_in_is_the_default_only_where_someone_can_sign_in(db):
    from handlers.web.routes import web_login
    from wwidw.app import Core

    def mode(**settings) -> str:
        return web_login(Core(Settings(database_url=db.url, _env_file=None, **settings)))

    assert mode() == "local"
    assert mode(teams_app_id=APP_C, teams_app_password="x") == "local"  # a multi-tenant bot: no tenant to sign in to
    assert mode(teams_app_id=APP_C, teams_app_password="x", teams_tenant_id=TENANT_C) == "signin"
    assert mode(slack_client_id=CLIENT_ID, slack_client_secret="s", slack_signing_secret="s") == "signin"
    assert mode(slack_bot_token="xoxb-1", slack_signing_secret="s") == "local"  # one workspace, no OAuth
    assert (
        mode(wwidw_web_login="local", teams_app_id=APP_C, teams_app_password="x", teams_tenant_id=TENANT_C) == "local"
    )
