"""Everything a person or a broken client can send gets one polite reply in the user's language,
and nothing stored is lost.

The catalogue is data: each case runs in each language (the user's stored language is set first,
by a question in that language), both for a user who is idle and for one in the middle of a
procedure (step 2 of the annual review), through the Dialogue core and through the batch
subprocess (`python -m bot.cli batch --db FILE`). The batch run is two processes over one file:
the first sets every user up, the second sends the bad input, so the "before" state is what the
first left on disk.
"""
from __future__ import annotations

import copy
import json
import subprocess
import sys
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot import render
from bot.buttons import step_tag
from bot.dialogue import Dialogue
from bot.messages import Message
from bot.store import Store
from knowledge.language import LANGS

ROOT = Path(__file__).resolve().parent.parent
QUESTION = {"en": "When is the annual review?", "es": "¿Cuándo es la revisión anual?", "zh": "社保年审是几月份？"}
TOPIC = "review-months"  # what QUESTION is answered with
FLOW, STEP1, STEP2 = "annual_review", "route", "alipay_more"
START = f"flow:{FLOW}:start"
CHOOSE_ALIPAY = f"flow:{FLOW}:choose:alipay" + step_tag(STEP1)
OLD_BUTTON = f"flow:{FLOW}:choose:app" + step_tag(STEP1)  # drawn under step 1; the user is at step 2 now
SETUPS = ("idle", "flow")
BIG = 200_000


@dataclass(frozen=True)
class Expect:
    kinds: frozenset[str]
    says: tuple[str, ...] = ()  # UI string keys: at least one of them is in the reply
    first: str | None = None  # a UI string key the reply starts with
    topic: str | None = None


@dataclass(frozen=True)
class Case:
    name: str
    text: str | dict[str, str] = ""  # one text for every language, or one per language
    button: str | None = None
    media: str | None = None
    idle: Expect | None = None
    flow: Expect | None = None
    absent: tuple[str, ...] = ()  # substrings the reply must never contain
    batch: bool = True  # expressible as a batch request (media is not)

    def text_in(self, lang: str) -> str:
        return self.text[lang] if isinstance(self.text, dict) else self.text


def expect(kinds, says=(), first=None, topic=None) -> Expect:
    return Expect(frozenset(kinds.split()), tuple(says.split()) if isinstance(says, str) else says, first, topic)


MISS = expect("fallback suggest", "fallback suggest")  # an honest "I don't know" (or "did you mean")
REPROMPT = expect("step", "reprompt")  # in a procedure: "didn't catch that", and the current step again
EMPTY = expect("error", "empty")
UNKNOWN_BUTTON = expect("error", "unknown_button")
ANSWER = expect("answer", topic=TOPIC)
LONG_ANSWER = expect("answer", first="too_long", topic=TOPIC)

