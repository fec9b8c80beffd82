"""Settings from the environment (and an optional `.env` file in the working directory)."""

from __future__ import annotations

from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# The bot scopes an install asks for; handlers/slack/manifest.yaml lists the same, with the reason for each.
SLACK_SCOPES = (
    "chat:write,chat:write.public,channels:read,groups:read,channels:history,groups:history,"
    "im:history,im:read,im:write,users:read,commands,files:write"
)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str = "sqlite:///data/wwidw.db"
    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    # Many workspaces: the app's credentials for Slack's OAuth install (bolt's own variable names).
    slack_client_id: str | None = None
    slack_client_secret: SecretStr | None = None
    slack_scopes: str = SLACK_SCOPES
    slack_redirect_uri: str | None = None  # None: the one redirect URL the app's settings list
    # Microsoft Teams (Bot Framework): the Entra app registration of the Azure Bot.
    teams_app_id: str | None = None
    teams_app_password: SecretStr | None = None
    teams_tenant_id: str | None = None  # single-tenant bots; None: "botframework.com" (multi-tenant)
    teams_authority_host: str = "https://login.microsoftonline.com"  # sovereign clouds have their own
    teams_openid_metadata_url: str = "https://login.botframework.com/v1/.well-known/openidconfiguration"
    # The Bot Framework service: the issuer of inbound tokens and the audience of ours.
    teams_botframework_url: str = "https://api.botframework.com"
    # Fernet keys (comma-separated, the first seals) for the secrets stored in the database.
    wwidw_secret_key: SecretStr | None = None
    wwidw_locale: Literal["nl", "en"] = "nl"
    wwidw_timezone: str = "Europe/Amsterdam"  # an IANA name; everyone's own time zone when theirs is unknown
    # The organisation web chat users belong to (the local web chat has no accounts).
    wwidw_web_organisation: str = "Lokaal"
    # How people come into the web pages: "local" (type a name, join a local organisation) or
    # "signin" (Sign in with Slack or Microsoft). None: sign-in once Slack installs or Teams are set up.
    wwidw_web_login: Literal["local", "signin"] | None = None
    # The host names the bot answers to (comma-separated; `*.example.nl` and `*` allowed): a request
    # for any other is refused, so a web page elsewhere cannot reach a local bot by DNS rebinding.
    wwidw_allowed_hosts: str = "localhost,127.0.0.1"

    @field_validator("wwidw_timezone")
    @classmethod
    def known_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"no time zone {name!r}; give one such as Europe/Amsterdam") from None
        return name

    @property
    def slack_workspaces(self) -> bool:
        """Slack for many workspaces, each installing the app through OAuth (`/slack/install`)."""
        return bool(self.slack_client_id and self.slack_client_secret and self.slack_signing_secret)

    @property
    def slack_enabled(self) -> bool:
        return self.slack_workspaces or bool(self.slack_bot_token and self.slack_signing_secret)

    @property
    def allowed_hosts(self) -> list[str]:
        return [h.strip().lower() for h in self.wwidw_allowed_hosts.split(",") if h.strip()]

    @property
    def secret_keys(self) -> str | None:
        return self.wwidw_secret_key.get_secret_value() if self.wwidw_secret_key else None
