"""The sandbox in a real browser: headless Chromium (Debian's `chromium` package, never a browser a
test tool downloads), driven by Playwright, plays the story a reviewer would: a patient consents and
starts lesson 1, asks their guide a question, the guide answers in the staff view and the patient
sees it, and a week on lesson 2 arrives. Screenshots are kept in var/test-artifacts/sandbox/
(or $TEST_ARTIFACTS/sandbox/)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.conftest import ROOT

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS") or ROOT / "var" / "test-artifacts") / "sandbox"
PATIENT = 10001  # the first patient of a new sandbox
ANSWER = "Pain and tiredness, then I think I'm useless and rest all day"


def _browser_missing() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright is not installed (pip install playwright: it is in the dev extras)"
    if not CHROMIUM.exists():
        return f"Chromium is not installed at {CHROMIUM} (apt-get install chromium chromium-driver)"
    return None


@pytest.fixture
def sandbox_address(tmp_path: Path) -> Iterator[str]:
    """`paincoach sandbox` running in a process of its own, on a new database; its address."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(ROOT), "ELIGIBILITY_SCREENING": "false"}
    database = f"sqlite:///{tmp_path / 'sandbox.db'}"
    command = [sys.executable, "-m", "paincoach.cli", "sandbox", "--database", database, "--port", "0"]
    process = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        found = None
        for _ in range(5):
            found = re.search(r"http://127\.0\.0\.1:\d+/", process.stdout.readline())
            if found:
                break
        assert found, "the sandbox printed no address"
        yield found.group(0)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            process.kill()
            raise


@pytest.fixture
def page(sandbox_address: str) -> Iterator[Page]:
    missing = _browser_missing()
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the browser test must run in CI: {missing}")
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"])
        try:
            opened = browser.new_page(viewport={"width": 1440, "height": 900})
            opened.set_default_timeout(30_000)
            opened.goto(sandbox_address)
            opened.wait_for_selector("body[data-ready=yes]")
            yield opened
        finally:
            browser.close()


def act(page: Page, do: Callable[[], None], timeout: float = 60_000) -> None:
    """Do something that asks the sandbox (a tap, a message, a move of the clock); wait for its
    answer (the sandbox answers once the coach has done all it was going to), then for the page to
    draw what came of it."""
    with page.expect_response(lambda r: r.request.method == "POST", timeout=timeout):
        do()
    drawn = int(page.get_attribute("body", "data-draws") or 0)
    page.wait_for_function(f"Number(document.body.dataset.draws) >= {drawn + 2}")


def chat(page: Page) -> Locator:
    return page.locator(f'[data-patient="{PATIENT}"]')


def last_from_coach(page: Page) -> Locator:
    return chat(page).locator(".msg:not(.mine)").last


def write(page: Page, text: str) -> None:
    box = chat(page).locator("input.text")
    box.fill(text)
    act(page, lambda: box.press("Enter"))


def step(page: Page) -> None:
    """Tap the first button of the coach's latest message, or answer it by typing."""
    buttons = last_from_coach(page).locator(".keyboard button")
    if buttons.count() and not buttons.first.inner_text().lower().startswith("skip"):
        act(page, buttons.first.click)
    else:
        write(page, ANSWER)


def walk_to_button(page: Page, label: str, limit: int = 40) -> None:
    for _ in range(limit):
        wanted = last_from_coach(page).locator(".keyboard button", has_text=label)
        if wanted.count():
            act(page, wanted.first.click)
            return
        step(page)
    raise AssertionError(f"never offered {label!r}")


def walk_until(page: Page, text: str, limit: int = 80) -> None:
    for _ in range(limit):
        if text.lower() in chat(page).inner_text().lower():
            return
        step(page)
    raise AssertionError(f"never saw {text!r}")


def shot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    print(f"screenshot: {path}")  # where the artefact is, in the test's output
    return path


def test_a_patient_and_their_guide_in_the_browser_and_a_week_later_lesson_two(page: Page) -> None:
    # 1. a patient consents and starts lesson 1
    page.fill("#new-name", "Zoe")
    act(page, lambda: page.click("#new-patient button"))
    act(page, lambda: chat(page).locator("button.start").click())
    assert "welcome" in chat(page).inner_text().lower()
    walk_to_button(page, "United Kingdom")
    walk_to_button(page, "I agree")
    walk_to_button(page, "lesson 1")
    assert "Lesson 1" in chat(page).inner_text()
    assert chat(page).locator("header .code").inner_text() == "P-0001"
    shot(page, "1-lesson-one")

    # 2. the patient asks the guide a question
    write(page, "/guide Is it normal to feel worse the day after a walk?")
    assert "Your guide has your message" in chat(page).inner_text()

    # 3. the guide answers in the staff view; the patient sees the answer
    topic = page.locator("#topics button", has_text="P-0001")
    topic.click()
    page.wait_for_selector("#staff-messages .msg:has-text('feel worse the day after a walk')")
    assert page.locator("#staff-as option:checked").inner_text() == "Anna (guide)"
    assert "Zoe" not in page.locator("#staff").inner_text(), "the staff see the code, never the name"
    page.fill("#staff-text", "Yes, that is common. Try a shorter walk, and rest before you are tired.")
    act(page, lambda: page.press("#staff-text", "Enter"))
    assert "Try a shorter walk" in chat(page).inner_text()
    shot(page, "2-the-guide-answers")

    # 4. the clock moves on a week, and lesson 2 arrives
    write(page, "/lesson")
    walk_until(page, "finished lesson 1")
    before = page.inner_text("#now")
    act(page, lambda: page.click("button[data-by=week]"), timeout=180_000)
    assert page.inner_text("#now") != before
    arrived = re.compile(r"Lesson 2: .* is ready for you")
    for _ in range(6):  # lesson 2 opens a week after consent, at the release hour: on to what is due next
        if arrived.search(chat(page).inner_text()):
            break
        act(page, lambda: page.click("button[data-to=next]"), timeout=180_000)
    assert arrived.search(chat(page).inner_text())
    page.click("#toggle-log")
    page.wait_for_selector("#log-rows tr")
    assert "sendMessage" in page.inner_text("#log")
    shot(page, "3-a-week-later")
