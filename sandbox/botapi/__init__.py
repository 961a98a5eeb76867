"""A fake Telegram Bot API HTTP server on 127.0.0.1, for end-to-end tests of the real bot.

The bot under test talks HTTP to this server exactly as it would to Telegram:

* aiogram: ``AiohttpSession(api=TelegramAPIServer.from_base(tg.base_url))``
* python-telegram-bot: ``telegram.Bot(tg.token, base_url=f"{tg.base_url}/bot")``

Tests play the people on the other side::

    async with FakeTelegram() as tg:
        user = tg.user(42, "Anna")
        user.send_command("/start")
        welcome = await user.wait_for_buttons()
        query = user.press("Let's begin")
        await user.wait_answered(query)
        await tg.settle()

The bot may run in the same event loop as the fake or in another process. Only
127.0.0.1 is ever listened on, and webhooks are only delivered to the local host.

Behaviour follows the Bot API closely where the bot could get it wrong: error
codes and descriptions, HTML parsing, 4096-character limit, 64-byte callback data,
"message is not modified", one-time callback answers, long polling with offsets
(updates stay queued until a later offset confirms them), 409 conflicts, blocked
users, flood control (``tg.rate_limit(...)``, optionally on a ``clock=`` the test
moves). Markdown parse modes are accepted but not parsed.

Forum supergroups (``tg.group(id, title, is_forum=True)``) have topics: createForumTopic
(only in forums; the topic opens with a service message whose id is the thread id),
editForumTopic, deleteForumTopic (and ``group.delete_topic(thread)``, a person deleting
it); sending to a deleted or unknown topic fails with "message thread not found". A
member's message in a topic carries ``message_thread_id``, ``is_topic_message`` and, as in
Telegram, a ``reply_to_message`` pointing at the topic's first message when it answers
nothing else. copyMessage copies text, entities, photo, voice, sticker ..., caption and takes new markup;
people can send photos with captions, voice notes, stickers and other media (``send_media``)
and edit what they sent (``edited_message``).

Every call the bot makes is kept in ``tg.calls`` (``ApiCall``: method, parameters, answer, and the
client's ``user_agent``, which tells which library made it).
"""

from sandbox.botapi.errors import TelegramError
from sandbox.botapi.html_text import HtmlParseError, parse_html
from sandbox.botapi.params import UploadedFile, normalise_params
from sandbox.botapi.people import FakeGroup, FakeUser
from sandbox.botapi.records import ApiCall, FakeMessage, WebhookAttempt
from sandbox.botapi.server import DEFAULT_TOKEN, FakeTelegram

__all__ = [
    "DEFAULT_TOKEN",
    "ApiCall",
    "FakeGroup",
    "FakeMessage",
    "FakeTelegram",
    "FakeUser",
    "HtmlParseError",
    "TelegramError",
    "UploadedFile",
    "WebhookAttempt",
    "normalise_params",
    "parse_html",
]
