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
import subprocess
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

# What the pictures kept in docs/ are drawn with (Debian's fonts-noto-color-emoji and fonts-noto-cjk):
# without them Chromium draws emoji and Chinese as empty boxes.
DOC_FONTS = ("Noto Color Emoji", "Noto Sans CJK SC")


def fonts_missing() -> list[str]:
    listed = subprocess.run(["fc-list", ":", "family"], capture_output=True, text=True).stdout \
        if shutil.which("fc-list") else ""
    families = {name.strip() for line in listed.splitlines() for name in line.split(",")}
    return [font for font in DOC_FONTS if font not in families]


pytestmark = pytest.mark.skipif(
    not os.path.exists(CHROMIUM),
    reason="no chromium on this machine (Debian: apt-get install chromium; .ci/run installs it)")

from axe_playwright_python.sync_playwright import Axe  # noqa: E402
from playwright.sync_api import expect, sync_playwright  # noqa: E402

from tests.test_dialogue_scripts import SCRIPTS, check_turn, load_script  # noqa: E402
from tests.web_client import WebServer, parse  # noqa: E402

QUESTION = {"en": "When is the annual review?", "es": "cuando es la revision anual", "zh": "社保年审几月份"}
VAGUE = {"en": "card", "es": "seguro", "zh": "卡"}  # each gets a "did you mean"
PROCEDURE = {"en": "Annual review on your phone", "es": "Revisión anual con el móvil", "zh": "手机办理社保年审"}
PHONE = {"width": 390, "height": 844}
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
    assert not (where and fonts_missing()), f"pictures for the README need the fonts {fonts_missing()} (.ci/run)"
    path = Path(where) if where else tmp_path_factory.mktemp("web-shots")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def open_page(browser, server):
    """A fresh browser profile (its own cookies) on the chat, in a language, with or without JavaScript."""
    contexts = []

    def opener(lang: str = "en", js: bool = True, viewport: dict | None = None, path: str = "/",
               enhance: bool = True):
        """enhance=False: the browser runs scripts (axe needs them) but web.js never loads, so the
        page is exactly the one a browser with JavaScript off gets."""
        context = browser.new_context(locale=lang, java_script_enabled=js, viewport=viewport or {"width": 1000, "height": 800})
        context.set_default_timeout(10_000)  # a safety net for a broken page, not a speed check
        contexts.append(context)
        page = context.new_page()
        if not enhance:
            page.route("**/static/web.js", lambda route: route.abort())
        errors = []
        page.on("pageerror", lambda err: errors.append(str(err)))
        page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
        page.errors = errors
        page.goto(server.url + path)
        expect(page.locator("#log .turn-bot")).to_have_count(1)
        if js and enhance:
            expect(page.locator("html.js")).to_have_count(1)  # web.js ran
        return page

    yield opener
    for context in contexts:
        context.close()


def bot_turns(page):
    return page.locator("#log .turn-bot")


def ask(page, text: str, js: bool = True):
    """Type a question and press Enter, as a person would; wait until its reply is on the page."""
    page.locator("#text").fill(text)
    return reply_to(page, text, js, lambda: page.locator("#text").press("Enter"))


def press(page, label: str, js: bool = True, which: int = -1):
    """Click a button of the last reply (or of another: `which` counts the bot's replies)."""
    button = bot_turns(page).nth(which).get_by_role("button", name=label, exact=True)
    return reply_to(page, label, js, button.click)


def reply_to(page, said: str, js: bool, act):
    """Do act, then wait for the reply: one more bubble appended (JavaScript) or the new page (none)."""
    before = bot_turns(page).count()
    if js:
        act()
    else:
        with page.expect_navigation():
            act()
    expect(bot_turns(page)).to_have_count(before + 1)
    if said:
        expect(page.locator("#log .turn-user .said").last).to_have_text(said)
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
    expect(step).to_have_attribute("data-step", "route")
    assert page.evaluate("document.activeElement.textContent.trim()") == PROCEDURE["en"]
    step = press(page, "Alipay")
    expect(step).to_have_attribute("data-step", "alipay_more")
    step = press(page, "Next")
    expect(step).to_have_attribute("data-step", "alipay_city")
    expect(step.locator("h3.step-heading")).to_contain_text("Annual review on your phone")
    assert kept_document(page)
    where = step.get_attribute("data-step")
    page.reload()
    expect(bot_turns(page).last).to_have_attribute("data-step", where)
    expect(bot_turns(page).last.locator("h3.step-heading")).to_have_text(step.locator("h3.step-heading").inner_text())
    assert not page.errors, page.errors


