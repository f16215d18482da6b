"""The webhook checks before it reads: the real Application in webhook mode, posted to over raw
HTTP on 127.0.0.1 (so a test can send headers and hold back the body), and registered with the
fake Bot API server (tests/fake_bot_api.py)."""
from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys

import pytest

from bot.channels.telegram import running
from bot.channels.telegram_runtime import Settings
from bot.channels.telegram_webhook import MAX_BODY, is_json
from bot.store import Store
from tests.fake_bot_api import TOKEN, FakeBotApi
from tests.test_telegram import WELCOME, app_over

SECRET = "s3cret-Token_1"


@pytest.fixture
async def api():
    server = await FakeBotApi().start()
    yield server
    await server.stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
async def hook(api, built_dialogue):
    """The bot in webhook mode; yields (host, port, path)."""
    import copy

    port = free_port()
    settings = Settings.from_env({"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE_URL": api.base_url,
                                  "TELEGRAM_API_BASE_FILE_URL": api.base_file_url,
                                  "TELEGRAM_WEBHOOK_URL": f"http://127.0.0.1:{port}/telegram/hook",
                                  "TELEGRAM_WEBHOOK_SECRET": SECRET, "TELEGRAM_WEBHOOK_PORT": str(port)})
    dialogue = copy.copy(built_dialogue)
    dialogue.store = Store(memory=True)
    async with running(app_over(settings, dialogue), settings) as app:
        yield app, port
    dialogue.store.close()


async def post_headers(port: int, headers: dict[str, str], body: bytes = b"") -> tuple[int, bytes]:
    """Sends a POST's headers and `body` (perhaps far less than Content-Length says), and reads the
    answer: (status, what followed the headers). Fails if no answer comes within 5 seconds."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        head = "".join(f"{k}: {v}\r\n" for k, v in {"Host": f"127.0.0.1:{port}", **headers}.items())
        writer.write(f"POST /telegram/hook HTTP/1.1\r\n{head}\r\n".encode() + body)
        await writer.drain()
        answer = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        status = int(answer.split(b" ", 2)[1])
        rest = await asyncio.wait_for(reader.read(), 5)  # the server closes: it will not read the rest
        return status, rest
    finally:
        writer.close()


def update_body(api: FakeBotApi, uid: int, text: str) -> bytes:
    return json.dumps({"update_id": 77000 + uid, "message": api.message(uid, text)}).encode()


@pytest.mark.parametrize("secret", [None, "wrong", SECRET + "x"])
async def test_a_post_without_the_secret_is_refused_before_its_body_is_read(api, hook, secret):
    app, port = hook
    headers = {"Content-Type": "application/json", "Content-Length": str(90 * 2**20)}  # 90 MB announced...
    if secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    status, _ = await post_headers(port, headers, b'{"update_id": 1, ')  # ...and never sent
    assert status == 403
    await asyncio.wait_for(app.update_queue.join(), 5)
    assert api.sent() == []


async def test_a_body_over_the_cap_is_refused_before_it_is_read(api, hook):
    app, port = hook
    headers = {"Content-Type": "application/json", "Content-Length": str(MAX_BODY + 1),
               "X-Telegram-Bot-Api-Secret-Token": SECRET}
    status, _ = await post_headers(port, headers, b"{")
    assert status == 413


async def test_a_chunked_body_over_the_cap_is_cut_off(api, hook):
    app, port = hook
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(f"POST /telegram/hook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     f"X-Telegram-Bot-Api-Secret-Token: {SECRET}\r\nTransfer-Encoding: chunked\r\n\r\n".encode())
        chunk = b"x" * 65536
        answer = b""
        try:
            for _ in range(MAX_BODY // len(chunk) + 8):  # a little more than the cap
                writer.write(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
                await writer.drain()
            answer = await asyncio.wait_for(reader.read(), 5)
        except ConnectionError:  # closed on us: refused
            pass
        assert not answer.startswith(b"HTTP/1.1 200")  # refused (an error, or the connection closed)
    finally:
        writer.close()
    assert api.sent() == []


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", 'application/json; charset="UTF-8"',
                                          "application/json"])
async def test_json_with_a_utf8_charset_is_accepted(api, hook, content_type):
    app, port = hook
    body = update_body(api, 51, "/start")
    status, _ = await post_headers(port, {"Content-Type": content_type, "Content-Length": str(len(body)),
                                          "X-Telegram-Bot-Api-Secret-Token": SECRET, "Connection": "close"}, body)
    assert status == 200
    [sent] = await api.wait_sent(51)
    assert sent["plain"] == WELCOME


async def test_other_content_types_and_unreadable_bodies_are_refused_and_the_bot_goes_on(api, hook):
    app, port = hook
    for content_type, body, expected in (("text/plain", b"{}", 415), ("application/json; charset=latin-1", b"{}", 415),
                                         ("application/json", b"{not json", 400),
                                         ("application/json", b'{"update_id": "x", "message": 5}', 400)):
        status, _ = await post_headers(port, {"Content-Type": content_type, "Content-Length": str(len(body)),
                                              "X-Telegram-Bot-Api-Secret-Token": SECRET, "Connection": "close"}, body)
        assert status == expected, (content_type, body)
    assert await api.post_to_webhook({"message": api.message(52, "/start")}) == 200
    [sent] = await api.wait_sent(52)
    assert sent["plain"] == WELCOME


def test_is_json():
    assert is_json("application/json") and is_json("Application/JSON; charset=UTF-8")
    assert not is_json("application/json; charset=iso-8859-1") and not is_json("text/json") and not is_json("")


async def test_the_socialbot_command_in_webhook_mode_serves_and_stops_on_sigterm(api, tmp_path):
    import os
    import signal

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "SOCIALBOT_"))}
    env.update(TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_BASE_URL=api.base_url, TELEGRAM_WEBHOOK_SECRET=SECRET,
               TELEGRAM_WEBHOOK_URL=f"http://127.0.0.1:{port}/telegram/hook", TELEGRAM_WEBHOOK_PORT=str(port),
               SOCIALBOT_DB=str(tmp_path / "bot.db"))
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot.cli", "telegram", env=env,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        await api.wait_method("setWebhook", timeout=30)
        assert await api.post_to_webhook({"message": api.message(53, "/start")}) == 200
        [sent] = await api.wait_sent(53, timeout=15)
        assert sent["plain"] == WELCOME
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), 20)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0, err.decode()[-2000:]