CATALOGUE = [
    Case("empty", "", idle=EMPTY, flow=EMPTY),
    Case("blank", " \n\t  \u3000 ", idle=EMPTY, flow=EMPTY),
    Case("zero-width only", "\u200b\u200d\ufeff\u2060", idle=EMPTY, flow=EMPTY),
    Case("control characters only", "\x00\x01\x07\x1b[31m\x7f\x9b", idle=MISS, flow=REPROMPT),
    Case("bidi overrides only", "\u202e\u2066\u2067\u2069\u202c\u200f", idle=EMPTY, flow=EMPTY),
    Case("emoji only", "🙂🙂🙂", idle=MISS, flow=REPROMPT),
    Case("200,000 characters, a question first", {l: q + " " + "x" * BIG for l, q in QUESTION.items()},
         idle=LONG_ANSWER, flow=LONG_ANSWER),
    Case("200,000 characters of nothing", "a" * BIG,
         idle=expect("fallback suggest", "fallback suggest", first="too_long"),
         flow=expect("step", "reprompt", first="too_long")),
    Case("200,000 emoji", "🙂" * BIG,
         idle=expect("fallback suggest", "fallback suggest", first="too_long"),
         flow=expect("step", "reprompt", first="too_long")),
    Case("control and bidi around a question",
         {l: "\u202e\x00" + q + "\u202c\x07\u2066\x1b\u2069" for l, q in QUESTION.items()}, idle=ANSWER, flow=ANSWER),
    Case("HTML around a question", {l: f"<b>{q}</b><script>alert(1)</script>" for l, q in QUESTION.items()},
         idle=ANSWER, flow=ANSWER, absent=("<script", "<b>")),
    Case("HTML only", "<script>alert(1)</script><img src=x onerror=alert(1)>", idle=MISS, flow=REPROMPT,
         absent=("<script", "<img")),
    Case("template expression", "{{ 7*7 }}", idle=MISS, flow=REPROMPT, absent=("49",)),
    Case("template block", "{% if true %}{{ 7*7 }}{% endif %}{% raw %}", idle=MISS, flow=REPROMPT,
         absent=("49",)),
    Case("other template syntaxes", "${7*7} #{7*7} <%= 7*7 %> {{config}} {{ ''.__class__ }}",
         idle=MISS, flow=REPROMPT, absent=("49", "<class", "Config")),
    Case("SQL", "'; DROP TABLE users; --", idle=MISS, flow=REPROMPT),
    Case("SQL with a quote and a comment", "Robert'); DROP TABLE unanswered;--", idle=MISS, flow=REPROMPT),
    Case("a script we do not read", "مرحبا، متى المراجعة السنوية؟", idle=MISS, flow=REPROMPT),
    Case("digits only", "12345", idle=MISS, flow=REPROMPT),
    Case("zalgo", "z\u0336\u0337\u0338" * 2000, idle=MISS, flow=REPROMPT),
    Case("unknown button id", button="nope:123", idle=UNKNOWN_BUTTON, flow=UNKNOWN_BUTTON),
    Case("button for a topic that does not exist", button="topic:no-such-topic",
         idle=UNKNOWN_BUTTON, flow=UNKNOWN_BUTTON),
    Case("button for a procedure that does not exist", button="flow:no_such_flow:next@1234",
         idle=UNKNOWN_BUTTON, flow=expect("error step", "unknown_button old_button")),
    Case("button id of garbage", button="\x00\u202e💥" * 50 + ":" * 100, idle=UNKNOWN_BUTTON, flow=UNKNOWN_BUTTON),
    Case("feedback button for no topic", button="fb:up:", idle=UNKNOWN_BUTTON, flow=UNKNOWN_BUTTON),
    Case("button on an older message", button=OLD_BUTTON,
         idle=expect("error", "unknown_button"), flow=expect("step", first="old_button")),
    Case("a sticker", media="sticker", idle=expect("error", "media"), flow=expect("error", "media"), batch=False),
]
BY_NAME = {case.name: case for case in CATALOGUE}
assert len(BY_NAME) == len(CATALOGUE)

PLACE_AFTER = {"idle": None, "flow": (FLOW, STEP2)}


def params():
    return [pytest.param(name, lang, setup, id=f"{name}-{lang}-{setup}")
            for name in BY_NAME for lang in LANGS for setup in SETUPS]


def user_id(name: str, lang: str, setup: str) -> str:
    return f"{setup}-{lang}-{CATALOGUE.index(BY_NAME[name])}"


def setup_requests(user: str, lang: str, setup: str) -> list[dict]:
    requests = [{"user": user, "text": QUESTION[lang]}]
    if setup == "flow":
        requests += [{"user": user, "button": START}, {"user": user, "button": CHOOSE_ALIPAY}]
    return requests


def bad_request(case: Case, user: str, lang: str) -> dict:
    request: dict = {"user": user}
    if case.button is not None:
        request["button"] = case.button
    else:
        request["text"] = case.text_in(lang)
    return request


def place(row) -> tuple | None:
    state = row.flow_state
    return (state["flow"], state["step"]) if state else None


def whole_place(row) -> tuple | None:
    """Where the user is, with the way back and what they ticked (not bookkeeping such as 'paused')."""
    state = row.flow_state
    if not state:
        return None
    return state["flow"], state["step"], tuple(state.get("path", ())), tuple(state.get("ticked", ())), state.get("status")