def test_the_language_switch_re_renders_the_step(open_page):
    page = open_page("en")
    press(page, PROCEDURE["en"])
    page.locator("form.languages").get_by_role("button", name="中文").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh")
    step = bot_turns(page).last
    expect(step).to_have_attribute("data-kind", "step")
    expect(step).to_have_attribute("lang", "zh")
    expect(step).to_have_attribute("data-step", "route")
    expect(step.locator("h3.step-heading")).to_contain_text(PROCEDURE["zh"])
    expect(page.locator("form.languages button[aria-current=true]")).to_have_text("中文")
    expect(page.get_by_label("您的问题", exact=False)).to_have_count(1)


@pytest.mark.parametrize("lang", ["en", "es", "zh"])
def test_with_javascript_off_the_plain_forms_answer_and_walk_a_procedure(open_page, lang):
    page = open_page(lang, js=False)
    assert page.locator("html.js").count() == 0
    reply = ask(page, QUESTION[lang], js=False)
    expect(reply).to_have_attribute("data-kind", "answer")
    expect(reply).to_have_attribute("lang", lang)
    step = press(page, PROCEDURE[lang], js=False, which=0)  # the welcome's button, further up the page
    expect(step).to_have_attribute("data-kind", "step")
    expect(step).to_have_attribute("data-step", "route")
    expect(step.locator("h3.step-heading")).to_contain_text(PROCEDURE[lang])
    step = press(page, {"en": "Alipay", "es": "Alipay", "zh": "支付宝"}[lang], js=False)
    expect(step).to_have_attribute("data-step", "alipay_more")


def test_lang_attributes_follow_each_reply_not_the_page(open_page):
    """On an English page a question typed in Chinese is answered in Chinese, marked lang=zh, so a
    screen reader switches voice for that reply and back for the page around it."""
    page = open_page("en")
    for code, name in (("en", "English"), ("es", "Español"), ("zh", "中文")):
        assert page.locator("form.languages").get_by_role("button", name=name).get_attribute("lang") == code
    reply = ask(page, QUESTION["zh"])
    expect(reply).to_have_attribute("lang", "zh")
    assert page.locator("#log .turn-user").last.get_attribute("lang") == "zh"
    expect(page.locator("#status")).to_have_attribute("lang", "zh")
    assert page.locator("html").get_attribute("lang") == "en"  # the page's own words are still English
    reply = ask(page, QUESTION["es"])
    expect(reply).to_have_attribute("lang", "es")
    langs = page.eval_on_selector_all("#log .turn", "nodes => nodes.map(n => n.lang)")
    assert all(langs) and set(langs) >= {"en", "es", "zh"}


def tab_to(page, target, most: int = 40) -> None:
    for _ in range(most):
        page.keyboard.press("Tab")
        if target.evaluate("b => b === document.activeElement"):
            return
    pytest.fail(f"{target} cannot be reached with Tab")


def test_keyboard_only(open_page):
    """Tab to a reply's button, press it with Enter, then Space on the next one: each reply arrives,
    focus stays on the control the user pressed and is visible."""
    page = open_page("en")
    target = bot_turns(page).first.get_by_role("button", name=PROCEDURE["en"], exact=True)
    tab_to(page, target)
    outline = target.evaluate("b => getComputedStyle(b).outlineStyle + ' ' + getComputedStyle(b).outlineWidth")
    assert outline.split()[0] != "none" and outline.split()[1] != "0px", outline
    step = reply_to(page, PROCEDURE["en"], True, lambda: page.keyboard.press("Enter"))
    expect(step).to_have_attribute("data-step", "route")
    assert target.evaluate("b => b === document.activeElement"), "focus was moved"
    alipay = step.get_by_role("button", name="Alipay", exact=True)
    tab_to(page, alipay)
    step = reply_to(page, "Alipay", True, lambda: page.keyboard.press("Space"))
    expect(step).to_have_attribute("data-step", "alipay_more")
    page.locator("#text").focus()
    reply = reply_to(page, "", True, lambda: (page.keyboard.type(QUESTION["en"]), page.keyboard.press("Enter")))
    expect(reply).to_have_attribute("data-kind", "answer")
    assert page.evaluate("document.activeElement.id") == "text"


