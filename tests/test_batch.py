"""The batch protocol end to end: `socialbot batch` in a subprocess, JSON Lines in and out (../shared/DESIGN.md)."""
from __future__ import annotations

import io
import json
import os

import pytest

from bot.channels.batch import error_reply, request_to_message, run
from knowledge.dense import cache_dir

FIELDS = {"user", "text", "buttons", "lang", "kind", "topic", "flow", "step", "fallback", "confidence"}
KINDS = {"answer", "suggest", "fallback", "step", "command", "error"}


def assert_protocol(reply: dict, user: str | None = None) -> None:
    """Every field of the protocol, with the right type."""
    assert FIELDS <= set(reply), FIELDS - set(reply)
    assert isinstance(reply["user"], str) and reply["user"]
    if user is not None:
        assert reply["user"] == user
    assert isinstance(reply["text"], str) and reply["text"].strip()
    assert isinstance(reply["buttons"], list) and all(isinstance(b, str) and b for b in reply["buttons"])
    assert reply["lang"] in ("en", "es", "zh")
    assert reply["kind"] in KINDS
    for key in ("topic", "flow", "step"):
        assert reply[key] is None or isinstance(reply[key], str), key
    assert isinstance(reply["fallback"], bool)
    assert isinstance(reply["confidence"], (int, float)) and not isinstance(reply["confidence"], bool)
    assert 0.0 <= reply["confidence"] <= 1.0
    assert "<b>" not in reply["text"] and "</" not in reply["text"]  # plain text, no markup


def assert_error(reply: dict) -> None:
    assert isinstance(reply.get("error"), str) and reply["error"]
    assert reply["kind"] == "error"


# --- the subprocess ------------------------------------------------------------------------------

def test_one_reply_per_line_each_read_before_the_next_is_written(shared_batch):
    bot = shared_batch
    first = bot.ask({"user": "u1", "text": "When is the annual review?"})
    assert_protocol(first, "u1")
    assert (first["kind"], first["topic"], first["lang"], first["fallback"]) == \
        ("answer", "review-months", "en", False)
    assert first["flow"] is None and first["step"] is None
    second = bot.ask({"user": "u1", "text": "¿Cómo pago el seguro social por mi cuenta?"})
    assert_protocol(second, "u1")
    assert (second["topic"], second["lang"]) == ("personal-payment", "es")
    third = bot.ask({"user": "u2", "text": "社保卡有什么用"})
    assert_protocol(third, "u2")
    assert (third["topic"], third["lang"]) == ("card-uses", "zh")
    assert "社保卡" in third["text"]  # UTF-8 out, not \\u escapes


def test_replies_come_in_the_order_of_the_requests(shared_batch):
    bot = shared_batch
    users = [f"order-{n}" for n in range(12)]
    texts = ["when is the annual review", "社保年审几月", "hola", "/help", "what's the weather", "next"]
    bot.write("".join(json.dumps({"user": u, "text": texts[n % len(texts)]}) + "\n" for n, u in enumerate(users)))
    replies = [bot.read_json() for _ in users]
    assert [r["user"] for r in replies] == users
    for reply in replies:
        assert_protocol(reply)


def test_every_kind_of_reply_keeps_the_protocol(shared_batch):
    bot = shared_batch
    seen = {}
    for text in ["when is the annual review", "annual review", "what's the weather tomorrow",
                 "guide me through paying social insurance myself", "next", "/cancel", "/help"]:
        reply = bot.ask({"user": "kinds", "text": text})
        assert_protocol(reply, "kinds")
        seen[reply["kind"]] = reply
    assert {"answer", "suggest", "fallback", "step", "command"} <= set(seen)
    assert seen["step"]["flow"] == "personal_payment" and seen["step"]["step"]
    assert seen["suggest"]["fallback"] is True and 2 <= len(seen["suggest"]["buttons"][:-1]) <= 3
    assert seen["fallback"]["fallback"] is True and seen["fallback"]["topic"] is None
    assert seen["answer"]["fallback"] is False