def check_reply(reply: dict, case: Case, lang: str, setup: str) -> None:
    """One reply's kind, language and words, as a JSON object (Reply.to_json() or a batch line)."""
    want = case.idle if setup == "idle" else case.flow
    text = reply["text"]
    assert reply["kind"] in want.kinds, (reply["kind"], text[:200])
    assert reply["lang"] == lang, text[:200]
    assert text.strip(), "an empty reply"
    for bad in ("Traceback", "Exception", "None", "{{", "{%", *case.absent):
        assert bad not in text, (bad, text[:300])
    assert not any(unicodedata.category(c) in ("Cc", "Cf") and c not in "\n" for c in text), "control chars"
    if want.says:
        assert any(render.say(key, lang) in text for key in want.says), (want.says, text[:300])
    if want.first:
        assert text.startswith(render.say(want.first, lang)), text[:200]
    if want.topic:
        assert reply["topic"] == want.topic
    if setup == "flow":
        assert (reply["flow"], reply["step"]) == PLACE_AFTER["flow"], "the reply must say where the user still is"


# -- through the Dialogue core ------------------------------------------------------------------
@pytest.fixture(scope="module")
def built():
    return Dialogue(Store(memory=True))


@pytest.fixture
def core(built):
    d = copy.copy(built)  # shares the read-only knowledge base, procedures and matcher
    d.store = Store(memory=True)
    yield d
    d.store.close()


def run_setup(core: Dialogue, user: str, lang: str, setup: str) -> None:
    for request in setup_requests(user, lang, setup):
        reply = core.say(user, request.get("text", ""), button=request.get("button"))
        assert reply.lang == lang
    assert place(core.store.user(user)) == PLACE_AFTER[setup]


@pytest.mark.parametrize("name,lang,setup", params())
def test_dialogue(core, name, lang, setup):
    case = BY_NAME[name]
    user = user_id(name, lang, setup)
    run_setup(core, user, lang, setup)
    before = core.store.user(user)

    replies = [core.handle(Message(user=user, text=case.text_in(lang) if case.button is None else "",
                                   button=case.button, media=case.media))]

    assert len(replies) == 1
    check_reply(replies[0].to_json(), case, lang, setup)
    after = core.store.user(user)
    assert (after.lang, whole_place(after)) == (before.lang, whole_place(before))
    assert place(after) == PLACE_AFTER[setup]
    assert "users" in core.store.db.table_names() and "unanswered" in core.store.db.table_names()


def test_template_is_never_evaluated_even_when_echoed(core):
    """The escalation summary repeats what the user asked: as words, never as a template."""
    for text in ("{{ 7*7 }}", "<b>{% if true %}{{ 7*7 }}{% endif %}</b> & &amp;"):
        reply = core.say("echo", text)
    assert reply.kind == "fallback"
    assert "{{ 7*7 }}" in reply.text and "<b>{% if true %}{{ 7*7 }}{% endif %}</b> & &amp;" in reply.text
    assert "49" not in reply.text
    try:
        from bot.channels.telegram_format import to_html
    except ImportError:  # the Telegram channel is optional here
        return
    html = to_html(reply.text)
    assert "<b>" not in html and "&lt;b&gt;" in html and "&amp;amp;" in html


def test_sql_text_is_stored_as_words(core):
    core.say("sql", QUESTION["es"])
    core.say("sql", "'; DROP TABLE users; --")
    core.say("sql", "Robert'); DROP TABLE unanswered;--")
    texts = [row["text"] for row in core.store.unanswered()]
    assert texts == ["'; DROP TABLE users; --", "Robert'); DROP TABLE unanswered;--"]
    assert core.store.user("sql").lang == "es"


def test_personal_number_is_noted_and_never_stored(core):
    core.say("pn", QUESTION["zh"])
    reply = core.say("pn", "我的身份证号是11010519491231002X，手机13812345678，我的社保卡丢了怎么办")
    assert reply.lang == "zh" and reply.text.startswith(render.say("personal_number", "zh"))
    dump = "\n".join(core.store.db.iterdump())
    assert "11010519491231002X" not in dump and "13812345678" not in dump


