"""Message catalogues (bot/locale/*.toml): every sentence the bot says, in Dutch and English."""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path

LOCALES = ("nl", "en")
LOCALE_DIR = Path(__file__).parent / "locale"


@cache
def catalogue(locale: str) -> dict[str, str]:
    def flatten(prefix: str, table: dict) -> dict[str, str]:
        out: dict[str, str] = {}
        for key, value in table.items():
            name = f"{prefix}{key}"
            if isinstance(value, dict):
                out.update(flatten(f"{name}.", value))
            else:
                out[name] = value
        return out

    return flatten("", tomllib.loads((LOCALE_DIR / f"{locale}.toml").read_text("utf-8")))


def t(locale: str, key: str, **params) -> str:
    """The text for `key` in `locale` (Dutch when unknown), with `{params}` filled in."""
    texts = catalogue(locale if locale in LOCALES else "nl")
    template = texts.get(key) or catalogue("nl")[key]
    return template.format(**params) if params else template
