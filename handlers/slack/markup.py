"""What someone typed in Slack, from the markup Slack sends.

Slack escapes `&`, `<` and `>` as entities and wraps what it recognises in angle brackets: a typed
link as `<https://x.nl>`, a typed `x.nl` as `<http://x.nl|x.nl>`, a link with its own text as
`<https://x.nl/plan.pdf|projectplan>`, a channel as `<#C123|buurt>`, `@here` as `<!here>`. The core
gets the text as it was typed: `Jan & Piet <3`, `https://x.nl`, `projectplan (https://…)`,
`#buurt`. A mention of a person stays `<@U123>` here: the adapter asks Slack for the name
(`named` in app.py), and where Slack will not say, step 8 still knows which colleague it means.
"""

from __future__ import annotations

import re

WRAPPED = re.compile(r"<([^<>\n]{1,3000})>")
SPECIAL = {"here": "@here", "channel": "@channel", "everyone": "@everyone"}


def typed(text: str) -> str:
    unwrapped = WRAPPED.sub(lambda m: _unwrap(m[1]), text)
    # Slack escapes exactly these three; `&amp;` last, so a typed "&lt;" stays as typed.
    return unwrapped.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _unwrap(inner: str) -> str:
    target, _, label = inner.partition("|")
    if target[:2] in ("@U", "@W"):
        return f"<{target}>"  # a person, for the core to resolve in this workspace
    if target[:1] == "#":
        return "#" + (label or target[1:])
    if target[:1] == "!":
        name = target[1:].split("^")[0]
        return label or SPECIAL.get(name, "@" + name)
    if not label:
        return target.removeprefix("mailto:")
    bare = target.removeprefix("mailto:").split("://", 1)[-1].rstrip("/")
    return label if label.rstrip("/") in (bare, target) else f"{label} ({target})"
