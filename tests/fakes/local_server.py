"""A real HTTP server on a free local port, in a background thread: what every fake beyond our
network edge (Slack, the Bot Framework connector, its identity provider) is served by."""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# (method, path with query, request headers, raw body) -> (status, response headers, body)
Answer = Callable[[str, str, dict, bytes], tuple[int, dict, dict | bytes]]


class Listening(ThreadingHTTPServer):
    # The standard library listens with a backlog of 5: a burst of new connections overflows it,
    # and the kernel's one-second SYN retry would then be blamed on the code under test.
    request_queue_size = 1024


class LocalServer:
    def __init__(self, answer: Answer, tls: ssl.SSLContext | None = None):
        peers = self.peers = []  # the client address (so: the connection) of each request, in order

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body leave in two writes; without this, Nagle's algorithm and delayed
            # ACKs hold every answer back 40 ms, which real services do not do.
            disable_nagle_algorithm = True

            def log_message(self, *args):
                pass

            def do_GET(self):
                self.respond()

            def do_POST(self):
                self.respond()

            def do_PUT(self):
                self.respond()

            def respond(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                if len(raw) < length:  # the client went away mid-request: nothing arrived
                    self.close_connection = True
                    return
                peers.append(self.client_address)
                status, headers, body = answer(self.command, self.path, dict(self.headers), raw)
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                for key, value in {"Content-Type": "application/json; charset=utf-8", **headers}.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = Listening(("127.0.0.1", 0), Handler)
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.server.daemon_threads = True
        self.port = self.server.server_port
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        # A short poll interval: `stop()` waits for the loop to notice, half a second otherwise.
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
