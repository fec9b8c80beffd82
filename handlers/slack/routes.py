"""`POST /slack/events`: events, interactivity and slash commands, all through one bolt app; with
many workspaces also `GET /slack/install` and `GET /slack/oauth_redirect`, bolt's OAuth flow.

Bolt's own Starlette adapter would run `dispatch` on the event loop; we run it in a worker
thread instead, so one slow request never holds up the others.
"""

from __future__ import annotations

import logging

from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from handlers.slack.app import build_bolt_app

log = logging.getLogger("wwidw.slack")


def slack_routes(core) -> list[Route]:
    bolt = build_bolt_app(core)

    async def events(request: Request):
        body = await request.body()
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
