"""What every bench scenario shares: the stand-in Bot API that tells the load the moment an answer
arrives, a bot in its own process (the coach, or a bare bot of the same framework), and readings
of that process's CPU and memory from /proc."""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sandbox.botapi import FakeTelegram

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-secret"
STAFF_CHAT = -100_777
COORDINATOR = 4_100
FRAMEWORKS = ("aiogram", "ptb")
ANSWERS = frozenset({"sendmessage", "sendphoto", "editmessagetext"})  # what a person sees as an answer


class BenchTelegram(FakeTelegram):
    """The fake Bot API, telling the load generator the moment each chat gets an answer, and (in
    webhook mode) leaving delivery to the load, which posts updates concurrently as Telegram does."""

    def __init__(self, *, deliver_webhooks: bool = False) -> None:
        super().__init__()
        self.waiting: dict[int, asyncio.Future[float]] = {}
        self.seen: dict[int, list[tuple[float, str]]] = {}  # chat -> (arrival, text) kept only where watched
        self.watched: set[int] = set()
        self.deliver_webhooks = deliver_webhooks

    async def _execute(self, method: str, params: dict[str, Any], user_agent: str = "") -> tuple[int, dict[str, Any]]:
        status, body = await super()._execute(method, params, user_agent)
        if status == 200 and method.lower() in ANSWERS:
            chat = params.get("chat_id")
            chat_id = int(chat) if isinstance(chat, int | str) and str(chat).lstrip("-").isdigit() else 0
            arrived = time.perf_counter()
            future = self.waiting.pop(chat_id, None)
            if future is not None and not future.done():
                future.set_result(arrived)
            if chat_id in self.watched:
                self.seen.setdefault(chat_id, []).append((arrived, str(params.get("text", ""))))
        return status, body

    async def _webhook_worker(self) -> None:
        if self.deliver_webhooks:
            await super()._webhook_worker()
        # otherwise the load takes each queued update and posts it itself (see Load.post)

    def take_update(self) -> dict[str, Any]:
        """The update just queued by a fake person (for the load to post to the webhook)."""
        update = self._updates.pop()
        self._touch()
        return dict(update.payload)

    def answered(self, chat_id: int) -> asyncio.Future[float]:
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self.waiting[chat_id] = future
        return future

    def forget_calls(self) -> None:
        """Drop the record of calls so far: a long run would otherwise keep every one in memory."""
        self.calls.clear()


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Bot:
    """A bot to measure: the coach, or the bare bot it is compared with, on one framework."""

    kind: str  # "coach" | "bare"
    framework: str  # "aiogram" | "ptb"

    @property
    def name(self) -> str:
        return f"{'paincoach' if self.kind == 'coach' else 'bare'} ({self.framework})"

    def command(self, mode: str) -> list[str]:
        if self.kind == "coach":
            return ["-m", "paincoach", "run"]
        return ["-m", f"bench.bare_{self.framework}", mode]


def environment(
    bot: Bot, mode: str, telegram: FakeTelegram | None, database: Path, port: int, **extra: str
) -> dict[str, str]:
    """The bot's settings; with no stand-in (the scheduler at scale talks to no Bot API), a dead address."""
    api, token = (
        (telegram.base_url, telegram.token)
        if telegram is not None
        else ("http://127.0.0.1:9", "123456789:AAscale-bench-talks-to-no-bot-api")
    )
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        **{key: os.environ[key] for key in ("HOME", "XDG_CACHE_HOME") if key in os.environ},  # the lemma tries
        "PYTHONPATH": str(ROOT),
        "BENCH_API": api,
        "BENCH_TOKEN": token,
        "BENCH_PORT": str(port),
        "BENCH_SECRET": SECRET,
        "TELEGRAM_BOT_TOKEN": token,
        "TELEGRAM_API_BASE_URL": api,
        "TELEGRAM_FRAMEWORK": bot.framework,
        "DATABASE_URL": f"sqlite:///{database}",
        "ENROLMENT": "open",
        "ELIGIBILITY_SCREENING": "false",  # the walkers go straight to consent and the lessons
        "STAFF_CHAT_ID": str(STAFF_CHAT),
        "ADMIN_IDS": str(COORDINATOR),
        "LOG_LEVEL": "WARNING",
        "DATA_KEY": base64.urlsafe_b64encode(b"paincoach-bench-key-not-secret!!").decode(),  # a Fernet key
    }
    if mode == "webhook":
        env |= {
            "WEBHOOK_URL": f"http://127.0.0.1:{port}/hook",
            "WEBHOOK_SECRET": SECRET,
            "WEBHOOK_LISTEN_HOST": "127.0.0.1",
            "WEBHOOK_LISTEN_PORT": str(port),
        }
    return env | extra


@contextmanager
def bot_process(
    bot: Bot, mode: str, telegram: FakeTelegram, workdir: Path, port: int, **extra: str
) -> Iterator[subprocess.Popen[bytes]]:
    database = workdir / f"{bot.kind}-{bot.framework}-{mode}-{port}.db"
    env = environment(bot, mode, telegram, database, port, **extra)
    log = (workdir / f"{bot.kind}-{bot.framework}-{mode}.log").open("ab")
    process = subprocess.Popen([sys.executable, *bot.command(mode)], cwd=workdir, env=env, stdout=log, stderr=log)
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


async def wait_ready(telegram: FakeTelegram, mode: str, process: subprocess.Popen[bytes]) -> None:
    method = "getUpdates" if mode == "polling" else "setWebhook"
    deadline = time.monotonic() + 180
    while not any(call.method == method and call.finished for call in telegram.calls):
        if time.monotonic() > deadline or process.poll() is not None:
            raise RuntimeError(f"the bot (pid {process.pid}) never became ready; see its log")
        await asyncio.sleep(0.05)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]
