"""`wwidw teams-package` as an operator runs it: the zip Teams accepts for upload (manifest schema v1.17)."""

import io
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from handlers.teams.package import build_package

ROOT = Path(__file__).resolve().parent.parent
APP_ID = "3f2b8c1e-7d4a-4e6b-9a1c-5d8e2f7b0c94"
WEBSITE = "https://wwidw.woonstad.nl"
GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
# "required" of https://developer.microsoft.com/json-schemas/teams/v1.17/MicrosoftTeams.schema.json
REQUIRED_V1_17 = ["manifestVersion", "version", "id", "developer", "name", "description", "icons", "accentColor"]


def wwidw(*args):
    return subprocess.run(
        [sys.executable, "-m", "wwidw.cli", *args], capture_output=True, text=True, cwd=ROOT, timeout=60
    )


def package(tmp_path, name="wwidw.zip", *extra):
    out = tmp_path / name
    website = [] if "--website" in extra else ["--website", WEBSITE]
    result = wwidw("teams-package", "--app-id", APP_ID, "--out", str(out), *website, *extra)
    assert result.returncode == 0, result.stderr
    assert str(out.resolve()) in result.stdout
    return out


def read(zip_path):
    with zipfile.ZipFile(zip_path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_the_package_holds_a_valid_manifest_and_two_icons(tmp_path):
    out = package(
        tmp_path,
        "wwidw.zip",
        "--website",
        "https://wwidw.woonstad.nl",
        "--domain",
        "wwidw.woonstad.nl",
        "--domain",
        "*.woonstad.nl",
        "--version",
        "1.2.3",
    )
    files = read(out)
    assert sorted(files) == ["color.png", "manifest.json", "outline.png"]
    manifest = json.loads(files["manifest.json"])

    assert manifest["$schema"] == "https://developer.microsoft.com/json-schemas/teams/v1.17/MicrosoftTeams.schema.json"
    assert manifest["manifestVersion"] == "1.17"
    assert all(key in manifest for key in REQUIRED_V1_17)
    assert manifest["version"] == "1.2.3"
    assert GUID.match(manifest["id"]) and manifest["id"] != APP_ID
    assert manifest["accentColor"] == "#2f6b3f"
    assert manifest["localizationInfo"] == {"defaultLanguageTag": "nl-nl"}  # the texts are Dutch

    developer = manifest["developer"]
    assert 0 < len(developer["name"]) <= 32
    assert developer["websiteUrl"] == "https://wwidw.woonstad.nl"
    assert developer["privacyUrl"] == "https://wwidw.woonstad.nl/privacy"
    assert developer["termsOfUseUrl"] == "https://wwidw.woonstad.nl/voorwaarden"
    assert manifest["name"]["short"] == "Wat Werkt in de Wijk"
    assert len(manifest["name"]["short"]) <= 30 and len(manifest["name"]["full"]) <= 100
    assert 0 < len(manifest["description"]["short"]) <= 80
    assert 0 < len(manifest["description"]["full"]) <= 4000
    assert "wijkinterventie" in manifest["description"]["full"]  # Dutch, as the bot speaks
    assert manifest["icons"] == {"color": "color.png", "outline": "outline.png"}
    assert manifest["permissions"] == ["identity", "messageTeamMembers"]
    assert manifest["validDomains"] == ["wwidw.woonstad.nl", "*.woonstad.nl"]

    [bot] = manifest["bots"]
    assert bot["botId"] == APP_ID
    assert bot["scopes"] == ["personal", "team"]
    assert bot["supportsFiles"] is False and bot["isNotificationOnly"] is False
    lists = {tuple(entry["scopes"]): entry["commands"] for entry in bot["commandLists"]}
    assert len(bot["commandLists"]) <= 3
    assert [c["title"] for c in lists[("personal",)]] == [
        "nieuw", "verder", "mijn", "formulier", "zoek", "meting", "voortgang", "indicatoren", "help",
    ]  # fmt: skip
    assert [c["title"] for c in lists[("team",)]] == [
        "kanaal abonneer", "kanaal opzeggen", "kanaal lijst", "help",
    ]  # fmt: skip
    for commands in lists.values():
        assert len(commands) <= 10
        for command in commands:
            assert set(command) == {"title", "description"}
            assert 0 < len(command["title"]) <= 32 and 0 < len(command["description"]) <= 128


def test_the_icons_have_the_sizes_and_colours_teams_requires(tmp_path):
    files = read(package(tmp_path))
    color = Image.open(io.BytesIO(files["color.png"]))
    assert color.format == "PNG" and color.size == (192, 192) and color.mode in ("RGB", "RGBA")
    assert len({color.convert("RGB").getpixel((x, y)) for x in range(192) for y in range(192)}) > 10  # full colour
    assert color.convert("RGB").getpixel((0, 0)) == (47, 107, 63)  # on the accent colour

    outline = Image.open(io.BytesIO(files["outline.png"]))
    assert outline.format == "PNG" and outline.size == (32, 32) and outline.mode == "RGBA"
    pixels = [outline.getpixel((x, y)) for x in range(32) for y in range(32)]
    assert all(alpha == 0 or (r, g, b, alpha) == (255, 255, 255, 255) for r, g, b, alpha in pixels)
    assert any(alpha == 0 for *_, alpha in pixels) and any(alpha == 255 for *_, alpha in pixels)
    assert outline.getbbox() == (0, 0, 32, 32)  # no padding around the symbol


def test_packaging_again_keeps_the_teams_app_id(tmp_path):
    first = package(tmp_path, "first.zip")
    second = package(tmp_path, "second.zip")
    assert first.read_bytes() == second.read_bytes()
    newer = json.loads(read(package(tmp_path, "newer.zip", "--version", "1.0.1", "--name", "Wijkbot"))["manifest.json"])
    assert newer["id"] == json.loads(read(first)["manifest.json"])["id"]
    assert newer["name"]["short"] == "Wijkbot" and newer["version"] == "1.0.1"
    other = tmp_path / "other.zip"
    other_bot = APP_ID.replace("3f2b", "4f2b")
    assert wwidw("teams-package", "--app-id", other_bot, "--website", WEBSITE, "--out", str(other)).returncode == 0
    assert json.loads(read(other)["manifest.json"])["id"] != newer["id"]


@pytest.mark.parametrize(
    "args, problem",
    [
        (["--app-id", "wwidw-bot", "--website", WEBSITE], "GUID"),
        (["--app-id", APP_ID + "0", "--website", WEBSITE], "GUID"),
        (["--app-id", APP_ID, "--website", WEBSITE, "--name", "Wat Werkt in de Wijk voor Woonstad"], "at most 30"),
        (["--app-id", APP_ID, "--website", "http://wwidw.woonstad.nl"], "https://"),
        (["--app-id", APP_ID, "--website", WEBSITE, "--domain", "https://wwidw.woonstad.nl/"], "valid domain"),
        (["--app-id", APP_ID, "--website", WEBSITE, "--version", "1.0"], "version"),
        # No placeholder address: Teams would show everyone installing the app a stranger's privacy statement.
        (["--app-id", APP_ID], "--website"),
        (["--app-id", APP_ID, "--website", " "], "website is required"),
    ],
)
def test_a_bad_value_is_refused_and_nothing_is_written(tmp_path, args, problem):
    out = tmp_path / "wwidw.zip"
    result = wwidw("teams-package", *args, "--out", str(out))
    assert result.returncode == 1
    assert problem in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert result.stdout == ""
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_build_package_checks_every_limit_before_writing(tmp_path):
    with pytest.raises(ValueError, match="short description has 81 characters, at most 80"):
        build_package(APP_ID, tmp_path / "a.zip", website_url=WEBSITE, short_description="x" * 81)
    with pytest.raises(ValueError, match="at most 16 valid domains"):
        domains = [f"d{i}.example.nl" for i in range(17)]
        build_package(APP_ID, tmp_path / "a.zip", website_url=WEBSITE, valid_domains=domains)
    with pytest.raises(ValueError, match="Teams app id must be a GUID"):
        build_package(APP_ID, tmp_path / "a.zip", website_url=WEBSITE, package_id="not-a-guid")
    with pytest.raises(ValueError, match="the deployment's website is required"):
        build_package(APP_ID, tmp_path / "a.zip")
    assert list(tmp_path.iterdir()) == []
    chosen = "0b8f1c2d-3e4a-4b5c-8d6e-7f8091a2b3c4"
    path = build_package(APP_ID, tmp_path, website_url=WEBSITE, package_id=chosen)  # a directory gets wwidw-teams.zip
    assert path == tmp_path / "wwidw-teams.zip"
    assert json.loads(read(path)["manifest.json"])["id"] == chosen
