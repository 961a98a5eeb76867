"""The people on the other side: users and groups that send, edit and tap, and what they see of the bot."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sandbox.botapi.core import _Core
from sandbox.botapi.html_text import utf16_length
from sandbox.botapi.params import Params
from sandbox.botapi.records import Buttons, FakeMessage, _CallbackQuery

if TYPE_CHECKING:
    from sandbox.botapi.server import FakeTelegram


class _ChatView:
    """What a person sees of one chat with the bot (shared by users and groups)."""

    tg: FakeTelegram
    _mark: int

    def _cid(self) -> int:
        raise NotImplementedError

    @property
    def messages(self) -> list[FakeMessage]:
        """The bot's messages in this chat, oldest first, as they are now (snapshots)."""
        return self.tg.messages(self._cid())

    @property
    def last_message(self) -> FakeMessage | None:
        messages = self.messages
        return messages[-1] if messages else None

    def buttons(self) -> Buttons:
        """Keyboard of the latest bot message that has one ([] if none)."""
        with_buttons = [m for m in self.messages if m.buttons]
        return with_buttons[-1].buttons if with_buttons else []

    def mark(self) -> None:
        """Remember this moment; later waits only look at what comes after."""
        self._mark = self.tg._seq

    @property
    def new_messages(self) -> list[FakeMessage]:
        """Bot messages sent after the last mark()."""
        return [m for m in self.messages if m.seq > self._mark]

    def _changed_since_mark(self) -> list[FakeMessage]:
        return [m for m in self.messages if m.updated_seq > self._mark]

    async def wait_for_text(self, substring: str, timeout: float = 5.0) -> FakeMessage:  # noqa: ASYNC109
        """Wait for a bot message sent (or edited) after mark() containing substring.

        Case-insensitive, on the plain text. Returns the first such message.
        """
        needle = substring.casefold()

        def find() -> FakeMessage | None:
            return next(
                (m for m in self._changed_since_mark() if needle in m.text.casefold()),
                None,
            )

        return await self.tg._wait_until(
            find,
            timeout,
            lambda: (
                f"no bot message containing {substring!r} in chat {self._cid()} within {timeout}s. {self._report()}"
            ),
        )

    async def wait_for_buttons(self, timeout: float = 5.0) -> FakeMessage:  # noqa: ASYNC109
        """Wait until the latest bot message has an inline keyboard and was sent
        (or edited) after mark(); return it."""

        def find() -> FakeMessage | None:
            last = self.last_message
            if last is not None and last.buttons and last.updated_seq > self._mark:
                return last
            return None

        return await self.tg._wait_until(
            find,
            timeout,
            lambda: f"no new bot message with buttons in chat {self._cid()} within {timeout}s. {self._report()}",
        )

    async def wait_answered(self, callback_query_id: str, timeout: float = 5.0) -> Params:  # noqa: ASYNC109
        """Wait for the bot's answerCallbackQuery; return its parameters."""
        return await self.tg.wait_answered(callback_query_id, timeout)

    def _report(self) -> str:
        since = [m.text for m in self._changed_since_mark()]
        earlier = [m.text for m in self.messages if m.updated_seq <= self._mark]
        failed = [
            f"{c.method} -> {c.error_code} {c.description}"
            for c in self.tg.calls
            if c.finished and not c.ok and c.chat_id == self._cid()
        ]
        lines = [f"Bot messages since mark: {since!r}."]
        if earlier:
            lines.append(f"Before the mark (last 3): {earlier[-3:]!r}.")
        if failed:
            lines.append(f"Failed calls for this chat: {failed[-5:]!r}.")
        return " ".join(lines)


