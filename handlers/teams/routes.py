"""`POST /api/messages`: every Bot Framework activity, its token checked before anything else."""

from __future__ import annotations

import json
import logging

from microsoft_agents.activity import Activity
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from handlers.teams.app import TeamsBot
from handlers.teams.auth import AuthError, BotFrameworkAuth
from handlers.teams.conversations import tenant_of

log = logging.getLogger("wwidw.teams")
# The schema logs a failed validation with the values that failed, which is what someone typed:
# those stay out of the log (ours names only the fields).
logging.getLogger("microsoft_agents.activity").setLevel(logging.CRITICAL)


def teams_routes(core) -> list[Route]:
    settings, registrations = core.settings, core.teams
    auth = BotFrameworkAuth(
        lambda app_id: registrations.for_app(app_id) is not None,
        settings.teams_openid_metadata_url,
        issuer=settings.teams_botframework_url.rstrip("/"),
    )
    bot = TeamsBot(core, registrations)

    async def messages(request: Request):
        if not await run_in_threadpool(registrations.any):
            return PlainTextResponse("Teams is off: no bot registration", status_code=404)
        body = await request.body()
        try:
            activity = json.loads(body)
        except ValueError:
            activity = None
        activity = activity if isinstance(activity, dict) else {}
        service_url, channel = activity.get("serviceUrl"), activity.get("channelId")
        try:
            # First the token: nothing of an unauthenticated request is acted upon. The channel is
            # Teams only: other Bot Framework channels (Web Chat, Direct Line) let their client say
            # who and which tenant it is, and their tokens are just as valid.
            channel = channel if isinstance(channel, str) else ""
            claims = await run_in_threadpool(auth.verify, request.headers.get("authorization"), service_url, channel)
            if channel != "msteams":
                raise AuthError(403, "not the Teams channel")
        except AuthError as e:
            log.warning("refused a Teams request: %s", e.reason)
            return PlainTextResponse("unauthorized" if e.status == 401 else "forbidden", status_code=e.status)
        try:
            parsed = Activity.model_validate(activity)
        except ValidationError as e:
            # Not an activity as the Bot Framework defines it: received (a retry would fail the same
            # way), acted on in no way. The log names the fields, never their values.
            fields = sorted({".".join(map(str, error["loc"][:2])) for error in e.errors()})[:5]
            log.warning("ignored a Teams activity that does not fit the schema: %s", ", ".join(fields))
            return Response(status_code=200)
        registration = registrations.for_app(claims["aud"])
        if registration is None or not registration.serves(tenant_of(parsed)):
            # A single-tenant bot speaks for its own tenant only: a genuine token of organisation
            # A's bot must not carry an activity that says it comes from organisation B.
            log.warning("refused a Teams activity from another tenant than its bot's")
            return PlainTextResponse("forbidden", status_code=403)
        try:
            answer = await run_in_threadpool(bot.handle, parsed, registration)
        except Exception:
            # An activity of a shape we did not foresee: say so in the log, and tell Teams it was
            # received (a retry would fail the same way). What was stored before stays stored.
            log.exception("could not handle a Teams activity of type %r", str(parsed.type)[:40])
            return Response(status_code=200)
        return JSONResponse(answer) if answer is not None else Response(status_code=200)

    return [Route("/api/messages", messages, methods=["POST"])]