def no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")


def test_a_phone_screen_at_320_px_and_at_200_percent_text(open_page, shots):
    page = open_page("en", viewport={"width": 320, "height": 640})
    press(page, PROCEDURE["en"])
    assert no_horizontal_scroll(page)
    sizes = page.eval_on_selector_all(
        "button, input:not([type=hidden])",
        "nodes => nodes.map(n => { const r = n.getBoundingClientRect(); return [r.width, r.height, n.textContent]; })")
    small = [s for s in sizes if s[0] < 24 or s[1] < 24]
    assert not small, f"targets under 24x24 px: {small}"
    page.evaluate("document.documentElement.style.fontSize = '225%'")  # 200% of the page's own 112.5%
    assert no_horizontal_scroll(page)
    page.screenshot(path=shots / "web-320px-200pct.png", full_page=True)


def test_the_phone_screenshot_for_the_readme(open_page, shots):
    """A conversation in a procedure on a phone, kept in docs/ (SOCIALBOT_WEB_SHOTS=docs)."""
    page = open_page("en", viewport=PHONE)
    ask(page, QUESTION["en"])
    press(page, PROCEDURE["en"], which=0)
    press(page, "Alipay")
    page.locator("#text").blur()
    page.mouse.move(0, 0)  # no button drawn hovered
    page.locator("#log .turn-user").last.evaluate("n => n.scrollIntoView({block: 'start'})")
    assert no_horizontal_scroll(page)
    page.screenshot(path=shots / "web-phone.png")



@pytest.fixture(scope="module")
def axe():
    return Axe()


def axe_violations(axe, page) -> list[str]:
    """axe-core's WCAG 2.2 A/AA rules on the page as it is now: one line per violation."""
    results = axe.run(page, options={"runOnly": {"type": "tag", "values": AXE_TAGS}, "resultTypes": ["violations"]})
    return [f"{v['impact']} {v['id']}: {v['help']} ({len(v['nodes'])}: {v['nodes'][0]['target']})"
            for v in results.response["violations"]]


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
@pytest.mark.parametrize("lang", ["en", "es", "zh"])
def test_axe_finds_no_violation_on_the_four_pages(open_page, axe, shots, lang, js):
    """The empty page, an answer, a procedure's step and a "did you mean", each checked by axe (which
    needs scripts: the page without JavaScript is the one whose web.js never loads)."""
    page = open_page(lang, viewport=PHONE, enhance=js)
    assert page.locator("html.js").count() == (1 if js else 0)
    found = {}
    found["empty"] = axe_violations(axe, page)
    page.screenshot(path=shots / f"web-{lang}-{'js' if js else 'nojs'}-empty.png", full_page=True)
    for name, act in (("answer", lambda: ask(page, QUESTION[lang], js=js)),
                      ("suggest", lambda: ask(page, VAGUE[lang], js=js)),
                      ("step", lambda: press(page, PROCEDURE[lang], js=js, which=0))):
        reply = act()
        expect(reply).to_have_attribute("data-kind", name)
        found[name] = axe_violations(axe, page)
        page.screenshot(path=shots / f"web-{lang}-{'js' if js else 'nojs'}-{name}.png", full_page=True)
    assert not any(found.values()), found