@pytest.mark.parametrize("bad, why", [
    ("{not json", "invalid JSON"),
    ('{"user": "u", "text": "hi"', "invalid JSON"),
    ('["u", "hi"]', "JSON object"),
    ('"just a string"', "JSON object"),
    ("42", "JSON object"),
    ("null", "JSON object"),
    ('{"text": "hi"}', "user"),
    ('{"user": "", "text": "hi"}', "user"),
    ('{"user": null, "text": "hi"}', "user"),
    ('{"user": "u"}', "text"),
    ('{"user": "u", "text": null}', "text"),
    ('{"user": "u", "text": 42}', "text"),
    ('{"user": "u", "text": ["hi"]}', "text"),
    ('{"user": "u", "text": {"a": 1}}', "text"),
    ('{"user": "u", "text": "hi", "lang": 5}', "lang"),
])
def test_a_bad_request_gets_one_error_line_and_the_process_goes_on(shared_batch, bad, why):
    bot = shared_batch
    reply = bot.ask(bad)
    assert_error(reply)
    assert why.lower() in reply["error"].lower()
    assert set(reply) >= FIELDS  # the error line still has the protocol's shape
    after = bot.ask({"user": "after", "text": "when is the annual review"})
    assert_protocol(after, "after")
    assert after["topic"] == "review-months"


def test_many_bad_lines_in_a_row_each_get_exactly_one_line(shared_batch):
    bot = shared_batch
    bad = ["{oops", "[1, 2]", '{"user": "x"}', '{"user": "x", "text": 3}', '{"text": "hi"}']
    bot.write("\n".join(bad) + "\n" + json.dumps({"user": "last", "text": "hola"}) + "\n")
    for _ in bad:
        assert_error(bot.read_json())
    last = bot.read_json()
    assert_protocol(last, "last")
    assert last["lang"] == "es"


def test_invalid_utf8_gets_one_line_and_the_process_goes_on(shared_batch):
    bot = shared_batch
    bot.write(b'{"user": "bytes", "text": "\xff\xfe broken"}\n')
    first = bot.read_json()
    assert first["user"] == "bytes" or "error" in first
    after = bot.ask({"user": "after", "text": "when is the annual review"})
    assert_protocol(after, "after")


def test_blank_lines_are_ignored(shared_batch):
    bot = shared_batch
    bot.write("\n   \n\t\n")
    reply = bot.ask({"user": "after-blank", "text": "when is the annual review"})
    assert reply["user"] == "after-blank"  # no reply was written for the blank lines


def test_a_numeric_user_id_is_accepted_as_a_string(shared_batch):
    bot = shared_batch
    reply = bot.ask({"user": 12345, "text": "hello"})
    assert_protocol(reply, "12345")


def test_the_lang_hint_is_used_for_a_first_message_with_no_clear_language(shared_batch):
    bot = shared_batch
    reply = bot.ask({"user": "hinted", "text": "Alipay", "lang": "es"})
    assert_protocol(reply, "hinted")
    assert reply["lang"] == "es"


def test_a_button_id_can_be_pressed(shared_batch):
    bot = shared_batch
    reply = bot.ask({"user": "presser", "button": "topic:card-uses"})
    assert_protocol(reply, "presser")
    assert (reply["kind"], reply["topic"]) == ("answer", "card-uses")


def test_typing_a_buttons_label_presses_it(shared_batch):
    bot = shared_batch
    suggest = bot.ask({"user": "typist", "text": "annual review"})
    assert suggest["kind"] == "suggest"
    label = suggest["buttons"][0]
    chosen = bot.ask({"user": "typist", "text": label})
    assert chosen["kind"] == "answer"
    assert chosen["topic"] is not None


def isolated_env(tmp_path) -> dict:
    """An environment whose every default location for a database is under tmp_path."""
    env = dict(os.environ)
    env.update(HOME=str(tmp_path / "home"), XDG_DATA_HOME=str(tmp_path / "data"),
               SOCIALBOT_DB=str(tmp_path / "env.db"), PYTHONDONTWRITEBYTECODE="1",
               # the dense model's vectors of the knowledge base (no user data): shared, not rebuilt per test
               SOCIALBOT_CACHE_DIR=str(cache_dir()))
    return env


