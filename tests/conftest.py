"""Shared test fixtures: the shipped content, loaded once, a database of each kind, and a fake Telegram with a bot."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack
from pathlib import Path
from types import CodeType

import pytest
import pytest_asyncio
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from content import Content, load_content
from sandbox.botapi import FakeTelegram
from tests import e2e, postgres

__all__ = ["CONTENT_DIR", "ROOT", "load_content"]

ROOT = Path(__file__).resolve().parent.parent
CONTENT_DIR = ROOT / "content"

# One data key for the whole run (storage/sealed.py), so no test writes a development key file;
# the coach processes the tests start inherit it.
os.environ.setdefault("DATA_KEY", "7mAcCIGDkUQYh6iD5FTXx4ySvTW1k2A_4o9YXrgZhyA=")


@pytest.fixture(scope="session")
def content() -> Content:
    return load_content(CONTENT_DIR, "en")


# -- both Telegram frameworks, for every end-to-end test -------------------------------------


def _names_in(code: CodeType) -> set[str]:
    names = set(code.co_names)
    for constant in code.co_consts:
        if isinstance(constant, CodeType):  # nested functions and comprehensions
            names |= _names_in(constant)
    return names


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run every test that uses the end-to-end harness (tests/e2e.py) once per framework."""
    code = getattr(metafunc.function, "__code__", None)
    uses = "framework" in metafunc.fixturenames or (code is not None and _names_in(code) & e2e.USES_HARNESS)
    if not uses:
        return
    if "framework" not in metafunc.fixturenames:
        metafunc.fixturenames.append("framework")
    metafunc.parametrize("framework", e2e.FRAMEWORKS, indirect=True)


@pytest.fixture
def framework(request: pytest.FixtureRequest) -> str:
    """The Telegram framework the coach of this test runs on (TELEGRAM_FRAMEWORK)."""
    name: str = request.param
    return name


@pytest.fixture(autouse=True)
def _harness_framework(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tell tests/e2e.py the framework of this test (its parameter, whether or not the test takes
    the `framework` fixture itself); a test that has none gets none."""
    callspec = getattr(request.node, "callspec", None)
    name = callspec.params.get("framework") if callspec is not None else None
    monkeypatch.setattr(e2e, "FRAMEWORK", name)


# -- both databases -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str | Exception]:
    """The URL of a PostgreSQL server for the tests, or why there is none."""
    with ExitStack() as stack:
        try:
            url: str | Exception = stack.enter_context(postgres.server())
        except postgres.PostgresUnavailable as error:
            if postgres.required():
                pytest.fail(f"PAINCOACH_REQUIRE_POSTGRES is set, but {error}")
            url = error
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A new, empty database: SQLite, and PostgreSQL wherever one can be started."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'coach.db'}"
    server = request.getfixturevalue("postgres_server")
    if isinstance(server, Exception):
        pytest.skip(f"PostgreSQL cases skipped: {server}")
    return postgres.fresh_database(server)


# -- the fake Telegram server and a real aiogram bot on it ----------------------------------


@pytest_asyncio.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    """A started fake Telegram Bot API server."""
    async with FakeTelegram() as fake:
        yield fake


@pytest_asyncio.fixture
async def bot(tg: FakeTelegram) -> AsyncIterator[Bot]:
    """A real aiogram Bot talking to the fake `tg`."""
    session = AiohttpSession(api=TelegramAPIServer.from_base(tg.base_url))
    async with Bot(tg.token, session=session) as client:
        yield client
