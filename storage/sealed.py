"""Free text sealed at rest: what patients and guides write is stored encrypted (Fernet).

A column holding what someone wrote uses `SealedText` (a string) or `SealedJSON` (a JSON object
with texts inside: outbox payloads, inbox updates, dialog state, tool entries). Both encrypt on the
way in and decrypt on the way out, so the code around them sees plain values while the database
file, a backup or a leaked copy holds only Fernet tokens (AES-128-CBC with HMAC-SHA256, from the
`cryptography` package; no cipher of our own).

The keys are a `Keyring`: `DATA_KEY`, Fernet keys separated by commas, newest first. Everything is
sealed with the newest; a token made with any of them opens (MultiFernet), which is how keys are
rotated (`paincoach keys rotate`, docs/operations.md). Each database engine has its keyring
(`attach`), so two databases with different keys can live in one process.

Rows a migration adds with an empty server default ('' or {}) read as that empty value; any
other unsealed value is an error, never read silently.

To seal a new column: `Field(sa_column=Column(SealedText, nullable=False))` for a text, or
`Column(SealedJSON, ...)` for a JSON object. SealedText is stored as TEXT; SealedJSON keeps the
column's JSON type and stores the token as a JSON string, so sealing an existing JSON column needs
no change of schema, only its rows re-written (see migration 0011).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from weakref import WeakKeyDictionary

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import JSON, Engine, Text
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.types import TypeDecorator

log = logging.getLogger(__name__)

DEVELOPMENT_KEY_FILE = "data.key"  # beside the SQLite database file, e.g. var/data.key


class DataKeyError(Exception):
    """No key, a malformed key, or a token none of the keys opens; the message names DATA_KEY."""


class Keyring:
    """The data keys, newest first: seal with the newest, open with any."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise DataKeyError("DATA_KEY: no key given")
        fernets = []
        for number, key in enumerate(keys, start=1):
            try:
                fernets.append(Fernet(key.strip().encode("ascii")))
            except (ValueError, UnicodeEncodeError):
                raise DataKeyError(
                    f"DATA_KEY: key {number} of {len(keys)} is not a Fernet key "
                    "(32 url-safe base64-encoded bytes; `paincoach keys generate` makes one)"
                ) from None
        self.count = len(fernets)
        self._fernet = MultiFernet(fernets)

    @classmethod
    def parse(cls, text: str) -> Keyring:
        """`DATA_KEY`'s value: keys separated by commas, newest first."""
        return cls([part for part in (p.strip() for p in text.split(",")) if part])

    @staticmethod
    def generate() -> str:
        return Fernet.generate_key().decode("ascii")

    def seal(self, plain: str) -> str:
        return self._fernet.encrypt(plain.encode("utf-8")).decode("ascii")

    def open(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeEncodeError):
            raise DataKeyError(
                "DATA_KEY: none of the keys opens data in the database (was an older key dropped from DATA_KEY "
                "before `paincoach keys rotate` finished?)"
            ) from None

    def rotate(self, token: str) -> str:
        """The same text sealed again with the newest key."""
        try:
            return self._fernet.rotate(token.encode("ascii")).decode("ascii")
        except (InvalidToken, UnicodeEncodeError):
            raise DataKeyError("DATA_KEY: none of the keys opens data in the database") from None


def development_keyring(path: Path) -> Keyring:
    """The key kept in `path` (made on first use), for the sandbox and development, with a warning."""
    if path.exists():
        key = path.read_text(encoding="ascii").strip()
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        key = Keyring.generate()
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="ascii") as file:
            file.write(key + "\n")
    log.warning(
        "DATA_KEY is not set: free text is sealed with the development key in %s; "
        "set DATA_KEY (paincoach keys generate) for real patients",
        path,
    )
    return Keyring([key])


def keyring_for(database_url: str, data_key: str | None) -> Keyring:
    """The keyring for a database: `data_key` (DATA_KEY) when given; else, for SQLite only, a
    development key beside the database file (or one for this process, for an in-memory database)."""
    if data_key and data_key.strip():
        return Keyring.parse(data_key)
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        raise DataKeyError(
            "DATA_KEY: required for this database (a development key is made only for SQLite); "
            "make one with `paincoach keys generate`"
        )
    if not url.database or url.database == ":memory:":
        return Keyring([Keyring.generate()])
    return development_keyring(Path(url.database).parent / DEVELOPMENT_KEY_FILE)


def from_environment(database_url: str) -> Keyring:
    return keyring_for(database_url, os.environ.get("DATA_KEY"))


# -- each engine's keyring -------------------------------------------------------------------

_KEYRINGS: WeakKeyDictionary[Dialect, Keyring] = WeakKeyDictionary()


def attach(engine: Engine, keyring: Keyring) -> None:
    """Seal and open this engine's sealed columns with `keyring`."""
    _KEYRINGS[engine.dialect] = keyring


def keyring_of(dialect: Dialect) -> Keyring:
    try:
        return _KEYRINGS[dialect]
    except KeyError:
        raise DataKeyError("DATA_KEY: this database engine was opened without a keyring") from None


class SealedText(TypeDecorator[str]):
    """A text stored as a Fernet token (TEXT)."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else keyring_of(dialect).seal(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        if not value:  # None, or a column's empty server default (a sealed text is never empty)
            return value
        return keyring_of(dialect).open(value)


class SealedJSON(TypeDecorator[Any]):
    """A JSON value stored as a Fernet token of its JSON, in a JSON column (as a JSON string)."""

    impl = JSON
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return keyring_of(dialect).seal(json.dumps(value, ensure_ascii=False, separators=(",", ":")))

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, str):
            if not value:  # an empty object or list, as a column's server default writes it
                return value
            raise DataKeyError("DATA_KEY: a sealed column holds unsealed data (run `paincoach db upgrade`)")
        return json.loads(keyring_of(dialect).open(value))
