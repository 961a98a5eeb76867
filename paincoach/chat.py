"""`paincoach chat`: walk the coach's conversation in a terminal, with no Telegram token, through
the same engine, content, database and outbox; buttons are shown as numbered choices."""

from __future__ import annotations

import asyncio
import re
import sys
from collections.abc import Callable
from typing import TextIO

from bot.sender import Sender
from bot.transport import Delivered, Delivery
from clock import SystemClock
from content import load_content
from content.render import plain
from dialogs.events import Event, Press, Text, parse_command
from paincoach.settings import Settings
from paincoach.wiring import make_services, open_database
from storage.patients import Person
from storage.payloads import Buttons, Document, Edit, Payload, Photo

TERMINAL_USER = Person(user_id=1, chat_id=1, language_code=None)
BOLD = re.compile(r"<b>(.*?)</b>", re.S)


class ConsoleTransport:
    """Prints what the coach sends; remembers the latest buttons so a number can tap one."""

    def __init__(self, out: TextIO, colour: bool) -> None:
        self.out = out
        self.colour = colour
        self.buttons: Buttons = ()
        self.message_id = 0
        self.buttons_message_id = 0

    async def deliver(self, chat_id: int, payload: Payload) -> Delivery:
        if isinstance(payload, Edit):
            if payload.buttons:  # ticks changed, or a breathing cue: show the message again
                self.show(payload.text, payload.buttons, payload.message_id or 0)
            return Delivered(payload.message_id)  # otherwise the choice was already echoed
        self.message_id += 1
        if isinstance(payload, Photo):  # a chart: Telegram shows the picture; here, its caption
            self.show(f"🖼 {payload.caption}", payload.buttons, self.message_id)
        elif isinstance(payload, Document):  # a handout: Telegram shows the file; here, its caption and name
            self.show(f"{payload.caption} ({payload.filename})", payload.buttons, self.message_id)
        else:
            self.show(getattr(payload, "text", ""), getattr(payload, "buttons", ()), self.message_id)
        return Delivered(self.message_id)

    def show(self, text: str, buttons: Buttons, message_id: int) -> None:
        if self.colour:
            text = BOLD.sub(lambda m: f"\033[1m{m.group(1)}\033[0m", text)
        print("\n" + plain(text), file=self.out)
        if buttons:
            self.buttons = buttons
            self.buttons_message_id = message_id
            for number, (label, _data) in enumerate(buttons, start=1):
                print(f"  [{number}] {label}", file=self.out)
        self.out.flush()

    def event_for(self, line: str) -> Event | None:
        line = line.strip()
        if not line:
            return None
        if line.isdigit() and self.buttons:
            index = int(line) - 1
            if 0 <= index < len(self.buttons):
                label, data = self.buttons[index]
                print(f"  » {label}", file=self.out)
                return Press(data, self.buttons_message_id)
        return parse_command(line) or Text(line)


async def chat(settings: Settings, *, out: TextIO = sys.stdout, read: Callable[[], str] | None = None) -> None:
    content = load_content(settings.content_dir, settings.default_locale)
    database = open_database(settings)
    clock = SystemClock()
    coach = make_services(settings, database, content, clock).coach
    transport = ConsoleTransport(out, colour=out.isatty())
    sender = Sender(database, transport, clock, rate=1000, poll_interval=0.2)
    reader = read or (lambda: input("\n> "))
    print(
        "paincoach terminal chat: type a number to tap a button, /help for commands, Ctrl-D to leave.",
        file=out,
    )
    loop = asyncio.get_running_loop()
    event: Event | None = parse_command("/start")
    timed = asyncio.create_task(sender.run())  # timed messages, such as breathing cues
    try:
        while True:
            if event is not None:
                reply = await database.run(coach.handle, TERMINAL_USER, event)
                if reply.toast:
                    print(f"  ({reply.toast})", file=out)
                await sender.drain()
            try:
                line = await loop.run_in_executor(None, reader)
            except EOFError:
                break
            event = transport.event_for(line)
    finally:
        sender.stop()
        await timed
        await sender.drain()  # what is due, even if the background task had not got to it
        print("\nBye for now.", file=out)
        database.dispose()
