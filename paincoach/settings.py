"""Settings from the environment and `.env`; a bad setting stops start-up with one clear line."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from clock.office_hours import OfficeHours, parse_office_hours
from dialogs.allocation import Design

TELEGRAM_API = "https://api.telegram.org"
_TOKEN = re.compile(r"^\d{3,}:[A-Za-z0-9_-]{20,}$")
_WEBHOOK_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
FREE_RATE = 30.0  # messages a second Telegram allows a bot without paid broadcasts


class SettingsError(Exception):
    """A setting is missing or malformed; the message is one line naming it."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False)

    telegram_bot_token: SecretStr | None = None
    telegram_api_base_url: str = TELEGRAM_API
    database_url: str = "sqlite:///var/paincoach.db"
    staff_chat_id: int | None = None
    admin_ids: Annotated[tuple[int, ...], NoDecode] = ()
    default_locale: str = "en"
    default_timezone: str = "UTC"
    default_country: str = "other"
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    webhook_listen_host: str = "127.0.0.1"
    webhook_listen_port: int = Field(default=8080, ge=1, le=65535)
    alert_repeat_minutes: int = Field(default=15, ge=1, le=1440)
    review_alert_repeat_hours: int = Field(default=4, ge=1, le=72)
    office_hours: str = "Mon-Fri 09:00-17:00"
    guide_timezone: str = "UTC"
    ticket_answer_hours: int = Field(default=8, ge=1, le=400)
    guide_names_visible: bool = False
    scheduler: Literal["inside", "off"] = "inside"
    send_rate: float = Field(default=25.0, gt=0, le=1000)
    paid_broadcast: bool = False
    content_dir: Path = Path(__file__).resolve().parent.parent / "content"
    log_level: str = "INFO"
    log_format: Literal["auto", "text", "json"] = "auto"
    health_listen: str | None = None  # host:port for /healthz and /metrics in polling mode and `paincoach scheduler`
    # Enrolment (issue 12): docs in README "For coordinators".
    enrolment: Literal["invite", "open"] = "invite"
    eligibility_screening: bool = True
    programme_mode: Literal["service", "trial"] = "service"
    trial_ratio: str = "1:1"  # course:waitlist
    trial_block_sizes: str = "4,6"
    trial_stratify: str = ""  # "", "site", "phq9", or "site,phq9"
    bot_username: str | None = None  # for `paincoach invite` when the bot is not running (getMe answers otherwise)

    @field_validator("telegram_bot_token", "webhook_secret", "webhook_url", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("content_dir", mode="before")
    @classmethod
    def _blank_dir_is_default(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return Path(__file__).resolve().parent.parent / "content"
        return value

    @field_validator("default_country")
    @classmethod
    def _country(cls, value: str) -> str:
        if not re.match(r"^[a-z]{2}$|^other$", value.lower()):
            raise ValueError("expected a two-letter country code such as gb, or other")
        return value.lower()

    @field_validator("staff_chat_id", mode="before")
    @classmethod
    def _blank_chat_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("telegram_bot_token")
    @classmethod
    def _token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not _TOKEN.match(value.get_secret_value()):
            raise ValueError("expected the form 123456789:ABC... that BotFather gives")
        return value

    @field_validator("telegram_api_base_url", "webhook_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^\s/]+", value):
            raise ValueError("expected an http:// or https:// address")
        return value.rstrip("/") if value else value

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _id_list(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [p for p in re.split(r"[,\s]+", value.strip()) if p]
            try:
                return tuple(int(p) for p in parts)
            except ValueError:
                raise ValueError("expected Telegram user ids separated by commas") from None
        return value

    @field_validator("office_hours")
    @classmethod
    def _office_hours(cls, value: str) -> str:
        parse_office_hours(value)
        return value

    @field_validator("default_timezone", "guide_timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("expected an IANA time zone such as Europe/London") from None
        return value

    @field_validator("default_locale")
    @classmethod
    def _locale(cls, value: str) -> str:
        if not re.match(r"^[a-z]{2}(-[A-Z]{2})?$", value):
            raise ValueError("expected a language code such as en")
        return value

    @field_validator("database_url")
    @classmethod
    def _database(cls, value: str) -> str:
        if not re.match(r"^(sqlite|postgresql)(\+\w+)?://", value):
            raise ValueError("expected sqlite:///path.db or postgresql+psycopg://...")
        return value

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        if value.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("expected DEBUG, INFO, WARNING or ERROR")
        return value.upper()

    @field_validator("scheduler", mode="before")
    @classmethod
    def _scheduler_mode(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.strip().lower() or "inside"
            if value not in ("inside", "off"):
                raise ValueError(
                    "expected inside (run it in `paincoach run`) or off (a separate `paincoach scheduler`)"
                )
        return value

    @field_validator("log_format", mode="before")
    @classmethod
    def _log_format(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.strip().lower() or "auto"
            if value not in ("auto", "text", "json"):
                raise ValueError("expected text, json, or auto (text in a terminal, JSON otherwise)")
        return value

    @field_validator("health_listen", mode="before")
    @classmethod
    def _listen(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.strip() or None
            if value is not None:
                host, _, port = value.rpartition(":")
                if not host or not port.isdigit() or not 0 < int(port) < 65536:
                    raise ValueError("expected host:port, for example 127.0.0.1:9090")
        return value

    @field_validator("enrolment", "programme_mode", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("bot_username", mode="before")
    @classmethod
    def _username(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.strip().removeprefix("@") or None
            if value is not None and not re.match(r"^[A-Za-z][A-Za-z0-9_]{3,31}$", value):
                raise ValueError("expected the bot's username, such as paincoach_bot")
        return value

    @field_validator("trial_stratify")
    @classmethod
    def _stratify(cls, value: str) -> str:
        names = [n for n in re.split(r"[,\s]+", value.strip().lower()) if n]
        if any(n not in ("site", "phq9") for n in names) or len(set(names)) != len(names):
            raise ValueError("expected site, phq9, or site,phq9 (or nothing)")
        return ",".join(names)

    @model_validator(mode="after")
    def _trial_design(self) -> Settings:
        try:
            Design.parse(self.trial_ratio, self.trial_block_sizes)
        except ValueError as error:
            raise ValueError(f"TRIAL_RATIO / TRIAL_BLOCK_SIZES: {error}") from None
        return self

    @property
    def health_address(self) -> tuple[str, int] | None:
        if self.health_listen is None:
            return None
        host, _, port = self.health_listen.rpartition(":")
        return host, int(port)

    @model_validator(mode="after")
    def _rate_within_telegram_limits(self) -> Settings:
        if self.send_rate > FREE_RATE and not self.paid_broadcast:
            raise ValueError(
                f"SEND_RATE: Telegram allows about {FREE_RATE:.0f} messages a second; "
                "set PAID_BROADCAST=true to go higher"
            )
        return self

    @model_validator(mode="after")
    def _webhook_needs_secret(self) -> Settings:
        if self.webhook_url and self.webhook_secret is None:
            raise ValueError("WEBHOOK_SECRET: required when WEBHOOK_URL is set")
        if self.webhook_secret is not None and not _WEBHOOK_SECRET.match(self.webhook_secret.get_secret_value()):
            raise ValueError("WEBHOOK_SECRET: use 1-256 letters, digits, _ or -")
        return self

    @property
    def webhook_mode(self) -> bool:
        return self.webhook_url is not None

    @property
    def guide_hours(self) -> OfficeHours:
        """The guides' office hours, in their time zone."""
        return parse_office_hours(self.office_hours, self.guide_timezone)

    @property
    def has_token(self) -> bool:
        return self.telegram_bot_token is not None


def load_settings(env_file: str | Path | None = ".env") -> Settings:
    """Read settings; raise SettingsError with one line naming the first bad setting."""
    try:
        return Settings(_env_file=env_file)
    except ValidationError as error:
        first = error.errors()[0]
        name = str(first["loc"][0]).upper() if first["loc"] else ""
        message = first["msg"].removeprefix("Value error, ")
        line = message if not name else f"{name}: {message}"
        raise SettingsError(f"setting {line}") from None
