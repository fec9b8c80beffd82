"""The baseline for the wizard benchmark: a bare slack-bolt app that only echoes DMs, with nothing
of ours imported, served as the bot is (uvicorn, Starlette, bolt's dispatch in a worker thread).

    SLACK_BOT_TOKEN=… SLACK_SIGNING_SECRET=… SLACK_API_URL=… uvicorn bench.echo_app:app
"""

from __future__ import annotations

import os

from slack_bolt import App
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from slack_sdk import WebClient
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.routing import Route

bolt = App(
    signing_secret=os.environ["SLACK_SIGNING_SECRET"],
    client=WebClient(token=os.environ["SLACK_BOT_TOKEN"], base_url=os.environ["SLACK_API_URL"]),
    token_verification_enabled=False,
)


@bolt.event("message")
def echo(event, client):
    client.chat_postMessage(channel=event["channel"], text=event.get("text") or "")


async def events(request):
    body = await request.body()
    return to_starlette_response(await run_in_threadpool(bolt.dispatch, to_bolt_request(request, body)))


app = Starlette(routes=[Route("/slack/events", events, methods=["POST"])])
