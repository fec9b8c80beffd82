"""The house's rules, checked with every test run: imports run one way (the import-linter
contracts in pyproject.toml: layers, independent surfaces, no platform in the core, no circle
of files) and no file grows past what a newcomer can read in one sitting."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "handlers", "models", "reminders", "wwidw", "tests", "bench")
MAX_LINES = 500


def test_imports_keep_the_contracts():
    # Its own process: import-linter configures logging as a command does, which would silence ours.
    linter = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([linter, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def test_no_file_is_too_long_to_read():
    long = {
        str(path.relative_to(ROOT)): lines
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if (lines := len(path.read_text("utf-8").splitlines())) > MAX_LINES
    }
    assert not long, f"split these by what they do: {long}"
