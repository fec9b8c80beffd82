"""Settings from the environment (and an optional `.env` file in the working directory)."""

from __future__ import annotations

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str = "sqlite:///data/wwidw.db"
    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    wwidw_locale: str = "nl"
    wwidw_timezone: str = "Europe/Amsterdam"
    # The organisation web chat users belong to (the local web chat has no accounts).
    wwidw_web_organisation: str = "Lokaal"

    @property
    def slack_enabled(self) -> bool:
        return bool(self.slack_bot_token and self.slack_signing_secret)