def test_with_javascript_a_flood_gets_the_polite_notice_in_place(browser, built_dialogue):
    small = WebServer(built_dialogue, rate=2, window=3600)
    context = browser.new_context(locale="es")
    try:
        context.set_default_timeout(10_000)
        page = context.new_page()
        page.goto(small.url + "/")
        expect(page.locator("html.js")).to_have_count(1)
        mark_document(page)
        ask(page, QUESTION["es"])
        ask(page, QUESTION["es"])
        page.locator("#text").fill(QUESTION["es"])
        page.locator("#text").press("Enter")
        notice = page.locator("#log .notice[role=alert]")
        expect(notice).to_contain_text("Espere un momento")
        assert kept_document(page)
        assert page.evaluate("document.activeElement.id") == "text"
        assert page.locator("#text").input_value() == QUESTION["es"], "the unsent question was thrown away"
    finally:
        context.close()
        small.close()


class BureauSite:
    """Another site (http://localhost:PORT, while the chat is on 127.0.0.1) whose page holds the
    README's iframe snippet."""

    def __init__(self, chat_url: str):
        import http.server
        import threading

        html = (f'<!doctype html><html lang="en"><head><title>Bureau</title></head><body><main>'
                f'<iframe src="{chat_url}/embed" title="Social security assistant" '
                f'style="width:100%;max-width:28rem;height:36rem"></iframe></main></body></html>').encode()

        class Page(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.end_headers()
                self.wfile.write(html)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
        self.url = f"http://localhost:{self.httpd.server_address[1]}/"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def test_the_embed_works_in_an_iframe_on_another_site_and_keeps_its_place(browser, built_dialogue):
    chat = WebServer(built_dialogue, rate=10_000, frame_ancestors="http://localhost:*")
    bureau = BureauSite(chat.url)
    context = browser.new_context(locale="en")
    try:
        context.set_default_timeout(10_000)
        page = context.new_page()
        page.goto(bureau.url)
        frame = page.frame_locator("iframe")
        expect(frame.locator("#log .turn-bot")).to_have_count(1)
        frame.locator("#text").fill(QUESTION["en"])
        frame.locator("#text").press("Enter")
        expect(frame.locator("#log .turn-bot")).to_have_count(2)  # the cookies held: no 403
        expect(frame.locator("#log .turn-bot").last).to_have_attribute("data-kind", "answer")
        frame.locator("#log .turn-bot").first.get_by_role("button", name=PROCEDURE["en"], exact=True).click()
        expect(frame.locator("#log .turn-bot")).to_have_count(3)
        expect(frame.locator("#log .turn-bot").last).to_have_attribute("data-step", "route")
        page.reload()
        expect(page.frame_locator("iframe").locator("#log .turn-bot").last).to_have_attribute("data-step", "route")
    finally:
        context.close()
        bureau.close()
        chat.close()


def test_a_site_not_allowed_cannot_frame_the_embed(browser, built_dialogue):
    chat = WebServer(built_dialogue, rate=10_000)  # frame-ancestors 'self' only
    bureau = BureauSite(chat.url)
    context = browser.new_context(locale="en")
    try:
        page = context.new_page()
        with page.expect_response(lambda r: "/embed" in r.url):
            page.goto(bureau.url)
        page.wait_for_load_state("load")
        assert page.frames[-1].locator("#log").count() == 0, "the chat drew inside a site not allowed"
    finally:
        context.close()
        bureau.close()
        chat.close()


# Every procedure once, the languages in turn (the scripts come as <procedure>_<en|es|zh>): the
# HTTP test in test_dialogue_scripts.py runs them all, this one proves web.js's path gives the same.
BROWSER_SCRIPTS = [p for n, p in enumerate(SCRIPTS) if n % 3 == (n // 3) % 3]


@pytest.mark.parametrize("path", BROWSER_SCRIPTS, ids=[p.stem for p in BROWSER_SCRIPTS])
def test_script_typed_into_the_enhanced_page(open_page, path):
    """Dialogue scripts, each turn typed and sent with JavaScript on: the reply web.js appends is
    the one batch, the console and Telegram give."""
    turns = load_script(path)
    page = open_page(turns[0].get("lang") or "en")
    for n, turn in enumerate(turns):
        reply = ask(page, turn["say"])
        bubble = parse(reply.evaluate("node => node.outerHTML")).bubbles[-1]
        check_turn(path, n, turn, bubble.to_json())
    assert not page.errors, page.errors
