"""The `paincoach` command: run the coach or the scheduler alone, chat in the terminal, migrate,
check content, broadcast, and show what is due for a patient."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from paincoach.settings import Settings, SettingsError, load_settings

app = typer.Typer(no_args_is_help=True, add_completion=False, help="paincoach: a CBT pain course coach for Telegram.")
db_app = typer.Typer(no_args_is_help=True, help="The database.")
content_app = typer.Typer(no_args_is_help=True, help="Course content.")
app.add_typer(db_app, name="db")
app.add_typer(content_app, name="content")
schedule_app = typer.Typer(no_args_is_help=True, help="What the scheduler will send.")
app.add_typer(schedule_app, name="schedule")
keys_app = typer.Typer(no_args_is_help=True, help="The data keys that seal free text (DATA_KEY).")
app.add_typer(keys_app, name="keys")
patient_app = typer.Typer(no_args_is_help=True, help="One patient's own data: export it, or erase it.")
app.add_typer(patient_app, name="patient")
invite_app = typer.Typer(no_args_is_help=True, help="Invitations: the links people join with (ENROLMENT=invite).")
app.add_typer(invite_app, name="invite")
trial_app = typer.Typer(no_args_is_help=True, help="The trial (PROGRAMME_MODE=trial).")
app.add_typer(trial_app, name="trial")


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as error:
        typer.echo(f"paincoach: {error}", err=True)
        raise typer.Exit(2) from None


def _logging(settings: Settings) -> None:
    from paincoach.logs import configure

    configure(settings.log_level, settings.log_format)


@app.command()
def run() -> None:
    """Start the coach against Telegram; with no TELEGRAM_BOT_TOKEN, the sandbox instead."""
    settings = _settings()
    if not settings.has_token:
        typer.echo("No TELEGRAM_BOT_TOKEN is set, so here is the sandbox instead (`paincoach chat`: the terminal).")
        sandbox(port=int(os.environ.get("SANDBOX_PORT") or 8765))
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
def scheduler() -> None:
    """Run only the scheduler and the outbox sender (no update receiving), for several bot workers
    with SCHEDULER=off. Several may run: one acts, the others wait and take over if it dies."""
    settings = _settings()
    if not settings.has_token:
        typer.echo(
            "paincoach: setting TELEGRAM_BOT_TOKEN: the scheduler sends messages, so it needs the token", err=True
        )
        raise typer.Exit(2)
    _logging(settings)
    from content import ContentError
    from paincoach.app import run_scheduler

    try:
        asyncio.run(run_scheduler(settings))
    except ContentError as error:
        typer.echo(f"paincoach: the content has problems:\n{error}", err=True)
        raise typer.Exit(1) from None


def _utc(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        typer.echo(f"paincoach: --at {text!r}: expected YYYY-MM-DD HH:MM (UTC)", err=True)
        raise typer.Exit(2) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@app.command()
def broadcast(
    to: Annotated[str, typer.Option("--to", help="everyone, arm:NAME, lesson:N (lesson reached) or inactive:DAYS")],
    text: Annotated[
        str | None,
        typer.Option(help="The message (Telegram HTML; may use {{ code }}, {{ lesson_reached }}, {{ arm }})."),
    ] = None,
    file: Annotated[Path | None, typer.Option(help="Read the message from this file instead.")] = None,
    at: Annotated[str | None, typer.Option(help="Send at this time, YYYY-MM-DD HH:MM in UTC (default: now).")] = None,
    quiet_hours: Annotated[
        bool, typer.Option("--quiet-hours", help="Hold each patient's message until their quiet hours end.")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    follow: Annotated[bool, typer.Option("--follow", help="Wait and show progress until it is finished.")] = False,
) -> None:
    """Send a message to many patients: shows the recipients and a preview, asks, then hands it to
    the scheduler, which sends it at the global rate and reports progress in the staff chat."""
    settings = _settings()
    if (text is None) == (file is None):
        typer.echo("paincoach: give the message with --text or --file (one of them)", err=True)
        raise typer.Exit(2)
    message = text if text is not None else file.read_text(encoding="utf-8")  # type: ignore[union-attr]
    from clock import SystemClock
    from coach.broadcasts import BroadcastDesk, BroadcastError
    from content import load_content
    from paincoach.wiring import open_database

    clock = SystemClock()
    database = open_database(settings)
    desk = BroadcastDesk(database, load_content(settings.content_dir, settings.default_locale), clock,
                         staff_chat_id=settings.staff_chat_id)  # fmt: skip
    try:
        draft = desk.draft(created_by=0, audience=to, text=message, send_at=_utc(at) if at else None,
                           quiet_hours=quiet_hours)  # fmt: skip
    except BroadcastError as problem:
        typer.echo(f"paincoach: {problem}", err=True)
        database.dispose()
        raise typer.Exit(1) from None
    when = "now" if at is None else f"at {draft.send_at:%Y-%m-%d %H:%M} UTC"
    typer.echo(f"broadcast #{draft.id} to {draft.audience}: {draft.recipients} patient(s), {when}"
               f"{', held for quiet hours' if quiet_hours else ''}")  # fmt: skip
    typer.echo(f"preview (as the first recipient will read it):\n\n{draft.preview}\n")
    if not yes and not typer.confirm("Send it?"):
        desk.cancel(draft.id)
        typer.echo("cancelled")
        database.dispose()
        return
    desk.confirm(draft.id)
    typer.echo("confirmed: the scheduler sends it and reports progress in the staff chat")
    while follow:
        import time

        progress = desk.progress(draft.id)
        assert progress is not None
        typer.echo(f"{progress.status}: {progress.sent} sent, {progress.blocked} blocked, {progress.failed} failed, "
                   f"{progress.in_doubt} in doubt, {progress.waiting} waiting")  # fmt: skip
        if progress.status in ("done", "cancelled"):
            break
        time.sleep(5)
    database.dispose()


@schedule_app.command("show")
def schedule_show(code: Annotated[str, typer.Argument(help="The patient's code, e.g. P-0042.")]) -> None:
    """What is due for a patient and when, in their local time and in UTC."""
    settings = _settings()
    from zoneinfo import ZoneInfo

    from storage import due
    from storage.database import Database
    from storage.patients import patient_by_code

    database = Database(settings.database_url, settings.keyring)
    try:
        with database.transaction() as session:
            patient = patient_by_code(session, code)
            if patient is None or patient.id is None:
                typer.echo(f"paincoach: no patient {code}", err=True)
                raise typer.Exit(1)
            rows = due.for_patient(session, patient.id)
    finally:
        database.dispose()
    zone = ZoneInfo(patient.timezone)
    typer.echo(f"{patient.code} ({patient.status}), time zone {patient.timezone}")
    if not rows:
        typer.echo("nothing is due")
        return
    typer.echo(f"{'local':22} {'UTC':17} {'what':16} {'which':12} status")
    for row in rows:
        local = row.due_at.astimezone(zone)
        typer.echo(
            f"{local:%a %Y-%m-%d %H:%M %Z}".ljust(22)
            + f" {row.due_at:%Y-%m-%d %H:%M} {row.kind:16} {row.key:12} {row.status}"
        )


@app.command()
def chat(
    database: Annotated[str, typer.Option(help="Database for the terminal chat.")] = "sqlite:///var/chat.db",
    fresh: Annotated[bool, typer.Option(help="Forget the earlier terminal conversation first.")] = False,
) -> None:
    """Walk the conversation in this terminal, with buttons as numbered choices."""
    # The terminal is the clinic's own: nobody needs an invitation there.
    settings = _settings().model_copy(update={"database_url": database, "log_level": "WARNING", "enrolment": "open"})
    _logging(settings)
    if fresh and database.startswith("sqlite:///"):
        path = Path(database.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    from paincoach.chat import chat as run_chat

    asyncio.run(run_chat(settings))


@app.command()
def sandbox(
    database: Annotated[
        str, typer.Option(help="The sandbox's database: any, e.g. a trial from `paincoach simulate`.")
    ] = "sqlite:///var/sandbox.db",
    port: Annotated[
        int, typer.Option(envvar="SANDBOX_PORT", help="The page's port on 127.0.0.1 (0: any free port).")
    ] = 8765,
    fresh: Annotated[bool, typer.Option(help="Start again with an empty sandbox database.")] = False,
) -> None:
    """The whole coach in a browser, with no Telegram token: patients, the staff group, a clock to
    move on, and a log, against a local stand-in for Telegram."""
    settings = _settings().model_copy(update={"log_level": "WARNING"})
    _logging(settings)
    if fresh and database.startswith("sqlite:///"):
        path = Path(database.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    from content import ContentError
    from sandbox.serve import serve_sandbox

    def ready(address: str) -> None:
        typer.echo(f"The sandbox is at {address} (Ctrl-C to stop)")
        sys.stdout.flush()  # at once, also into a pipe: a script or test waits for this line

    try:
        asyncio.run(serve_sandbox(settings, database, port, ready))
    except ContentError as error:
        typer.echo(f"paincoach: the content has problems:\n{error}", err=True)
        raise typer.Exit(1) from None
    except OSError as error:
        typer.echo(f"paincoach: the sandbox could not start: {error}", err=True)
        raise typer.Exit(1) from None


@invite_app.command("create")
def invite_create(
    uses: Annotated[int, typer.Option(min=1, max=100000, help="How many people may join with it.")] = 1,
    expires_days: Annotated[int | None, typer.Option(min=1, max=3650, help="Days until it expires.")] = None,
    site: Annotated[str | None, typer.Option(help="The site it is for (its screening, and reports).")] = None,
    note: Annotated[str | None, typer.Option(help="A note for the coordinators (never shown to patients).")] = None,
    qr: Annotated[Path | None, typer.Option(help="Write a QR code of the link to this PNG file.")] = None,
) -> None:
    """Make an invitation and print its link: https://t.me/<bot>?start=<code>."""
    settings = _settings()
    if not settings.bot_username:
        typer.echo("paincoach: setting BOT_USERNAME: the link names the bot (the running bot learns it from "
                   "Telegram; here it must be set)", err=True)  # fmt: skip
        raise typer.Exit(2)
    from clock import SystemClock
    from coach.enrolment import Enrolment
    from content import load_content
    from paincoach.wiring import enrolment_policy, open_database

    database = open_database(settings)
    enrolment = Enrolment(load_content(settings.content_dir, settings.default_locale), enrolment_policy(settings))
    try:
        with database.transaction() as session:
            invitation = enrolment.invite(
                session, SystemClock().now(), actor="cli", uses=uses, expires_days=expires_days,
                site=site.strip().lower() if site else None, note=note,
            )  # fmt: skip
            link = enrolment.link(invitation.code)
            expires = f"{invitation.expires_at:%Y-%m-%d %H:%M} UTC" if invitation.expires_at else "never"
    finally:
        database.dispose()
    typer.echo(f"{link}  uses {uses}, expires {expires}{f', site {site}' if site else ''}")
    if qr is not None:
        import segno

        segno.make(link, error="m").save(str(qr), kind="png", scale=8, border=4)
        typer.echo(f"QR code written to {qr}")