@dataclass(eq=False)
class FakeUser(_ChatView):
    """A person in a private chat with the bot (chat id == user id)."""

    tg: FakeTelegram = field(repr=False)
    user_id: int
    first_name: str = "Pat"
    language_code: str = "en"
    blocked: bool = False
    """While True, every send/edit to this chat fails with 403."""
    _mark: int = field(default=0, init=False, repr=False)

    def _cid(self) -> int:
        return self.user_id

    @property
    def chat_id(self) -> int:
        return self.user_id

    @property
    def as_user(self) -> Params:
        """The Bot API User object of this person."""
        return {
            "id": self.user_id,
            "is_bot": False,
            "first_name": self.first_name,
            "language_code": self.language_code,
        }

    def send_text(self, text: str) -> int:
        """Queue a message from this person; returns its update_id."""
        return self.tg._user_message(self.user_id, self.as_user, text)

    def send_command(self, cmd: str, args: str = "") -> int:
        """Queue "/cmd args" (cmd with or without the slash)."""
        return self.send_text(_command_text(cmd, args))

    def send_photo(self, caption: str = "") -> int:
        """Queue a photo (with an optional caption) from this person; returns its update_id."""
        return self.tg._user_message(self.user_id, self.as_user, caption, photo=True)

    def send_media(self, kind: str, caption: str = "") -> int:
        """Queue a voice note, sticker, video, video_note, audio, document or animation (with a
        caption where Telegram allows one) from this person; returns its update_id."""
        return self.tg._user_message(self.user_id, self.as_user, caption, media=kind)

    def edit(self, message_id: int, text: str) -> int:
        """Edit a message this person sent (its text, or a photo's caption); queues edited_message."""
        return self.tg._user_edit(self.user_id, self.user_id, message_id, text)

    @property
    def sent(self) -> list[FakeMessage]:
        """The messages this person sent, oldest first."""
        return self.tg._people_messages(self.user_id)

    def press(self, label_or_data: str, message_id: int | None = None) -> str:
        """Tap an inline button of the latest (or given) bot message with buttons.

        Matches the label first, then the callback_data. Returns the query id.
        """
        return self.tg._press(self.user_id, self.as_user, label_or_data, message_id)

    def press_forged(self, data: str, message_id: int | None = None) -> str:
        """A tap carrying `data` of this person's choosing, on the latest (or given) bot message in
        their chat, as a modified client can send: no such button need exist. Returns the query id."""
        return self.tg._press(self.user_id, self.as_user, data, message_id, forged=True)


@dataclass(eq=False)
class FakeGroup(_ChatView):
    """A group (or forum supergroup) with the bot in it."""

    tg: FakeTelegram = field(repr=False)
    chat_id: int
    title: str
    is_forum: bool = False
    _mark: int = field(default=0, init=False, repr=False)

    def _cid(self) -> int:
        return self.chat_id

    def send_text(
        self,
        from_user_id: int,
        text: str,
        thread_id: int | None = None,
        reply_to_message_id: int | None = None,
    ) -> int:
        """Queue a message from a member; returns its update_id."""
        return self.tg._user_message(
            self.chat_id,
            self.tg._user_object(from_user_id),
            text,
            thread_id=thread_id,
            reply_to_message_id=reply_to_message_id,
        )

    def send_command(self, from_user_id: int, cmd: str, args: str = "", thread_id: int | None = None) -> int:
        return self.send_text(from_user_id, _command_text(cmd, args), thread_id)

    def send_photo(
        self, from_user_id: int, caption: str = "", thread_id: int | None = None, reply_to_message_id: int | None = None
    ) -> int:
        return self.tg._user_message(
            self.chat_id,
            self.tg._user_object(from_user_id),
            caption,
            thread_id=thread_id,
            reply_to_message_id=reply_to_message_id,
            photo=True,
        )

    def edit(self, from_user_id: int, message_id: int, text: str) -> int:
        """A member edits their message; queues edited_message."""
        return self.tg._user_edit(self.chat_id, from_user_id, message_id, text)

    @property
    def topics(self) -> dict[int, str]:
        """Open forum topics: thread id -> name."""
        return dict(self.tg._chats[self.chat_id].topics)

    def topic_messages(self, thread_id: int) -> list[FakeMessage]:
        """The bot's messages in one topic, oldest first."""
        return [m for m in self.messages if m.thread_id == thread_id]

    def delete_topic(self, thread_id: int) -> None:
        """A member deletes a topic, with everything in it (as an admin can in Telegram)."""
        self.tg._delete_topic(self.tg._chats[self.chat_id], thread_id)

    @property
    def sent(self) -> list[FakeMessage]:
        """What members sent here, oldest first."""
        return self.tg._people_messages(self.chat_id)

    def press(self, from_user_id: int, label_or_data: str, message_id: int | None = None) -> str:
        return self.tg._press(self.chat_id, self.tg._user_object(from_user_id), label_or_data, message_id)


def _command_text(cmd: str, args: str) -> str:
    text = "/" + cmd.lstrip("/")
    return f"{text} {args}" if args else text


