"""Leaving the local web chat: "forget this browser" asks first, then erases the browser's
transcript and identity (bot/privacy.py) and its cookie. Signed-in people log out instead."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.routing import Route

from bot.privacy import forget_browser
from handlers.web.sessions import LOCAL_COOKIE, Browsers, secure


def leaving_routes(db, browsers: Browsers, render, guarded, default_tz: str, default_locale: str) -> list[Route]:
    async def leave(request: Request):
        person, identity = await run_in_threadpool(browsers.reader, request)
        if person is None or browsers.signin:
            return RedirectResponse("/", status_code=303)
        if request.method == "GET":
            return render(request, "leave.html", person.locale or default_locale)

        def forget():
            with db.transaction() as s:
                forget_browser(s, identity, default_tz, default_locale)

        await run_in_threadpool(forget)
        response = RedirectResponse("/", status_code=303)
        response.delete_cookie(LOCAL_COOKIE, httponly=True, samesite="lax", secure=secure(request))
        return response

    return [Route("/vergeten", guarded(leave), methods=["GET", "POST"])]
