"""A deeper course (issue 15): more case stories, every lesson linking to its extra reading,
lesson 1 plain that pain will not be taken away, one breathing pace, and each lesson's key points
and do-it-yourself guide as a PDF (in the engine, and over the fake Bot API)."""

from __future__ import annotations

import base64
import contextlib
import re
import zlib
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from bot.aiogram import AiogramApi, make_bot
from bot.transport import Delivered
from coach.handouts import handout_pdf
from content.render import plain
from content.schema import BreathingStep, Content, MessageStep
from dialogs.actions import SendHandout
from dialogs.events import Press
from dialogs.state import Place
from sandbox.botapi import FakeTelegram
from storage.payloads import Document, payload_from, to_json
from tests.conversation import EnginePatient
from tests.test_engine import onboard

CHAT = 2025


def lesson_text(content: Content, number: int) -> str:
    lesson = content.for_locale(None).lesson(number)
    assert lesson is not None
    return "\n".join(plain(s.text) for s in lesson.steps if isinstance(s, MessageStep))


def test_four_more_case_stories_with_struggle_and_partial_success(content: Content) -> None:
    stories = {2: "Daniel", 3: "Priya", 4: "Grace", 5: "Sam"}
    for number, name in stories.items():
        lesson = content.for_locale(None).lesson(number)
        assert lesson is not None
        assert any(s.id.startswith(f"story-{name.lower()}") for s in lesson.steps), name
    assert "stop work" in lesson_text(content, 2), "someone who had to stop work"
    assert "two children under five" in lesson_text(content, 3), "a younger parent"
    assert "doctor said her pain was" in lesson_text(content, 4), "someone a doctor and partner did not believe"
    assert "24" in lesson_text(content, 5)


def test_every_lesson_links_to_its_extra_reading_and_has_a_handout(content: Content) -> None:
    texts = content.for_locale(None)
    for lesson in texts.lessons():
        assert lesson.reading and all(texts.flows[r].kind == "resource" for r in lesson.reading), lesson.id
        assert lesson.handout is not None and lesson.handout.key_points and lesson.handout.diy


def test_lesson_one_says_plainly_the_course_will_not_take_the_pain_away(content: Content) -> None:
    assert "This course will not take your pain away." in lesson_text(content, 1)


def test_the_breathing_pace_in_lesson_3_is_the_breathing_tools(content: Content) -> None:
    text = lesson_text(content, 3)
    breathe_in = int(re.search(r"Breathe in gently through your nose for about (\d+) seconds", text).group(1))  # type: ignore[union-attr]
    breathe_out = int(re.search(r"Breathe out for about (\d+) seconds", text).group(1))  # type: ignore[union-attr]
    tool = content.for_locale(None).flows["tool-breathing"]
    [step] = [s for s in tool.steps if isinstance(s, BreathingStep)]
    assert (breathe_in, breathe_out) == (step.breathe_in, step.breathe_out)
    assert step.rest > 0 and "pause" in text, "and the short pause after each breath"
    per_minute = 60 / (step.breathe_in + step.breathe_out + step.rest)
    assert "around 10 breaths a minute" in text and 8 <= per_minute <= 10


def finish_lesson(content: Content, number: int) -> EnginePatient:
    patient = EnginePatient(content)
    onboard(patient)
    lesson = content.for_locale(None).lesson(number)
    assert lesson is not None
    patient.state = replace(patient.state, lessons_done=tuple(range(1, number)), lesson_place=Place(lesson.id, "done"),
                            flow=lesson.id, step="guide-checkin")  # fmt: skip
    patient.command("lesson")
    for _ in range(5):
        if patient.state.flow != lesson.id:
            break
        patient.press_first()
    return patient


