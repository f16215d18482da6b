"""The annual review walked through on Telegram, drawn as a phone shows it and shot in Debian's
headless Chromium: the pictures in docs/ for the README, and a check that the drawing shows every
message's text and every button the bot really sent.

The real Application long polls the fake Bot API server (as in tests/test_telegram.py); waits are on
the calls recorded, never on time. Screenshots go under pytest's temporary directory, or to
$SOCIALBOT_TELEGRAM_SHOTS when it is set (the README's pictures: SOCIALBOT_TELEGRAM_SHOTS=docs).
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.test_telegram import api, bot, new_dialogue, settings_for  # noqa: F401  (fixtures)
from tests.test_telegram_ux import changed, changes, rows
from tests.test_web_browser import CHROMIUM, PHONE, fonts_missing
from tests.telegram_mock import chat_as_shown, page

pytestmark = pytest.mark.skipif(
    not os.path.exists(CHROMIUM),
    reason="no chromium on this machine (Debian: apt-get install chromium; .ci/run installs it)")

from playwright.async_api import async_playwright  # noqa: E402

CHAT = 70
ASK = "walk me through the annual review on my phone"


@pytest.fixture
def shots(tmp_path) -> Path:
    where = os.environ.get("SOCIALBOT_TELEGRAM_SHOTS")
    assert not (where and fonts_missing()), f"pictures for the README need the fonts {fonts_missing()} (.ci/run)"
    path = Path(where) if where else tmp_path
    path.mkdir(parents=True, exist_ok=True)
    return path


def flat(text: str) -> str:
    return " ".join(text.split())


async def shoot(browser, items: list[dict], path: Path) -> None:
    """Draws the chat on a 390 px screen, checks the drawing against what was sent, saves the picture."""
    context = await browser.new_context(viewport=PHONE, device_scale_factor=2)
    try:
        tab = await context.new_page()
        await tab.set_content(page(items))
        bubbles = tab.locator(".msg")
        assert await bubbles.count() == len(items)
        for n, item in enumerate(items):
            drawn = bubbles.nth(n)
            assert await drawn.get_attribute("class") == f"msg {item['from']}"
            assert flat(await drawn.locator(".bubble").inner_text()) == flat(item["plain"])
            keys = drawn.locator(".row")
            assert await keys.count() == len(item.get("rows", []))
            for r, row in enumerate(item.get("rows", [])):
                assert [flat(t) for t in await keys.nth(r).locator(".key").all_inner_texts()] == row
        assert await tab.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        await tab.screenshot(path=path, full_page=True)
    finally:
        await context.close()


def with_plain(items: list[dict], api, typed) -> list[dict]:
    """What each drawn bubble must read: the user's words, or the bot's text as Telegram shows it."""
    shown, users = iter(api.shown(CHAT)), iter(text for _, text in typed)
    return [{**item, "plain": next(users) if item["from"] == "user" else next(shown)["text"]} for item in items]


async def test_the_annual_review_on_telegram_drawn_as_a_phone_shows_it(api, bot, shots):
    typed = [(0, ASK)]  # (how many bot messages came before it, what the user typed)
    api.push_text(CHAT, ASK)
    first = await changed(api, CHAT, 0)
    assert [label for label, _ in rows(first)[0]] == ["Alipay"]
    screens = {"telegram-step.png": with_plain(chat_as_shown(api, CHAT, typed), api, typed)}

    before = changes(api, CHAT)
    api.press(CHAT, "Alipay")
    shown = await changed(api, CHAT, before)
    for _ in range(2):  # two steps on, the middle of the Alipay route
        before = changes(api, CHAT)
        api.push_button(CHAT, rows(shown)[-2][1][1], message=shown)
        shown = await changed(api, CHAT, before)
    screens["telegram-next.png"] = with_plain(chat_as_shown(api, CHAT, typed), api, typed)

    for _ in range(20):  # on to the end: the right-hand button of the fixed row
        if not any(data.startswith("flow:annual_review:cancel") for row in rows(shown) for _, data in row):
            break
        before = changes(api, CHAT)
        api.push_button(CHAT, rows(shown)[-2][1][1], message=shown)
        shown = await changed(api, CHAT, before)
    assert shown["text"].startswith("✅"), shown["text"][:200]
    screens["telegram-done.png"] = with_plain(chat_as_shown(api, CHAT, typed), api, typed)

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM)
        try:
            for name, items in screens.items():
                await shoot(browser, items, shots / name)
        finally:
            await browser.close()
    assert all((shots / name).stat().st_size > 10_000 for name in screens)


async def test_the_drawing_shows_telegrams_html_as_telegram_does():
    """Bold, italics, links and line breaks drawn as such, user text escaped, keyboard rows kept."""
    items = [{"from": "user", "html": "&lt;b&gt;hi"},
             {"from": "bot", "html": '<b>Title</b>\n<i>note</i> <a href="https://example.org">link</a>',
              "rows": [["One"], ["◀ Back", "Next ▶"]]}]
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM)
        try:
            tab = await browser.new_page(viewport=PHONE)
            await tab.set_content(page(items))
            assert await tab.locator(".user .bubble").inner_text() == "<b>hi"
            bot = tab.locator(".bot .bubble")
            assert await bot.locator("b").inner_text() == "Title" and await bot.locator("i").inner_text() == "note"
            assert await bot.locator("a").get_attribute("href") == "https://example.org"
            assert (await bot.inner_text()).split("\n")[0] == "Title"
            assert [await r.locator(".key").all_inner_texts() for r in await tab.locator(".row").all()] == \
                [["One"], ["◀ Back", "Next ▶"]]
        finally:
            await browser.close()