class _People(_Core):
    """What people do, as the updates the bot then receives."""

    def _user_object(self, user_id: int) -> Params:
        person = self._users.get(user_id)
        if person is not None:
            return person.as_user
        return {"id": user_id, "is_bot": False, "first_name": f"User {user_id}"}

    def _user_message(
        self,
        chat_id: int,
        sender: Params,
        text: str,
        thread_id: int | None = None,
        reply_to_message_id: int | None = None,
        photo: bool = False,
        media: str | None = None,
    ) -> int:
        chat = self._chats[chat_id]
        if media is not None and text and media in ("sticker", "video_note"):
            raise AssertionError(f"a {media} has no caption in Telegram")
        if thread_id is not None and chat.info.get("is_forum") and thread_id not in chat.topics:
            raise AssertionError(f"no topic {thread_id} in chat {chat_id} (topics: {chat.topics!r})")
        message_id = self._take_message_id(chat)
        message = FakeMessage(
            message_id=message_id,
            chat_id=chat_id,
            text=text,
            html=text,
            thread_id=thread_id,
            date=int(self.dates()),
            from_bot=False,
            entities=[] if photo or media else _command_entities(text),
            reply_to_message_id=reply_to_message_id,
            sender=sender,
            chat=chat.info,
            photo=_photo_sizes(chat_id, message_id) if photo else None,
            media={media: _media_file(media, chat_id, message_id)} if media else None,
        )
        chat.messages[message.message_id] = message
        return self.queue_update({"message": self._api_message(chat, message)})

    def _user_edit(self, chat_id: int, from_user_id: int, message_id: int, text: str) -> int:
        chat = self._chats[chat_id]
        message = chat.messages.get(message_id)
        if message is None or message.from_bot or message.sender.get("id") != from_user_id:
            raise AssertionError(f"user {from_user_id} sent no message {message_id} in chat {chat_id}")
        message.text = message.html = text
        message.entities = [] if message.photo else _command_entities(text)
        message.edit_date = int(self.dates())
        return self.queue_update({"edited_message": self._api_message(chat, message)})

    def _people_messages(self, chat_id: int) -> list[FakeMessage]:
        chat = self._chats.get(chat_id)
        return copy.deepcopy([m for m in chat.messages.values() if not m.from_bot]) if chat else []

    def _press(
        self,
        chat_id: int,
        sender: Params,
        label_or_data: str,
        message_id: int | None,
        *,
        forged: bool = False,
    ) -> str:
        chat = self._chats[chat_id]
        if forged and message_id is None:
            message = chat.bot_messages()[-1]
        elif message_id is None:
            keyboards = [m for m in chat.bot_messages() if m.buttons]
            if not keyboards:
                texts = [m.text[:80] for m in chat.bot_messages()[-3:]]
                raise AssertionError(
                    f"no bot message with an inline keyboard in chat {chat_id}; latest bot messages: {texts!r}"
                )
            message = keyboards[-1]
        else:
            found = chat.messages.get(message_id)
            if found is None or not found.from_bot:
                raise AssertionError(f"no bot message {message_id} in chat {chat_id}")
            message = found
        buttons = [button for row in message.buttons for button in row]
        match = next((b for b in buttons if b[0] == label_or_data), None)
        if match is None:
            match = next((b for b in buttons if b[1] == label_or_data), None)
        if forged:
            match = ("(forged)", label_or_data)
        if match is None:
            raise AssertionError(
                f"no button {label_or_data!r} on message {message.message_id} "
                f"({message.text[:80]!r}); available buttons: {buttons!r}"
            )
        label, data = match
        if data is None:
            raise AssertionError(f"button {label!r} has no callback_data")
        query_id = str(4_000_000_000_000_000 + self._next_callback)
        self._next_callback += 1
        self._callbacks[query_id] = _CallbackQuery(query_id, chat_id, message.message_id, data)
        self.queue_update(
            {
                "callback_query": {
                    "id": query_id,
                    "from": sender,
                    "message": self._api_message(chat, message),
                    "chat_instance": str(-(abs(chat_id) * 7 + 3)),
                    "data": data,
                }
            }
        )
        return query_id


def _media_file(kind: str, chat_id: int, message_id: int) -> Params:
    """The Bot API object of a voice note, sticker ... (only what the coach could look at)."""
    unique = f"{abs(chat_id)}-{message_id}"
    body: Params = {"file_id": f"{kind}-{unique}", "file_unique_id": f"{kind[0]}{unique}"}
    if kind == "sticker":
        body.update(type="regular", width=512, height=512, is_animated=False, is_video=False, emoji="🙂")
    elif kind in ("voice", "audio", "video", "video_note", "animation"):
        body["duration"] = 4
    return body


def _photo_sizes(chat_id: int, message_id: int) -> list[Params]:
    unique = f"{abs(chat_id)}-{message_id}"
    return [
        {"file_id": f"photo-{size}-{unique}", "file_unique_id": f"{size}{unique}", "width": w, "height": h}
        for size, w, h in (("s", 90, 60), ("m", 800, 533))
    ]


def _command_entities(text: str) -> list[Params]:
    if not text.startswith("/") or len(text) < 2 or text[1].isspace():
        return []
    command = text.split(maxsplit=1)[0]
    return [{"type": "bot_command", "offset": 0, "length": utf16_length(command)}]
