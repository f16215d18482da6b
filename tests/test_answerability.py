"""An answer must account for what was asked: a question about something the nearest topic never
speaks of (the subsidy, a refund, a fingerprint, someone else's phone, WeChat) is told what the
documents do not say, pointed to the bureau, shown what we do know, and recorded for curators."""
from __future__ import annotations

import pytest

BUREAU = {"en": "bureau", "es": "oficina", "zh": "社保"}

# (question, its language, the gap it falls into, the neighbour it must not be answered with)
GAPS = [
    # the issue's own examples
    ("社保补贴每年几月到账", "zh", "uncovered-payouts", "review-months"),
    ("社保局退医保多久到账", "zh", "uncovered-payouts", "art58-registration"),
    ("在手机认证成功了还需要再回去按指纹吗", "zh", "uncovered-after-certification", "online-certification"),
    ("老人家不会用,用别人手机可以注册吗", "zh", "uncovered-on-behalf", "green-channel"),
    ("can I pay by WeChat", "en", "uncovered-other-apps", "card-uses"),
    # our own words
    ("what month is the yearly subsidy paid out", "en", "uncovered-payouts", "review-months"),
    ("¿en qué mes pagan el subsidio cada año?", "es", "uncovered-payouts", "review-months"),
    ("do i have to go press my fingerprint after the online certification worked", "en",
     "uncovered-after-certification", "online-certification"),
    ("después de la certificación en línea, ¿tengo que ir a poner la huella?", "es",
     "uncovered-after-certification", "online-certification"),
    ("my grandpa cant use a smartphone, can he register with someone elses phone", "en",
     "uncovered-on-behalf", "green-channel"),
    ("¿se puede hacer la revisión anual en WeChat?", "es", "uncovered-other-apps", "annual-review-alipay"),
    ("年审能在微信上做吗", "zh", "uncovered-other-apps", "annual-review-alipay"),
    ("社保个人部分每项扣百分之几", "zh", "uncovered-amounts", "art60-employer-duties"),
    ("how many working days until my new social security card is ready", "en", "uncovered-waiting-times",
     "labor-security-card"),
    ("养老保险是从哪一年开始实行的", "zh", "uncovered-policy-changes", "art12-pension"),
    ("¿hay normas nuevas este año para la certificación de jubilados?", "es", "uncovered-policy-changes",
     "online-certification"),
    ("12306刷脸认证一直失败怎么办", "zh", "uncovered-other-apps", "certification-problems"),
    # the card's own errands, labour law, a missed review, tax: what real questions show people ask
    ("I can't remember my social security card's password, what do I do?", "en", "uncovered-card-services",
     "client-declaration"),
    ("我的电子社保卡还没激活，要去哪里弄", "zh", "uncovered-card-services", "card-uses"),
    ("¿cómo activo la tarjeta de la seguridad social que me acaban de dar?", "es", "uncovered-card-services",
     "card-uses"),
    ("半年的合同，试用期最长可以定多久？", "zh", "uncovered-labor-contracts", "art58-registration"),
    ("what is the longest probation my employer can give me", "en", "uncovered-labor-contracts",
     "art58-registration"),
    ("I missed the review this year, is it too late now?", "en", "uncovered-missed-deadline", "review-months"),
    ("今年的社保年审错过了，还能补吗", "zh", "uncovered-missed-deadline", "review-months"),
    ("¿tengo que declarar mi pensión a hacienda como ingreso?", "es", "uncovered-tax-income", "art12-pension"),
    ("交社保以后个税怎么报", "zh", "uncovered-tax-income", "funding"),
    ("认证到一半软件就闪退了", "zh", "uncovered-app-trouble", "online-certification"),
    ("the client software asks me for a digital certificate, where do i get one", "en", "uncovered-app-trouble",
     "client-declaration"),
    ("¿qué día del mes me cobran la cuota de la seguridad social?", "es", "uncovered-payment-dates",
     "personal-payment"),
    ("单位的社保每月几号之前要交", "zh", "uncovered-payment-dates", "art60-employer-duties"),
    ("do civil servants have to do the social security annual review too?", "en", "uncovered-public-sector",
     "review-checks"),
    ("生育保险和医疗保险合并了是怎么回事", "zh", "uncovered-policy-changes", "five-programs"),
    ("新农合在哪里交", "zh", "uncovered-other-schemes", "personal-payment"),
    ("how do i take money out of my housing provident fund", "en", "uncovered-other-schemes", "uncovered-services"),
    ("soy extranjero y trabajo en Cantón, ¿me toca pagar la seguridad social?", "es", "uncovered-foreigners",
     "funding"),
    ("社保缴费比例是多少，单位和个人各占多少", "zh", "uncovered-amounts", "art12-pension"),
    ("I can't log in to the social security client, I forgot my password", "en", "uncovered-app-trouble",
     "client-declaration"),
    ("社保客户端的登录密码忘了怎么找回", "zh", "uncovered-app-trouble", "client-declaration"),
    ("my father passed away, what happens to his pension account", "en", "uncovered-services", "art12-pension"),
    ("在外地住院了，医保怎么报销", "zh", "uncovered-services", "five-programs"),
    ("产假有几天，生育保险怎么领", "zh", "uncovered-labor-contracts", "five-programs"),
]