def test_a_bad_lang_hint_is_ignored(core):
    core.say("hint", QUESTION["es"])
    reply = core.handle(Message(user="hint", text="", lang_hint="klingon-\u202e"))
    assert (reply.kind, reply.lang) == ("error", "es")


def test_a_failure_inside_the_core_still_gets_one_polite_reply(core, monkeypatch):
    core.say("boom", QUESTION["en"])
    core.say("boom", button=START)

    def broken(*args, **kwargs):
        raise RuntimeError("the matcher broke")

    monkeypatch.setattr(core, "matcher", copy.copy(core.matcher))
    monkeypatch.setattr(core.matcher, "score", broken)
    reply = core.say("boom", "what documents do I need?")
    assert reply.kind == "error" and reply.text == render.say("error", "en")
    assert place(core.store.user("boom")) == (FLOW, STEP1)


def test_a_failure_inside_the_core_answers_in_the_users_language(core, monkeypatch):
    core.say("boom", QUESTION["es"])
    core.say("boom", button=START)

    def broken(*args, **kwargs):
        raise RuntimeError("the matcher broke")

    monkeypatch.setattr(core, "matcher", copy.copy(core.matcher))
    monkeypatch.setattr(core.matcher, "score", broken)
    reply = core.say("boom", "¿qué documentos necesito?")
    assert (reply.kind, reply.lang, reply.flow, reply.step) == ("error", "es", FLOW, STEP1)


