"""After two misses in a row, or when the user asks for a person, the bot points to the local social
security bureau and gives a short summary of what the user asked (masked), for the counter."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot import render
from bot.buttons import step_tag
from bot.store import RECENT

ROOT = Path(__file__).resolve().parent.parent
QUESTION = {"en": "When is the annual review?", "es": "¿Cuándo es la revisión anual?", "zh": "社保年审是几月份？"}
MISSES = {
    "en": ["How do I bake bread?", "Where can I buy a cheap bicycle?"],
    "es": ["¿Cómo se cocina una paella?", "¿Dónde compro una bicicleta barata?"],
    "zh": ["怎么烤面包？", "哪里能买便宜的自行车？"],
}
PERSON = {"en": ["talk to a person", "Can I speak to someone?", "I want a real person"],
          "es": ["hablar con una persona", "quiero hablar con alguien", "¿me pasas con un operador?"],
          "zh": ["转人工", "我要找人工客服", "能找个真人吗"]}
WITH_NUMBERS = {
    "en": "my ID is 11010519491231002X and my phone 13812345678, why was my pension stopped?",
    "es": "mi documento es 11010519491231002X y mi móvil 13812345678, ¿por qué me quitaron la pensión?",
    "zh": "我的身份证11010519491231002X，手机13812345678，为什么养老金停发了？",
}
MASKED = ("[ID:***002X]", "[PHONE:***5678]")


@pytest.fixture
def core(dialogue):
    """conftest's dialogue: built once, a fresh in-memory store per test."""
    return dialogue


def summary(text: str) -> list[str]:
    return [line[2:] for line in text.splitlines() if line.startswith("- ")]


def assert_escalation(reply, lang: str, asked: list[str]) -> None:
    assert (reply.kind, reply.lang, reply.fallback) == ("fallback", lang, True)
    assert render.say("bureau", lang) in reply.text  # the local bureau's guidance
    if asked:
        assert render.say("escalate", lang) in reply.text
        assert summary(reply.text) == asked
    else:
        assert render.say("escalate_short", lang) in reply.text and summary(reply.text) == []


@pytest.mark.parametrize("lang", QUESTION)
def test_two_misses_in_a_row(core, lang):
    first = core.say("u", MISSES[lang][0])
    assert first.kind in ("fallback", "suggest") and render.say("escalate", lang) not in first.text
    if first.kind == "suggest":
        pytest.skip("the matcher offered topics for the first miss")
    second = core.say("u", MISSES[lang][1])
    assert_escalation(second, lang, MISSES[lang])


@pytest.mark.parametrize("lang", QUESTION)
def test_a_miss_an_answer_and_a_miss_is_not_escalated(core, lang):
    core.say("u", MISSES[lang][0])
    assert core.say("u", QUESTION[lang]).kind == "answer"
    reply = core.say("u", MISSES[lang][1])
    assert reply.kind == "fallback" and render.say("escalate", lang) not in reply.text


@pytest.mark.parametrize("lang", QUESTION)
def test_after_an_escalation_the_count_starts_again(core, lang):
    for text in MISSES[lang]:
        core.say("u", text)
    reply = core.say("u", MISSES[lang][0])
    assert reply.kind == "fallback" and render.say("escalate", lang) not in reply.text


@pytest.mark.parametrize("lang", QUESTION)
@pytest.mark.parametrize("n", range(3))
def test_asking_for_a_person(core, lang, n):
    core.say("u", QUESTION[lang])
    reply = core.say("u", PERSON[lang][n])
    assert_escalation(reply, lang, [QUESTION[lang]])


@pytest.mark.parametrize("lang", QUESTION)
def test_asking_for_a_person_first_thing(core, lang):
    assert_escalation(core.say("u", PERSON[lang][0]), lang, [])


@pytest.mark.parametrize("lang", QUESTION)
def test_the_summary_is_masked(core, lang):
    core.say("u", QUESTION[lang])
    core.say("u", WITH_NUMBERS[lang])
    reply = core.say("u", PERSON[lang][0])
    asked = summary(reply.text)
    assert asked[0] == QUESTION[lang] and all(m in asked[1] for m in MASKED)
    assert "11010519491231002X" not in reply.text and "13812345678" not in reply.text
    dump = "\n".join(core.store.db.iterdump())
    assert "11010519491231002X" not in dump and "13812345678" not in dump


def test_the_summary_is_short(core):
    questions = [f"question number {i} about bread and bicycles" for i in range(RECENT + 3)]
    for q in questions:
        core.say("u", q)
    reply = core.say("u", "talk to a person")
    assert summary(reply.text) == questions[-RECENT:]


@pytest.mark.parametrize("lang", QUESTION)
def test_two_misses_inside_a_procedure_keep_the_place(core, lang):
    core.say("u", QUESTION[lang])
    core.say("u", button="flow:annual_review:start")
    core.say("u", button="flow:annual_review:choose:alipay" + step_tag("route"))
    for text in MISSES[lang]:
        reply = core.say("u", text)
    assert render.say("bureau", lang) in reply.text and reply.lang == lang
    assert (reply.flow, reply.step) == ("annual_review", "alipay_more")
    assert core.store.user("u").flow_state["step"] == "alipay_more"
    reply = core.say("u", {"en": "next", "es": "siguiente", "zh": "下一步"}[lang])
    assert (reply.kind, reply.step) == ("step", "alipay_city")


def test_asking_for_a_person_inside_a_procedure_keeps_the_place(core):
    core.say("u", QUESTION["es"])
    core.say("u", button="flow:annual_review:start")
    reply = core.say("u", "quiero hablar con una persona")
    assert (reply.kind, reply.lang, reply.flow, reply.step) == ("fallback", "es", "annual_review", "route")
    assert core.store.user("u").flow_state["step"] == "route"


def test_escalation_through_batch(tmp_path):
    lines = []
    for lang in QUESTION:
        lines += [{"user": f"m-{lang}", "text": t} for t in MISSES[lang]]
        lines += [{"user": f"p-{lang}", "text": WITH_NUMBERS[lang]}, {"user": f"p-{lang}", "text": PERSON[lang][0]}]
    done = subprocess.run([sys.executable, "-m", "bot.cli", "batch", "--db", str(tmp_path / "db.sqlite")], cwd=ROOT,
                          input="".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines),
                          capture_output=True, text=True, encoding="utf-8", timeout=120)
    assert done.returncode == 0, done.stderr
    out = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(out) == len(lines)
    for lang in QUESTION:
        replies = [r for r in out if r["user"].endswith(lang)]
        miss, person = replies[1], replies[3]
        for reply in (miss, person):
            assert (reply["kind"], reply["lang"], reply["fallback"]) == ("fallback", lang, True)
            assert render.say("bureau", lang) in reply["text"]
        assert summary(miss["text"]) == MISSES[lang]
        assert all(m in person["text"] for m in MASKED) and "13812345678" not in person["text"]