@invite_app.command("list")
def invite_list() -> None:
    """Every invitation: its code, uses, expiry, site, and whether it still works."""
    settings = _settings()
    from clock import SystemClock
    from paincoach.wiring import open_database
    from storage import enrolment as store

    database = open_database(settings)
    now = SystemClock().now()
    try:
        with database.transaction() as session:
            rows = store.invitations(session)
            if not rows:
                typer.echo("no invitations yet: paincoach invite create")
                return
            typer.echo(f"{'code':18} {'uses':>9} {'expires (UTC)':17} {'site':12} {'state':8} note")
            for row in rows:
                state = store.invitation_state(row, now)
                expires = f"{row.expires_at:%Y-%m-%d %H:%M}" if row.expires_at else "never"
                typer.echo(f"{row.code:18} {row.uses:>4}/{row.max_uses:<4} {expires:17} {row.site or '-':12} "
                           f"{state.value if state else 'valid':8} {row.note or ''}")  # fmt: skip
    finally:
        database.dispose()


@invite_app.command("revoke")
def invite_revoke(code: Annotated[str, typer.Argument(help="The invitation's code (from `invite list`).")]) -> None:
    """Stop an invitation from working; people who joined with it carry on."""
    settings = _settings()
    from clock import SystemClock
    from paincoach.wiring import open_database
    from storage import enrolment as store

    database = open_database(settings)
    try:
        with database.transaction() as session:
            invitation = store.revoke(session, code.strip(), SystemClock().now(), actor="cli")
    finally:
        database.dispose()
    if invitation is None:
        typer.echo(f"paincoach: no invitation {code}", err=True)
        raise typer.Exit(1)
    typer.echo(f"revoked {invitation.code} ({invitation.uses} of {invitation.max_uses} used)")


