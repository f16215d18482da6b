"""`socialbot web` over HTTP with no browser: the no-JavaScript path end to end, and the safety of a
public page (XSRF, cross-site POSTs, floods, body size, headers, /forget, /healthz)."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import urllib.request

import pytest

from bot.channels import web, web_page
from tests.web_client import Client, WebServer, parse


@pytest.fixture(scope="module")
def server(built_dialogue):
    s = WebServer(built_dialogue, rate=10_000)
    yield s
    s.close()


@pytest.fixture
def client(server):
    return Client(server.url)


def test_a_question_is_answered_with_its_source(client):
    page = client.open()
    assert page.lang == "en" and page.xsrf
    reply = client.say("When is the annual review?")
    assert reply.who == "bot" and reply.attrs["data-kind"] == "answer" and reply.lang == "en"
    assert "Source:" in reply.text
    assert client.page.bubbles[-2].who == "user" and client.page.bubbles[-2].text == "When is the annual review?"


def test_a_procedure_is_walked_through_with_the_forms_buttons_and_survives_a_reload(client):
    client.open()
    step = client.press("Annual review on your phone")
    assert step.attrs["data-kind"] == "step" and "Choose a way" in step.text
    step = client.press("Alipay")
    assert "Step 1 of" in step.text
    assert client.press("Next").attrs["data-step"] != step.attrs["data-step"]
    where = client.last.attrs["data-step"]
    reloaded = client.open()  # a reload: the same conversation, the same place
    assert reloaded.bubbles[-1].attrs["data-step"] == where
    assert [b.text for b in reloaded.bubbles if b.who == "user"][-3:] == ["Annual review on your phone", "Alipay", "Next"]


def test_the_place_survives_a_new_server_with_the_same_cookie(built_dialogue):
    """A return the next day, after a restart: the transcript is gone, the core still knows the place."""
    first = WebServer(built_dialogue, rate=10_000)
    try:
        client = Client(first.url)
        client.open()
        client.press("Annual review on your phone")
        step = client.press("Alipay").attrs["data-step"]
        first.app.settings["transcripts"].by_session.clear()  # what a restart loses
        page = client.open()
        assert page.bubbles[-1].attrs["data-flow"] == "annual_review"
        assert page.bubbles[-1].attrs["data-step"] == step
    finally:
        first.close()


def test_accept_language_picks_the_first_page_then_the_users_language_wins(server):
    client = Client(server.url, accept_language="zh-CN,zh;q=0.9,en;q=0.5")
    assert client.open().lang == "zh"
    assert client.last.lang == "zh" and "您" in client.last.text
    page = client.post(button="lang:es")
    assert page.lang == "es" and page.bubbles[-1].lang == "es"
    assert client.open().lang == "es"  # the chosen language, not the browser's


def test_the_language_switch_re_renders_the_step(client):
    client.open()
    client.press("Annual review on your phone")
    page = client.post(button="lang:zh")
    assert page.lang == "zh" and page.bubbles[-1].attrs["data-kind"] == "step"
    assert "选择办理方式" in page.bubbles[-1].text


def test_nothing_a_user_types_becomes_markup(client):
    client.open()
    status, html = client.request("/", {"_xsrf": client.page.xsrf, "text": "<script>alert(1)</script><b>x</b>"})
    assert status == 200
    assert "<script>alert" not in html and "<b>x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_a_personal_number_is_masked_on_the_page_and_the_note_is_shown(client):
    client.open()
    assert "never need" in client.request("/")[1]
    client.say("my id is 11010519491231002X")
    status, html = client.request("/")
    assert status == 200 and "11010519491231002X" not in html and "my id is" in html


def test_cross_site_and_tokenless_posts_get_403(client):
    client.open()
    status, body = client.request("/", {"_xsrf": client.page.xsrf, "text": "hi"}, {"Sec-Fetch-Site": "cross-site"})
    assert status == 403 and "reload" in body
    status, _ = client.request("/", {"text": "hi"})
    assert status == 403
    status, _ = client.request("/", {"_xsrf": client.page.xsrf, "text": "hi"}, {"Sec-Fetch-Site": "same-origin"})
    assert status == 200


def test_a_flood_gets_429_politely_and_the_server_lives(built_dialogue):
    small = WebServer(built_dialogue, rate=5, window=60)
    try:
        client = Client(small.url, accept_language="es")
        client.open()
        statuses = [client.request("/", {"_xsrf": client.page.xsrf, "text": "hola"})[0] for _ in range(8)]
        assert statuses[:5] == [200] * 5 and set(statuses[5:]) == {429}
        status, html = client.request("/", {"_xsrf": client.page.xsrf, "text": "hola"})
        assert status == 429 and "Espere un momento" in html
        assert urllib.request.urlopen(small.url + "/healthz", timeout=10).status == 200
    finally:
        small.close()


def test_a_huge_body_is_refused_and_the_server_lives(server, client):
    client.open()
    status, _ = client.request("/", {"_xsrf": client.page.xsrf, "text": "x" * (web.MAX_BODY * 2)})
    assert status in (400, 413, None)  # None: refused by closing the connection mid-upload
    assert client.say("When is the annual review?").attrs["data-kind"] == "answer"


def test_security_headers(server):
    with urllib.request.urlopen(server.url + "/", timeout=10) as resp:
        csp = resp.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'self'" in csp
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert resp.headers["Referrer-Policy"] == "no-referrer"
        cookies = resp.headers.get_all("Set-Cookie")
    session = next(c for c in cookies if c.startswith(web.COOKIE))
    assert "HttpOnly" in session and "SameSite=Lax" in session
    assert "web:" not in session  # a random id, signed: nothing about the person


def test_the_embed_is_compact_and_its_frame_ancestors_are_configurable(built_dialogue):
    s = WebServer(built_dialogue, frame_ancestors="https://bureau.example.gov")
    try:
        client = Client(s.url)
        page = client.open("/embed")
        assert page.bubbles and "<h1>" not in client.request("/embed")[1]
        with urllib.request.urlopen(s.url + "/embed", timeout=10) as resp:
            assert "frame-ancestors https://bureau.example.gov" in resp.headers["Content-Security-Policy"]
        assert client.say("When is the annual review?", path="/embed").attrs["data-kind"] == "answer"
    finally:
        s.close()


def test_the_embeds_cookies_work_inside_another_sites_iframe(server, built_dialogue):
    """A Lax cookie is never sent back from an iframe on another site: when another site may frame
    the embed, its cookies are SameSite=None, Secure and Partitioned; the full page's stay Lax."""
    def cookies(url):
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.headers.get_all("Set-Cookie")

    s = WebServer(built_dialogue, frame_ancestors="https://bureau.example.gov")
    try:
        embed = cookies(s.url + "/embed")
        assert {c.split("=")[0] for c in embed} == {web.COOKIE, "_xsrf"}
        for cookie in embed:
            assert "SameSite=None" in cookie and "Secure" in cookie and cookie.endswith("; Partitioned"), cookie
        assert all("SameSite=Lax" in c and "Partitioned" not in c for c in cookies(s.url + "/"))
    finally:
        s.close()
    assert all("SameSite=Lax" in c for c in cookies(server.url + "/embed"))  # framed by itself only


