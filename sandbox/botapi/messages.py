"""The Bot API methods that send and edit messages: sendMessage, sendPhoto, sendDocument, copyMessage, editMessage*."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from typing import Any

from sandbox.botapi.errors import NOT_MODIFIED, TelegramError, _bad_request
from sandbox.botapi.faults import _Faults
from sandbox.botapi.html_text import HtmlParseError, parse_html
from sandbox.botapi.params import Params, UploadedFile
from sandbox.botapi.records import Buttons, FakeMessage, _Chat

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_PHOTO_BYTES = 10 * 1024 * 1024  # photos uploaded with multipart/form-data
MAX_DOCUMENT_BYTES = 50 * 1024 * 1024  # files a bot may upload
MAX_CALLBACK_DATA_BYTES = 64


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of a PNG or JPEG, or None when the bytes are neither (Telegram refuses them)."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR" and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if data[:2] == b"\xff\xd8":
        i = 2
        while i + 9 < len(data) and data[i] == 0xFF:
            marker, length = data[i + 1], int.from_bytes(data[i + 2 : i + 4], "big")
            if marker in (0xC0, 0xC1, 0xC2):
                return int.from_bytes(data[i + 7 : i + 9], "big"), int.from_bytes(data[i + 5 : i + 7], "big")
            i += 2 + length
    return None


class _Messages(_Faults):
    """Sending, copying and editing messages, validated like Telegram (and under its flood control)."""

    async def _send_message(self, params: Params) -> Any:
        chat = self._chat(params)
        text, entities = self._formatted_text(params)
        markup = _reply_markup(params.get("reply_markup"))
        reply_to = _reply_target(params)
        if reply_to is not None and reply_to[0] not in chat.messages:
            if not reply_to[1]:
                raise _bad_request("message to be replied not found")
            reply_to = None
        thread_id = self._thread(chat, params)
        self._check_rate(chat.id)
        self._count_send(chat.id)
        seq = self._next_seq()
        message = FakeMessage(
            message_id=self._take_message_id(chat),
            chat_id=chat.id,
            text=text,
            html=str(params.get("text")),
            buttons=_buttons(markup),
            thread_id=thread_id if isinstance(thread_id, int) else None,
            date=int(self.dates()),
            parse_mode=params.get("parse_mode"),
            entities=entities,
            reply_markup=markup,
            reply_to_message_id=reply_to[0] if reply_to else None,
            sender=self.bot_user,
            chat=chat.info,
            seq=seq,
            updated_seq=seq,
        )
        chat.messages[message.message_id] = message
        return self._api_message(chat, message)

    async def _send_document(self, params: Params) -> Any:
        """A file uploaded with multipart/form-data (a file_id or URL is not needed by the coach)."""
        chat = self._chat(params)
        document = params.get("document")
        if isinstance(document, str) and document.startswith("attach://"):
            document = params.get(document.removeprefix("attach://"))
        if not isinstance(document, UploadedFile):
            raise _bad_request("there is no document in the request")
        if len(document.data) > MAX_DOCUMENT_BYTES:
            raise TelegramError(413, "Request Entity Too Large")
        if not document.data:
            raise _bad_request("file must be non-empty")
        caption, entities = self._formatted_caption(params)
        markup = _reply_markup(params.get("reply_markup"))
        thread_id = params.get("message_thread_id")
        self._check_rate(chat.id)
        self._count_send(chat.id)
        self._file_seq += 1
        seq = self._next_seq()
        message = FakeMessage(
            message_id=self._take_message_id(chat),
            chat_id=chat.id,
            text=caption,
            html=str(params.get("caption") or ""),
            buttons=_buttons(markup),
            thread_id=thread_id if isinstance(thread_id, int) else None,
            date=int(self.dates()),
            parse_mode=params.get("parse_mode"),
            entities=entities,
            reply_markup=markup,
            sender=self.bot_user,
            chat=chat.info,
            seq=seq,
            updated_seq=seq,
            document={
                "file_id": f"BQACAgQAAxkDAAI{self._file_seq:06d}",
                "file_unique_id": f"d{self._file_seq:08d}",
                "file_name": document.filename or "document",
                "mime_type": document.content_type or "application/octet-stream",
                "file_size": len(document.data),
            },
            document_data=document.data,
        )
        chat.messages[message.message_id] = message
        return self._api_message(chat, message)

    async def _send_photo(self, params: Params) -> Any:
        chat = self._chat(params)
        photo = params.get("photo")
        if isinstance(photo, str) and photo.startswith("attach://"):  # a file in another part of the form
            photo = params.get(photo.removeprefix("attach://"))
        if photo is None or photo == "":
            raise _bad_request("there is no photo in the request")
        if isinstance(photo, UploadedFile):
            if len(photo.data) > MAX_PHOTO_BYTES:
                raise TelegramError(413, "Request Entity Too Large")
            size = image_size(photo.data)
            if size is None:
                raise _bad_request("IMAGE_PROCESS_FAILED")
            data = photo.data
            self._file_seq += 1
            file_id = f"AgACAgQAAxkDAAI{self._file_seq:06d}"
            self._photos[file_id] = (data, size)
        elif isinstance(photo, str) and photo in self._photos:  # a file_id sent before
            file_id = photo
            data, size = self._photos[photo]
        else:
            raise _bad_request("wrong file identifier/HTTP URL specified")
        caption, entities = self._formatted_caption(params)
        markup = _reply_markup(params.get("reply_markup"))
        thread_id = params.get("message_thread_id")
        self._check_rate(chat.id)
        self._count_send(chat.id)
        seq = self._next_seq()
        width, height = size
        message = FakeMessage(
            message_id=self._take_message_id(chat),
            chat_id=chat.id,
            text=caption,
            html=str(params.get("caption") or ""),
            buttons=_buttons(markup),
            thread_id=thread_id if isinstance(thread_id, int) else None,
            date=int(self.dates()),
            parse_mode=params.get("parse_mode"),
            entities=entities,
            reply_markup=markup,
            sender=self.bot_user,
            chat=chat.info,
            seq=seq,
            updated_seq=seq,
            photo_data=data,
            photo=[
                {
                    "file_id": file_id,
                    "file_unique_id": f"u{file_id[-8:]}",
                    "width": width,
                    "height": height,
                    "file_size": len(data),
                },
            ],
        )
        chat.messages[message.message_id] = message
        return self._api_message(chat, message)

    async def _copy_message(self, params: Params) -> Any:
        chat = self._chat(params)
        source_id = params.get("from_chat_id")
        source_chat = self._chats.get(source_id) if isinstance(source_id, int) else None
        if source_chat is None:
            raise _bad_request("chat not found")
        original = source_chat.messages.get(params.get("message_id") or 0)
        if original is None:
            raise _bad_request("message to copy not found")
        if original.service is not None:
            raise _bad_request("message can't be copied")
        markup = _reply_markup(params.get("reply_markup"))
        thread_id = self._thread(chat, params)
        text, entities, html = original.text, original.entities, original.html
        if original.photo is not None and "caption" in params:
            text, entities = self._formatted_text({**params, "text": params.get("caption") or " "})
            html = str(params.get("caption") or "")
            if len(text) > 1024:
                raise _bad_request("message caption is too long")
        self._check_rate(chat.id)
        self._count_send(chat.id)
        seq = self._next_seq()
        message = FakeMessage(
            message_id=self._take_message_id(chat),
            chat_id=chat.id,
            text=text,
            html=html,
            buttons=_buttons(markup),
            thread_id=thread_id,
            date=int(self.dates()),
            entities=list(entities),
            reply_markup=markup,
            sender=self.bot_user,
            chat=chat.info,
            seq=seq,
            updated_seq=seq,
            photo=copy.deepcopy(original.photo),
            photo_data=original.photo_data,
            media=copy.deepcopy(original.media),
        )
        chat.messages[message.message_id] = message
        return {"message_id": message.message_id}

    async def _edit_message_text(self, params: Params) -> Any:
        self._chat(params)  # unknown or blocked chats fail before the text is read
        text, entities = self._formatted_text(params)
        markup = _reply_markup(params.get("reply_markup"), inline_only=True)
        chat, message = self._message_to_edit(params)
        if message.photo is not None:
            raise _bad_request("there is no text in the message to edit")
        if text == message.text and _same(entities, message.entities) and _same(markup, message.inline_markup):
            raise _bad_request(NOT_MODIFIED.removeprefix("Bad Request: "))
        message.text = text
        message.html = str(params.get("text"))
        message.entities = entities
        message.parse_mode = params.get("parse_mode")
        self._apply_edit(message, markup)
        return self._api_message(chat, message)

    async def _edit_message_caption(self, params: Params) -> Any:
        self._chat(params)
        markup = _reply_markup(params.get("reply_markup"), inline_only=True)
        chat, message = self._message_to_edit(params)
        if message.photo is None:
            raise _bad_request("there is no caption in the message to edit")
        raw = params.get("caption") or ""
        text, entities = self._formatted_text({**params, "text": raw}) if raw else ("", [])
        if len(text) > 1024:
            raise _bad_request("message caption is too long")
        if text == message.text and _same(entities, message.entities) and _same(markup, message.inline_markup):
            raise _bad_request(NOT_MODIFIED.removeprefix("Bad Request: "))
        message.text, message.html, message.entities = text, str(raw), entities
        self._apply_edit(message, markup)
        return self._api_message(chat, message)

    async def _edit_message_reply_markup(self, params: Params) -> Any:
        markup = _reply_markup(params.get("reply_markup"), inline_only=True)
        chat, message = self._message_to_edit(params)
        if _same(markup, message.inline_markup):
            raise _bad_request(NOT_MODIFIED.removeprefix("Bad Request: "))
        self._apply_edit(message, markup)
        return self._api_message(chat, message)

    def _formatted_text(self, params: Params) -> tuple[str, list[Params]]:
        raw = params.get("text")
        text = raw if isinstance(raw, str) else "" if raw is None else str(raw)
        parse_mode = params.get("parse_mode")
        entities: list[Params] = []
        if isinstance(parse_mode, str) and parse_mode:
            mode = parse_mode.lower()
            if mode == "html":
                try:
                    text, entities = parse_html(text)
                except HtmlParseError as error:
                    raise _bad_request(f"can't parse entities: {error}") from None
            elif mode not in ("markdown", "markdownv2"):
                raise _bad_request("unsupported parse_mode")
        elif isinstance(params.get("entities"), list):
            entities = list(params["entities"])
        if not text.strip():
            raise _bad_request("message text is empty")
        if len(text) > MAX_TEXT_LENGTH:
            raise _bad_request("message is too long")
        return text, entities

    def _formatted_caption(self, params: Params) -> tuple[str, list[Params]]:
        raw = params.get("caption")
        caption = raw if isinstance(raw, str) else "" if raw is None else str(raw)
        entities: list[Params] = []
        parse_mode = params.get("parse_mode")
        if caption and isinstance(parse_mode, str) and parse_mode.lower() == "html":
            try:
                caption, entities = parse_html(caption)
            except HtmlParseError as error:
                raise _bad_request(f"can't parse entities: {error}") from None
        elif (
            caption
            and isinstance(parse_mode, str)
            and parse_mode
            and parse_mode.lower() not in ("markdown", "markdownv2")
        ):
            raise _bad_request("unsupported parse_mode")
        if len(caption) > MAX_CAPTION_LENGTH:
            raise _bad_request("message caption is too long")
        return caption, entities

    def _thread(self, chat: _Chat, params: Params) -> int | None:
        """The message_thread_id of a send, checked in forums (elsewhere Telegram ignores it)."""
        thread_id = params.get("message_thread_id")
        if not isinstance(thread_id, int):
            return None
        if chat.info.get("is_forum") and thread_id not in chat.topics:
            raise _bad_request("message thread not found")
        return thread_id

    def _message_to_edit(self, params: Params) -> tuple[_Chat, FakeMessage]:
        if params.get("inline_message_id"):
            raise _bad_request("message to edit not found")
        chat = self._chat(params)
        message_id = params.get("message_id")
        if not isinstance(message_id, int):
            raise _bad_request("message identifier is not specified")
        message = chat.messages.get(message_id)
        if message is None:
            raise _bad_request("message to edit not found")
        if not message.from_bot:
            raise _bad_request("message can't be edited")
        return chat, message

    def _apply_edit(self, message: FakeMessage, markup: Params | None) -> None:
        message.reply_markup = markup
        message.buttons = _buttons(markup)
        message.edits += 1
        message.edit_date = int(self.dates())
        message.updated_seq = self._next_seq()


def _reply_target(params: Params) -> tuple[int, bool] | None:
    """(message id, allow_sending_without_reply) from either spelling."""
    reply = params.get("reply_parameters")
    if isinstance(reply, dict) and isinstance(reply.get("message_id"), int):
        return reply["message_id"], bool(reply.get("allow_sending_without_reply"))
    if isinstance(params.get("reply_to_message_id"), int):
        allow = bool(params.get("allow_sending_without_reply"))
        return params["reply_to_message_id"], allow
    return None


def _reply_markup(value: Any, inline_only: bool = False) -> Params | None:
    """Validate reply_markup like Telegram; give it back (None if absent)."""
    if value is None or value == "":
        return None
    if not isinstance(value, dict):
        raise _bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" not in value:
        if inline_only:
            raise _bad_request("inline keyboard expected")
        return value
    keyboard = value["inline_keyboard"]
    if not isinstance(keyboard, list) or not all(isinstance(r, list) for r in keyboard):
        raise _bad_request('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays')
    for button in _iter_buttons(keyboard):
        if not isinstance(button, dict) or not isinstance(button.get("text"), str):
            raise _bad_request('can\'t parse inline keyboard button: Field "text" must be of type String')
        actions = [k for k in button if k != "text"]
        if not actions:
            raise _bad_request("can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard")
        if "callback_data" in button:
            data = button["callback_data"]
            if not isinstance(data, str) or not data or len(data.encode("utf-8")) > MAX_CALLBACK_DATA_BYTES:
                raise _bad_request("BUTTON_DATA_INVALID")
        if "url" in button:
            url = button["url"]
            if not isinstance(url, str) or not re.match(r"(https?|tg)://\S+", url):
                raise _bad_request("BUTTON_URL_INVALID")
    return {"inline_keyboard": keyboard}


def _iter_buttons(keyboard: list[list[Any]]) -> Iterator[Any]:
    for row in keyboard:
        yield from row


def _buttons(markup: Params | None) -> Buttons:
    if markup is None or "inline_keyboard" not in markup:
        return []
    return [[(str(b["text"]), b.get("callback_data")) for b in row] for row in markup["inline_keyboard"]]


def _same(a: Any, b: Any) -> bool:
    return json.dumps(a or None, sort_keys=True) == json.dumps(b or None, sort_keys=True)