def test_db_persists_language_and_place_across_two_processes(start_batch, tmp_path):
    db = tmp_path / "state" / "bot.db"
    env = isolated_env(tmp_path)
    first = start_batch("--db", str(db), env=env)
    assert first.ask({"user": "p", "text": "/language es"})["lang"] == "es"
    step = first.ask({"user": "p", "text": "guíame paso a paso para pagar la seguridad social por mi cuenta"})
    assert (step["kind"], step["flow"]) == ("step", "personal_payment")
    start_step = step["step"]
    moved = first.ask({"user": "p", "text": "siguiente"})
    assert moved["flow"] == "personal_payment" and moved["step"] != start_step
    assert first.close() == 0
    assert db.exists()

    second = start_batch("--db", str(db), env=env)
    help_reply = second.ask({"user": "p", "text": "/help"})
    assert help_reply["lang"] == "es"  # a command says no language: the stored one is used
    back = second.ask({"user": "p", "text": "atrás"})
    assert (back["kind"], back["flow"], back["step"], back["lang"]) == ("step", "personal_payment", start_step, "es")
    assert second.ask({"user": "someone-else", "text": "/help"})["lang"] == "en"
    assert second.close() == 0


def test_without_db_nothing_is_written_to_disk(start_batch, tmp_path):
    work = tmp_path / "cwd"
    work.mkdir()
    env = isolated_env(tmp_path)
    bot = start_batch(cwd=work, env=env)
    bot.ask({"user": "m", "text": "/language es"})
    bot.ask({"user": "m", "text": "guíame paso a paso para pagar la seguridad social por mi cuenta"})
    bot.ask({"user": "m", "text": "what's the weather"})
    assert bot.close() == 0
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert written == [], written


def test_eof_ends_the_process_cleanly(start_batch):
    bot = start_batch()
    assert bot.ask({"user": "e", "text": "hola"})["user"] == "e"
    bot.write("{bad\n\n   \n")
    assert_error(bot.read_json())
    assert bot.close() == 0
    assert bot.rest() == []  # nothing for the blank lines, nothing at EOF
    assert "Traceback" not in bot.errors()


# --- the same channel in process (fast checks of the parsing) -----------------------------------

def test_run_in_process_writes_one_flushed_line_per_request(dialogue):
    class Spy(io.StringIO):
        flushes = 0

        def flush(self):
            Spy.flushes += 1
            super().flush()

    out = Spy()
    lines = ['{"user": "a", "text": "hola"}', "", "{bad", '{"user": "b", "text": "社保卡有什么用"}']
    count = run(dialogue, io.StringIO("\n".join(lines) + "\n"), out)
    replies = [json.loads(line) for line in out.getvalue().splitlines()]
    assert count == 3 and len(replies) == 3
    assert Spy.flushes >= 3
    assert [r.get("user") for r in replies] == ["a", None, "b"]
    assert "error" in replies[1]


@pytest.mark.parametrize("line, user, text, lang, button", [
    ('{"user": "u", "text": "hi"}', "u", "hi", None, None),
    ('{"user": "u", "text": "hi", "lang": "es"}', "u", "hi", "es", None),
    ('{"user": 7, "text": ""}', "7", "", None, None),
    ('{"user": "u", "button": "topic:card-uses"}', "u", "", None, "topic:card-uses"),
])
def test_request_to_message(line, user, text, lang, button):
    message, problem = request_to_message(line)
    assert problem == {}
    assert (message.user, message.text, message.lang_hint, message.button, message.channel) == \
        (user, text, lang, button, "batch")


def test_error_reply_has_the_protocol_shape_and_the_problem():
    reply = error_reply({"error": "missing field 'text'", "user": "u"})
    assert FIELDS <= set(reply)
    assert reply["error"] == "missing field 'text'" and reply["user"] == "u" and reply["kind"] == "error"


def test_a_reply_line_is_exactly_what_json_dumps_would_write(built_dialogue):
    """The text of an answer is encoded once and spliced in: the line must not differ by a byte."""
    import copy

    from bot.channels.batch import reply_line
    from bot.messages import Message
    from bot.store import Store

    core = copy.copy(built_dialogue)
    core.store = Store(memory=True)
    for text in ("when is the annual review", "¿cómo pago el seguro social por mi cuenta?", "社保卡有什么用",
                 "say \"hi\" \\ \t 🙂", "", "\ud800 lone surrogate", "guide me through the annual review"):
        out = core.handle(Message(user="u-line", text=text)).to_json()
        assert reply_line(out) == json.dumps(out, ensure_ascii=False) + "\n"
        assert reply_line(out) == reply_line(dict(out))  # the second time, from the cache
    for odd in ({"error": "invalid JSON"}, {"user": None, "text": "Sorry", "error": "x"}, {"user": "u", "text": "t"}):
        assert reply_line(odd) == json.dumps(odd, ensure_ascii=False) + "\n"
