"""The Microsoft Teams app package (`wwidw teams-package`): a zip with manifest.json and two icons.

The manifest follows schema v1.17
(https://developer.microsoft.com/json-schemas/teams/v1.17/MicrosoftTeams.schema.json); every length and
format that schema limits is checked here before anything is written, so a value that is too long is refused
with a message instead of being cut or rejected later by Teams at upload. The icons are drawn with Pillow (a
row of houses: a neighbourhood), so the package needs no files besides this module.

The manifest's `id` is the Teams app's own id; the bot's Microsoft App ID goes into `bots[0].botId`. By default
the `id` is a UUID5 of the bot's app id: re-packaging (a new version, another name) keeps the same Teams app id,
so uploading it again updates the installed app instead of adding a second one, while the Teams app id stays
distinct from the Entra app id (which also names the app registration, its service principal and the bot).
"""

from __future__ import annotations

import io
import json
import os
import re
import tempfile
import uuid
import zipfile
from collections.abc import Iterable
from pathlib import Path

from PIL import Image, ImageDraw

SCHEMA_URL = "https://developer.microsoft.com/json-schemas/teams/v1.17/MicrosoftTeams.schema.json"
MANIFEST_VERSION = "1.17"
ACCENT_COLOR = "#2f6b3f"

DEFAULT_NAME = "Wat Werkt in de Wijk"
DEFAULT_SHORT_DESCRIPTION = "Beschrijf, volg en deel wijkinterventies in acht stappen."
DEFAULT_FULL_DESCRIPTION = (
    "De bot van Wat Werkt in de Wijk helpt wijkprofessionals van woningcorporaties, gemeenten en "
    "welzijnsorganisaties hun wijkinterventie te beschrijven in acht stappen: basisgegevens, aanleiding en "
    "probleem, doelgroep, doelen en beoogde effecten, aanpak, werkzame bestanddelen, inzet en kosten, meten en "
    "delen. Vraag voor vraag in een privégesprek of als formulier, met concepten die altijd bewaard blijven. "
    "Publiceer voor de eigen organisatie, de partners of iedereen, zoek in de kennisbank wat elders werkt, vul "
    "metingen in als de bot eraan herinnert en volg de voortgang per indicator. Een kanaal kan zich abonneren op "
    "een wekelijks of dagelijks overzicht van nieuwe beschrijvingen."
)
DEFAULT_DEVELOPER = "Wat Werkt in de Wijk"
# The deployment serves these pages itself (handlers/web/legal.py); Teams shows them to whoever installs the app.
PRIVACY_PATH = "/privacy"
TERMS_PATH = "/voorwaarden"
FULL_NAME_SUFFIX = ": wijkinterventies beschrijven, volgen en delen"

COLOR_ICON = "color.png"
OUTLINE_ICON = "outline.png"

# Fixed for good: the default Teams app id of every package is derived from it.
_ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:wwidw-bot:teams-app")

