"""Phone habits (issue 12, item 10): a voice note or a sticker is not a dead end, "嗯" / "ok" / "vale"
after a step mean next, and a crying face after a certification step gets the troubleshooting topic."""
from __future__ import annotations

import pytest

from bot import render

GUIDE = {"en": "walk me through the annual review on my phone", "es": "guíeme paso a paso en la revisión anual con el móvil",
         "zh": "带我一步步用手机办理年审"}


@pytest.mark.parametrize("lang", ["en", "es", "zh"])
@pytest.mark.parametrize("kind", ["voice", "sticker", "photo"])
def test_media_gets_the_dictation_hint_and_buttons_to_go_on(dialogue, lang, kind):
    dialogue.say("u1", "/start", lang=lang)
    reply = dialogue.say("u1", media=kind, lang=lang)
    assert reply.lang == lang and render.say("media", lang) in reply.text and "🎤" in reply.text
    assert len(reply.buttons) >= 3  # the main topics: a tap instead of a dead end


def test_media_inside_a_procedure_keeps_the_place_and_offers_its_buttons(dialogue):
    step = dialogue.say("u2", GUIDE["en"])
    reply = dialogue.say("u2", media="voice")
    assert [b.id for b in reply.buttons] == [b.id for b in step.buttons]
    assert dialogue.say("u2", "Alipay").kind == "step"


@pytest.mark.parametrize("lang, word", [("zh", "嗯"), ("zh", "好的"), ("en", "ok"), ("es", "vale")])
def test_a_short_yes_after_a_step_means_next(dialogue, lang, word):
    dialogue.say("u3", GUIDE[lang])
    at = dialogue.say("u3", {"en": "Alipay", "es": "Alipay", "zh": "支付宝"}[lang])
    after = dialogue.say("u3", word)
    assert after.kind == "step" and after.flow == at.flow and after.step != at.step


@pytest.mark.parametrize("faces", ["😭", "😭😭😭", "😢 😞", "☹️"])
def test_a_crying_face_in_the_certification_procedure_gets_the_troubleshooting_topic(dialogue, faces):
    dialogue.say("u4", GUIDE["en"])
    reply = dialogue.say("u4", faces)
    assert reply.kind == "answer" and reply.topic == "certification-problems"
    assert reply.flow == "annual_review"  # the place is kept: Continue is offered first
    assert dialogue.say("u4", "Continue").kind == "step"


def test_a_crying_face_after_a_certification_answer_gets_the_troubleshooting_topic(dialogue):
    dialogue.say("u5", "How do I do the annual review in Alipay?")
    assert dialogue.say("u5", "😭").topic == "certification-problems"


def test_a_crying_face_with_no_certification_before_is_not_guessed_at(dialogue):
    assert dialogue.say("u6", "😭").topic != "certification-problems"
