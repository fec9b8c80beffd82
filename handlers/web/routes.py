"""The web pages: the same wizard in a browser, the knowledge bank, indicators and forms; plain
HTML forms. One small script (static/chat.js) keeps the keyboard in the chat's answer box; every
page works without it.

Who a browser is depends on `WWIDW_WEB_LOGIN` (sessions.py): the local web chat, where a visitor
types a name and joins a local organisation, or sign-in with Slack or Microsoft (signin.py).
"""

from __future__ import annotations

import re
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit

from jinja2 import Environment, FileSystemLoader, select_autoescape
from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from sqlalchemy import delete, or_
from sqlmodel import select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from bot import definition, organisations, search, store
from bot.analyses import FORM as ANALYSIS_FORM
from bot.analyses import AnalysisForm
from bot.documents import as_dict, render_markdown
from bot.forms import FormError, StaleForm
from bot.i18n import t
from bot.library import description_reply
from bot.names import clean_name
from bot.people import ensure_person, person_name
from bot.replies import Reply, Turn, reply_to_dict
from bot.values import clean, is_number
from handlers.web.leaving import leaving_routes
from handlers.web.sessions import CSRF_FIELD, Browsers, token_hash
from handlers.web.signin import SignIn
from models import ChatMessage, Identity, Intervention, Organisation, Person

VERSION = "__version"  # the hidden form field that carries Form.version
CHAT = "/"  # where a turn returns: no fragment, or Chromium will not autofocus the answer box
TRANSCRIPT = 80  # messages shown on the chat page
KEPT = 4 * TRANSCRIPT  # the transcript is trimmed to this many messages; the descriptions themselves stay
SHOWN = 2000  # characters of what someone typed that the transcript keeps (the wizard stores the answer itself)
MAX_PICKED = 60  # more choices than any question offers
# What one client may do, counted per process (moving window): enough to stop a script; a flood
# from many addresses is the proxy's to stop.
NEW_CHATS = parse("10/minute")  # new local web chats (a person, perhaps an organisation) per address
TURNS = parse("600/minute")  # turns per browser

pages = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=select_autoescape())


def choice_link(value: str) -> str | None:
    """Where an older message's choice still leads once its buttons are gone: a description, the indicators."""
    if m := re.fullmatch(r"(?:read:|cmd:open:)(\d+)(?:@.*)?", value):
        return f"/beschrijvingen/{m[1]}"
    if m := re.fullmatch(rf"{ANALYSIS_FORM}:(\d+)", value):
        return f"/beschrijvingen/{m[1]}/analyse"
    return "/indicatoren" if re.fullmatch(r"(?:indicator:|ind:)\d+", value) else None


pages.filters["choice_link"] = choice_link


def web_login(core) -> str:
    """`WWIDW_WEB_LOGIN`, or by default sign-in once people can sign in with Slack (installs) or
    Microsoft (a tenant's own bot registration): they then come to the web as themselves, and no
    visitor can enter their organisations."""
    settings = core.settings
    can_sign_in = settings.slack_workspaces or any(r.tenant_id for r in core.teams.all())
    return settings.wwidw_web_login or ("signin" if can_sign_in else "local")


