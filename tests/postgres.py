"""A throwaway PostgreSQL server for the tests, on 127.0.0.1, so storage runs on both databases.

`PAINCOACH_TEST_POSTGRES_URL` (a server you run, e.g. postgresql+psycopg://u:p@127.0.0.1/postgres)
is used as it is. Otherwise, when PostgreSQL's `initdb` is installed (Debian: `apt-get install
postgresql`), a cluster is made in a temporary folder, started on a free local port, and removed
at the end. With neither, the PostgreSQL cases are skipped, unless `PAINCOACH_REQUIRE_POSTGRES`
is set (CI sets it), in which case they fail: CI must never pass without having run them.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

_numbers = itertools.count(1)


class PostgresUnavailable(RuntimeError):
    pass


def required() -> bool:
    return bool(os.environ.get("PAINCOACH_REQUIRE_POSTGRES"))


def _binaries() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    return Path(versions[-1]).parent if versions else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def server() -> Iterator[str]:
    """Yield the URL of an administrative database on a PostgreSQL server listening on 127.0.0.1."""
    given = os.environ.get("PAINCOACH_TEST_POSTGRES_URL")
    if given:
        yield given
        return
    binaries = _binaries()
    if binaries is None:
        raise PostgresUnavailable("PostgreSQL is not installed (Debian: apt-get install postgresql)")
    folder = Path(tempfile.mkdtemp(prefix="paincoach-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root: run it as the postgres user
        if shutil.which("runuser") is None:
            raise PostgresUnavailable("running as root, and runuser is missing")
        shutil.chown(folder, user="postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    data, port = folder / "data", _free_port()
    pg_ctl = [*as_user, str(binaries / "pg_ctl"), "-D", str(data)]
    try:
        subprocess.run(
            [*as_user, str(binaries / "initdb"), "-D", str(data), "-U", "paincoach", "--auth=trust", "-E", "UTF8"],
            check=True,
            capture_output=True,
        )
        options = f"-c listen_addresses=127.0.0.1 -p {port} -k {folder} -c fsync=off -c full_page_writes=off"
        log = str(folder / "log")
        subprocess.run([*pg_ctl, "-o", options, "-l", log, "-w", "start"], check=True, capture_output=True)
    except subprocess.CalledProcessError as error:
        shutil.rmtree(folder, ignore_errors=True)
        raise PostgresUnavailable(f"PostgreSQL did not start: {error.stderr.decode(errors='replace')[-300:]}") from None
    try:
        yield f"postgresql+psycopg://paincoach@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*pg_ctl, "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


def fresh_database(admin_url: str) -> str:
    """Create an empty database on the server; return its URL."""
    name = f"paincoach_test_{os.getpid()}_{next(_numbers)}"
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)