@trial_app.command("verify")
def trial_verify() -> None:
    """Recompute every allocation from the stored seed and check it matches (the seed is not shown)."""
    settings = _settings()
    from paincoach.wiring import open_database
    from storage import enrolment as store

    database = open_database(settings)
    try:
        with database.transaction() as session:
            wrong = store.verify_allocations(session)
            counts = store.stage_counts(session).allocated
    finally:
        database.dispose()
    total = sum(counts.values())
    if wrong:
        typer.echo(
            f"paincoach: {len(wrong)} of {total} allocations do not match the seed: {', '.join(wrong)}", err=True
        )
        raise typer.Exit(1)
    typer.echo(f"{total} allocation(s) match the seed: " + ", ".join(f"{arm} {n}" for arm, n in sorted(counts.items())))


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every database migration not yet applied."""
    settings = _settings()
    from storage.database import upgrade

    upgrade(settings.database_url, keyring=settings.keyring)
    typer.echo("database is up to date")


@db_app.command("check")
def db_check(
    database: Annotated[
        str | None, typer.Option(help="A database to check instead of a temporary SQLite one (it is upgraded first).")
    ] = None,
) -> None:
    """Check that the migrations make exactly the tables the models describe (alembic check)."""
    from alembic.util.exc import AutogenerateDiffsDetected

    from storage.database import check_migrations

    try:
        check_migrations(database)
    except AutogenerateDiffsDetected as error:
        typer.echo(f"paincoach: the models and the migrations differ; write a migration.\n{error}", err=True)
        raise typer.Exit(1) from None
    typer.echo("the migrations match the models")


@keys_app.command("generate")
def keys_generate() -> None:
    """Print a new data key, to put first in DATA_KEY (see docs/operations.md, rotating keys)."""
    from storage.sealed import Keyring

    typer.echo(Keyring.generate())


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Seal every sealed value again with the newest key in DATA_KEY; then older keys can go."""
    settings = _settings()
    from storage.database import Database
    from storage.keys import rotate
    from storage.sealed import DataKeyError

    try:
        database = Database(settings.database_url, settings.keyring)
        try:
            database.upgrade()
            counts = rotate(database)
        finally:
            database.dispose()
    except DataKeyError as error:
        typer.echo(f"paincoach: {error}", err=True)
        raise typer.Exit(1) from None
    for column, count in counts.items():
        typer.echo(f"{column}: {count} sealed again")
    typer.echo(f"every sealed value now uses the newest of {database.keyring.count} key(s)")


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