_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_SEMVER = re.compile(r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$")
_HEX_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
_DOMAIN = re.compile(
    r"^(\*\.)?[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*(:\d{1,5})?$"
)

# Limits of schema v1.17.
MAX_SHORT_NAME = 30
MAX_FULL_NAME = 100
MAX_SHORT_DESCRIPTION = 80
MAX_FULL_DESCRIPTION = 4000
MAX_DEVELOPER_NAME = 32
MAX_URL = 2048
MAX_VERSION = 256
MAX_COMMAND_LISTS = 3
MAX_COMMANDS = 10
MAX_COMMAND_TITLE = 32
MAX_COMMAND_DESCRIPTION = 128
MAX_VALID_DOMAINS = 16

PERSONAL_COMMANDS = [
    ("nieuw", "Begin een nieuwe beschrijving van een wijkinterventie, vraag voor vraag in acht stappen."),
    ("verder", "Ga verder met je concept, bij de vraag waar je gebleven was."),
    ("mijn", "Toon je concepten en gepubliceerde beschrijvingen."),
    ("formulier", "Vul een hele stap in als formulier in plaats van vraag voor vraag, bijvoorbeeld: formulier 3."),
    ("zoek", "Zoek in de kennisbank van beschrijvingen, bijvoorbeeld: zoek eenzaamheid ouderen."),
    ("meting", "Vul een meting in voor een indicator, ook voor een eerdere periode."),
    ("voortgang", "Toon per indicator nulmeting, laatste meting en streefwaarde, bijvoorbeeld: voortgang 12."),
    ("indicatoren", "Toon de indicatoren die je meet, met hun ritme en wanneer de volgende herinnering komt."),
    ("help", "Uitleg over wat de bot kan en welke woorden hij begrijpt."),
]
TEAM_COMMANDS = [
    (
        "kanaal abonneer",
        "Abonneer dit kanaal op een overzicht van nieuwe beschrijvingen, bijvoorbeeld: kanaal abonneer wekelijks.",
    ),
    ("kanaal opzeggen", "Stop het overzicht in dit kanaal."),
    ("kanaal lijst", "Toon of dit kanaal een overzicht krijgt, en welk."),
    ("help", "Uitleg over de bot en de commando's voor kanalen."),
]


def is_guid(value: str) -> bool:
    return bool(_GUID.match(value or ""))


def teams_app_id(app_id: str) -> str:
    """The default Teams app id for a bot: the same for the same bot, whatever else changes."""
    return str(uuid.uuid5(_ID_NAMESPACE, app_id.strip().lower()))


def build_manifest(
    app_id: str,
    *,
    name: str = DEFAULT_NAME,
    short_description: str = DEFAULT_SHORT_DESCRIPTION,
    full_description: str = DEFAULT_FULL_DESCRIPTION,
    developer_name: str = DEFAULT_DEVELOPER,
    website_url: str | None = None,
    privacy_url: str | None = None,
    terms_url: str | None = None,
    valid_domains: Iterable[str] = (),
    version: str = "1.0.0",
    package_id: str | None = None,
) -> dict:
    """The manifest as a dict, checked against the schema's limits (ValueError naming every problem)."""
    app_id = (app_id or "").strip()
    if not is_guid(app_id):
        raise ValueError(
            f"the app id must be the bot's Microsoft App ID, a GUID like 12345678-abcd-4ef0-9876-0123456789ab; "
            f"got {app_id!r}"
        )
    if not (website_url or "").strip():
        # No placeholder: Teams would show a stranger's privacy statement to everyone installing the app.
        raise ValueError(
            "the deployment's website is required (--website https://wwidw.example.nl): "
            f"the manifest points to its {PRIVACY_PATH} and {TERMS_PATH} pages"
        )
    if package_id is not None and not is_guid(package_id.strip()):
        raise ValueError(f"the Teams app id must be a GUID; got {package_id!r}")
    website_url = website_url.strip().rstrip("/")
    domains: list[str] = []
    for domain in valid_domains:
        if domain not in domains:
            domains.append(domain)
    manifest = {
        "$schema": SCHEMA_URL,
        "manifestVersion": MANIFEST_VERSION,
        "version": version,
        "id": package_id.strip() if package_id else teams_app_id(app_id),
        "localizationInfo": {"defaultLanguageTag": "nl-nl"},
        "developer": {
            "name": developer_name,
            "websiteUrl": website_url,
            "privacyUrl": privacy_url or website_url + PRIVACY_PATH,
            "termsOfUseUrl": terms_url or website_url + TERMS_PATH,
        },
        "name": {"short": name, "full": f"{name}{FULL_NAME_SUFFIX}"},
        "description": {"short": short_description, "full": full_description},
        "icons": {"color": COLOR_ICON, "outline": OUTLINE_ICON},
        "accentColor": ACCENT_COLOR,
        "bots": [
            {
                "botId": app_id,
                "scopes": ["personal", "team"],  # not group chats: guests and other organisations read them
                "supportsFiles": False,
                "isNotificationOnly": False,
                "commandLists": [
                    {"scopes": ["personal"], "commands": _commands(PERSONAL_COMMANDS)},
                    {"scopes": ["team"], "commands": _commands(TEAM_COMMANDS)},
                ],
            }
        ],
        "permissions": ["identity", "messageTeamMembers"],
        "validDomains": domains,
    }
    check_manifest(manifest)
    return manifest


def check_manifest(manifest: dict) -> None:
    """Raise ValueError listing every value outside the limits of schema v1.17."""
    problems: list[str] = []

    def text(label: str, value: object, maximum: int) -> None:
        if not isinstance(value, str) or not value.strip():
            problems.append(f"{label} must not be empty")
        elif len(value) > maximum:
            problems.append(f"{label} has {len(value)} characters, at most {maximum} are allowed")

    def url(label: str, value: object) -> None:
        text(label, value, MAX_URL)
        if isinstance(value, str) and value.strip() and not re.match(r"^https://[^\s/]+", value):
            problems.append(f"{label} must be an https:// address; got {value!r}")

    if manifest.get("manifestVersion") != MANIFEST_VERSION:
        problems.append(f"manifestVersion must be {MANIFEST_VERSION}")
    version = manifest.get("version")
    if not isinstance(version, str) or len(version) > MAX_VERSION or not _SEMVER.match(version):
        problems.append(f"version must be a version like 1.0.0 (major.minor.patch); got {version!r}")
    if not is_guid(manifest.get("id", "")):
        problems.append(f"id must be a GUID; got {manifest.get('id')!r}")
    developer = manifest["developer"]
    text("developer name", developer.get("name"), MAX_DEVELOPER_NAME)
    url("website url", developer.get("websiteUrl"))
    url("privacy url", developer.get("privacyUrl"))
    url("terms of use url", developer.get("termsOfUseUrl"))
    text("name", manifest["name"].get("short"), MAX_SHORT_NAME)
    text("full name", manifest["name"].get("full"), MAX_FULL_NAME)
    text("short description", manifest["description"].get("short"), MAX_SHORT_DESCRIPTION)
    text("full description", manifest["description"].get("full"), MAX_FULL_DESCRIPTION)
    if not _HEX_COLOR.match(manifest.get("accentColor", "")):
        problems.append(f"accentColor must look like #2f6b3f; got {manifest.get('accentColor')!r}")
    for bot in manifest.get("bots", []):
        if not is_guid(bot.get("botId", "")):
            problems.append(f"botId must be a GUID; got {bot.get('botId')!r}")
        lists = bot.get("commandLists", [])
        if len(lists) > MAX_COMMAND_LISTS:
            problems.append(f"a bot has at most {MAX_COMMAND_LISTS} command lists")
        for command_list in lists:
            if len(command_list["commands"]) > MAX_COMMANDS:
                problems.append(f"a command list has at most {MAX_COMMANDS} commands")
            for command in command_list["commands"]:
                text(f"command title {command.get('title')!r}", command.get("title"), MAX_COMMAND_TITLE)
                text(f"description of {command.get('title')!r}", command.get("description"), MAX_COMMAND_DESCRIPTION)
    domains = manifest.get("validDomains", [])
    if len(domains) > MAX_VALID_DOMAINS:
        problems.append(f"at most {MAX_VALID_DOMAINS} valid domains are allowed, got {len(domains)}")
    for domain in domains:
        if not isinstance(domain, str) or len(domain) > MAX_URL or not _DOMAIN.match(domain):
            problems.append(f"a valid domain is a host name like wwidw.example.nl or *.example.nl; got {domain!r}")
    if problems:
        raise ValueError("; ".join(problems))


def build_package(app_id: str, out: Path, **options) -> Path:
    """Write the Teams app package to `out` (a directory gets `wwidw-teams.zip`) and return its path;
    `options` are those of `build_manifest`.

    Everything is checked first: on a bad value nothing is written. The zip's bytes depend only on the
    arguments (fixed timestamps, deterministic PNGs), so packaging twice gives the same file."""
    manifest = build_manifest(app_id, **options)
    out = Path(out)
    if out.is_dir():
        out = out / "wwidw-teams.zip"
    if not out.parent.is_dir():
        raise FileNotFoundError(f"there is no directory {str(out.parent)!r} to write {out.name} in")
    files = {
        "manifest.json": (json.dumps(manifest, ensure_ascii=False, indent=2) + "\n").encode("utf-8"),
        COLOR_ICON: _png(color_icon()),
        OUTLINE_ICON: _png(outline_icon()),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for filename, data in files.items():
            info = zipfile.ZipInfo(filename, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    # Written beside the target and renamed, so a failure never leaves half a package behind.
    fd, temporary = tempfile.mkstemp(prefix=".wwidw-teams-", suffix=".zip", dir=out.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(buffer.getvalue())
        os.chmod(temporary, 0o644)
        os.replace(temporary, out)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return out


def _commands(commands: list[tuple[str, str]]) -> list[dict]:
    return [{"title": title, "description": description} for title, description in commands]


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def _house(draw: ImageDraw.ImageDraw, left: float, base: float, width: float, height: float, fill) -> None:
    """A house: a square body with a pitched roof; `base` is the ground line."""
    roof = height * 0.42
    body_top = base - (height - roof)
    draw.polygon(
        [(left - width * 0.08, body_top), (left + width / 2, base - height), (left + width * 1.08, body_top)], fill=fill
    )
    draw.rectangle([left, body_top, left + width, base], fill=fill)


def color_icon() -> Image.Image:
    """192×192, full colour: three houses (a neighbourhood) on the accent green. As Teams asks, the symbol
    fits in the middle 96×96 (Teams crops the edges); drawn at 4× and scaled down for smooth edges."""
    s = 4
    green, light, white, window = (47, 107, 63, 255), (168, 213, 176, 255), (255, 255, 255, 255), (242, 193, 78, 255)
    symbol = Image.new("RGBA", (96 * s, 96 * s), (0, 0, 0, 0))
    draw = ImageDraw.Draw(symbol)
    base = 84 * s
    _house(draw, 2 * s, base, 24 * s, 40 * s, light)
    _house(draw, 70 * s, base, 24 * s, 40 * s, light)
    _house(draw, 28 * s, base, 40 * s, 62 * s, white)
    draw.rectangle([2 * s, base, 94 * s, 89 * s], fill=light)  # the street
    draw.rectangle([42 * s, 62 * s, 54 * s, base], fill=green)  # door of the middle house
    for left, top, size in ((33, 50, 7), (56, 50, 7), (11, 63, 6), (79, 63, 6)):
        draw.rectangle([left * s, top * s, (left + size) * s, (top + size) * s], fill=window)
    symbol = symbol.crop(symbol.getbbox())
    image = Image.new("RGBA", (192 * s, 192 * s), green)
    image.alpha_composite(symbol, ((192 * s - symbol.width) // 2, (192 * s - symbol.height) // 2))
    return image.convert("RGB").resize((192, 192), Image.Resampling.LANCZOS)


def outline_icon() -> Image.Image:
    """32×32, white (255, 255, 255) on fully transparent, no padding: one house with a door and two windows.
    Drawn without anti-aliasing, so every pixel is either opaque white or has alpha 0."""
    clear, white = (255, 255, 255, 0), (255, 255, 255, 255)
    image = Image.new("RGBA", (32, 32), clear)
    draw = ImageDraw.Draw(image)
    draw.polygon([(0, 14), (15, 0), (16, 0), (31, 14)], fill=white)  # roof
    draw.rectangle([4, 14, 27, 31], fill=white)  # walls
    draw.rectangle([13, 21, 18, 31], fill=clear)  # door
    draw.rectangle([7, 17, 10, 20], fill=clear)  # windows
    draw.rectangle([21, 17, 24, 20], fill=clear)
    return image
