"""`socialbot web` in a real browser: Debian's headless Chromium driven by playwright.

The page with JavaScript on (fetch, no reload, the reply announced, focus kept) and off (plain form
posts), in en/es/zh; axe-core on the four kinds of page; a phone-sized screen; keyboard only. Every
wait is on a DOM condition (playwright's auto-waiting `expect`), never on time.

Screenshots go under pytest's temporary directory, or to $SOCIALBOT_WEB_SHOTS when it is set (the
README's picture is refreshed with `SOCIALBOT_WEB_SHOTS=docs`).
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(
    not os.path.exists(CHROMIUM),
    reason="no chromium on this machine (Debian: apt-get install chromium; .ci/run installs it)")

from axe_playwright_python.sync_playwright import Axe  # noqa: E402
from playwright.sync_api import expect, sync_playwright  # noqa: E402

from tests.web_client import WebServer  # noqa: E402

QUESTION = {"en": "When is the annual review?", "es": "cuando es la revision anual", "zh": "社保年审几月份"}
VAGUE = {"en": "card", "es": "seguro", "zh": "卡"}  # each gets a "did you mean"
PROCEDURE = {"en": "Annual review on your phone", "es": "Revisión anual con el móvil", "zh": "手机办理社保年审"}
STEP_WORDS = {"en": "Step 1 of", "es": "Paso 1 de", "zh": "第 1 步"}
PHONE = {"width": 360, "height": 740}
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


@pytest.fixture(scope="module")
def server(built_dialogue):
    s = WebServer(built_dialogue, rate=10_000)
    yield s
    s.close()


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM)
        yield b
        b.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    where = os.environ.get("SOCIALBOT_WEB_SHOTS")
    path = Path(where) if where else tmp_path_factory.mktemp("web-shots")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def open_page(browser, server):
    """A fresh browser profile (its own cookies) on the chat, in a language, with or without JavaScript."""
    contexts = []

    def opener(lang: str = "en", js: bool = True, viewport: dict | None = None, path: str = "/"):
        context = browser.new_context(locale=lang, java_script_enabled=js, viewport=viewport or {"width": 1000, "height": 800})
        contexts.append(context)
        page = context.new_page()
        errors = []
        page.on("pageerror", lambda err: errors.append(str(err)))
        page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
        page.errors = errors
        page.goto(server.url + path)
        expect(page.locator("#log .turn-bot")).to_have_count(1)
        if js:
            expect(page.locator("html.js")).to_have_count(1)  # web.js ran
        return page

    yield opener
    for context in contexts:
        context.close()


def bot_turns(page):
    return page.locator("#log .turn-bot")


def ask(page, text: str, js: bool = True):
    """Type a question and press Enter, as a person would; wait until its reply is on the page."""
    before = bot_turns(page).count()
    page.locator("#text").fill(text)
    page.locator("#text").press("Enter")
    if js:
        expect(bot_turns(page)).to_have_count(before + 1)
    else:
        page.wait_for_load_state()
        expect(page.locator("#log .turn-user").last).to_have_text(text)
    return bot_turns(page).last


def press(page, label: str, js: bool = True):
    """Click a button of the last reply."""
    before = bot_turns(page).count()
    page.locator("#log .turn-bot").last.get_by_role("button", name=label, exact=True).click()
    if js:
        expect(bot_turns(page)).to_have_count(before + 1)
    else:
        page.wait_for_load_state()
        expect(page.locator("#log .turn-user").last).to_have_text(label)
    return bot_turns(page).last


def mark_document(page):
    """A mark on this document: it is still there only if the page was never reloaded."""
    page.evaluate("window.socialbotKept = true")


def kept_document(page) -> bool:
    return page.evaluate("window.socialbotKept === true")


@pytest.mark.parametrize("lang", ["en", "es", "zh"])
def test_with_javascript_a_question_is_answered_without_a_reload_announced_and_focus_kept(open_page, lang):
    page = open_page(lang)
    assert page.locator("html").get_attribute("lang") == lang
    mark_document(page)
    reply = ask(page, QUESTION[lang])
    assert kept_document(page), "the enhanced form reloaded the page"
    assert reply.get_attribute("lang") == lang and reply.get_attribute("data-kind") == "answer"
    assert page.locator("#log .turn-user").last.get_attribute("lang") == lang
    status = page.locator("#status")
    first_words = reply.locator(".reply-text p").first.inner_text().split("\n")[0][:20]
    expect(status).to_contain_text(first_words)
    assert status.get_attribute("lang") == lang
    assert page.evaluate("document.activeElement.id") == "text", "focus moved away from the question field"
    assert page.locator("#text").input_value() == ""
    assert not page.errors, page.errors


def test_with_javascript_a_procedure_walked_by_clicking_keeps_focus_and_survives_a_reload(open_page):
    page = open_page("en")
    mark_document(page)
    step = press(page, PROCEDURE["en"])
    assert step.get_attribute("data-kind") == "step"
    expect(step).to_contain_text("Choose a way")
    assert page.evaluate("document.activeElement.textContent.trim()") == PROCEDURE["en"]
    step = press(page, "Alipay")
    expect(step).to_contain_text("Step 1 of")
    step = press(page, "Next")
    expect(step).to_contain_text("Step 2 of")
    assert kept_document(page)
    where = step.get_attribute("data-step")
    page.reload()
    expect(bot_turns(page).last).to_have_attribute("data-step", where)
    expect(bot_turns(page).last).to_contain_text("Step 2 of")
    assert not page.errors, page.errors
