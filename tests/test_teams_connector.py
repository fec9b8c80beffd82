"""The outbound Bot Framework client against a fake connector (real HTTP) and a fake identity
platform that msal talks to in the real wire format."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from handlers.teams.connector import Connector, ConnectorError, error_code, quote_id, retry_after
from tests.fakes.entra import BOTFRAMEWORK_TENANT, FakeEntra
from tests.fakes.teams_connector import FakeTeamsConnector

APP_ID = "00000000-1111-2222-3333-444444444444"
PASSWORD = "s3cret~Password.value-XYZ"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
USER = "29:1AbCdEfGhIjKlMnOp"
CHAT = "a:1chat-with-someone"
THREAD = "19:abc-123@thread.tacv2;messageid=1700000000000"


@pytest.fixture
def entra():
    return FakeEntra(APP_ID, PASSWORD)


@pytest.fixture
def teams(entra):
    fake = FakeTeamsConnector(entra)
    yield fake
    fake.stop()


class Waits(list):
    def __call__(self, seconds):
        self.append(seconds)


def connector(entra, password=PASSWORD, **options) -> tuple[Connector, Waits]:
    waits = Waits()
    client = Connector(APP_ID, password, token_http_client=entra.client(), sleep=waits, **options)
    return client, waits


def message(text="Hallo"):
    return {"type": "message", "text": text}


def test_a_token_is_acquired_once_and_reused(entra, teams):
    client, _ = connector(entra)
    first = client.send(teams.url, CHAT, message("een"))
    second = client.send(teams.url, CHAT, message("twee"))
    conversation = client.create_conversation(teams.url, TENANT, USER)
    client.send(teams.url, conversation, message("drie"))

    assert first["id"] != second["id"]
    assert entra.token_requests == 1 and entra.discovery_requests == 1
    assert entra.unexpected == []  # no instance discovery, no region probing
    sent = teams.activities_sent()
    assert [c.body["text"] for c in sent] == ["een", "twee", "drie"]
    assert {c.authorization for c in teams.calls} == {f"Bearer {entra.issued[0]}"}
    assert [c.activity_id for c in sent[:2]] == [first["id"], second["id"]]
    assert teams.violations == []


def test_the_multi_tenant_authority_is_botframework_com_and_a_tenant_id_is_used_when_given(teams):
    multi = FakeEntra(APP_ID, PASSWORD)
    Connector(APP_ID, PASSWORD, token_http_client=multi.client()).token()
    assert multi.issued and multi.tenant_guid == BOTFRAMEWORK_TENANT

    single = FakeEntra(APP_ID, PASSWORD, tenant=TENANT)
    Connector(APP_ID, PASSWORD, tenant_id=TENANT, token_http_client=single.client()).token()
    assert single.issued and single.unexpected == []

    with pytest.raises(ConnectorError) as refused:  # a tenant the identity platform does not know
        Connector(APP_ID, PASSWORD, tenant_id="elsewhere.example", token_http_client=single.client()).token()
    assert refused.value.code == "authority"


def test_many_threads_share_one_token(entra, teams):
    client, _ = connector(entra)
    errors = []

    def send(n):
        try:
            client.send(teams.url, f"a:1chat-{n}", message(f"bericht {n}"))
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=send, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(teams.wait_for(8)) == 8
    assert entra.token_requests == 1


def test_a_refused_token_is_replaced_and_the_call_tried_once_more(entra, teams):
    client, waits = connector(entra)
    client.send(teams.url, CHAT, message("een"))
    teams.revoke()  # e.g. the app's secret was rotated: the cached token no longer works

    client.send(teams.url, CHAT, message("twee"))

    assert entra.token_requests == 2
    kinds = [c.kind for c in teams.calls]
    assert kinds == ["send", "send:unauthorized", "send"]
    assert teams.calls[-1].authorization == f"Bearer {entra.issued[1]}"
    assert waits == []  # a 401 is not a reason to back off


def test_post_is_one_attempt_with_the_401_retry_only(entra, teams):
    client, waits = connector(entra)
    teams.fail("send", 502, times=1)
    response = client.post(teams.url, client.activities_path(CHAT), message())
    assert response.status_code == 502 and waits == []
    teams.revoke()
    assert client.post(teams.url, client.activities_path(CHAT), message()).status_code == 201
    assert [c.kind for c in teams.calls] == ["send:failed", "send:unauthorized", "send"]


def test_a_second_401_is_final(entra, teams):
    client, waits = connector(entra)
    teams.fail("send", 401, times=5)
    with pytest.raises(ConnectorError) as refused:
        client.send(teams.url, CHAT, message())
    assert refused.value.status == 401
    assert len(teams.calls) == 2 and waits == []
    assert entra.token_requests == 2


def test_a_wrong_secret_is_a_connector_error_and_nothing_is_sent(entra, teams):
    client, waits = connector(entra, password="not-the-password")
    with pytest.raises(ConnectorError) as refused:
        client.send(teams.url, CHAT, message())
    assert refused.value.code == "invalid_client"
    assert refused.value.status is None
    assert "AADSTS7000215" in str(refused.value)
    assert teams.calls == [] and waits == []


def test_429_waits_for_retry_after(entra, teams):
    client, waits = connector(entra)
    teams.fail("send", 429, times=2, headers={"Retry-After": "3"})
    answer = client.send(teams.url, CHAT, message())
    assert answer["id"]
    assert waits == [3.0, 3.0]
    assert [c.kind for c in teams.calls] == ["send:failed", "send:failed", "send"]


def test_429_with_an_http_date(entra, teams):
    client, waits = connector(entra)
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=5), usegmt=True)
    teams.fail("send", 429, times=1, headers={"Retry-After": when})
    client.send(teams.url, CHAT, message())
    assert len(waits) == 1 and 3 <= waits[0] <= 5


def test_a_retry_after_too_long_for_a_live_answer_is_raised_for_the_caller_to_wait(entra, teams):
    client, waits = connector(entra, max_wait=30)
    teams.fail("send", 429, times=1, headers={"Retry-After": "120"})
    with pytest.raises(ConnectorError) as refused:
        client.send(teams.url, CHAT, message())
    assert (refused.value.status, refused.value.code, refused.value.retry_after) == (429, "Throttled", 120.0)
    assert waits == [] and len(teams.calls) == 1


@pytest.mark.parametrize("status", [412, 502, 504])
def test_transient_failures_are_retried_with_backoff(entra, teams, status):
    client, waits = connector(entra)
    teams.fail("send", status, times=2)
    client.send(teams.url, CHAT, message())
    assert len(waits) == 2 and all(0 < w <= 30 for w in waits)
    assert waits[1] > waits[0]  # backing off
    assert [c.kind for c in teams.calls] == ["send:failed", "send:failed", "send"]


def test_it_gives_up_after_the_attempts(entra, teams):
    client, waits = connector(entra, attempts=3)
    teams.fail("send", 502, times=10)
    with pytest.raises(ConnectorError) as gave_up:
        client.send(teams.url, CHAT, message())
    assert gave_up.value.status == 502 and gave_up.value.code == "ServiceError"
    assert len(teams.calls) == 3 and len(waits) == 2


def test_429_still_refused_after_the_attempts_says_how_long_to_wait(entra, teams):
    client, waits = connector(entra, attempts=2)
    teams.fail("send", 429, times=2, headers={"Retry-After": "7"})
    with pytest.raises(ConnectorError) as gave_up:
        client.send(teams.url, CHAT, message())
    assert gave_up.value.retry_after == 7.0 and waits == [7.0]


def test_connection_errors_are_retried(entra, teams):
    client, waits = connector(entra, attempts=3)
    client.token()
    gone = FakeTeamsConnector(entra)
    url = gone.url
    gone.stop()  # nothing listens there any more
    with pytest.raises(ConnectorError) as gave_up:
        client.send(url, CHAT, message())
    assert gave_up.value.status is None and gave_up.value.code == "ConnectError"
    assert len(waits) == 2


@pytest.mark.parametrize("how", ["blocked", "failed"])
def test_message_writes_blocked_is_final(entra, teams, how):
    client, waits = connector(entra)
    if how == "blocked":
        teams.blocked.add(CHAT)
    else:
        teams.fail("send", 403, times=1)
    with pytest.raises(ConnectorError) as refused:
        client.send(teams.url, CHAT, message())
    assert (refused.value.status, refused.value.code) == (403, "MessageWritesBlocked")
    assert len(teams.calls) == 1 and waits == []


def test_a_blocked_user_blocks_their_one_to_one_chat(entra, teams):
    client, _ = connector(entra)
    teams.blocked.add(USER)
    conversation = client.create_conversation(teams.url, TENANT, USER)
    with pytest.raises(ConnectorError) as refused:
        client.send(teams.url, conversation, message())
    assert refused.value.code == "MessageWritesBlocked"


def test_a_reply_goes_to_the_activity_path(entra, teams):
    client, _ = connector(entra)
    first = client.send(teams.url, CHAT, message("vraag"))
    client.send(teams.url, CHAT, message("antwoord"), reply_to_id=first["id"])
    reply = teams.wait_for(1, kind="reply")[0]
    assert reply.conversation_id == CHAT and reply.reply_to_id == first["id"]
    assert reply.path.endswith(f"/v3/conversations/{CHAT}/activities/{first['id']}")


def test_channel_thread_ids_are_quoted_as_the_bot_framework_expects(entra, teams):
    client, _ = connector(entra)
    client.send(teams.url, THREAD, message("in de draad"))
    sent = teams.wait_for(1, conversation_id=THREAD)[0]
    assert sent.path == f"/emea/v3/conversations/{THREAD}/activities"  # ; = : @ left as they are

    odd = "a b/c?d#e%f"
    client.send(teams.url, odd, message("vreemd"), reply_to_id="1/2")
    reply = teams.wait_for(1, kind="reply", conversation_id=odd)[0]
    assert reply.reply_to_id == "1/2"
    assert reply.path == "/emea/v3/conversations/a%20b%2Fc%3Fd%23e%25f/activities/1%2F2"


def test_quote_id():
    assert Connector.activities_path(THREAD) == f"v3/conversations/{THREAD}/activities"
    assert Connector.activities_path("a:1/x", "7") == "v3/conversations/a:1%2Fx/activities/7"
    assert quote_id(THREAD) == THREAD
    assert quote_id("29:1abc/d e") == "29:1abc%2Fd%20e"
    assert quote_id("x?y#z") == "x%3Fy%23z"


def test_create_conversation(entra, teams):
    client, _ = connector(entra)
    conversation = client.create_conversation(teams.url, TENANT, USER)
    assert conversation.startswith("a:1")
    assert client.create_conversation(teams.url, TENANT, USER) == conversation  # one 1:1 chat per user
    created = teams.wait_for(2, kind="create")
    assert created[0].body == {
        "bot": {"id": f"28:{APP_ID}"},
        "members": [{"id": USER}],
        "channelData": {"tenant": {"id": TENANT}},
        "isGroup": False,
    }
    client.send(teams.url, conversation, message("proactief"))
    assert teams.wait_for(1, conversation_id=conversation)[0].body["text"] == "proactief"


def test_create_conversation_is_retried_too(entra, teams):
    client, waits = connector(entra)
    teams.fail("create", 504, times=1)
    assert client.create_conversation(teams.url, TENANT, USER).startswith("a:1")
    assert len(waits) == 1


def test_update_replaces_an_earlier_activity(entra, teams):
    client, _ = connector(entra)
    first = client.send(teams.url, CHAT, message("oud"))
    client.update(teams.url, CHAT, first["id"], message("nieuw"))
    updated = teams.wait_for(1, kind="update")[0]
    assert updated.reply_to_id == first["id"] and updated.body["text"] == "nieuw"
    with pytest.raises(ConnectorError) as missing:
        client.update(teams.url, CHAT, "12345", message("nergens"))
    assert (missing.value.status, missing.value.code) == (404, "ActivityNotFoundInConversation")


def test_the_fake_checks_size_and_cards(entra, teams):
    client, waits = connector(entra)
    with pytest.raises(ConnectorError) as too_big:
        client.send(teams.url, CHAT, message("x" * 30_000))
    assert (too_big.value.status, too_big.value.code) == (413, "MessageSizeTooBig") and waits == []
    card = {"contentType": "application/vnd.microsoft.card.adaptive", "content": {"type": "AdaptiveCard", "body": {}}}
    client.send(teams.url, CHAT, {"type": "message", "attachments": [card]})
    assert any("bytes" in v for v in teams.violations)
    assert any("without a version" in v for v in teams.violations)
    assert any("body is not a list" in v for v in teams.violations)
    good = {"type": "AdaptiveCard", "version": "1.5", "body": [{"type": "TextBlock", "text": "Hoi"}]}
    before = len(teams.violations)
    client.send(teams.url, CHAT, {"type": "message", "attachments": [{**card, "content": good}]})
    assert len(teams.violations) == before


def test_error_code_and_retry_after():
    blocked = httpx.Response(403, json={"error": {"code": "MessageWritesBlocked", "message": "no"}})
    assert error_code(blocked) == "MessageWritesBlocked"
    assert error_code(httpx.Response(401, json={"message": "Authorization has been denied"})) is None
    assert error_code(httpx.Response(502, text="<html>Bad gateway</html>")) is None
    assert retry_after(httpx.Response(429, headers={"Retry-After": "2.5"})) == 2.5
    assert retry_after(httpx.Response(429, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})) == 0.0
    assert retry_after(httpx.Response(429, headers={"Retry-After": "soon"})) is None
    assert retry_after(httpx.Response(429)) is None


def test_neither_password_nor_token_is_logged(entra, teams, caplog):
    caplog.set_level(logging.DEBUG)
    client, _ = connector(entra)
    client.send(teams.url, CHAT, message())
    teams.revoke()
    teams.fail("send", 429, times=1)
    teams.fail("reply", 403, times=1)
    client.send(teams.url, CHAT, message())
    with pytest.raises(ConnectorError) as refused:
        client.send(teams.url, CHAT, message(), reply_to_id="1")
    with pytest.raises(ConnectorError) as wrong:
        connector(entra, password="wrong-" + PASSWORD)[0].token()

    assert len(entra.issued) == 2 and caplog.records
    shown = caplog.text + str(refused.value) + str(wrong.value) + repr(client)
    for secret in [PASSWORD, *entra.issued]:
        assert secret not in shown
