"""Tests of the fake Telegram server's groups and forum supergroups: topics, and copying messages into them."""

from __future__ import annotations

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest

from sandbox.botapi import FakeTelegram
from tests.fake_telegram_clients import keyboard


@pytest.mark.asyncio
async def test_group_and_forum_messages(tg: FakeTelegram, bot: Bot) -> None:
    staff = tg.group(-1001234, "Guides", is_forum=True)
    topic = await bot.create_forum_topic(-1001234, "P-0001")
    thread = topic.message_thread_id
    sent = await bot.send_message(-1001234, "New question", message_thread_id=thread)
    assert sent.chat.type == "supergroup" and sent.message_thread_id == thread and sent.is_topic_message
    assert [(m.text, m.thread_id) for m in staff.messages] == [("New question", thread)]
    update_id = staff.send_text(
        77, "/reply@paincoach_test_bot hi", thread_id=thread, reply_to_message_id=sent.message_id
    )
    [update] = await bot.get_updates()
    assert update.update_id == update_id and update.message is not None
    assert update.message.chat.id == -1001234 and update.message.message_thread_id == thread
    assert update.message.reply_to_message and update.message.reply_to_message.text == "New question"
    assert update.message.entities and update.message.entities[0].length == len("/reply@paincoach_test_bot")
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(-999, "nobody here")


@pytest.mark.asyncio
async def test_forum_topics_are_created_renamed_and_deleted_like_telegram(tg: FakeTelegram, bot: Bot) -> None:
    plain_group = tg.group(-1009999, "Not a forum")
    with pytest.raises(TelegramBadRequest, match="the chat is not a forum"):
        await bot.create_forum_topic(plain_group.chat_id, "P-0001")
    staff = tg.group(-1001234, "Guides", is_forum=True)
    assert (await bot.get_chat(-1001234)).is_forum
    assert not (await bot.get_chat(-1009999)).is_forum
    topic = await bot.create_forum_topic(-1001234, "P-0001 🔴")
    assert staff.topics == {topic.message_thread_id: "P-0001 🔴"}
    assert staff.messages == [], "the topic's opening service message is nobody's message"
    await bot.edit_forum_topic(-1001234, topic.message_thread_id, name="P-0001 🟢")
    assert staff.topics[topic.message_thread_id] == "P-0001 🟢"
    with pytest.raises(TelegramBadRequest, match="TOPIC_NOT_MODIFIED"):
        await bot.edit_forum_topic(-1001234, topic.message_thread_id, name="P-0001 🟢")
    with pytest.raises(TelegramBadRequest, match="message thread not found"):
        await bot.send_message(-1001234, "nowhere", message_thread_id=topic.message_thread_id + 50)

    # A member writes in the topic: it "replies" to the topic's first message, as in Telegram.
    staff.send_text(77, "Hello from a guide", thread_id=topic.message_thread_id)
    [update] = await bot.get_updates()
    assert update.message is not None and update.message.is_topic_message
    assert update.message.reply_to_message is not None
    assert update.message.reply_to_message.message_id == topic.message_thread_id
    assert update.message.reply_to_message.forum_topic_created is not None

    await bot.delete_forum_topic(-1001234, topic.message_thread_id)
    assert staff.topics == {}
    with pytest.raises(TelegramBadRequest, match="message thread not found"):
        await bot.send_message(-1001234, "into the void", message_thread_id=topic.message_thread_id)
    with pytest.raises(TelegramBadRequest, match="TOPIC_ID_INVALID"):
        await bot.edit_forum_topic(-1001234, topic.message_thread_id, name="P-0001 🔴")


@pytest.mark.asyncio
async def test_copy_message_keeps_text_entities_photo_and_caption(tg: FakeTelegram, bot: Bot) -> None:
    user = tg.user(42)
    staff = tg.group(-1001234, "Guides", is_forum=True)
    topic = await bot.create_forum_topic(-1001234, "P-0001")
    user.send_text("/start me")
    user.send_photo("my flare diary")
    first, second = (u.message for u in await bot.get_updates())
    assert first is not None and second is not None and second.photo and second.caption == "my flare diary"
    copied = await bot.copy_message(
        -1001234,
        42,
        first.message_id,
        message_thread_id=topic.message_thread_id,
        reply_markup=keyboard([("Done", "d")]),
    )
    await bot.copy_message(-1001234, 42, second.message_id, message_thread_id=topic.message_thread_id)
    text_copy, photo_copy = staff.topic_messages(topic.message_thread_id)
    assert text_copy.message_id == copied.message_id and text_copy.text == "/start me"
    assert text_copy.entities and text_copy.entities[0]["type"] == "bot_command"
    assert text_copy.labels == ["Done"]
    assert photo_copy.photo and photo_copy.text == "my flare diary"
    with pytest.raises(TelegramBadRequest, match="there is no text in the message to edit"):
        await bot.edit_message_text("new", chat_id=-1001234, message_id=photo_copy.message_id)
    await bot.edit_message_caption(chat_id=-1001234, message_id=photo_copy.message_id, caption="my new diary")
    assert staff.messages[-1].text == "my new diary"
    with pytest.raises(TelegramBadRequest, match="message to copy not found"):
        await bot.copy_message(-1001234, 42, 999)
