"""The pause switch on every channel: while it is on, the only answer is a sentence saying the
assistant is paused and the bureau's contact, in the user's language. (Telegram's own test is in
tests/test_telegram.py, against the fake Bot API server.)"""
from __future__ import annotations

import io
import os
import time

import pytest

from bot import render
from bot.channels import batch, console
from bot.cli import main
from bot.messages import Message
from bot.pause import Contact, Switch, set_paused
from bot.store import Store
from tests.web_client import Client, WebServer

PAUSED = {lang: render.say("paused", lang) for lang in ("en", "es", "zh")}
QUESTIONS = {"en": "When is the annual review?", "es": "¿Cuándo es la revisión anual?", "zh": "社保年审是几月份？"}


def clean_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "SOCIALBOT_"))}
    return {**env, **extra}


def is_paused_reply(text: str, lang: str, phone: str = "12333") -> bool:
    return text.startswith(PAUSED[lang]) and phone in text


@pytest.fixture
def switched(dialogue):
    dialogue.switch = Switch(env={}, check_every=0)  # reads the database before every message
    return dialogue


@pytest.mark.parametrize("lang", ["en", "es", "zh"])
def test_a_paused_core_answers_only_with_the_contact_in_the_users_language(switched, lang):
    set_paused(switched.store, True)
    for text in (QUESTIONS[lang], "/start", "/forget"):
        reply = switched.say("u1", text, lang=lang)
        assert reply.kind == "paused" and reply.lang == lang and not reply.buttons
        assert is_paused_reply(reply.text, lang)
    assert switched.store.holds("u1") == 0  # nothing about the user is written while paused
    set_paused(switched.store, False)
    assert switched.say("u1", QUESTIONS[lang]).kind == "answer"


def test_the_contact_comes_from_the_environment():
    env = {"SOCIALBOT_PAUSED": "1", "SOCIALBOT_CONTACT_NAME": "Bureau of Dongcheng", "SOCIALBOT_CONTACT_PHONE":
           "010-1234", "SOCIALBOT_CONTACT_ADDRESS": "1 Main St", "SOCIALBOT_CONTACT_HOURS": "9-17",
           "SOCIALBOT_CONTACT_WEBSITE": "https://example.org"}
    switch = Switch(env=env)
    store = Store(memory=True)
    assert switch.paused(store)
    store.close()
    text = switch.reply(Message("u"), "zh").text
    assert text.startswith(PAUSED["zh"])
    for value in ("Bureau of Dongcheng", "电话：010-1234", "地址：1 Main St", "9-17", "https://example.org"):
        assert value in text
    assert "12333" not in text
    assert Contact.from_env({}).lines("en") == [render.say("contact_default_name", "en"), "Phone: 12333"]


def test_console_while_paused(switched):
    set_paused(switched.store, True)
    out = io.StringIO()
    console.run(switched, io.StringIO("¿Cuándo es la revisión anual?\n1\n"), out, interactive=False)
    text = out.getvalue()
    assert is_paused_reply(text, "en")  # the greeting, before anything was said
    assert text.count(PAUSED["es"]) == 1 and text.count(PAUSED["en"]) == 2  # "1" says no language: English
    assert render.say("welcome", "en")[:20] not in text


def test_batch_with_socialbot_paused_in_the_environment(start_batch):
    for workers in ("1", "2"):
        proc = start_batch("--workers", workers, env=clean_env(SOCIALBOT_PAUSED="1"))
        for lang, question in QUESTIONS.items():
            reply = proc.ask({"user": f"u-{lang}", "text": question})
            assert reply["kind"] == "paused" and is_paused_reply(reply["text"], lang), reply
        assert proc.close() == 0


def test_socialbot_pause_and_resume_reach_a_running_batch_within_seconds(start_batch, tmp_path, capsys):
    db = str(tmp_path / "bot.db")
    proc = start_batch("--db", db, env=clean_env())
    assert proc.ask({"user": "u1", "text": QUESTIONS["es"]})["kind"] == "answer"

    def until(kind: str) -> dict:
        deadline = time.monotonic() + 20  # a bound, not a speed check: the switch is read every 2 s
        while True:
            reply = proc.ask({"user": "u1", "text": QUESTIONS["es"]})
            if reply["kind"] == kind or time.monotonic() > deadline:
                return reply
            time.sleep(0.05)

    assert main(["pause", "--db", db]) == 0
    assert "paused" in capsys.readouterr().out
    reply = until("paused")
    assert reply["kind"] == "paused" and is_paused_reply(reply["text"], "es")
    assert main(["resume", "--db", db]) == 0
    assert until("answer")["kind"] == "answer"
    assert proc.close() == 0


def test_batch_in_process_while_paused(switched):
    set_paused(switched.store, True)
    out = io.StringIO()
    batch.run(switched, io.StringIO('{"user": "u", "text": "社保年审是几月份？"}\n{"user": "u", "button": "x"}\n'), out)
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 and all('"kind": "paused"' in line and "12333" in line for line in lines)


def test_web_while_paused(built_dialogue):
    server = WebServer(built_dialogue, rate=10_000)
    try:
        server.dialogue.switch = Switch(env={}, check_every=0)
        client = Client(server.url)
        assert client.open().bubbles[-1].attrs["data-kind"] != "paused"
        set_paused(server.dialogue.store, True)
        reply = client.say(QUESTIONS["zh"])
        assert reply.attrs["data-kind"] == "paused" and reply.lang == "zh"
        assert is_paused_reply(reply.text, "zh") and not reply.buttons
        page = client.post(button="lang:es")
        assert page.bubbles[-1].attrs["data-kind"] == "paused"
    finally:
        server.close()
