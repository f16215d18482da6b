"""Personal numbers in every shape people type are masked everywhere: by the masker, in the
database file and its WAL, in the escalation summary, the curators' report, the batch log at DEBUG
and the Telegram log at DEBUG; and ordinary numbers are left alone."""
from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys

import pytest

from bot.privacy import contains_personal, find, mask
from bot.report import report
from tests.conftest import ROOT
from tests.personal_shapes import ORDINARY, SHAPES, TEMPLATES, secrets

LANGS = list(TEMPLATES)


def assert_no_secret(haystack: str, where: str) -> None:
    for name, typed, kind in SHAPES:
        for secret in secrets(typed, kind):
            assert secret not in haystack, f"{name} ({typed!r}) left {secret!r} in {where}"


def test_the_table_has_at_least_44_shapes():
    assert len(SHAPES) >= 44
    assert len({typed for _, typed, _ in SHAPES}) == len(SHAPES)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("name, typed, kind", SHAPES, ids=[s[0] for s in SHAPES])
def test_every_shape_is_masked_in_a_sentence(name, typed, kind, lang):
    text = TEMPLATES[lang].format(typed)
    masked = mask(text)
    for secret in secrets(typed, kind):
        assert secret not in masked, masked
    assert [f.kind for f in find(text)] == [kind]
    assert contains_personal(text)
    assert mask(masked) == masked
    rest = masked.replace(f"[{kind.upper()}:***", "").replace("[EMAIL]", "")
    assert TEMPLATES[lang].split("{}")[0] in rest  # the words around it are kept


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_numbers_are_not_masked(text):
    assert find(text) == [], find(text)
    assert mask(text) == text


def _file_text(path) -> str:
    return path.read_bytes().decode("utf-8", "replace") if path.exists() else ""


def test_through_the_core_nothing_is_stored_or_shown_in_clear(built_dialogue, tmp_path):
    import copy

    from bot.store import Store

    store = Store(tmp_path / "bot.db")
    keep = sqlite3.connect(tmp_path / "bot.db")  # a reader holds the WAL open: it is not checkpointed away
    keep.execute("select count(*) from users").fetchone()
    d = copy.copy(built_dialogue)
    d.store = store
    shown = []
    for n, (name, typed, kind) in enumerate(SHAPES):
        lang = LANGS[n % 3]
        user = f"core{n}"
        shown.append(d.say(user, TEMPLATES[lang].format(typed)).text)
        summary = d.say(user, {"en": "I want to talk to a person", "es": "quiero hablar con una persona",
                               "zh": "我要找人工"}[lang]).text
        shown.append(summary)
    wal = tmp_path / "bot.db-wal"
    assert wal.exists() and wal.stat().st_size > 0
    assert_no_secret(_file_text(wal), "the WAL")
    assert_no_secret("\n".join(shown), "a reply or escalation summary")
    text = report(store)
    assert "[PHONE:***8199]" in text or "[ID:***" in text  # the questions are there, masked
    assert_no_secret(text, "the report")
    store.close()
    keep.close()
    assert_no_secret(_file_text(tmp_path / "bot.db"), "the database file")


def test_through_batch_with_debug_logging_nothing_reaches_the_log_or_the_file(tmp_path):
    db = tmp_path / "batch.db"
    lines = []
    for n, (name, typed, kind) in enumerate(SHAPES):
        lang = LANGS[n % 3]
        lines.append(json.dumps({"user": f"b{n}", "text": TEMPLATES[lang].format(typed), "lang": lang},
                                ensure_ascii=False))
        lines.append(json.dumps({"user": f"b{n}", "text": "/help"}))
    env = {**os.environ, "PYTHONIOENCODING": "utf-8", "SOCIALBOT_LOG": "DEBUG"}
    done = subprocess.run([sys.executable, "-m", "bot.cli", "batch", "--db", str(db)], cwd=ROOT, env=env,
                          input="\n".join(lines).encode(), capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert len(done.stdout.splitlines()) == len(lines)
    assert_no_secret(done.stdout.decode(), "the batch replies")
    assert_no_secret(done.stderr.decode(), "the log")
    assert_no_secret(_file_text(db) + _file_text(tmp_path / "batch.db-wal"), "the database")
    rep = subprocess.run([sys.executable, "-m", "bot.cli", "report", "--db", str(db)], cwd=ROOT, env=env,
                         capture_output=True, timeout=120)
    assert rep.returncode == 0
    assert_no_secret(rep.stdout.decode(), "the report")


@pytest.fixture
async def api():
    from tests.fake_bot_api import FakeBotApi

    server = await FakeBotApi().start()
    yield server
    await server.stop()


async def test_through_telegram_with_debug_logging_nothing_reaches_the_log_or_the_file(api, tmp_path):
    import signal

    from tests.fake_bot_api import TOKEN

    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "SOCIALBOT_"))}
    env.update(TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_BASE_URL=api.base_url, SOCIALBOT_LOG="DEBUG",
               TELEGRAM_API_BASE_FILE_URL=api.base_file_url, SOCIALBOT_DB=str(tmp_path / "tg.db"))
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot.cli", "telegram", cwd=ROOT, env=env,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    # Drained while the bot runs: its DEBUG log outgrows a pipe's 64 KB, and a full pipe blocks the bot.
    stderr = asyncio.ensure_future(proc.stderr.read())
    stdout = asyncio.ensure_future(proc.stdout.read())
    try:
        await api.wait_method("getUpdates", timeout=30)
        for n, (name, typed, kind) in enumerate(SHAPES):
            api.push_text(1000 + n, TEMPLATES[LANGS[n % 3]].format(typed), lang=LANGS[n % 3])
        for n in range(len(SHAPES)):
            await api.wait_sent(1000 + n, timeout=30)
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.wait(), 30)
        err, _ = await stderr, await stdout
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    log = err.decode()
    assert "getUpdates" in log  # DEBUG logging was on
    assert_no_secret(log, "the Telegram log")
    assert_no_secret(json.dumps([c.params for c in api.calls_to("sendMessage")], ensure_ascii=False),
                     "what was sent")
    assert_no_secret(_file_text(tmp_path / "tg.db") + _file_text(tmp_path / "tg.db-wal"), "the database")
