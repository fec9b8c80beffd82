"""The privacy statement and the terms of use: the pages a Teams app's manifest must link to
(`wwidw teams-package --website` points it at these), short and in the deployment's language.
They say what this product stores and do for every deployment; the operator of a deployment is
whom they send readers to."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from bot.i18n import t

# path -> (the page's key in the [legal] texts, its sections in order)
PAGES = {
    "/privacy": ("privacy", ("stored", "why", "who", "platforms", "cookies", "kept", "rights", "contact")),
    "/voorwaarden": ("terms", ("use", "content", "sharing", "service", "contact")),
}

templates = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=select_autoescape())


def legal_routes(locale: str) -> list[Route]:
    """The pages, rendered once: they are the same for every reader."""
    links = [(path, t(locale, f"legal.{key}_title")) for path, (key, _) in PAGES.items()]

    def page(key: str, sections: tuple[str, ...]):
        html = templates.get_template("legal.html").render(
            locale=locale, t=partial(t, locale), page=key, sections=sections, links=links, signed_in=False
        )

        async def endpoint(request: Request) -> HTMLResponse:
            return HTMLResponse(html)

        return endpoint

    return [Route(path, page(key, sections)) for path, (key, sections) in PAGES.items()]
