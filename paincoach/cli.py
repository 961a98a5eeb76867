"""The `paincoach` command: run the coach, chat in the terminal, migrate, check content."""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from paincoach.settings import Settings, SettingsError, load_settings

app = typer.Typer(no_args_is_help=True, add_completion=False, help="paincoach: a CBT pain course coach for Telegram.")
db_app = typer.Typer(no_args_is_help=True, help="The database.")
content_app = typer.Typer(no_args_is_help=True, help="Course content.")
app.add_typer(db_app, name="db")
app.add_typer(content_app, name="content")


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as error:
        typer.echo(f"paincoach: {error}", err=True)
        raise typer.Exit(2) from None


def _logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("aiogram.event").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)


@app.command()
def run() -> None:
    """Start the coach against Telegram; with no TELEGRAM_BOT_TOKEN, the terminal chat instead."""
    settings = _settings()
    if not settings.has_token:
        typer.echo("No TELEGRAM_BOT_TOKEN is set, so here is the terminal chat instead.", err=True)
        chat()
        return
    _logging(settings)
    from content import ContentError
    from paincoach.app import run_telegram

    try:
        asyncio.run(run_telegram(settings))
    except ContentError as error:
        typer.echo(f"paincoach: the content has problems:\n{error}", err=True)
        raise typer.Exit(1) from None


@app.command()
def chat(
    database: Annotated[str, typer.Option(help="Database for the terminal chat.")] = "sqlite:///var/chat.db",
    fresh: Annotated[bool, typer.Option(help="Forget the earlier terminal conversation first.")] = False,
) -> None:
    """Walk the conversation in this terminal, with buttons as numbered choices."""
    settings = _settings().model_copy(update={"database_url": database, "log_level": "WARNING"})
    _logging(settings)
    if fresh and database.startswith("sqlite:///"):
        path = Path(database.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    from paincoach.chat import chat as run_chat

    asyncio.run(run_chat(settings))


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every database migration not yet applied."""
    settings = _settings()
    from storage.database import upgrade

    upgrade(settings.database_url)
    typer.echo("database is up to date")


@content_app.command("check")
def content_check(
    directory: Annotated[Path | None, typer.Option("--dir", help="Content folder (default: CONTENT_DIR).")] = None,
) -> None:
    """Check the course content; print `file:line: message` for each problem."""
    settings = _settings()
    from content.check import check_directory
    from content.loader import load_sources

    root = directory or settings.content_dir
    if not root.is_dir():
        typer.echo(f"{root}: no such folder", err=True)
        raise typer.Exit(2)
    problems = check_directory(root, settings.default_locale)
    for problem in problems:
        typer.echo(str(problem))
    if problems:
        typer.echo(f"{len(problems)} problem(s) found", err=True)
        raise typer.Exit(1)
    loaded, _ = load_sources(root, settings.default_locale)
    assert loaded is not None
    flows = [f for locale in loaded.content.locales.values() for f in locale.flows.values()]
    steps = sum(len(f.steps) for f in flows)
    questionnaires = sum(len(locale.questionnaires) for locale in loaded.content.locales.values())
    typer.echo(
        f"content OK: {len(flows)} flows, {steps} steps, {questionnaires} questionnaires, "
        f"languages: {', '.join(loaded.content.locales)}"
    )


def _loaded_flows(directory: Path | None) -> list[object]:
    settings = _settings()
    from content import ContentError, load_content

    try:
        content = load_content(directory or settings.content_dir, settings.default_locale)
    except ContentError as error:
        typer.echo(f"{error}\nfix these first (paincoach content check)", err=True)
        raise typer.Exit(1) from None
    return list(content.for_locale(None).flows.values())


@content_app.command("graph")
def content_graph(
    out: Annotated[Path, typer.Option(help="Folder for the .mmd files.")] = Path("docs/graphs"),
    directory: Annotated[Path | None, typer.Option("--dir", help="Content folder (default: CONTENT_DIR).")] = None,
) -> None:
    """Write a Mermaid diagram of every lesson's steps (and the other flows) for clinical review."""
    from content.graph import mermaid
    from content.schema import Flow

    out.mkdir(parents=True, exist_ok=True)
    for flow in _loaded_flows(directory):
        assert isinstance(flow, Flow)
        path = out / f"{flow.id}.mmd"
        path.write_text(mermaid(flow), encoding="utf-8")
        typer.echo(str(path))


@content_app.command("stats")
def content_stats(
    directory: Annotated[Path | None, typer.Option("--dir", help="Content folder (default: CONTENT_DIR).")] = None,
) -> None:
    """Each flow's length, steps, estimated reading time and reading grade (Flesch-Kincaid)."""
    from content.schema import Flow
    from content.stats import flow_stats

    typer.echo(f"{'flow':28} {'steps':>5} {'messages':>8} {'words':>6} {'minutes':>7} {'grade':>5}")
    for flow in _loaded_flows(directory):
        assert isinstance(flow, Flow)
        row = flow_stats(flow)
        typer.echo(f"{row.flow:28} {row.steps:5} {row.messages:8} {row.words:6} {row.minutes:7.1f} {row.grade:5.1f}")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