# -- outcomes (issue 13): the report, the research exports, a patient's data, a simulated trial ------


def _content_and_database(settings: Settings, database: str | None = None) -> tuple[object, object]:
    from content import ContentError, load_content
    from storage.database import Database

    try:
        content = load_content(settings.content_dir, settings.default_locale)
    except ContentError as error:
        typer.echo(f"paincoach: the content has problems:\n{error}", err=True)
        raise typer.Exit(1) from None
    opened = Database(database or settings.database_url)
    opened.upgrade()
    return content, opened


@app.command()
def report(
    out: Annotated[Path, typer.Option(help="Folder for report.md, report.html, report.json and the charts.")],
    mode: Annotated[str | None, typer.Option(help="trial or service (default: trial if anyone has an arm).")] = None,
    database: Annotated[str | None, typer.Option(help="Database URL (default: DATABASE_URL).")] = None,
) -> None:
    """The outcomes report: the flow of participants, every questionnaire by time point and arm,
    Hedges' g between arms, completion, satisfaction and clinician minutes."""
    if mode not in (None, "trial", "service"):
        typer.echo("paincoach: --mode is trial or service", err=True)
        raise typer.Exit(2)
    from content.schema import Content
    from research.outputs import write_report
    from storage.database import Database

    content, opened = _content_and_database(_settings(), database)
    assert isinstance(content, Content) and isinstance(opened, Database)
    try:
        for path in write_report(opened, content, out, mode):
            typer.echo(str(path))
    finally:
        opened.dispose()


@app.command()
def export(
    out: Annotated[Path, typer.Option(help="Folder for wide.csv, long.csv, dictionary.csv, audit.csv, fhir.json.")],
    database: Annotated[str | None, typer.Option(help="Database URL (default: DATABASE_URL).")] = None,
) -> None:
    """The research exports, by pseudonymous code only: CSV (wide and long), the REDCap data
    dictionary, the audit log, and a FHIR R4 Bundle of the questionnaire responses."""
    from clock import SystemClock
    from content.schema import Content
    from research.outputs import write_exports
    from storage.database import Database

    content, opened = _content_and_database(_settings(), database)
    assert isinstance(content, Content) and isinstance(opened, Database)
    try:
        for path in write_exports(opened, content, out, SystemClock().now()):
            typer.echo(str(path))
    finally:
        opened.dispose()


