"""Bot API parameters: read from a request in any encoding, normalised to what a JSON client sends."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

Params = dict[str, Any]

INT_PARAMS = frozenset(
    {
        "chat_id",
        "message_id",
        "offset",
        "limit",
        "timeout",
        "message_thread_id",
        "reply_to_message_id",
        "cache_time",
        "max_connections",
        "user_id",
        "from_chat_id",
        "until_date",
        "direct_messages_topic_id",
    }
)
# Free-form strings: never JSON-decoded or turned into booleans.
STRING_PARAMS = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "url",
        "secret_token",
        "callback_query_id",
        "inline_message_id",
        "language_code",
        "action",
        "ip_address",
        "business_connection_id",
        "message_effect_id",
        "name",
    }
)
_INT_RE = re.compile(r"-?\d+")


def normalise_params(raw: Mapping[str, Any]) -> Params:
    """Turn form/query/JSON parameters into the values a JSON client would send.

    Form encodings carry everything as strings: nested objects are JSON text,
    numbers and booleans are their JSON spelling.
    """
    params: Params = {}
    for key, value in raw.items():
        if isinstance(value, str) and key not in STRING_PARAMS:
            stripped = value.strip()
            if key in INT_PARAMS and _INT_RE.fullmatch(stripped):
                value = int(stripped)
            elif stripped in ("true", "false"):
                value = stripped == "true"
            elif stripped[:1] in ("{", "["):
                with contextlib.suppress(ValueError):
                    value = json.loads(stripped)
        params[key] = value
    return params


@dataclass(frozen=True)
class UploadedFile:
    """A file the bot uploaded with multipart/form-data (a photo)."""

    filename: str
    content_type: str
    data: bytes


async def _read_params(request: web.Request) -> Params:
    raw: dict[str, Any] = dict(request.query)
    content_type = request.content_type
    if request.can_read_body:
        if content_type == "application/json":
            body = await request.json()
            if not isinstance(body, dict):
                raise ValueError("JSON body must be an object")
            raw.update(body)
        elif content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    raw[key] = UploadedFile(value.filename, value.content_type, value.file.read())
                else:
                    raw[key] = value
    return normalise_params(raw)
