"""Settings: defaults, the .env file, and one clear line naming any bad setting."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from paincoach.settings import SettingsError, load_settings
from tests.conftest import ROOT

TOKEN = "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef"
NAMES = [
    "TELEGRAM_BOT_TOKEN", "TELEGRAM_API_BASE_URL", "DATABASE_URL", "STAFF_CHAT_ID", "ADMIN_IDS",
    "DEFAULT_LOCALE", "DEFAULT_TIMEZONE", "DEFAULT_COUNTRY", "WEBHOOK_URL", "WEBHOOK_SECRET",
    "WEBHOOK_LISTEN_HOST", "WEBHOOK_LISTEN_PORT", "CONTENT_DIR", "LOG_LEVEL", "ALERT_REPEAT_MINUTES",
    "TELEGRAM_FRAMEWORK",
]  # fmt: skip


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in NAMES:
        monkeypatch.delenv(name, raising=False)


def test_defaults_need_nothing() -> None:
    settings = load_settings(None)
    assert settings.telegram_bot_token is None
    assert settings.telegram_api_base_url == "https://api.telegram.org"
    assert settings.database_url == "sqlite:///var/paincoach.db"
    assert settings.default_locale == "en"
    assert settings.default_timezone == "UTC"
    assert not settings.webhook_mode


def test_values_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("TELEGRAM_API_BASE_URL", "http://127.0.0.1:8081/")
    monkeypatch.setenv("STAFF_CHAT_ID", "-1001234567890")
    monkeypatch.setenv("ADMIN_IDS", "11, 22 33")
    monkeypatch.setenv("DEFAULT_TIMEZONE", "Australia/Sydney")
    monkeypatch.setenv("WEBHOOK_URL", "https://coach.example.org/telegram")
    monkeypatch.setenv("WEBHOOK_SECRET", "s3cret_token-1")
    settings = load_settings(None)
    assert settings.telegram_bot_token is not None
    assert settings.telegram_bot_token.get_secret_value() == TOKEN
    assert "ABCDEF" not in repr(settings), "secrets never show in logs or tracebacks"
    assert settings.telegram_api_base_url == "http://127.0.0.1:8081"
    assert settings.staff_chat_id == -1001234567890
    assert settings.admin_ids == (11, 22, 33)
    assert settings.webhook_mode


def test_values_come_from_a_dotenv_file(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text(f"TELEGRAM_BOT_TOKEN={TOKEN}\nDEFAULT_LOCALE=en\nSTAFF_CHAT_ID=\n")
    settings = load_settings(env)
    assert settings.has_token
    assert settings.staff_chat_id is None, "an empty value means not set"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TELEGRAM_BOT_TOKEN", "not-a-token"),
        ("TELEGRAM_API_BASE_URL", "ftp://example"),
        ("DATABASE_URL", "mysql://x"),
        ("STAFF_CHAT_ID", "the staff group"),
        ("ADMIN_IDS", "alice,bob"),
        ("DEFAULT_LOCALE", "English"),
        ("DEFAULT_TIMEZONE", "Mars/Olympus"),
        ("WEBHOOK_LISTEN_PORT", "99999"),
        ("LOG_LEVEL", "LOUD"),
        ("TELEGRAM_FRAMEWORK", "telethon"),
    ],
)
def test_a_malformed_setting_is_named_in_one_line(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as error:
        load_settings(None)
    message = str(error.value)
    assert name in message
    assert "\n" not in message


def test_a_webhook_needs_its_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEBHOOK_URL", "https://coach.example.org/telegram")
    with pytest.raises(SettingsError, match="WEBHOOK_SECRET"):
        load_settings(None)


def test_a_webhook_secret_telegram_would_refuse(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEBHOOK_URL", "https://coach.example.org/telegram")
    monkeypatch.setenv("WEBHOOK_SECRET", "has spaces!")
    with pytest.raises(SettingsError, match="WEBHOOK_SECRET"):
        load_settings(None)


def test_start_up_stops_with_one_clear_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "paincoach.cli", "db", "upgrade"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "DEFAULT_TIMEZONE": "Nowhere/Special", "PYTHONPATH": str(ROOT)},
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "paincoach: setting DEFAULT_TIMEZONE: expected an IANA time zone such as Europe/London"
    ]


@pytest.mark.parametrize(("value", "chosen"), [("", "aiogram"), ("aiogram", "aiogram"), (" PTB ", "ptb")])
def test_the_telegram_framework_is_aiogram_unless_ptb_is_chosen(
    monkeypatch: pytest.MonkeyPatch, value: str, chosen: str
) -> None:
    assert load_settings(None).telegram_framework == "aiogram"
    monkeypatch.setenv("TELEGRAM_FRAMEWORK", value)
    assert load_settings(None).telegram_framework == chosen


def test_each_framework_gets_its_own_adapter(monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.aiogram import AiogramApi
    from bot.ptb import PtbApi
    from paincoach.wiring import connect

    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    assert isinstance(connect(load_settings(None)), AiogramApi)
    monkeypatch.setenv("TELEGRAM_FRAMEWORK", "ptb")
    assert isinstance(connect(load_settings(None)), PtbApi)


def test_an_unknown_framework_stops_start_up_with_one_clear_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "paincoach.cli", "run"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={
            "PATH": "/usr/bin:/bin",
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_FRAMEWORK": "pyrogram",
            "PYTHONPATH": str(ROOT),
        },
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "paincoach: setting TELEGRAM_FRAMEWORK: expected aiogram (the default) or ptb (python-telegram-bot)"
    ]


def test_env_example_lists_every_setting() -> None:
    example = (ROOT / ".env.example").read_text()
    for name in NAMES:
        assert f"{name}=" in example, f"{name} is missing from .env.example"
