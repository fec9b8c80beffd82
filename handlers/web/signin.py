"""Signing in and out on the web (`WWIDW_WEB_LOGIN=signin`): to Slack or Microsoft and back.

`/inloggen/slack` and `/inloggen/microsoft?tenant=…` remember the sign-in for this browser
(sessions.py) and send it to the provider; `/inloggen/{provider}/terug` takes the answer once, has
the provider's id_token checked (providers.py), and starts a session as the same person as in
chat. A workspace or tenant that never installed the bot has no organisation here: its people
are told so, and nothing is created for them.
"""

from __future__ import annotations

import logging

from sqlmodel import select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.routing import Route

from bot.i18n import t
from bot.people import sign_in
from handlers.web.providers import MicrosoftSignIn, Refused, SlackSignIn
from handlers.web.sessions import Browsers
from models import Organisation

log = logging.getLogger("wwidw.web")
# The answer's address holds a code: not to be kept, nor sent on as a Referer.
LEAVE_NO_TRACE = {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}


class SignIn:
    def __init__(self, core, browsers: Browsers):
        self.core = core
        self.browsers = browsers
        self.slack = SlackSignIn(core.settings) if core.settings.slack_workspaces else None  # the app's OAuth client
        self.microsoft = MicrosoftSignIn(core.settings, core.teams)

    def choices(self) -> dict:
        """What the sign-in page offers: Slack, and each tenant with a bot registration (by name)."""
        tenants = self.microsoft.tenants()
        with self.core.db.transaction() as s:
            rows = s.exec(
                select(Organisation.teams_tenant_id, Organisation.name).where(Organisation.teams_tenant_id.in_(tenants))
            )
            names = {tenant: name for tenant, name in rows}
        return {
            "signin": True,
            "slack": self.slack is not None,
            "tenants": sorted(((names.get(tid, tid), tid) for tid in tenants), key=lambda pair: pair[0].casefold()),
        }

    def provider(self, name: str):
        return {"slack": self.slack, "microsoft": self.microsoft}.get(name)

    def routes(self, guarded, start_page) -> list[Route]:
        browsers, locale = self.browsers, self.core.settings.wwidw_locale

        async def begin(request: Request):
            provider = self.provider(request.path_params["provider"]) if browsers.signin else None
            if provider is None:
                return RedirectResponse("/", status_code=303)
            back = str(request.url_for("signed_in", provider=provider.provider))
            try:
                if provider is self.microsoft:
                    started = await run_in_threadpool(provider.start, back, request.query_params.get("tenant"))
                else:
                    started = provider.start(back)
            except Refused as refused:
                log.info("sign-in with %s not started: %s", provider.provider, refused.reason)
                return await run_in_threadpool(start_page, request, 400, t(locale, f"signin.{refused.key}"))
            response = RedirectResponse(started.url, status_code=303)
            await run_in_threadpool(
                browsers.expect, request, response, provider.provider, started.state, started.nonce, started.flow
            )
            return response

        async def refuse(request: Request, status: int, key: str):
            page = await run_in_threadpool(start_page, request, status, t(locale, f"signin.{key}"))
            page.headers.update(LEAVE_NO_TRACE)
            return page

        async def signed_in(request: Request):
            provider = self.provider(request.path_params["provider"]) if browsers.signin else None
            if provider is None:
                return RedirectResponse("/", status_code=303)
            answer = dict(request.query_params)
            pending = await run_in_threadpool(browsers.redeem, request, provider.provider, answer.get("state"))
            if pending is None:  # forged, replayed, too late, or begun in another browser
                return await refuse(request, 400, "expired")
            if answer.get("error"):
                key = "cancelled" if answer["error"] == "access_denied" else "failed"
                return await refuse(request, 400, key)
            try:
                who = await run_in_threadpool(provider.finish, pending.nonce, pending.flow, answer)
            except Refused as refused:
                log.warning("sign-in with %s refused: %s", provider.provider, refused.reason)
                status = 503 if refused.key == "unavailable" else 400
                return await refuse(request, status, refused.key)
            identity_id = await run_in_threadpool(
                sign_in, self.core.db, who.platform, who.workspace, who.user_id, who.name, who.chat_id
            )
            if identity_id is None:
                return await refuse(request, 403, f"not_installed_{who.platform}")
            response = RedirectResponse("/", status_code=303, headers=LEAVE_NO_TRACE)
            await run_in_threadpool(browsers.begin, request, response, identity_id)
            return response

        async def sign_out(request: Request):
            response = RedirectResponse("/", status_code=303)
            await run_in_threadpool(browsers.end, request, response)
            return response

        return [
            Route("/inloggen/{provider}", begin, name="sign_in"),
            Route("/inloggen/{provider}/terug", signed_in, name="signed_in"),
            Route("/uitloggen", guarded(sign_out), methods=["POST"]),
        ]
