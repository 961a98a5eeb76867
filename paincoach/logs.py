"""Logging: plain text in a terminal, JSON lines elsewhere (LOG_FORMAT), never what anyone wrote.

Records carry structured fields where the code gives them (`update_id`, `patient`, `route`,
`ms`); the messages themselves name codes and kinds of event, never texts or names. Libraries that
would log request URLs (which hold the bot token) or bodies are kept at WARNING."""

from __future__ import annotations

import logging
import sys

from pythonjsonlogger.json import JsonFormatter

QUIET = ("aiogram", "aiohttp.access", "httpx", "httpcore", "telegram", "apscheduler", "alembic")
TEXT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is at the moment (it may be replaced after start-up)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def configure(level: str, log_format: str = "auto") -> None:
    """`log_format`: "text", "json", or "auto" (text when stderr is a terminal, JSON otherwise)."""
    as_json = log_format == "json" or (log_format == "auto" and not sys.stderr.isatty())
    handler = StderrHandler(sys.stderr)
    if as_json:
        handler.setFormatter(
            JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s", rename_fields={"levelname": "level"})
        )
    else:
        handler.setFormatter(logging.Formatter(TEXT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in QUIET:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
