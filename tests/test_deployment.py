"""What a deployment is set up with: the privacy and terms pages its Teams app points to, served by
the live app; `.env.example`, complete; and `make run` installing only what running needs."""

import json
import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from bot.settings import Settings
from wwidw.app import Core, create_app

ROOT = Path(__file__).resolve().parent.parent
APP_ID = "3f2b8c1e-7d4a-4e6b-9a1c-5d8e2f7b0c94"
VARIABLE = re.compile(r"^# ([A-Z][A-Z0-9_]*)=(.*)$")
READS = re.compile(r"""(?:environ\.get|environ\[|getenv)\(?\s*["']([A-Z][A-Z0-9_]*)["']""")  # what code reads


def served(db, make_server, locale="nl"):
    settings = Settings(database_url=db.url, wwidw_locale=locale, _env_file=None)
    return make_server(create_app(core=Core(settings, db)))


def manifest_urls(tmp_path) -> dict:
    out = tmp_path / "wwidw.zip"
    made = subprocess.run(
        [sys.executable, "-m", "wwidw.cli", "teams-package", "--app-id", APP_ID, "--website", "https://wwidw.woonstad.nl",
         "--out", str(out)], capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    with zipfile.ZipFile(out) as archive:
        return json.loads(archive.read("manifest.json"))["developer"]


def test_the_pages_the_teams_manifest_points_to_are_served_in_dutch(db, make_server, tmp_path):
    server = served(db, make_server)
    developer = manifest_urls(tmp_path)
    assert developer["privacyUrl"] == "https://wwidw.woonstad.nl/privacy"
    assert developer["termsOfUseUrl"] == "https://wwidw.woonstad.nl/voorwaarden"
    privacy = httpx.get(server.url + urlsplit(developer["privacyUrl"]).path)
    assert privacy.status_code == 200 and privacy.headers["content-type"].startswith("text/html")
    assert '<html lang="nl">' in privacy.text and "<h1>Privacyverklaring</h1>" in privacy.text
    assert 'href="/beschrijvingen"' in privacy.text  # the site's own page, with its header
    # What the product keeps, and whom to ask: the deployment's operator.
    for kept in ("naam", "chatidentiteit", "beschrijvingen", "metingen", "websessie"):
        assert kept in privacy.text
    assert "beheerder" in privacy.text and "legal." not in privacy.text
    terms = httpx.get(server.url + urlsplit(developer["termsOfUseUrl"]).path)
    assert terms.status_code == 200 and "<h1>Gebruiksvoorwaarden</h1>" in terms.text
    assert 'href="/privacy"' in terms.text and "beheerder" in terms.text
    assert "default-src 'none'" in terms.headers["content-security-policy"]  # the app's headers, as every page


def test_the_pages_speak_english_when_the_deployment_does(db, make_server):
    server = served(db, make_server, locale="en")
    privacy = httpx.get(server.url + "/privacy")
    assert privacy.status_code == 200 and '<html lang="en">' in privacy.text
    assert "<h1>Privacy statement</h1>" in privacy.text and "chat identity" in privacy.text
    assert "operator" in privacy.text and "Privacyverklaring" not in privacy.text
    terms = httpx.get(server.url + "/voorwaarden")
    assert terms.status_code == 200 and "<h1>Terms of use</h1>" in terms.text


def example_variables() -> dict[str, str]:
    """`# NAME=value` lines of .env.example, each required to follow a comment of its own."""
    lines = (ROOT / ".env.example").read_text("utf-8").splitlines()
    found = {}
    for number, line in enumerate(lines):
        if match := VARIABLE.match(line):
            before = lines[number - 1]
            assert before.startswith("# ") and not VARIABLE.match(before), f"{match[1]} needs its own comment"
            found[match[1]] = match[2]
    return found


def test_env_example_names_every_setting_and_every_variable_the_code_reads(tmp_path):
    listed = example_variables()
    settings = {name.upper() for name in Settings.model_fields}
    assert settings - set(listed) == set()
    read = set()
    for package in ("bot", "handlers", "models", "reminders", "wwidw", "bench", "tests"):
        for path in (ROOT / package).rglob("*.py"):
            read |= set(READS.findall(path.read_text("utf-8")))
    assert read - set(listed) == set()
    # Uncommented, the examples are values the settings accept.
    (tmp_path / ".env").write_text("".join(f"{name}={value}\n" for name, value in listed.items()), "utf-8")
    example = Settings(_env_file=tmp_path / ".env")
    assert example.wwidw_web_login == listed["WWIDW_WEB_LOGIN"] and example.database_url == listed["DATABASE_URL"]


def make_dry_run(folder: Path, target: str) -> str:
    # Run as from a shell, also when the suite itself runs under `make test` (as in CI).
    env = {k: v for k, v in os.environ.items() if k not in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS")}
    command = ["make", "--no-print-directory", "-n", target]
    result = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture
def fresh_clone(tmp_path):
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy(ROOT / name, tmp_path / name)
    return tmp_path


def test_make_run_installs_what_running_needs_and_make_test_adds_the_test_extras(fresh_clone):
    run = make_dry_run(fresh_clone, "run")
    assert "-m venv .venv" in run and "pip install --quiet -e .\n" in run and "[test]" not in run
    # After `make run`: its venv and stamp are there, and `make test` adds only the extras.
    (fresh_clone / ".venv/bin").mkdir(parents=True)
    (fresh_clone / ".venv/bin/python").touch()
    (fresh_clone / ".venv/bin/.installed").touch()
    an_hour_ago = time.time() - 3600
    os.utime(fresh_clone / "pyproject.toml", (an_hour_ago, an_hour_ago))  # installed after its last change
    test = make_dry_run(fresh_clone, "test")
    assert "pip install --quiet -e '.[test]'" in test and "-m venv" not in test and "-e .\n" not in test
    assert "python -m pytest" in test
    assert "[test]" not in make_dry_run(fresh_clone, "run")  # running still asks for no test extras


def test_ci_from_a_fresh_clone_installs_the_test_extras(fresh_clone):
    """`.ci/run` is `make test`: from nothing, it makes the venv and installs the package with its extras."""
    assert "make test" in (ROOT / ".ci/run").read_text("utf-8")
    test = make_dry_run(fresh_clone, "test")
    assert test.index("-m venv .venv") < test.index("-e .\n") < test.index("-e '.[test]'") < test.index("-m pytest")