@pytest.mark.parametrize("text,lang,gap,neighbour", GAPS)
def test_a_question_about_a_gap_is_not_answered_with_the_neighbouring_topic(dialogue, text, lang, gap, neighbour):
    reply = dialogue.say("u1", text)
    assert reply.lang == lang
    assert reply.kind == "fallback" and reply.fallback and reply.topic is None
    assert dialogue.kb.topics[gap].answer[lang].strip() in reply.text  # what the documents do not say
    assert BUREAU[lang] in reply.text


@pytest.mark.parametrize("text,lang,gap,neighbour", GAPS)
def test_the_gap_is_recorded_for_curators(dialogue, text, lang, gap, neighbour):
    dialogue.say("u1", text)
    (row,) = dialogue.store.unanswered()
    assert row["known"] == gap
    assert row["kind"] == "fallback"


def test_what_the_documents_do_say_is_offered_beside_the_gap(dialogue):
    reply = dialogue.say("u1", "社保补贴每年几月到账")
    assert "topic:review-months" in [b.id for b in reply.buttons]
    answer = dialogue.say("u1", "社保年审在几月份")  # the neighbour itself still gets its answer
    assert answer.kind == "answer" and answer.topic == "review-months"


@pytest.mark.parametrize("text,topic", [
    ("政府对社保有没有财政补贴", "funding"),  # the subsidy *is* what this topic speaks of
    ("社保年审一般在几月份", "review-months"),
    ("how do i do the annual review in alipay", "annual-review-alipay"),
    ("what can the social security card be used for", "card-uses"),
    ("¿cuáles son los pasos para certificarme en línea con el documento de identidad?", "online-certification"),
    ("how long does the employer have to register a new employee", "art58-registration"),  # the 30 days
])
def test_a_topic_that_speaks_of_the_thing_asked_still_answers(dialogue, text, topic):
    reply = dialogue.say("u1", text)
    assert reply.kind == "answer" and reply.topic == topic


def test_an_errand_word_the_chosen_topic_covers_keeps_the_answer(dialogue):
    # the card pays water and electricity bills: a bill here is no errand beyond us
    reply = dialogue.say("u1", "can the social security card pay the electricity and water bills")
    assert reply.kind == "answer" and reply.topic == "card-uses"


def test_an_errand_asked_through_a_covered_app_is_declined(dialogue):
    reply = dialogue.say("u1", "in alipay city service where do i pay my electricity bill")
    assert reply.fallback and reply.kind == "fallback"


def test_a_gap_inside_a_procedure_keeps_the_place(dialogue):
    dialogue.say("u1", "guide me through the annual review step by step")
    reply = dialogue.say("u1", "when does the subsidy reach my account")
    assert reply.kind == "fallback" and reply.flow == "annual_review"
    assert dialogue.kb.topics["uncovered-payouts"].answer["en"].strip() in reply.text


