"""The database: engine set-up (SQLite in WAL mode, or PostgreSQL), sessions and migrations."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Generic, ParamSpec, TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlmodel import Session

from storage.sealed import Keyring, attach, from_environment

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class Database:
    """One database, its engine and a way to open a transaction."""

    def __init__(self, url: str, keyring: Keyring | None = None) -> None:
        self.url = url
        self.engine = make_engine(url)
        # What patients and guides wrote is sealed with these keys (storage/sealed.py); without
        # one given, DATA_KEY from the environment, or a development key beside a SQLite file.
        self.keyring = keyring or from_environment(url)
        attach(self.engine, self.keyring)
        # SQLite has one writer at a time: one thread avoids lock waits inside the process.
        workers = 1 if self.is_sqlite else 8
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="db")

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session whose work is committed on success and rolled back on any error."""
        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            yield session

    async def run(self, work: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """Run blocking database work off the event loop."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, lambda: work(*args, **kwargs))

    def upgrade(self) -> None:
        upgrade(self.url, self.engine, self.keyring)

    def dispose(self) -> None:
        self._executor.shutdown(wait=True)
        self.engine.dispose()


class GroupCommit(Generic[T, R]):
    """Group commit: writes asked for while another is being committed go together, in one
    transaction, as soon as it is done. A quiet process commits each write at once; a busy one
    commits once for many, instead of paying a transaction for each. Each caller gets its own
    result only once its write is committed, as if it had had a transaction of its own.

    If the transaction fails, each of its writes is tried alone, so one bad write fails only its
    own caller."""

    def __init__(self, database: Database, write: Callable[[Session, T], R]) -> None:
        self.database = database
        self.write = write
        self._queue: list[tuple[T, asyncio.Future[R]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def submit(self, item: T) -> R:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        self._queue.append((item, future))
        if self._flusher is None:
            self._flusher = loop.create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        batch: list[tuple[T, asyncio.Future[R]]] = []
        try:
            while self._queue:
                batch, self._queue = self._queue, []
                try:
                    results = await self.database.run(self._together, [item for item, _ in batch])
                except Exception:
                    for item, future in batch:
                        try:
                            result = await self.database.run(self._alone, item)
                        except Exception as error:
                            _settle(future, error=error)
                        else:
                            _settle(future, result)
                else:
                    for (_, future), result in zip(batch, results, strict=True):
                        _settle(future, result)
                batch = []
        finally:
            self._flusher = None
            for _, future in batch + self._queue:  # cancelled while writing (the process stops)
                future.cancel()
            self._queue = []

    def _together(self, items: list[T]) -> list[R]:
        with self.database.transaction() as session:
            return [self.write(session, item) for item in items]

    def _alone(self, item: T) -> R:
        with self.database.transaction() as session:
            return self.write(session, item)


def _settle(future: asyncio.Future[R], result: R | None = None, error: BaseException | None = None) -> None:
    if future.done():  # its caller stopped waiting
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)  # type: ignore[arg-type]


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    database = parsed.database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _on_connect(connection: Any, _record: Any) -> None:
        connection.isolation_level = None  # we issue BEGIN ourselves, below
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Take the write lock at the start, so two writers wait for each other instead of
        # failing with "database is locked" when a reader tries to become a writer.
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, engine: Engine | None = None, keyring: Keyring | None = None) -> None:
    """Bring the schema up to the newest migration (a migration that seals rows uses `keyring`)."""
    config = alembic_config(url)
    config.attributes["keyring"] = keyring or from_environment(url)
    if engine is not None:
        with engine.connect() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    else:
        command.upgrade(config, "head")


def check_migrations(url: str | None = None) -> None:
    """`alembic check`: raise `alembic.util.exc.AutogenerateDiffsDetected` if the models describe
    tables the migrations do not make. On a temporary SQLite database at head unless `url` is given."""
    with tempfile.TemporaryDirectory(prefix="paincoach-check-") as folder:
        url = url or f"sqlite:///{Path(folder) / 'check.db'}"
        keyring = Keyring([Keyring.generate()])  # a throwaway database: any key will do
        upgrade(url, keyring=keyring)
        config = alembic_config(url)
        config.attributes["keyring"] = keyring
        command.check(config)
