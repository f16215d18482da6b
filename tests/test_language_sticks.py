"""The chosen language sticks: a user who chose Español keeps Spanish when they quote a Chinese label
or type only a name; only a whole message clearly in another language switches, and then the bot
says so, with a button back. Detection stays pure (knowledge/language.py); the dialogue decides."""
from __future__ import annotations

import pytest

from bot import render
from bot.reply_language import choose, quoted_terms
from knowledge.language import detect

QUOTES = ["dónde está 城市服务?", "支付宝", "「支付宝」", "¿y dónde pulso 更多?", "Alipay", "ok", "123"]
WHOLE = {"en": "When is the annual review?", "es": "¿Cuándo es la revisión anual?", "zh": "社保年审是几月份？"}


def chose(dialogue, user: str, lang: str, how: str) -> None:
    reply = dialogue.say(user, f"/language {lang}") if how == "command" else dialogue.say(user, button=f"lang:{lang}")
    assert reply.lang == lang and dialogue.store.user(user).lang_chosen


@pytest.mark.parametrize("how", ["command", "button"])
@pytest.mark.parametrize("text", QUOTES)
def test_spanish_chosen_stays_spanish_through_a_quoted_label_or_a_name(dialogue, how, text):
    chose(dialogue, "u", "es", how)
    reply = dialogue.say("u", text)
    assert reply.lang == "es", (text, reply.text[:200])
    assert render.say("language_switched", "zh") not in reply.text
    assert not any(b.id.startswith("lang:") for b in reply.buttons)


def test_detection_itself_is_unchanged(dialogue):
    """What the text looks like is still said plainly: the sticking is the dialogue's decision."""
    assert detect("dónde está 城市服务?") == "zh" and detect("支付宝") == "zh"


def test_an_option_label_in_chinese_inside_a_procedure_keeps_spanish(dialogue):
    chose(dialogue, "u", "es", "command")
    dialogue.say("u", button="flow:annual_review:start")
    reply = dialogue.say("u", "支付宝")
    assert (reply.kind, reply.step, reply.lang) == ("step", "alipay_more", "es")
    assert "Paso 1 de" in reply.text


@pytest.mark.parametrize("chosen,other", [("es", "zh"), ("es", "en"), ("en", "es"), ("zh", "en"), ("en", "zh")])
def test_a_whole_message_in_another_language_switches_says_so_and_offers_the_way_back(dialogue, chosen, other):
    chose(dialogue, "u", chosen, "command")
    reply = dialogue.say("u", WHOLE[other])
    assert reply.lang == other and reply.kind == "answer"
    assert reply.text.startswith(render.say("language_switched", other))
    back = reply.buttons[0]  # first: it goes with the note at the top
    assert (back.id, back.label) == (f"lang:{chosen}", render.say("switch_back", chosen))
    again = dialogue.say("u", back.label)  # typing the label is pressing it
    assert again.lang == chosen and render.say("language_set", chosen) in again.text
    assert render.say("language_switched", chosen) not in again.text


def test_after_a_switch_the_new_language_sticks_in_turn(dialogue):
    chose(dialogue, "u", "es", "command")
    dialogue.say("u", WHOLE["zh"])
    reply = dialogue.say("u", "Alipay")
    assert reply.lang == "zh" and render.say("language_switched", "zh") not in reply.text


def test_a_step_word_of_another_language_switches_and_says_so(dialogue):
    chose(dialogue, "u", "es", "command")
    dialogue.say("u", button="flow:personal_payment:start")
    reply = dialogue.say("u", "取消")
    assert (reply.kind, reply.lang, reply.flow) == ("command", "zh", None)
    assert render.say("language_switched", "zh") in reply.text
    assert any(b.id == "lang:es" for b in reply.buttons)


def test_without_a_choice_each_message_is_answered_in_its_own_language(dialogue):
    for lang in ("es", "zh", "en"):
        reply = dialogue.say("u", WHOLE[lang])
        assert reply.lang == lang and render.say("language_switched", lang) not in reply.text
        assert not any(b.id.startswith("lang:") for b in reply.buttons)


@pytest.mark.parametrize("text,chosen,expected", [
    ("城市服务在哪里？", "es", "es"),  # the label, and too little else to call it Chinese
    ("我想问一下社保怎么交", "es", "zh"),
    ("where is it", "es", "en"),
    ("ok thanks", "es", "es"),
    ("siguiente", "en", "en"),
    (WHOLE["zh"], None, None),  # nothing chosen: nothing to keep
])
def test_choose(text, chosen, expected):
    assert choose(text, detect(text), chosen, quoted_terms(["pulse «城市服务»"])) == expected