@pytest.mark.parametrize("text,lang,gap,neighbour", GAPS[:5])
def test_through_batch_the_gap_is_no_answer(shared_batch, text, lang, gap, neighbour):
    reply = shared_batch.ask({"user": f"gap-{text}", "text": text})
    assert reply["fallback"] is True and reply["kind"] == "fallback"
    assert reply["topic"] is None and reply["lang"] == lang


@pytest.mark.parametrize("text,lang", [
    ("my father is retired, how does he do his pension certification on his phone?", "en"),
    ("退休的老人在手机上怎么做养老认证", "zh"),
    ("¿cómo hace un jubilado la certificación de la pensión con el celular?", "es"),
])
def test_a_retirees_online_certification_is_the_online_certification_not_the_green_channel(dialogue, text, lang):
    """Being old is not the green channel's condition: the page sets it, and the online steps cover it."""
    reply = dialogue.say("u1", text)
    assert (reply.kind, reply.topic, reply.lang) == ("answer", "online-certification", lang)


@pytest.mark.parametrize("text", ["is there a green channel for disabled people in the certification",
                                  "残疾人认证有没有绿色通道"])
def test_the_green_channel_is_still_found_by_name(dialogue, text):
    assert dialogue.say("u1", text).topic == "green-channel"


def test_a_gap_is_shown_beside_the_nearest_topics_we_answer_not_other_gaps(dialogue):
    reply = dialogue.say("u1", "社保卡密码忘了，可以在外地激活吗")
    offered = [b.id for b in reply.buttons if b.id.startswith("topic:")]
    assert offered and all(dialogue.kb.topics[b[6:]].kind == "answer" for b in offered)


def test_the_five_insurances_are_answered_though_the_housing_fund_is_named(dialogue):
    """'五险一金' names the housing fund in passing; a question about the five is still answered."""
    reply = dialogue.say("u1", "大家都说五险一金，一金是公积金吧，五险具体指哪些")
    assert (reply.kind, reply.topic) == ("answer", "five-programs")


@pytest.mark.parametrize("text,topic", [("does my company have to pay pension insurance", "art12-pension"),
                                        ("does my unit have to pay endowment insurance", "art12-pension")])
def test_an_anchored_gap_needs_its_own_words(dialogue, text, topic):
    """The tax gap's variants ("do i pay income tax on my pension") look like any question about paying
    a pension; without one of its words (tax, 个税, impuestos) the gap is not in the running."""
    assert dialogue.kb.topics["uncovered-tax-income"].anchored
    reply = dialogue.say("u1", text)
    assert (reply.kind, reply.topic) == ("answer", topic)
    ranked = [c.topic for c in dialogue.matcher.score(text, "en")]
    assert "uncovered-tax-income" not in ranked
    assert "uncovered-tax-income" in [c.topic for c in dialogue.matcher.score(text + " and the income tax", "en")]


@pytest.mark.parametrize("text", ["when does the cola increase start this year",
                                  "how do I know if somebody stole my social security number, identity theft",
                                  "what is my full retirement age for ssdi"])
def test_americas_own_words_are_another_countrys_system(dialogue, text):
    """COLA, SSDI, full retirement age: the US scheme's words, which a Chinese social insurance bot declines."""
    reply = dialogue.say("u1", text)
    assert reply.kind == "fallback" and dialogue.kb.topics["foreign-systems"].answer["en"].strip() in reply.text


@pytest.mark.parametrize("text,topic", [("how do I activate the social security app on my phone", "annual-review-app"),
                                        ("when I start working, when must the company register me",
                                         "art58-registration")])
def test_card_words_do_not_claim_the_app_or_starting_work(dialogue, text, topic):
    """'activate' and 'start working' are not the card's alone: the app is registered, work starts."""
    reply = dialogue.say("u1", text)
    assert reply.kind == "answer" and reply.topic in {topic, "annual-review-alipay", "online-certification"}