def web_routes(core) -> list[BaseRoute]:
    db, wizard, forms, settings = core.db, core.wizard, core.forms, core.settings
    browsers = Browsers(db, core.vault, signin=lambda: web_login(core) == "signin")
    reader = browsers.reader
    signin = SignIn(core, browsers)
    limiter = MovingWindowRateLimiter(MemoryStorage())

    def too_often() -> PlainTextResponse:
        return PlainTextResponse(
            t(settings.wwidw_locale, "web.too_often"), status_code=429, headers={"Retry-After": "60"}
        )

    def render(request: Request, name: str, locale: str, status: int = 200, **context) -> HTMLResponse:
        has_cookie = browsers.secret(request) is not None
        context.setdefault("signed_in", browsers.signin and has_cookie)
        context.setdefault("local_visitor", not browsers.signin and has_cookie)
        html = pages.get_template(name).render(
            locale=locale, t=partial(t, locale), csrf=browsers.csrf(request), csrf_field=CSRF_FIELD, **context
        )
        return HTMLResponse(html, status_code=status)

    def guarded(endpoint):
        """A form posted from another site is refused: browsers say where a POST comes from
        (Origin), and every form of ours carries the browser's CSRF token. A page elsewhere must not
        start, answer or publish in someone's web chat."""

        async def checked(request: Request):
            if request.method == "POST":
                origin = request.headers.get("origin")
                ours = {request.headers.get("host"), request.headers.get("x-forwarded-host")}  # behind a proxy too
                if origin and urlsplit(origin).netloc not in ours:
                    return PlainTextResponse("forbidden", status_code=403)
                form = await request.form()  # Starlette keeps it for the endpoint
                if not browsers.form_is_ours(request, form.get(CSRF_FIELD)):
                    return PlainTextResponse(t(settings.wwidw_locale, "signin.stale_form"), status_code=403)
            return await endpoint(request)

        return checked

    def locale_of(person: Person | None) -> str:
        return (person.locale if person else None) or settings.wwidw_locale

    def take_turn(person: Person, identity: Identity, turn: Turn, shown: str | None) -> None:
        replies = wizard.handle(person.id, turn).replies
        with db.transaction() as s:
            if shown:
                shown = shown if len(shown) <= SHOWN else shown[: SHOWN - 1] + "…"
                s.add(ChatMessage(identity_id=identity.id, sender="user", body={"text": shown}))
            for reply in replies:
                s.add(ChatMessage(identity_id=identity.id, sender="bot", body=reply_to_dict(reply)))
            s.flush()
            oldest_kept = s.exec(
                select(ChatMessage.id)
                .where(ChatMessage.identity_id == identity.id)
                .order_by(ChatMessage.id.desc())
                .offset(KEPT - 1)
                .limit(1)
            ).first()
            if oldest_kept is not None:
                s.exec(delete(ChatMessage).where(ChatMessage.identity_id == identity.id, ChatMessage.id < oldest_kept))

    def transcript(identity: Identity) -> list[dict]:
        with db.transaction() as s:
            rows = list(
                s.exec(
                    select(ChatMessage)
                    .where(ChatMessage.identity_id == identity.id)
                    .order_by(ChatMessage.id.desc())
                    .limit(TRANSCRIPT)
                )
            )
        rows.reverse()
        last_user = max((i for i, m in enumerate(rows) if m.sender == "user"), default=-1)
        return [
            {"sender": m.sender, "text": m.body.get("text"), "reply": m.body, "live": i > last_user}
            for i, m in enumerate(rows)
        ]

    def labels_for(identity: Identity, values: list[str]) -> list[str]:
        """What clicked buttons said, to show them in the transcript (from one read of it)."""
        said: dict[str, str] = {}
        for message in transcript(identity):
            if message["sender"] == "bot":
                for choice in message["reply"].get("options", []) + message["reply"].get("actions", []):
                    said[choice["value"]] = choice["label"]  # the newest message's label wins
        return [said.get(value, value) for value in values]

    def start_page(request: Request, status: int = 200, error: str | None = None) -> HTMLResponse:
        """The way in: the local web chat's name form, or the sign-in buttons."""
        if browsers.signin:
            return render(request, "start.html", settings.wwidw_locale, status, error=error, **signin.choices())
        with db.transaction() as s:
            names = organisations.local_names(s)
        default = settings.wwidw_web_organisation
        return render(
            request, "start.html", settings.wwidw_locale, status, error=error, organisations=names, default=default
        )

    async def home(request: Request):
        person, identity = await run_in_threadpool(reader, request)
        if person is None:
            return await run_in_threadpool(start_page, request)
        messages = await run_in_threadpool(transcript, identity)
        if not messages and browsers.signin:  # just signed in: where they are, the draft begun in chat included

            def where_they_are():
                take_turn(person, identity, Turn(action="cmd:resume"), None)
                return transcript(identity)

            messages = await run_in_threadpool(where_they_are)
        last = next((m["reply"] for m in reversed(messages) if m["sender"] == "bot"), {})
        page = render(request, "chat.html", locale_of(person), messages=messages, input=last.get("input"))
        browsers.keep_local(request, page)
        return page

    async def start(request: Request):
        if browsers.signin:  # people come in by signing in; no one takes a name here
            return RedirectResponse("/", status_code=303)
        form = await request.form()
        name = person_name(str(form.get("name") or ""))
        # The organisation to join: one of the list, or a new one typed in.
        organisation = clean_name(str(form.get("organisation") or ""))[:200]
        if not name or (organisation and len(organisation) < 2):
            key = "web.name_missing" if not name else "organisation.bad_name"
            return await run_in_threadpool(start_page, request, 400, t(settings.wwidw_locale, key))

        def allowed() -> bool:
            with db.transaction() as s:
                return organisations.web_may_use(s, organisation)

        if organisation and not await run_in_threadpool(
            allowed
        ):  # a Slack workspace's or Teams tenant's organisation: joined by signing in there
            text = t(settings.wwidw_locale, "organisation.taken", name=organisation)
            return await run_in_threadpool(start_page, request, 400, text)
        if not limiter.hit(NEW_CHATS, "start", request.client.host if request.client else "?"):
            return too_often()
        response = RedirectResponse("/", status_code=303)
        token = browsers.new_local(request, response)

        def create():
            joined = organisation or settings.wwidw_web_organisation
            person_id = ensure_person(db, "web", "", token_hash(token), name, joined)
            with db.transaction() as s:
                person = s.get(Person, person_id)
                identity = s.exec(select(Identity).where(Identity.person_id == person_id)).first()
            take_turn(person, identity, Turn(text=""), None)

        await run_in_threadpool(create)
        return response

    async def say(request: Request):
        person, identity = await run_in_threadpool(reader, request)
        if person is None:
            return RedirectResponse("/", status_code=303)
        if not limiter.hit(TURNS, "say", str(identity.id)):
            return too_often()
        form = await request.form()
        picked = [str(v) for v in form.getlist("opt")]
        if len(picked) > MAX_PICKED:
            return PlainTextResponse(t(locale_of(person), "web.too_many"), status_code=400)
        text, action = clean(str(form.get("text") or "")), clean(str(form.get("action") or ""))
        if form.get("multi"):
            if not picked:
                return RedirectResponse(CHAT, status_code=303)
            turn = Turn(action="opts:" + "|".join(picked))
        elif action:
            turn = Turn(action=action)
        elif text.strip():
            turn = Turn(text=text)
        else:
            return RedirectResponse(CHAT, status_code=303)

        def run():
            shown = None
            if turn.action and turn.action.startswith("opts:"):
                shown = ", ".join(labels_for(identity, [f"opt:{key}" for key in picked]))
            elif turn.action:
                shown = labels_for(identity, [turn.action])[0]
            take_turn(person, identity, turn, shown or text)

        await run_in_threadpool(run)
        return RedirectResponse(CHAT, status_code=303)

    def visible(person: Person | None, iv_id: int):
        with db.transaction() as s:
            iv = store.readable(s, person, iv_id)
            if iv is None:
                return None
            org = s.get(Organisation, iv.organisation_id)
            author = s.get(Person, iv.author_id)
            locale = locale_of(person)
            shown = description_reply(s, iv, locale, person)
            return {
                "iv": iv,
                "organisation": org.name,
                "author": author.display_name,
                "sections": shown.sections,  # with the comments on each step, the expert analyses below
                "may_comment": person is not None and iv.status == "published",
                "may_analyse": bool(shown.actions),  # an expert, and published
                "markdown": render_markdown(s, iv, locale),
                "json": as_dict(s, iv),
            }

    async def descriptions(request: Request):
        person, _ = await run_in_threadpool(reader, request)
        words = clean(str(request.query_params.get("q") or ""))[:200]

        def found():
            with db.transaction() as s:
                organisation = s.get(Organisation, person.organisation_id) if person else None
                return search.search(s, organisation, words, limit=50)

        if words:
            hits = await run_in_threadpool(found)
            return render(request, "list.html", locale_of(person), rows=[], hits=hits, words=words)

        def rows():
            with db.transaction() as s:
                organisation = s.get(Organisation, person.organisation_id) if person else None
                condition = store.visible_to(organisation)
                if person is not None:
                    condition = or_(condition, Intervention.author_id == person.id)
                query = (
                    select(Intervention, Organisation)
                    .join(Organisation, Organisation.id == Intervention.organisation_id)
                    .where(condition)
                    .order_by(Intervention.updated_at.desc())
                    .limit(200)
                )
                found = list(s.exec(query))
                return found, search.analysed_ids(s, [iv.id for iv, _ in found])

        found, analysed = await run_in_threadpool(rows)
        return render(request, "list.html", locale_of(person), rows=found, analysed=analysed)

    async def indicators(request: Request):
        person, _ = await run_in_threadpool(reader, request)
        if person is None:
            return RedirectResponse("/", status_code=303)
        found, locale = await run_in_threadpool(wizard.indicators, person.id)
        return render(request, "indicators.html", locale, entries=found)

    async def description(request: Request):
        person, _ = await run_in_threadpool(reader, request)
        raw = request.path_params["ref"]
        number, _, fmt = raw.partition(".")
        if not is_number(number) or fmt not in ("", "md", "json"):
            return PlainTextResponse(t(locale_of(person), "web.not_found"), status_code=404)
        found = await run_in_threadpool(visible, person, int(number))
        if found is None:
            if person is None:
                return await run_in_threadpool(start_page, request, 404, t(locale_of(person), "web.not_found"))
            return render(
                request,
                "list.html",
                locale_of(person),
                status=404,
                rows=[],
                error=t(locale_of(person), "web.not_found"),
            )
        if fmt == "md":
            return PlainTextResponse(found["markdown"], media_type="text/markdown; charset=utf-8")
        if fmt == "json":
            return JSONResponse(found["json"])
        return render(request, "description.html", locale_of(person), **found)

    async def comment(request: Request):
        """A comment on one step, from the form under a description."""
        person, identity = await run_in_threadpool(reader, request)
        if person is None:
            return RedirectResponse("/", status_code=303)
        iv_id = request.path_params["iv"]
        form = await request.form()
        step, text = str(form.get("step") or ""), str(form.get("text") or "")
        outcome = await run_in_threadpool(wizard.comment, person.id, iv_id, step, text)
        error = next((r for r in outcome.replies if r.kind == "error"), None)
        if error is not None:
            found = await run_in_threadpool(visible, person, iv_id)
            if found is None:
                return PlainTextResponse(error.text, status_code=404)
            return render(
                request, "description.html", outcome.locale, status=400, error=error.text, draft=text, **found
            )
        return RedirectResponse(f"/beschrijvingen/{iv_id}#reacties", status_code=303)

    async def form_page(request: Request):
        person, identity = await run_in_threadpool(reader, request)
        if person is None:
            return RedirectResponse("/", status_code=303)
        iv_id, step = request.path_params["iv"], request.path_params["step"]
        values: dict = {}
        errors: dict = {}
        if request.method == "POST":
            form = await request.form()
            values = {key: (form.getlist(key) if len(form.getlist(key)) > 1 else form.get(key)) for key in form.keys()}
            version = values.pop(VERSION, None)
            try:
                errors = await run_in_threadpool(forms.submit, person.id, iv_id, step, values, version)
            except StaleForm:
                fresh = await run_in_threadpool(forms.stale_form, person.id, iv_id, step)
                return render(request, "form.html", locale_of(person), status=409, form=fresh, values={}, errors={})
            except FormError:
                return PlainTextResponse(t(locale_of(person), "web.not_found"), status_code=404)
            if not errors:
                last_step = step == len(definition.steps())

                def after():
                    saved = Reply(text=t(locale_of(person), "web.form_saved", no=step))
                    with db.transaction() as s:
                        s.add(ChatMessage(identity_id=identity.id, sender="bot", body=reply_to_dict(saved)))
                    if last_step:
                        take_turn(person, identity, Turn(action="cmd:summary"), None)

                await run_in_threadpool(after)
                target = CHAT if last_step else f"/formulier/{iv_id}/{step + 1}"
                return RedirectResponse(target, status_code=303)
        try:
            form_spec = await run_in_threadpool(forms.form, person.id, iv_id, step)
        except FormError:
            return PlainTextResponse(t(locale_of(person), "web.not_found"), status_code=404)
        return render(
            request,
            "form.html",
            locale_of(person),
            status=400 if errors else 200,
            form=form_spec,
            values={k: v for k, v in values.items() if isinstance(v, str)},
            errors=errors,
        )

    async def analysis_page(request: Request):
        """An expert's analysis of a description as one form: save, or save and publish."""
        person, identity = await run_in_threadpool(reader, request)
        if person is None:
            return RedirectResponse("/", status_code=303)
        iv_id, values, errors = request.path_params["iv"], {}, {}
        if request.method == "POST":
            form = await request.form()
            values = {key: str(form.get(key) or "") for key in form.keys() if key != "publish"}
            errors, outcome = await run_in_threadpool(
                wizard.save_analysis, person.id, iv_id, values, bool(form.get("publish"))
            )
            refused = next((r for r in outcome.replies if r.kind == "error"), None)
            if refused is not None:  # not an expert, or a description they may not analyse
                return PlainTextResponse(refused.text, status_code=403)
            if not errors:

                def told() -> None:  # the confirmation, in the chat's transcript too
                    with db.transaction() as s:
                        for reply in outcome.replies[:1]:
                            s.add(ChatMessage(identity_id=identity.id, sender="bot", body=reply_to_dict(reply)))

                await run_in_threadpool(told)
                return RedirectResponse(f"/beschrijvingen/{iv_id}", status_code=303)
        found = await run_in_threadpool(wizard.analysis_form, person.id, iv_id)
        if not isinstance(found, AnalysisForm):
            return PlainTextResponse(" ".join(r.text for r in found.replies), status_code=403)
        status = 400 if errors else 200
        return render(request, "analysis.html", found.locale, status=status, form=found, values=values, errors=errors)

    async def chart(request: Request):
        person, _ = await run_in_threadpool(reader, request)
        ref = request.path_params["ref"]
        if person is None or not ref.endswith(".png") or not is_number(ref[:-4]):
            return PlainTextResponse(t(locale_of(person), "web.not_found"), status_code=404)
        png = await run_in_threadpool(wizard.chart, person.id, int(ref[:-4]))
        if png is None:
            return PlainTextResponse(t(locale_of(person), "web.not_found"), status_code=404)
        return Response(png, media_type="image/png", headers={"Cache-Control": "no-store"})

    return [
        Route("/", home),
        Route("/voortgang/{ref}", chart),
        Route("/start", guarded(start), methods=["POST"]),
        Route("/say", guarded(say), methods=["POST"]),
        Route("/beschrijvingen", descriptions),
        Route("/beschrijvingen/{ref}", description),
        Route("/beschrijvingen/{iv:int}/reactie", guarded(comment), methods=["POST"]),
        Route("/indicatoren", indicators),
        Route("/formulier/{iv:int}/{step:int}", guarded(form_page), methods=["GET", "POST"]),
        Route("/beschrijvingen/{iv:int}/analyse", guarded(analysis_page), methods=["GET", "POST"]),
        *signin.routes(guarded, start_page),
        *leaving_routes(db, browsers, render, guarded, settings.wwidw_timezone, settings.wwidw_locale),
        Mount("/static", StaticFiles(directory=Path(__file__).parent / "static")),
    ]