@patient_app.command("export")
def patient_export(
    code: Annotated[str, typer.Argument(help="The patient's code, e.g. P-0042.")],
    out: Annotated[Path | None, typer.Option(help="Write the JSON here (default: print it).")] = None,
) -> None:
    """Everything stored about one patient, as JSON (for a request to see their data)."""
    import json

    from research.erasure import export_patient
    from storage.alerts import audit
    from storage.database import Database
    from storage.patients import patient_by_code

    settings = _settings()
    opened = Database(settings.database_url)
    try:
        with opened.transaction() as session:
            patient = patient_by_code(session, code)
            if patient is None:
                typer.echo(f"paincoach: no patient {code}", err=True)
                raise typer.Exit(1)
            document = export_patient(session, patient)
            from clock import SystemClock

            audit(session, SystemClock().now(), "cli", "patient_exported", patient.id)
    finally:
        opened.dispose()
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        typer.echo(str(out))


@patient_app.command("erase")
def patient_erase(
    code: Annotated[str, typer.Argument(help="The patient's code, e.g. P-0042.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Erase one patient for good: every row and text of theirs; only anonymous counts stay."""
    from clock import SystemClock
    from content.schema import Content
    from research.erasure import erase_patient
    from storage.database import Database
    from storage.patients import patient_by_code

    content, opened = _content_and_database(_settings())
    assert isinstance(content, Content) and isinstance(opened, Database)
    try:
        with opened.transaction() as session:
            if patient_by_code(session, code) is None:
                typer.echo(f"paincoach: no patient {code}", err=True)
                raise typer.Exit(1)
        if not yes and not typer.confirm(f"Erase {code.upper()} for good? This cannot be undone."):
            typer.echo("nothing was erased")
            return
        with opened.transaction() as session:
            patient = patient_by_code(session, code)
            assert patient is not None
            removed = erase_patient(session, patient, content.program, "cli", SystemClock().now())
    finally:
        opened.dispose()
    typer.echo(f"{code.upper()} erased: {sum(removed.values())} rows; anonymous counts kept")


@app.command()
def simulate(
    patients: Annotated[int, typer.Option(min=1, max=2000, help="How many synthetic patients.")] = 60,
    seed: Annotated[int, typer.Option(help="The same seed gives the same trial.")] = 1,
    mode: Annotated[str, typer.Option(help="trial (two arms: course and waiting list) or service.")] = "trial",
    effect: Annotated[float, typer.Option(help="1.0: the original trial's effect sizes; 0: none.")] = 1.0,
    database: Annotated[
        str | None, typer.Option(help="Database URL to fill (default: DATABASE_URL); it must have no patients yet.")
    ] = None,
) -> None:
    """A whole trial before anyone is enrolled: synthetic patients join, are screened, consent,
    and take the course through the real coach and timetable on a moved clock; then
    `paincoach report` shows what it would look like."""
    if mode not in ("trial", "service"):
        typer.echo("paincoach: --mode is trial or service", err=True)
        raise typer.Exit(2)
    import logging

    from content.schema import Content
    from paincoach.simulate import Options
    from paincoach.simulate import simulate as run_simulation
    from storage.database import Database
    from storage.models import Patient

    settings = _settings()
    logging.basicConfig(level=logging.ERROR)
    content, opened = _content_and_database(settings, database)
    assert isinstance(content, Content) and isinstance(opened, Database)
    try:
        from sqlmodel import select

        with opened.transaction() as session:
            if session.exec(select(Patient)).first() is not None:
                typer.echo(f"paincoach: {opened.url} already has patients; simulate into a fresh one with "
                           "--database sqlite:///var/simulation.db", err=True)  # fmt: skip
                raise typer.Exit(1)

        def progress(day: int, last: int) -> None:
            typer.echo(f"day {day} of {last}", err=True)

        options = Options(patients=patients, seed=seed, mode=mode, effect=effect)
        simulation = run_simulation(opened, content, options, progress)
    finally:
        opened.dispose()
    typer.echo(f"simulated {patients} patients ({mode}, seed {seed}): {simulation.events} events through the coach")
    typer.echo("now: paincoach report --out report/" + (f" --database {database}" if database else ""))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