def test_forget_erases_and_clears_the_cookie(server, client):
    client.open()
    client.say("When is the annual review?")
    sid = next(c.value for c in client.jar if c.name == web.COOKIE)
    assert client.status == 200
    web_users = "select count(*) from users where id like 'web:%'"
    before = server.dialogue.store.db.execute(web_users).fetchone()[0]
    page = client.post("/forget")
    assert client.status == 200 and "erased" in page.bubbles[-1].text
    # the page's Erase button is the confirmation: the row is gone, not just the cookie
    assert server.dialogue.store.db.execute(web_users).fetchone()[0] == before - 1
    assert not any(c.name == web.COOKIE for c in client.jar)
    fresh = client.open()
    assert not [b for b in fresh.bubbles if b.who == "user"]
    assert sid


def test_the_fragment_is_only_the_new_turn(client):
    client.open()
    status, html = client.request("/?fragment=1", {"_xsrf": client.page.xsrf, "text": "When is the annual review?"})
    assert status == 200 and "<html" not in html
    bubbles = parse(html).bubbles
    assert [b.who for b in bubbles] == ["user", "bot"] and bubbles[1].attrs["data-kind"] == "answer"


def test_healthz(server):
    with urllib.request.urlopen(server.url + "/healthz", timeout=10) as resp:
        assert resp.status == 200 and resp.read() == b"ok"


def test_accept_language_weights():
    assert web.accept_language("fr-FR, es;q=0.8, en;q=0.9") == "en"
    assert web.accept_language("zh-TW") == "zh"
    assert web.accept_language("fr, de;q=bad") is None


def test_blocks_cut_a_step_into_heading_checklist_and_source():
    text = "Title · Step 2 of 5\n\nDo this.\n\nBring:\n☐ ID card\n☑ Photo\n\nSource: A law"
    kinds = [b.kind for b in web_page.blocks(text, "step", "Source")]
    assert kinds == ["heading", "p", "checklist", "source"]
    assert [b.kind for b in web_page.blocks("1. one\n2. two", "answer", "Source")] == ["steps"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_the_command_serves_and_exits_cleanly_on_a_signal(socialbot_cmd, tmp_path, sig):
    port = free_port()
    env = {**os.environ, "SOCIALBOT_WEB_SECRET": "s" * 32}
    proc = subprocess.Popen([*socialbot_cmd, "web", "--port", str(port), "--db", str(tmp_path / "web.db")],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert f"http://127.0.0.1:{port}/" in line
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as resp:
            assert resp.status == 200
        proc.send_signal(sig)
        assert proc.wait(20) == 0, proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
