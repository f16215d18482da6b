"""What people say first: a greeting around a question, a request for a language, a report of trouble,
a person speaking of themselves. Each is understood as what it is, in all three languages."""
from __future__ import annotations

import pytest


@pytest.mark.parametrize("text,lang", [
    ("can you speak spanish", "es"),
    ("en español por favor", "es"),
    ("¿habla español?", "es"),
    ("说中文", "zh"),
    ("请用中文回答", "zh"),
    ("can you reply in chinese please", "zh"),
    ("in english please", "en"),
    ("¿me puede hablar en inglés?", "en"),
    ("可以说英语吗", "en"),
])
def test_a_request_for_a_language_switches_to_it(dialogue, text, lang):
    reply = dialogue.say("u1", text)
    assert reply.kind == "command" and not reply.fallback
    assert reply.lang == lang
    assert dialogue.store.user("u1").lang == lang


def test_after_a_language_request_the_next_reply_is_in_that_language(dialogue):
    dialogue.say("u1", "can you speak spanish")
    assert dialogue.say("u1", "ok").lang == "es"


@pytest.mark.parametrize("text", [
    "how do you say annual review in chinese and when is it",
    "I am from Spain, is the Spanish social security the same as in China?",
])
def test_a_question_that_merely_names_a_language_is_not_a_request(dialogue, text):
    assert dialogue.say("u1", text).kind != "command"


@pytest.mark.parametrize("text,topic", [
    ("hi there, what documents does a company need for the annual review", "review-materials-process"),
    ("hola buenas, ¿para qué sirve la tarjeta de la seguridad social?", "card-uses"),
    ("您好，请问社保卡有什么用", "card-uses"),
    ("thank you! one more: can i pay social insurance myself", "personal-payment"),
    ("gracias, y ¿cómo pago el seguro social por mi cuenta?", "personal-payment"),
    ("谢谢，那个人怎么交社保", "personal-payment"),
    ("hello, when is the annual review", "review-months"),
])
def test_a_greeting_or_thanks_never_hides_the_question(dialogue, text, topic):
    reply = dialogue.say("u1", text)
    assert reply.kind == "answer" and reply.topic == topic


def test_a_greeting_with_a_question_about_a_gap_is_told_the_gap(dialogue):
    reply = dialogue.say("u1", "hi, can a family member do the review for my mom?")
    assert reply.kind == "fallback" and reply.topic is None
    assert dialogue.kb.topics["uncovered-on-behalf"].answer["en"].strip() in reply.text
    assert "Hello, welcome" not in reply.text


@pytest.mark.parametrize("text,topic", [("hello", "greeting"), ("hola", "greeting"), ("你好", "greeting"),
                                        ("thanks", "thanks"), ("gracias", "thanks"), ("谢谢", "thanks"),
                                        ("hello hello?? anyone there", "greeting")])
def test_a_greeting_alone_is_still_greeted(dialogue, text, topic):
    assert dialogue.say("u1", text).topic == topic


@pytest.mark.parametrize("text,lang", [
    ("it says my face doesnt match, third time", "en"),
    ("my id card photo keeps failing", "en"),
    ("la foto de mi cara no coincide, ya es la tercera vez", "es"),
    ("no me reconoce el rostro, me sale error", "es"),
    ("人脸识别一直不通过，试了三次了", "zh"),
    ("刷脸老是失败怎么办", "zh"),
])
def test_a_report_of_trouble_gets_the_certification_problems_topic(dialogue, text, lang):
    reply = dialogue.say("u1", text)
    assert reply.kind == "answer" and reply.topic == "certification-problems" and reply.lang == lang


def test_an_error_in_the_company_client_stays_with_the_client(dialogue):
    reply = dialogue.say("u1", "the social security client software shows an error when I submit the declaration")
    assert reply.topic == "client-declaration"


EMPLOYER = {"new-employer-account", "review-materials-process", "client-declaration"}


@pytest.mark.parametrize("text,lang", [
    ("你好，我今年七十岁了，第一次弄这个年审，不太会用手机", "zh"),
    ("first time doing the annual review, im 70 and not good with phones", "en"),
    ("tengo 72 años y es la primera vez que hago la revisión anual, no sé usar bien el móvil", "es"),
])
def test_a_personal_question_never_gets_an_employers_procedure(dialogue, text, lang):
    reply = dialogue.say("u1", text)
    assert reply.topic not in EMPLOYER and reply.lang == lang
    assert not any(dialogue.kb.topics[t].answer[lang].strip() in reply.text for t in EMPLOYER)


def test_unsure_between_a_guess_and_nothing_it_asks(dialogue):
    reply = dialogue.say("u1", "你好，我今年七十岁了，第一次弄这个年审，不太会用手机")
    assert reply.kind == "suggest" and reply.fallback
    assert [b.label for b in reply.buttons] == ["是的", "不是"]
    guess = reply.buttons[0].id.removeprefix("pick:")
    assert dialogue.kb.topics[guess].title["zh"] in reply.text and guess not in EMPLOYER
    yes = dialogue.say("u1", "是的")  # typing the label presses it
    assert yes.kind == "answer" and yes.topic == guess
    (row,) = dialogue.store.unanswered()
    assert row["chosen"] == guess


def test_no_to_the_guess_is_an_honest_fallback(dialogue):
    dialogue.say("u1", "first time doing the annual review, im 70 and not good with phones")
    reply = dialogue.say("u1", "No")
    assert reply.kind == "fallback" and reply.fallback and reply.topic is None
    assert "bureau" in reply.text


def test_an_employer_question_still_gets_the_employers_procedure(dialogue):
    # the speaker says "I" and "first time", and names the company: the company's procedure is right
    reply = dialogue.say("u1", "我今年第一次负责公司的社保年审，要准备什么材料")
    assert reply.kind == "answer" and reply.topic in EMPLOYER


@pytest.mark.parametrize("text", ["can I pay by WeChat", "¿puedo pagar con WeChat?", "可以用微信交社保吗"])
def test_paying_by_wechat_never_gets_the_annual_review(dialogue, text):
    reply = dialogue.say("u1", text)
    assert reply.topic is None and reply.fallback
    assert not (reply.topic or "").startswith("annual-review")


@pytest.mark.parametrize("text,kind,topic", [
    ("can you speak spanish", "command", None),
    ("it says my face doesnt match, third time", "answer", "certification-problems"),
    ("hi, can a family member do the review for my mom?", "fallback", None),
])
def test_through_batch(shared_batch, text, kind, topic):
    reply = shared_batch.ask({"user": f"first-{text}", "text": text})
    assert reply["kind"] == kind and reply["topic"] == topic
