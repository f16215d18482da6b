"""A question of two parts gets both: the second answered below the first, or offered as a button
when it is not clear which topic it means; never half of it silently."""
from __future__ import annotations

import pytest

from bot.focus import parts

ALSO = {"en": "You also asked", "es": "También preguntó", "zh": "您还问"}


@pytest.mark.parametrize("text,first,second,lang", [
    ("when is the annual review? and what can the social security card be used for?",
     "review-months", "card-uses", "en"),
    ("社保年审在几月份？社保卡有什么用？", "review-months", "card-uses", "zh"),
    ("¿Cuándo es la revisión anual? ¿Y para qué sirve la tarjeta de la seguridad social?",
     "review-months", "card-uses", "es"),
])
def test_both_parts_are_answered(dialogue, text, first, second, lang):
    reply = dialogue.say("u1", text)
    assert reply.kind == "answer" and reply.topic == first and reply.lang == lang
    assert dialogue.kb.topics[first].answer[lang].strip() in reply.text
    assert dialogue.kb.topics[second].answer[lang].strip() in reply.text
    assert ALSO[lang] in reply.text


@pytest.mark.parametrize("text,lang", [
    ("What is the annual review, and how do I do it online?", "en"),
    ("社保年审是什么意思?网上怎么操作的?", "zh"),
    ("¿Qué es la revisión anual y cómo la hago por el móvil?", "es"),
])
def test_the_issues_compound_question_gets_its_second_part_at_least_as_a_button(dialogue, text, lang):
    reply = dialogue.say("u1", text)
    assert reply.kind == "answer" and reply.topic == "review-checks"
    online = {"online-certification", "annual-review-alipay", "annual-review-app"}
    second = reply.buttons[0].id.removeprefix("topic:")
    assert second in online
    title = dialogue.kb.topics[second].title[lang]
    assert title in reply.text  # said, not only drawn: the reader knows the second part was heard
    pressed = dialogue.say("u1", title)
    assert pressed.kind == "answer" and pressed.topic == second


@pytest.mark.parametrize("text", [
    "when is the annual review?",
    "hello hello?? anyone there. first time using this thing",
    "网上认证说要拍身份证再拍人脸照片，请问具体步骤是怎样？我第一次弄，不想请假跑社保局",
    "ok that worked!! finally got it done. thanks",
])
def test_one_question_with_its_story_is_not_split(text):
    assert parts(text) == []


def test_a_single_question_gets_one_answer(dialogue):
    reply = dialogue.say("u1", "what can the social security card be used for?")
    assert reply.topic == "card-uses" and ALSO["en"] not in reply.text


def test_through_batch_both_parts(shared_batch):
    reply = shared_batch.ask({"user": "compound-1", "text": "社保年审在几月份？社保卡有什么用？"})
    assert reply["kind"] == "answer" and reply["topic"] == "review-months"
    assert "您还问" in reply["text"]


@pytest.mark.parametrize("text,topic,gap,lang", [
    ("how do i pay social insurance myself, and how much is it each month?", "personal-payment",
     "uncovered-amounts", "en"),
    ("¿cómo pago la seguridad social por mi cuenta, y cuánto dinero es al mes?", "personal-payment",
     "uncovered-amounts", "es"),
    ("社保卡有什么用？每个月能领多少钱？", "card-uses", "uncovered-amounts", "zh"),
])
def test_a_part_beyond_the_documents_is_said_not_dropped(dialogue, text, topic, gap, lang):
    reply = dialogue.say("u1", text)
    assert reply.kind == "answer" and reply.topic == topic
    assert dialogue.kb.topics[topic].answer[lang].strip() in reply.text
    assert dialogue.kb.topics[gap].answer[lang].strip() in reply.text  # the gap, said plainly
    (row,) = dialogue.store.unanswered()
    assert row["known"] == gap  # and seen by curators


@pytest.mark.parametrize("text,lang", [("qué porcentaje pone el trabajador y cuál la empresa en el seguro social", "es"),
                                       ("个人交百分之几，单位交多少？", "zh")])
def test_an_ellipsis_after_a_gap_is_part_of_the_gap_not_a_question_to_answer(dialogue, text, lang):
    """"...and which the company?" leans on the percentage before it: both are the gap."""
    reply = dialogue.say("u1", text)
    assert (reply.kind, reply.topic, reply.lang) == ("fallback", None, lang)
    assert dialogue.kb.topics["uncovered-amounts"].answer[lang].strip() in reply.text