# -- through the batch subprocess ----------------------------------------------------------------
def run_batch(db: Path, lines: list[str]) -> list[dict]:
    """Each line in, the reply lines out (the process must end cleanly)."""
    done = subprocess.run([sys.executable, "-m", "bot.cli", "batch", "--db", str(db)], cwd=ROOT,
                          input="".join(line + "\n" for line in lines).encode("utf-8", "surrogateescape"),
                          capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr.decode("utf-8", "replace")[-2000:]
    out = done.stdout.decode("utf-8").splitlines()
    return [json.loads(line) for line in out]


# Requests a broken client can send; `user` in the name says the line names a known user.
PROTOCOL = {
    "not JSON": "{not json",
    "truncated JSON": '{"user": "proto-en", "text": "When is',
    "a JSON array": '["proto-en", "hello"]',
    "a JSON string": '"When is the annual review?"',
    "JSON null": "null",
    "an empty object": "{}",
    "no user": '{"text": "When is the annual review?"}',
    "an empty user": '{"user": "  ", "text": "hi"}',
    "a user that is a list": '{"user": ["a"], "text": "hi"}',
    "a user that is true": '{"user": true, "text": "hi"}',
    "user: no text": '{"user": "%s"}',
    "user: text is a number": '{"user": "%s", "text": 7}',
    "user: text is an object": '{"user": "%s", "text": {"q": "hi"}}',
    "user: lang is a number": '{"user": "%s", "text": "hi", "lang": 5}',
    "user: button is a list": '{"user": "%s", "button": ["flow:annual_review:next"]}',
    "invalid UTF-8": b'\xff\xfe{"user": "proto-en", "text": "hi"}'.decode("utf-8", "surrogateescape"),
    "a NUL byte": '\x00{"user": "proto-en", "text": "hi"}',
}


@pytest.fixture(scope="module")
def batch_run(tmp_path_factory):
    """Set every catalogue user up in one batch process, send the bad input from a second one."""
    db = tmp_path_factory.mktemp("batch") / "socialbot.db"
    cases = [(name, lang, setup) for name in BY_NAME for lang in LANGS for setup in SETUPS if BY_NAME[name].batch]
    setup_lines = [json.dumps(r, ensure_ascii=False)
                   for name, lang, setup in cases for r in setup_requests(user_id(name, lang, setup), lang, setup)]
    for lang in LANGS:
        for setup in SETUPS:
            setup_lines += [json.dumps(r, ensure_ascii=False) for r in setup_requests(f"proto-{lang}-{setup}", lang, setup)]
    first = run_batch(db, setup_lines)
    assert len(first) == len(setup_lines)
    store = Store(db)
    before = {u: store.user(u) for u in {json.loads(line)["user"] for line in setup_lines}}
    store.close()

    bad_lines = [json.dumps(bad_request(BY_NAME[name], user_id(name, lang, setup), lang), ensure_ascii=False)
                 for name, lang, setup in cases]
    protocol = [(name, lang, setup) for name in PROTOCOL for lang in LANGS for setup in SETUPS]
    for name, lang, setup in protocol:
        line = PROTOCOL[name]
        bad_lines.append(line % f"proto-{lang}-{setup}" if name.startswith("user:") else line)
    second = run_batch(db, bad_lines)
    store = Store(db)
    after = {u: store.user(u) for u in before}
    integrity = store.check()
    store.close()
    replies = dict(zip(cases, second))
    replies.update(zip((("protocol",) + key for key in protocol), second[len(cases):]))
    return {"lines": bad_lines, "out": second, "replies": replies, "before": before, "after": after,
            "integrity": integrity}


def test_batch_one_reply_line_per_request(batch_run):
    assert len(batch_run["out"]) == len(batch_run["lines"])
    assert batch_run["integrity"] == "ok"


@pytest.mark.parametrize("name,lang,setup", [p for p in params() if BY_NAME[p.values[0]].batch])
def test_batch(batch_run, name, lang, setup):
    user = user_id(name, lang, setup)
    reply = batch_run["replies"][(name, lang, setup)]
    assert reply["user"] == user and "error" not in reply
    check_reply(reply, BY_NAME[name], lang, setup)
    before, after = batch_run["before"][user], batch_run["after"][user]
    assert (after.lang, whole_place(after)) == (before.lang, whole_place(before))
    assert (after.lang, place(after)) == (lang, PLACE_AFTER[setup])


@pytest.mark.parametrize("name", list(PROTOCOL))
def test_batch_protocol_errors(batch_run, name):
    for lang in LANGS:
        for setup in SETUPS:
            reply = batch_run["replies"][("protocol", name, lang, setup)]
            assert reply["kind"] == "error" and reply["error"], reply
            assert reply["text"].strip() and reply["fallback"] is False
            assert set(reply) >= {"user", "text", "buttons", "lang", "kind", "topic", "flow", "step"}
            user = f"proto-{lang}-{setup}"
            before, after = batch_run["before"][user], batch_run["after"][user]
            assert (after.lang, whole_place(after)) == (before.lang, whole_place(before))
            assert (after.lang, place(after)) == (lang, PLACE_AFTER[setup])


def test_batch_protocol_errors_in_the_users_language(batch_run):
    for name in (n for n in PROTOCOL if n.startswith("user:")):
        for lang in LANGS:
            for setup in SETUPS:
                reply = batch_run["replies"][("protocol", name, lang, setup)]
                assert reply["lang"] == lang and reply["user"] == f"proto-{lang}-{setup}", (name, reply)


def test_batch_goes_on_after_a_line_it_cannot_read(tmp_path):
    lines = ["{broken", json.dumps({"user": "u", "text": QUESTION["zh"]}, ensure_ascii=False), "[]",
             json.dumps({"user": "u", "text": "12345"}),
             b'{"user": "u", "text": "\xff\xfe 12345"}'.decode("utf-8", "surrogateescape")]
    out = run_batch(tmp_path / "db.sqlite", lines)
    assert [r["kind"] for r in out] == ["error", "answer", "error", "fallback", "fallback"]
    assert "error" in out[0] and "error" in out[2] and out[3]["lang"] == "zh"
    assert out[4]["lang"] == "zh" and "error" not in out[4]  # undecodable bytes read as U+FFFD, then answered


def test_batch_survives_a_lone_surrogate(tmp_path):
    lines = ['{"user": "\\ud800", "text": "hi"}', '{"user": "u", "text": "\\udfff When is the annual review?"}',
             json.dumps({"user": "u2", "text": QUESTION["en"]})]
    out = run_batch(tmp_path / "db.sqlite", lines)
    assert len(out) == 3 and out[2]["kind"] == "answer"
