"""Outbound posts over connections kept open (handlers/kept_open.py), against a real local server."""

import socket
import ssl
import subprocess
import threading
import time

import httpx
import pytest

from handlers.kept_open import KeptOpen
from tests.fakes.local_server import LocalServer


def ok(method, path, headers, body):
    return 200, {}, {"ok": True, "echo": body.decode(), "path": path}


def post(client, url, n=1):
    request = httpx.Request(
        "POST", f"{url}/api/chat.postMessage?x=1", json={"n": n}, headers={"Authorization": "Bearer t"}
    )
    return client.send(request)


@pytest.fixture
def server():
    fake = LocalServer(ok)
    yield fake
    fake.stop()


def test_posts_of_one_thread_share_one_connection_and_read_the_answer_whole(server):
    client = KeptOpen()
    answers = [post(client, server.url, n).json() for n in range(5)]
    assert [a["echo"] for a in answers] == [f'{{"n":{n}}}' for n in range(5)]
    assert answers[0]["path"] == "/api/chat.postMessage?x=1"
    assert len(set(server.peers)) == 1
    client.close()


def test_a_connection_idle_too_long_is_not_reused(server):
    client = KeptOpen(idle=0.05)
    post(client, server.url)
    time.sleep(0.1)
    post(client, server.url)
    assert len(set(server.peers)) == 2


def test_a_connection_the_server_dropped_fails_as_unsure_and_the_next_post_reconnects():
    """The server answers as if it kept the connection, then drops it (as an idle timeout does)."""
    listener = socket.create_server(("127.0.0.1", 0))
    body = b'{"ok": true}'
    answer = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)

    def serve():
        for _ in range(2):
            conn, _ = listener.accept()
            conn.recv(65536)
            conn.sendall(answer)
            time.sleep(0.05)
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    client = KeptOpen()
    assert post(client, url).json() == {"ok": True}
    time.sleep(0.2)
    with pytest.raises(httpx.TransportError) as failed:
        post(client, url)
    assert not isinstance(failed.value, httpx.ConnectError)  # it may have arrived: the caller looks first
    assert post(client, url).json() == {"ok": True}  # a new connection
    thread.join(5)
    listener.close()
    with pytest.raises(httpx.ConnectError):  # nobody listens: surely not arrived
        post(KeptOpen(), url)


def test_a_server_that_does_not_answer_in_time_is_a_timeout():
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        client = KeptOpen(timeout=0.2)
        with pytest.raises(httpx.ReadTimeout):
            post(client, f"http://127.0.0.1:{silent.getsockname()[1]}")


def test_https_is_verified_against_the_trusted_certificates(tmp_path):
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    fake = LocalServer(ok, tls=tls)
    try:
        with pytest.raises(httpx.ConnectError):  # a certificate no authority signed: refused
            post(KeptOpen(), fake.url)
        trusting = KeptOpen(tls=ssl.create_default_context(cafile=str(cert)))
        assert post(trusting, fake.url).json()["ok"] and post(trusting, fake.url).status_code == 200
        assert len(set(fake.peers)) == 1
    finally:
        fake.stop()
