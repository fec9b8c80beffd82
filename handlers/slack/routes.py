"""`POST /slack/events`: events, interactivity and slash commands, all through one bolt app; with
many workspaces also `GET /slack/install` and `GET /slack/oauth_redirect`, bolt's OAuth flow.

Every request is checked here, before bolt reads it: a timestamp of digits within five minutes
and Slack's signature of it and the body (slack_sdk's SignatureVerifier), else 401 and one short
log line, never the body. Bolt's own Starlette adapter would run `dispatch` on the event loop; we
run it in a worker thread instead, so one slow request never holds up the others.
"""

from __future__ import annotations

import logging

from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from slack_sdk.signature import SignatureVerifier
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from handlers.slack.app import build_bolt_app

log = logging.getLogger("wwidw.slack")


def slack_routes(core) -> list[Route]:
    bolt = build_bolt_app(core)
    verifier = SignatureVerifier(core.settings.slack_signing_secret.get_secret_value())

    async def events(request: Request):
        body = await request.body()
        refused = unsigned(verifier, request.headers, body)
        if refused:
            log.info("refused a Slack request: %s (%d bytes)", refused, len(body))
            return PlainTextResponse("invalid request", status_code=401)
        try:
            bolt_request = to_bolt_request(request, body)
        except Exception:  # not UTF-8, not JSON, or JSON that is not an object: nothing to verify or do
            return PlainTextResponse("malformed request", status_code=400)
        try:
            response = await run_in_threadpool(bolt.dispatch, bolt_request)
        except Exception as e:  # a payload of a shape bolt itself cannot read
            log.warning("rejected a Slack request bolt could not read: %s", e.__class__.__name__)
            return PlainTextResponse("malformed request", status_code=400)
        return to_starlette_response(response)

    routes = [Route("/slack/events", events, methods=["POST"])]
    flow = bolt.oauth_flow
    if flow is not None:

        async def install(request: Request):
            return to_starlette_response(
                await run_in_threadpool(flow.handle_installation, to_bolt_request(request, b""))
            )

        async def redirect(request: Request):
            return to_starlette_response(await run_in_threadpool(flow.handle_callback, to_bolt_request(request, b"")))

        routes += [Route(flow.install_path, install), Route(flow.redirect_uri_path, redirect)]
    return routes


def unsigned(verifier: SignatureVerifier, headers, body: bytes) -> str | None:
    """Why a request is not Slack's, or None when it is."""
    timestamp, signature = headers.get("x-slack-request-timestamp", ""), headers.get("x-slack-signature", "")
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
        return "no timestamp" if not timestamp else "malformed timestamp"
    if not signature:
        return "no signature"
    return None if verifier.is_valid(body, timestamp, signature) else "bad or old signature"
