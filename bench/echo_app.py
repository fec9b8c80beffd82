"""The baseline for the wizard benchmark: a bare slack-bolt app that only echoes DMs, served the
same way as the bot (uvicorn, Starlette, bolt's dispatch in a worker thread)."""

from __future__ import annotations

import os

from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.routing import Route

from handlers.slack.app import bolt_app

bolt = bolt_app(os.environ["SLACK_BOT_TOKEN"], os.environ["SLACK_SIGNING_SECRET"], os.environ["SLACK_API_URL"])


@bolt.event("message")
def echo(event, client):
    client.chat_postMessage(channel=event["channel"], text=event.get("text") or "")


async def events(request):
    body = await request.body()
    return to_starlette_response(await run_in_threadpool(bolt.dispatch, to_bolt_request(request, body)))


app = Starlette(routes=[Route("/slack/events", events, methods=["POST"])])