def test_a_finished_lesson_offers_its_reading_and_its_pdf(content: Content) -> None:
    patient = finish_lesson(content, 4)
    extras = next(s for s in patient.history if "Extra reading that fits lesson 4" in plain(s.text))
    assert [b.data for b in extras.buttons] == ["read:resource-fatigue", "read:resource-medication", "pdf:lesson-4"]
    patient.do(Press("pdf:lesson-4", 90))
    [handout] = [a for a in patient.actions if isinstance(a, SendHandout)]
    assert (
        handout.filename == "lesson-4.pdf"
        and handout.title == "Lesson 4: " + content.for_locale(None).flows["lesson-4"].title
    )
    (_, key_points), (_, diy) = handout.sections
    assert "Pacing means working to a quota" in key_points and "pacing plan" in diy
    patient.do(Press("read:resource-fatigue", 90))
    assert patient.state.flow == "resource-fatigue"
    patient.do(Press("pdf:lesson-5", 91))  # not reached yet
    assert not [a for a in patient.actions if isinstance(a, SendHandout)]


def test_the_pdf_is_a_pdf_with_the_texts() -> None:
    pdf = handout_pdf("Lesson 1: The symptom cycle", [("Key points", "• Pain is real 🌱\n• “Quotes”")], "Footer")
    assert pdf.startswith(b"%PDF-") and len(pdf) < 50_000


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        fake.user(CHAT)
        yield fake


async def test_the_pdf_arrives_over_the_bot_api(telegram: FakeTelegram, content: Content) -> None:
    """The handout the engine asks for, made into a PDF and delivered as a document by the adapter."""
    patient = finish_lesson(content, 1)
    patient.do(Press("pdf:lesson-1", 90))
    [handout] = [a for a in patient.actions if isinstance(a, SendHandout)]
    pdf = handout_pdf(handout.title, handout.sections, "Footer")
    payload = payload_from(
        "document", to_json(Document(handout.filename, base64.b64encode(pdf).decode(), handout.caption))
    )
    bot = make_bot(telegram.token, telegram.base_url, timeout=5.0)
    try:
        result = await AiogramApi(bot).deliver(CHAT, payload)
    finally:
        await bot.session.close()
    assert isinstance(result, Delivered)
    sent = telegram.user(CHAT).messages[-1]
    assert sent.document is not None and sent.document["file_name"] == "lesson-1.pdf"
    assert sent.document_data == pdf and pdf.startswith(b"%PDF-")
    assert sent.text.startswith("📄 Lesson 1: The symptom cycle")


async def test_a_patient_who_finishes_a_lesson_gets_its_pdf_end_to_end(
    telegram: FakeTelegram, tmp_path: Path, database_url: str
) -> None:
    """The whole path: the button, the engine, the outbox, the sender, sendDocument (on each framework)."""
    from tests.e2e import running_coach, settings_for, settle, tap, walk_until
    from tests.test_e2e import REFLECTION, label_with
    from tests.test_e2e import onboard as e2e_onboard

    settings = settings_for(telegram, tmp_path, database_url=database_url)
    async with running_coach(settings):
        user = telegram.user(4343, "Ola")
        await e2e_onboard(user, telegram)
        await tap(user, telegram, label_with(user, "lesson 1"))
        user.mark()
        await walk_until(user, telegram, "finished lesson 1", answer=REFLECTION)
        await settle(telegram)
        await tap(user, telegram, "📄 Key points as a PDF")
        await settle(telegram)
        [sent] = [m for m in user.messages if m.document is not None]
    assert sent.document is not None and sent.document["file_name"] == "lesson-1.pdf"
    assert sent.document_data is not None and sent.document_data.startswith(b"%PDF-")
    assert sent.text.startswith("📄 Lesson 1: The symptom cycle")
    assert b"Lesson 1: The symptom cycle" in zlib_text(sent.document_data), "the PDF names the lesson"


def zlib_text(pdf: bytes) -> bytes:
    """The PDF's page streams, inflated (fpdf2 compresses them)."""
    out = b""
    for match in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        with contextlib.suppress(zlib.error):
            out += zlib.decompress(match.group(1))
    return out
