"""Cells of the CSV files and spreadsheets the bot writes.

A spreadsheet runs a cell that begins with `=`, `+`, `-` or `@` (or with a tab or carriage return,
which some strip first) as a formula: a note typed as `=HYPERLINK(…)` would run on the reader's
machine (CSV injection, OWASP). Such text is written with a leading apostrophe, which
spreadsheets show as text; numbers stay numbers (a negative one is not a formula).
"""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value):
    """`value` as it may go into a cell."""
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_STARTS) else value


def row(values) -> list:
    return [cell(v) for v in values]
