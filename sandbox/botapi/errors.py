"""Bot API error answers: the TelegramError that method handlers raise, and Telegram's own wording."""

from __future__ import annotations

from sandbox.botapi.params import Params

NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply "
    "markup are exactly the same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
GET_UPDATES_WEBHOOK_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"
)
GET_UPDATES_TERMINATED = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
)


class TelegramError(Exception):
    """An error answer of the Bot API; raised inside method handlers."""

    def __init__(self, error_code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.retry_after = retry_after

    def to_json(self) -> Params:
        body: Params = {
            "ok": False,
            "error_code": self.error_code,
            "description": self.description,
        }
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def _bad_request(detail: str) -> TelegramError:
    return TelegramError(400, f"Bad Request: {detail}")
