"""The channel-neutral core: `reply = dialogue.say("u1", "…")`, the same for every channel.

UI wording is read from bot/strings.yaml through render.say, so these tests check behaviour
(which message is said, in which language) rather than a particular phrasing.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest

from bot import buttons as bt
from bot import render
from bot.dialogue import Dialogue
from bot.messages import Reply
from bot.procedures import STALE
from knowledge.language import LANGS
from bot.store import Store
from conversations import events as ev
from conversations import words
from knowledge.kb import load
from knowledge.matcher import Candidate, Decision

KB = load()
ANSWERABLE = sorted(t.id for t in KB.answerable())
ID_NUMBER = "11010519491231002X"
PHONE = "13812345678"
PP = "personal_payment"  # the procedure most tests walk: four steps, Next all the way


def say(key: str, lang: str, **values) -> str:
    return render.say(key, lang, **values)


def label(word: str, lang: str) -> str:
    return words.LABELS[word][lang]


def button(reply: Reply, prefix: str):
    found = [b for b in reply.buttons if b.id.startswith(prefix)]
    assert found, f"no button {prefix!r} in {[b.id for b in reply.buttons]}"
    return found[0]


def start_pp(dialogue, user, lang="en"):
    text = {"en": "guide me step by step to pay social insurance myself",
            "es": "guíame paso a paso para pagar la seguridad social por mi cuenta",
            "zh": "一步一步教我自己交社保"}[lang]
    reply = dialogue.say(user, text)
    assert (reply.kind, reply.flow, reply.lang) == ("step", PP, lang), reply.text
    assert reply.step == dialogue.flows[PP].start
    return reply


# --- language rules ----------------------------------------------------------------------------

@pytest.mark.parametrize("text, lang", [
    ("When is the annual review?", "en"),
    ("¿Cuándo es la revisión anual?", "es"),
    ("cuando es la revision anual", "es"),
    ("社保年审几月份", "zh"),
    ("社保年審幾月份", "zh"),
])
def test_reply_is_in_the_language_of_the_message(dialogue, text, lang):
    reply = dialogue.say("u1", text)
    assert (reply.kind, reply.topic, reply.lang) == ("answer", "review-months", lang)


def test_message_language_wins_over_the_stored_one(dialogue):
    assert dialogue.say("u1", "/language es").lang == "es"
    assert dialogue.say("u1", "what does the annual review check").lang == "en"
    assert dialogue.say("u1", "社保卡有什么用").lang == "zh"
    assert dialogue.say("u1", "¿para qué sirve la tarjeta?").lang == "es"


def test_a_message_without_a_clear_language_keeps_the_stored_one(dialogue):
    assert dialogue.say("u1", "¿Cuándo es la revisión anual?").lang == "es"
    for text in ("Alipay", "12345", "👍🙂", "/help"):
        assert dialogue.say("u1", text).lang == "es", text
    assert dialogue.say("u2", "社保年审几月份").lang == "zh"
    assert dialogue.say("u2", "Alipay").lang == "zh"


@pytest.mark.parametrize("stored, first", [("es", "¿Cuándo es la revisión anual?"), ("zh", "社保年审几月份")])
def test_ok_keeps_the_stored_language(dialogue, stored, first):
    assert dialogue.say("u1", first).lang == stored
    assert dialogue.say("u1", "ok").lang == stored
    start_pp(dialogue, "u2", stored)
    moved = dialogue.say("u2", "ok")
    assert (moved.kind, moved.lang) == ("step", stored)


def test_the_hint_is_used_for_a_first_message_with_no_clear_language(dialogue):
    assert dialogue.say("h1", "Alipay", lang="es").lang == "es"
    assert dialogue.say("h2", "Alipay", lang="zh-hans").lang == "zh"
    assert dialogue.say("h3", "Alipay", lang="es-MX").lang == "es"
    assert dialogue.say("h4", "Alipay", lang="fr").lang == "en"  # a language we do not speak
    assert dialogue.say("h5", "Alipay").lang == "en"


def test_the_hint_loses_to_a_clear_message_and_to_the_stored_language(dialogue):
    assert dialogue.say("h1", "when is the annual review", lang="es").lang == "en"
    assert dialogue.say("h1", "Alipay", lang="zh").lang == "en"  # stored now beats the hint


def test_slash_language_switches(dialogue):
    reply = dialogue.say("u1", "/language es")
    assert (reply.kind, reply.lang) == ("command", "es")
    assert say("language_set", "es") in reply.text
    assert dialogue.say("u1", "Alipay").lang == "es"
    assert dialogue.say("u1", "/help").lang == "es"


def test_slash_language_without_an_argument_offers_the_three(dialogue):
    reply = dialogue.say("u1", "/language")
    assert {b.id for b in reply.buttons} == {"lang:en", "lang:es", "lang:zh"}
    chosen = dialogue.say("u1", button=button(reply, "lang:zh").id)
    assert chosen.lang == "zh" and say("language_set", "zh") in chosen.text
    assert dialogue.say("u1", "Alipay").lang == "zh"


def test_switching_language_inside_a_procedure_redraws_the_step(dialogue):
    start_pp(dialogue, "u1")
    dialogue.say("u1", "next")
    reply = dialogue.say("u1", "/language zh")
    assert (reply.kind, reply.flow, reply.step, reply.lang) == ("step", PP, "bank_seal", "zh")
    assert say("language_set", "zh") in reply.text
    assert dialogue.flows[PP].steps["bank_seal"].text["zh"] in reply.text
    assert label("next", "zh") in [b.label for b in reply.buttons]


# --- answers ------------------------------------------------------------------------------------

@pytest.mark.parametrize("lang", ["en", "es", "zh"])
@pytest.mark.parametrize("tid", ANSWERABLE)
def test_every_answer_cites_its_sources(dialogue, tid, lang):
    dialogue.say("u1", f"/language {lang}")
    reply = dialogue.say("u1", button=f"topic:{tid}")
    assert (reply.kind, reply.topic, reply.lang, reply.fallback) == ("answer", tid, lang, False)
    topic = KB.topics[tid]
    assert topic.answer[lang] in reply.text
    assert f"{say('source', lang)}{say('source_colon', lang)}" in reply.text  # 来源：in Chinese
    assert {"en": "Source", "es": "Fuente", "zh": "来源"}[lang] in reply.text
    for sid in topic.sources:
        assert KB.sources[sid].title[lang] in reply.text
    assert say("note", lang) in reply.text


def test_an_answer_offers_its_procedure_and_related_topics(dialogue):
    reply = dialogue.say("u1", "how do I pay social insurance myself")
    assert reply.topic == "personal-payment"
    walk = button(reply, f"flow:{PP}:start")
    assert walk.label == say("walk_me", "en")
    related = [b.id for b in reply.buttons if b.id.startswith("topic:")]
    assert related and all(r[6:] in KB.topics["personal-payment"].related for r in related)


@pytest.mark.parametrize("text", ["what kind of stuff can u help me with?", "qué cosas puedes hacer", "你能帮我做什么"])
def test_asking_what_the_bot_can_do_is_answered_however_it_is_put(dialogue, text):
    assert dialogue.say("u-cap", text).topic == "capabilities"  # filler ("stuff") is no evidence for a topic


def test_small_talk_is_answered_without_a_source(dialogue):
    reply = dialogue.say("u1", "hello")
    assert (reply.kind, reply.topic) == ("answer", "greeting")
    assert say("source", "en") + ":" not in reply.text


# --- fallback, did you mean, escalation -----------------------------------------------------------

@pytest.mark.parametrize("text, lang", [
    ("what's the weather tomorrow", "en"),
    ("¿qué tiempo hará mañana?", "es"),
    ("明天天气怎么样", "zh"),
    ("how do I apply for a us social security number", "en"),
])
def test_the_fallback_says_so_and_points_to_the_bureau(dialogue, text, lang):
    reply = dialogue.say("u1", text)
    assert (reply.kind, reply.fallback, reply.topic, reply.lang) == ("fallback", True, None, lang)
    assert say("bureau", lang) in reply.text
    scoped = [KB.topics[t].answer[lang] for t in ("foreign-systems", "unrelated-errands")]
    # what the bot can do is said once: by the out-of-scope answer (which names it), else by can_help
    if any(a in reply.text for a in scoped):
        assert say("can_help", lang) not in reply.text
    else:
        assert say("fallback", lang) in reply.text
    assert len(reply.buttons) >= 2 and reply.buttons[-1].id == "person"  # a tap on, or a person


@pytest.mark.parametrize("lang", ["en", "es", "zh"])
def test_a_fallback_with_nothing_close_is_short_and_offers_the_main_topics(dialogue, lang):
    text = {"en": "what's the weather tomorrow", "es": "¿qué tiempo hará mañana?", "zh": "明天天气怎么样"}[lang]
    dialogue.say("u9", "/start", lang=lang)
    reply = dialogue.say("u9", text)
    assert reply.kind == "fallback" and len(reply.text) <= 400
    assert [b.id for b in reply.buttons[:-1]] == [b.id for b in dialogue._home_buttons(lang)[:3]]


def test_out_of_scope_says_why_and_offers_no_topics(dialogue):
    reply = dialogue.say("u1", "how do I apply for a us social security number")
    assert KB.topics["foreign-systems"].answer["en"] in reply.text
    # no neighbouring topic is offered as if it were close: the main topics, and a person to ask
    assert [b.id for b in reply.buttons] == [b.id for b in dialogue._home_buttons("en")[:3]] + ["person"]


@pytest.mark.parametrize("text, lang, topic", [
    ("how much will my pension be each month", "en", "uncovered-amounts"),
    ("¿cómo traslado mi seguro social a otra provincia?", "es", "uncovered-services"),
    ("社保转移到外地怎么办", "zh", "uncovered-services"),
])
def test_a_question_the_documents_do_not_answer_is_said_so_with_the_nearest_topics(dialogue, text, lang, topic):
    reply = dialogue.say("u-unc", text)
    assert (reply.kind, reply.fallback, reply.topic, reply.lang) == ("fallback", True, None, lang)
    assert KB.topics[topic].answer[lang].strip() in reply.text
    assert say("bureau", lang) in reply.text
    offered = [b.id for b in reply.buttons]
    assert offered[-1] == "person"  # and, last, a person to ask
    offered = offered[:-1]
    assert offered and all(b.startswith("topic:") and KB.topics[b[6:]].kind == "answer" for b in offered)
    assert dialogue.store.unanswered()[-1]["text"] == text  # curators see what people ask that we do not cover


def in_personal_payment(dialogue, user: str, lang: str):
    """The user at the first step of the flexible worker's payment procedure; its reply."""
    return dialogue.say(user, button=bt.encode(bt.Step("personal_payment", ev.Start())), lang=lang)


@pytest.mark.parametrize("text, lang", [
    ("how much pension will I get when I retire?", "en"),
    ("¿qué tiempo hará mañana?", "es"),
    ("社保转移到外地怎么办", "zh"),
])
def test_inside_a_procedure_a_question_beyond_us_is_said_so_and_the_place_kept(dialogue, text, lang):
    started = in_personal_payment(dialogue, "u-in", lang)
    reply = dialogue.say("u-in", text)
    assert (reply.kind, reply.fallback, reply.flow, reply.step) == ("fallback", True, "personal_payment", started.step)
    assert say("bureau", lang) in reply.text
    assert reply.buttons[0].id.startswith("flow:personal_payment:continue")
    assert dialogue.store.user("u-in").misses == 0  # understood: not a miss on the way to "talk to a person"
    back = dialogue.say("u-in", words.LABELS["continue"][lang])
    assert (back.kind, back.step) == ("step", started.step)


@pytest.mark.parametrize("done, lang", [("done", "en"), ("listo", "es"), ("完成", "zh")])
def test_done_typed_in_the_middle_of_a_procedure_moves_on_and_does_not_claim_it_is_over(dialogue, done, lang):
    first = in_personal_payment(dialogue, "u-done", lang)
    moved = dialogue.say("u-done", done)
    assert (moved.kind, moved.flow) == ("step", "personal_payment") and moved.step != first.step
    assert say("flow_done", lang, title="x", n=9).split("x")[0] not in moved.text


@pytest.mark.parametrize("text, lang", [
    ("wait, what documents do I need to bring?", "en"),
    ("¿y qué papeles tengo que llevar?", "es"),
    ("which bank", "en"),
])
def test_a_vague_question_inside_a_procedure_is_answered_about_that_procedure(dialogue, text, lang):
    started = in_personal_payment(dialogue, "u-ctx", lang)
    reply = dialogue.say("u-ctx", text)
    assert (reply.kind, reply.topic, reply.step) == ("answer", "personal-payment", started.step)


def test_a_vague_follow_up_is_about_the_topic_just_answered(dialogue):
    assert dialogue.say("u-follow", "how do I pay social insurance myself").topic == "personal-payment"
    assert dialogue.say("u-follow", "what documents do I need to bring?").topic == "personal-payment"
    assert dialogue.say("u-fresh", "what documents do I need to bring?").topic != "personal-payment"  # no context
    assert dialogue.say("u-follow", "when is the annual review").topic == "review-months"  # a clear new question


def test_a_clear_question_inside_a_procedure_is_answered_on_its_own_terms(dialogue):
    dialogue.say("u-ctx2", "一步一步教我用支付宝年审")
    assert dialogue.say("u-ctx2", "人脸识别一直失败怎么办").topic == "certification-problems"
    assert dialogue.say("u-ctx2", "社保年审是几月份").topic == "review-months"


@pytest.mark.parametrize("lang, guide", [
    ("es", "quiero hacer la revisión anual con el móvil, guíame"),
    ("zh", "一步一步教我用手机年审"),
])
def test_a_word_every_language_uses_does_not_switch_the_language_of_a_procedure(dialogue, lang, guide):
    assert dialogue.say("u-shared", guide).lang == lang
    picked = dialogue.say("u-shared", "app")  # "app" is a label alias in every language (and looks English)
    assert (picked.step, picked.lang) == ("app_download", lang)
    assert dialogue.say("u-shared", "ok").lang == lang


@pytest.mark.parametrize("lang, guide, option, step", [
    ("es", "guíame paso a paso con la revisión anual en el móvil", "Con foto de la tarjeta de identificación",
     "online_install"),
    ("en", "walk me through the annual review on my phone", "alipay please", "alipay_more"),
    ("zh", "一步一步教我手机年审", "我想用社保局的那个app", "app_download"),
])
def test_an_option_put_in_other_words_is_taken(dialogue, lang, guide, option, step):
    assert dialogue.say("u-opt", guide).step == "route"
    reply = dialogue.say("u-opt", option)
    assert (reply.kind, reply.step, reply.lang) == ("step", step, lang)


def test_a_real_question_at_a_step_with_options_is_still_answered(dialogue):
    dialogue.say("u-opt2", "walk me through the annual review on my phone")
    reply = dialogue.say("u-opt2", "what is the green channel?")
    assert (reply.kind, reply.topic, reply.step) == ("answer", "green-channel", "route")


def test_typing_the_number_of_an_offered_topic_picks_it(dialogue):
    offer = dialogue.say("u-num", "annual review")
    assert offer.kind == "suggest" and len(offer.buttons) >= 2
    second = offer.buttons[1].id
    picked = dialogue.say("u-num", "2")
    assert (picked.kind, picked.topic) == ("answer", second[len("pick:"):])
    assert dialogue.store.unanswered()[-1]["chosen"] == picked.topic  # curators see the choice, as for a tap


def test_a_number_picks_a_choice_of_a_step_and_one_out_of_range_is_just_text(dialogue):
    route = dialogue.say("u-num2", "guide me through the annual review")
    assert route.step == "route"
    assert dialogue.say("u-num2", "２").step == "app_download"  # full-width too: the second way, the app
    late = dialogue.say("u-num2", "42")
    assert late.kind != "step" or late.step == "app_download"  # no 42nd button: not a press


def test_the_fallback_lists_the_closest_topics(dialogue, monkeypatch):
    """decide() is stubbed to a fallback with near candidates, so this does not depend on tuning."""
    near = (Candidate("card-uses", 0.25), Candidate("labor-security-card", 0.22), Candidate("greeting", 0.2, "smalltalk"))
    monkeypatch.setattr("bot.answers.decide", lambda candidates, **_: Decision("fallback", None, 0.25, near))
    reply = dialogue.say("u1", "something quite unclear about a card")
    assert reply.kind == "fallback" and reply.fallback
    assert say("fallback", "en") in reply.text and say("closest", "en") in reply.text
    assert say("bureau", "en") in reply.text
    titles = [KB.topics[t].title["en"] for t in ("card-uses", "labor-security-card")]
    for title in titles:
        assert f"- {title}" in reply.text
    assert KB.topics["greeting"].title["en"] not in reply.text  # small talk is not a topic to offer
    assert [b.id for b in reply.buttons] == ["topic:card-uses", "topic:labor-security-card", "person"]
    pressed = dialogue.say("u1", button="topic:card-uses")
    assert (pressed.kind, pressed.topic) == ("answer", "card-uses")


def test_an_unanswered_question_is_recorded_for_curators(dialogue):
    dialogue.say("u1", "what's the weather tomorrow")
    rows = dialogue.store.unanswered()
    assert [(r["user"], r["text"], r["kind"]) for r in rows] == [("u1", "what's the weather tomorrow", "fallback")]


@pytest.mark.parametrize("text, lang", [("annual review", "en"), ("revisión anual", "es"), ("年审", "zh")])
def test_did_you_mean_gives_two_or_three_buttons_and_pressing_one_answers_it(dialogue, text, lang):
    reply = dialogue.say("u1", text)
    assert (reply.kind, reply.fallback, reply.topic, reply.lang) == ("suggest", True, None, lang)
    picks, last = reply.buttons[:-1], reply.buttons[-1]
    assert 2 <= len(picks) <= 3 and last.label == say("none_of_these", lang)  # the list ends with "None of these"
    assert say("suggest", lang) in reply.text
    for n, b in enumerate(picks, 1):
        assert b.id.startswith("pick:")
        assert f"{n}. {b.label}" in reply.text
    chosen = reply.buttons[1]
    answer = dialogue.say("u1", button=chosen.id)
    assert (answer.kind, answer.topic, answer.lang) == ("answer", chosen.id[5:], lang)
    row = dialogue.store.unanswered()[-1]
    assert (row["kind"], row["chosen"]) == ("suggest", chosen.id[5:])


def test_typing_a_suggestions_label_does_what_pressing_it_does(dialogue):
    offered = dialogue.say("typed", "annual review").buttons
    dialogue.say("pressed", "annual review")
    typed = dialogue.say("typed", offered[0].label)
    pressed = dialogue.say("pressed", button=offered[0].id)
    assert typed.to_json() | {"user": None} == pressed.to_json() | {"user": None}
    assert typed.kind == "answer"


def test_typing_a_label_ignores_case_and_punctuation(dialogue):
    reply = dialogue.say("u1", "how do I pay social insurance myself")
    walk = button(reply, f"flow:{PP}:start")
    step = dialogue.say("u1", f"  {walk.label.upper()}!! ")
    assert (step.kind, step.flow, step.step) == ("step", PP, dialogue.flows[PP].start)


def test_two_misses_in_a_row_escalate_with_a_summary(dialogue):
    first = dialogue.say("u1", "what's the weather tomorrow")
    assert first.kind == "fallback"
    second = dialogue.say("u1", "who won the football match last night")
    assert second.kind == "fallback" and second.fallback
    assert say("escalate", "en") in second.text
    assert "- what's the weather tomorrow" in second.text
    assert "- who won the football match last night" in second.text
    assert say("bureau", "en") in second.text


def test_an_answer_between_two_misses_resets_the_count(dialogue):
    dialogue.say("u1", "what's the weather tomorrow")
    dialogue.say("u1", "when is the annual review")
    again = dialogue.say("u1", "who won the football match last night")
    assert say("escalate", "en") not in again.text


def test_asking_for_a_person_escalates_in_each_language(dialogue):
    for user, text, lang in (("p1", "I want to talk to a person", "en"),
                             ("p2", "quiero hablar con una persona", "es"), ("p3", "转人工", "zh")):
        reply = dialogue.say(user, text)
        assert reply.kind == "fallback" and reply.lang == lang
        assert say("bureau", lang) in reply.text


# --- procedures ---------------------------------------------------------------------------------

GUIDE = {
    "annual_review": {"en": "guide me through the annual review on my phone",
                      "es": "guíame paso a paso en la revisión anual con el móvil",
                      "zh": "一步一步教我用手机做年审"},
    "personal_payment": {"en": "walk me through paying social insurance as a flexible worker",
                         "es": "guíame paso a paso para pagar la seguridad social por mi cuenta",
                         "zh": "一步一步教我自己交社保"},
    "client_declaration": {"en": "guide me step by step through the client declaration",
                           "es": "guíame paso a paso en la declaración con el programa cliente",
                           "zh": "手把手教我用社保客户端申报"},
    "enterprise_review": {"en": "walk me through the company annual review",
                          "es": "guíame paso a paso en la revisión anual de mi empresa",
                          "zh": "带我一步步办企业社保年审"},
    "new_employee_registration": {"en": "guide me through registering a new employee",
                                  "es": "guíame paso a paso para dar de alta a un empleado nuevo",
                                  "zh": "一步一步教我给新员工办社保登记"},
}


@pytest.mark.parametrize("lang", ["en", "es", "zh"])
@pytest.mark.parametrize("flow_id", sorted(GUIDE))
def test_a_guide_me_phrase_starts_the_procedure(dialogue, flow_id, lang):
    flow = dialogue.flows[flow_id]
    reply = dialogue.say("u1", GUIDE[flow_id][lang])
    assert (reply.kind, reply.flow, reply.step, reply.lang) == ("step", flow_id, flow.start, lang)
    assert flow.title[lang] in reply.text
    assert flow.steps[flow.start].text[lang] in reply.text
    if flow.steps[flow.start].next:
        assert re.search(re.escape(say("step_of", lang, k=1, n=999)).replace("999", r"\d+"), reply.text)
    else:  # a first step that only asks which way is not a step of the work: the chosen way is step 1
        assert say("choose_way", lang) in reply.text and say("step_of", lang, k=1, n=9)[:3] not in reply.text
    assert label("cancel", lang) in [b.label for b in reply.buttons]


def _trigger_params():
    from conversations.loader import load_flows

    for flow in load_flows().values():
        for lang, phrases in flow.triggers.items():
            for n, phrase in enumerate(phrases):
                yield pytest.param(flow.id, phrase, id=f"{flow.id}-{lang}-{n}")


@pytest.mark.parametrize("flow_id, phrase", list(_trigger_params()))
def test_a_procedures_own_trigger_leads_to_it(dialogue, flow_id, phrase):
    """A guide phrase starts the procedure; a trigger without one is answered with a button to start it."""
    from bot import intents

    reply = dialogue.say("u1", phrase)
    if intents.intent("guide", phrase):
        assert (reply.kind, reply.flow) == ("step", flow_id)
    else:
        assert reply.kind in ("answer", "step"), reply.kind
        walks = [b.id for b in reply.buttons if b.id == f"flow:{flow_id}:start" or b.id.startswith("walk:")]
        assert reply.flow == flow_id or walks
        if reply.flow != flow_id:  # the button under the answer starts that procedure
            assert dialogue.say("u1", button=walks[0]).flow == flow_id


@pytest.mark.parametrize("text, lang, step", [
    ("walk me through the annual review with alipay step by step", "en", "alipay_more"),
    ("guíame paso a paso para hacer la revisión anual con la app", "es", "app_download"),
    ("一步一步教我在线认证", "zh", "online_install"),
    ("walk me through the annual review", "en", "route"),  # no way named: asked first
    ("guide me through the review, alipay or the app?", "en", "route"),  # two named: asked first
])
def test_a_guide_request_that_names_the_way_starts_on_that_way(dialogue, text, lang, step):
    reply = dialogue.say("u-way", text)
    assert (reply.kind, reply.flow, reply.step, reply.lang) == ("step", "annual_review", step, lang)
    if step != "route":  # one step back is the question they skipped, so they can change their mind
        assert dialogue.say("u-way", words.LABELS["back"][lang]).step == "route"


GUIDE_AFTER = {  # an answer, then a guide request naming nothing else -> where the walk starts
    ("how do I pay social insurance myself?", "guide me step by step"): ("personal_payment", "get_forms"),
    ("¿Cómo hago la revisión anual con Alipay?", "guíame paso a paso"): ("annual_review", "alipay_more"),
    ("我妈妈第一次用支付宝做年审，怎么弄？", "一步一步教我"): ("annual_review", "alipay_more"),
}


def test_guide_me_alone_after_an_answer_walks_through_that_answer(dialogue):
    """Not through whatever "step by step" matches best (it was the annual review, after any answer)."""
    for n, ((question, guide), where) in enumerate(GUIDE_AFTER.items()):
        assert dialogue.say(f"u-guide{n}", question).kind == "answer"
        assert dialogue.say(f"u-guide{n}", guide).kind == "step"
        assert (dialogue.store.user(f"u-guide{n}").flow_state or {}).get("step") == where[1], guide
        assert dialogue.store.user(f"u-guide{n}").flow_state["flow"] == where[0]


def test_typing_the_way_already_taken_keeps_the_step_and_is_no_miss(dialogue):
    first = dialogue.say("u-again", "walk me through the annual review with alipay step by step")
    again = dialogue.say("u-again", "Alipay")
    assert (again.kind, again.step) == ("step", first.step)
    assert dialogue.store.user("u-again").misses == 0
    assert dialogue.say("u-again", "next").step == "alipay_city"


def test_walk_me_through_under_an_answer_starts_where_that_answer_is(dialogue):
    reply = dialogue.say("u-walk", "how do I do the online certification with my ID card and face")
    assert reply.topic == "online-certification"
    walk = button(reply, "walk:online-certification")
    assert walk.label == say("walk_me", "en")
    step = dialogue.say("u-walk", button=walk.id)
    assert (step.flow, step.step) == ("annual_review", "online_install")


def test_yindao_wo_is_a_guide_phrase(dialogue):
    reply = dialogue.say("u1", "引导我办理个人社保缴费")
    assert (reply.kind, reply.flow) == ("step", PP)


@pytest.mark.parametrize("lang", ["en", "es", "zh"])
def test_navigation_words_in_each_language(dialogue, lang):
    flow = dialogue.flows[PP]
    start_pp(dialogue, "u1", lang)
    nxt = dialogue.say("u1", {"en": "next", "es": "siguiente", "zh": "下一步"}[lang])
    second = flow.steps[flow.start].next
    assert (nxt.kind, nxt.flow, nxt.step, nxt.lang) == ("step", PP, second, lang)
    assert re.search(re.escape(say("step_of", lang, k=2, n=999)).replace("999", r"\d+"), nxt.text)
    back = dialogue.say("u1", {"en": "go back", "es": "atrás", "zh": "上一步"}[lang])
    assert (back.kind, back.step, back.lang) == ("step", flow.start, lang)
    dialogue.say("u1", {"en": "next", "es": "sigue", "zh": "下一个"}[lang])
    cancel = dialogue.say("u1", {"en": "cancel", "es": "cancelar", "zh": "取消"}[lang])
    assert (cancel.kind, cancel.flow, cancel.step, cancel.lang) == ("command", None, None, lang)
    assert say("cancelled", lang, title=flow.title[lang]) in cancel.text
    assert dialogue.store.user("u1").flow_state is None


def test_typed_navigation_labels_and_pressed_buttons_agree(dialogue):
    start_pp(dialogue, "typed", "es")
    first = start_pp(dialogue, "pressed", "es")
    typed = dialogue.say("typed", label("next", "es"))
    pressed = dialogue.say("pressed", button=button(first, f"flow:{PP}:next").id)
    assert typed.to_json() | {"user": None} == pressed.to_json() | {"user": None}
    assert typed.step == dialogue.flows[PP].steps[first.step].next


def test_walking_a_procedure_to_the_end(dialogue):
    flow = dialogue.flows[PP]
    reply = start_pp(dialogue, "u1")
    seen = [reply.step]
    while reply.kind == "step" and reply.step is not None:
        names = [b.label for b in reply.buttons]
        word = "next" if label("next", "en") in names else "done"
        reply = dialogue.say("u1", label(word, "en"))
        seen.append(reply.step)
        assert len(seen) <= len(flow.steps) + 1
    assert reply.step is None and reply.flow == PP
    assert say("flow_done", "en", title=flow.title["en"], n=4) in reply.text
    assert dialogue.store.user("u1").flow_state is None
    assert seen[:-1] == ["get_forms", "bank_seal", "submit", "finished"][: len(seen) - 1]


def test_a_choice_and_a_checklist_item_by_button_and_by_label(dialogue):
    flow = dialogue.flows[PP]
    start_pp(dialogue, "u1")
    dialogue.say("u1", "next")
    at_submit = dialogue.say("u1", "next")
    assert at_submit.step == "submit"
    item = flow.steps["submit"].checklist[0]
    ticked = dialogue.say("u1", button=button(at_submit, f"flow:{PP}:tick:{item.id}").id)
    assert ticked.step == "submit"
    assert f"☑ {item.label['en']}" in ticked.text
    choice = flow.steps["submit"].choices[0]
    chosen = dialogue.say("u1", choice.label["en"])
    assert (chosen.kind, chosen.step) == ("step", choice.to)


def test_a_side_question_inside_a_procedure_is_answered_and_the_place_kept(dialogue):
    flow = dialogue.flows[PP]
    start_pp(dialogue, "u1")
    at = dialogue.say("u1", "next")
    aside = dialogue.say("u1", "when is the annual review")
    assert (aside.kind, aside.topic) == ("answer", "review-months")
    assert (aside.flow, aside.step) == (PP, at.step)  # the protocol still says where the user is
    assert say("still_in_flow", "en", k=2, title=flow.title["en"]) in aside.text
    assert "still at step 2" in aside.text
    cont = button(aside, f"flow:{PP}:continue")
    assert aside.buttons[0] == cont and cont.label == label("continue", "en")
    back = dialogue.say("u1", "continue")
    assert (back.kind, back.step) == ("step", at.step)
    assert dialogue.say("u1", "next").step == flow.steps[at.step].next


def test_a_side_question_in_another_language_keeps_the_place(dialogue):
    start_pp(dialogue, "u1", "es")
    at = dialogue.say("u1", "siguiente")
    aside = dialogue.say("u1", "社保卡有什么用")
    assert (aside.topic, aside.lang, aside.step) == ("card-uses", "zh", at.step)
    assert say("still_in_flow", "zh", k=2, title=dialogue.flows[PP].title["zh"]) in aside.text


def test_nonsense_inside_a_procedure_reprompts_then_escalates_keeping_the_place(dialogue):
    start_pp(dialogue, "u1")
    at = dialogue.say("u1", "next")
    first = dialogue.say("u1", "zzkx qwv")
    assert (first.kind, first.step) == ("step", at.step)
    assert say("reprompt", "en") in first.text
    second = dialogue.say("u1", "blorp snarf")
    assert second.kind == "fallback" and say("bureau", "en") in second.text
    assert (second.flow, second.step) == (PP, at.step)
    assert dialogue.say("u1", "back").step == dialogue.flows[PP].start


def test_slash_cancel(dialogue):
    flow = dialogue.flows[PP]
    start_pp(dialogue, "u1")
    reply = dialogue.say("u1", "/cancel")
    assert (reply.kind, reply.flow, reply.step) == ("command", None, None)
    assert say("cancelled", "en", title=flow.title["en"]) in reply.text
    assert dialogue.store.user("u1").flow_state is None
    again = dialogue.say("u1", "/cancel")
    assert say("nothing_to_cancel", "en") in again.text
    question = dialogue.say("u1", "when is the annual review")
    assert (question.kind, question.topic, question.flow) == ("answer", "review-months", None)


def test_start_inside_a_procedure_offers_to_continue(dialogue):
    start_pp(dialogue, "u1")
    dialogue.say("u1", "next")
    reply = dialogue.say("u1", "/start")
    assert (reply.flow, reply.step) == (PP, "bank_seal")
    assert {label("continue", "en"), say("start_over", "en"), label("cancel", "en")} <= {b.label for b in reply.buttons}


def test_a_button_from_an_older_step_shows_where_the_user_is(dialogue):
    first = start_pp(dialogue, "u1")
    dialogue.say("u1", "next")
    old = dialogue.say("u1", button=button(first, f"flow:{PP}:next").id)
    assert (old.kind, old.step) == ("step", "bank_seal")  # not moved twice
    assert say("old_button", "en") in old.text


def test_an_unknown_button_is_refused_politely(dialogue):
    reply = dialogue.say("u1", button="no:such:button")
    assert reply.kind == "error" and say("unknown_button", "en") in reply.text


# --- privacy ------------------------------------------------------------------------------------

def test_forget_leaves_no_row(dialogue):
    store = dialogue.store
    dialogue.say("u1", "¿Cuándo es la revisión anual?")
    dialogue.say("u1", "👍")
    dialogue.say("u1", button="remind:next")
    dialogue.say("u1", "what's the weather tomorrow")
    start_pp(dialogue, "u1")
    dialogue.say("other", "what's the weather tomorrow")
    assert store.holds("u1") >= 4
    asked = dialogue.say("u1", "/forget")
    assert asked.kind == "command" and say("forget_ask", "en") in asked.text and store.holds("u1") >= 4
    reply = dialogue.say("u1", say("forget_yes", "en"))
    assert reply.kind == "command" and say("forgotten", "en") in reply.text
    assert store.holds("u1") == 0
    assert store.holds("other") > 0  # only that user
    fresh = dialogue.say("u1", "Alipay")
    assert fresh.lang == "en" and fresh.flow is None


@pytest.mark.parametrize("text, lang", [("forget me", "en"), ("olvídame", "es"), ("删除我的数据", "zh")])
def test_forget_in_words(dialogue, text, lang):
    dialogue.say("u1", "when is the annual review")
    assert say("forget_ask", lang) in dialogue.say("u1", text).text
    reply = dialogue.say("u1", say("forget_yes", lang))
    assert say("forgotten", lang) in reply.text and reply.lang == lang
    assert dialogue.store.holds("u1") == 0


@pytest.mark.parametrize("text", [
    f"my id is {ID_NUMBER} and my phone {PHONE}, who won the football match",
    f"身份证{ID_NUMBER}，手机{PHONE}，明天天气怎么样",
    f"mi teléfono es {PHONE[:3]} {PHONE[3:7]} {PHONE[7:]} ¿qué tiempo hará?",
])
def test_personal_numbers_are_masked_before_storage_and_the_user_told(dialogue, text):
    reply = dialogue.say("u1", text)
    assert say("personal_number", reply.lang) in reply.text
    dialogue.say("u1", "zzkx qwv blorp")  # a second miss: the escalation summary repeats the question
    escalated = dialogue.say("u1", "asdf qwer")
    stored = [r["text"] for r in dialogue.store.unanswered()] + dialogue.store.user("u1").recent
    assert stored
    for blob in stored + [escalated.text]:
        digits = re.sub(r"\D", "", blob)
        assert ID_NUMBER[:17] not in digits and PHONE not in digits, blob
        assert not re.search(r"\d{7,}", blob.replace(" ", "")), blob


def test_personal_numbers_are_masked_in_an_answered_question_too(dialogue):
    reply = dialogue.say("u1", f"my phone is {PHONE}, when is the annual review")
    assert reply.topic == "review-months"
    assert say("personal_number", "en") in reply.text
    assert all(PHONE not in q for q in dialogue.store.user("u1").recent)


# --- time, users, restarts ------------------------------------------------------------------------

class Clock:
    def __init__(self, start: datetime):
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def _with_clock(built_dialogue, clock) -> Dialogue:
    return Dialogue(Store(memory=True), kb=built_dialogue.kb, flows=built_dialogue.flows, clock=clock)


def test_a_return_after_more_than_12_hours_mid_procedure_asks_to_continue_or_start_over(built_dialogue):
    offset = timedelta()
    d = _with_clock(built_dialogue, lambda: datetime.now(timezone.utc) + offset)
    flow = d.flows[PP]
    start_pp(d, "u1")
    d.say("u1", "next")
    offset = STALE + timedelta(hours=1)
    reply = d.say("u1", "go on")
    assert (reply.kind, reply.flow, reply.step) == ("step", PP, "bank_seal")  # not moved on
    assert say("resume", "en", k=2, title=flow.title["en"]) in reply.text
    labels = {b.label for b in reply.buttons}
    assert {label("continue", "en"), say("start_over", "en")} <= labels
    cont = d.say("u1", "continue")
    assert (cont.kind, cont.step) == ("step", "bank_seal")
    assert d.say("u1", "next").step == "submit"


@pytest.mark.parametrize("how", ["typed label", "pressed button"])
def test_a_return_after_12_hours_is_asked_even_when_pressing_next(built_dialogue, how):
    offset = timedelta()
    d = _with_clock(built_dialogue, lambda: datetime.now(timezone.utc) + offset)
    start_pp(d, "u1")
    at = d.say("u1", "next")
    offset = STALE + timedelta(hours=1)
    if how == "typed label":
        reply = d.say("u1", label("next", "en"))
    else:
        reply = d.say("u1", button=button(at, f"flow:{PP}:next").id)
    assert reply.step == "bank_seal"
    assert say("resume", "en", k=2, title=d.flows[PP].title["en"]) in reply.text


def test_start_over_after_a_long_absence(built_dialogue):
    offset = timedelta()
    d = _with_clock(built_dialogue, lambda: datetime.now(timezone.utc) + offset)
    start_pp(d, "u1")
    d.say("u1", "next")
    offset = timedelta(days=3)
    prompt = d.say("u1", "hello again")
    over = d.say("u1", button=button(prompt, f"flow:{PP}:start").id)
    assert (over.kind, over.step) == ("step", d.flows[PP].start)


def test_a_return_within_12_hours_just_goes_on(built_dialogue):
    offset = timedelta()
    d = _with_clock(built_dialogue, lambda: datetime.now(timezone.utc) + offset)
    start_pp(d, "u1")
    offset = STALE - timedelta(minutes=5)
    assert d.say("u1", "next").step == "bank_seal"


def test_staleness_follows_the_injected_clock(built_dialogue):
    clock = Clock(datetime(2024, 3, 1, 9, 0, tzinfo=timezone.utc))
    d = _with_clock(built_dialogue, clock)
    start_pp(d, "u1")
    clock.now += timedelta(hours=1)
    assert say("resume", "en", k=1, title=d.flows[PP].title["en"]) not in d.say("u1", "help").text
    clock.now += STALE + timedelta(hours=1)
    assert say("resume", "en", k=1, title=d.flows[PP].title["en"]) in d.say("u1", "go on").text


def test_two_users_interleaved_never_share_a_place(dialogue):
    a = dialogue.say("alice", "guide me through the annual review on my phone")
    b = start_pp(dialogue, "bob", "es")
    assert (a.flow, b.flow) == ("annual_review", PP)
    a = dialogue.say("alice", "Alipay")
    b = dialogue.say("bob", "siguiente")
    a = dialogue.say("alice", "next")
    b = dialogue.say("bob", "atrás")
    assert (a.flow, a.step, a.lang) == ("annual_review", "alipay_city", "en")
    assert (b.flow, b.step, b.lang) == (PP, "get_forms", "es")
    dialogue.say("bob", "cancelar")
    assert dialogue.say("alice", "next").step == "alipay_service"
    assert dialogue.store.user("bob").flow_state is None


def test_a_restart_with_a_file_database_keeps_the_place(built_dialogue, tmp_path):
    path = tmp_path / "bot.db"
    first = Dialogue(Store(path), kb=built_dialogue.kb, flows=built_dialogue.flows)
    start_pp(first, "u1", "es")
    first.say("u1", "siguiente")
    first.store.close()
    second = Dialogue(Store(path), kb=built_dialogue.kb, flows=built_dialogue.flows)
    reply = second.say("u1", "siguiente")
    assert (reply.kind, reply.flow, reply.step, reply.lang) == ("step", PP, "submit", "es")
    assert second.say("u1", "Alipay").lang == "es"
    second.store.close()


def test_file_store_fixture_is_a_real_file(file_store, tmp_path):
    assert file_store.path == tmp_path / "socialbot.db" and file_store.path.exists()


# --- odd input ----------------------------------------------------------------------------------

def test_a_sticker_is_answered(dialogue):
    reply = dialogue.say("u1", media="sticker")
    assert reply.kind == "error" and say("media", "en") in reply.text


def test_an_empty_message_is_answered(dialogue):
    reply = dialogue.say("u1", "   ")
    assert reply.kind == "error" and say("empty", "en") in reply.text


def test_a_very_long_message_is_read_in_part_and_the_user_told(dialogue):
    reply = dialogue.say("u1", "when is the annual review " + "blah " * 1000)
    assert say("too_long", "en") in reply.text


def test_one_broken_message_does_not_take_the_bot_down(dialogue, monkeypatch):
    monkeypatch.setattr(dialogue, "_route", lambda *a: 1 / 0)
    reply = dialogue.say("u1", "hola", lang="es")
    assert reply.kind == "error" and reply.lang == "es" and say("error", "es") in reply.text


def test_a_broken_message_is_answered_in_the_users_language(dialogue, monkeypatch):
    assert dialogue.say("u1", "¿Cuándo es la revisión anual?").lang == "es"
    monkeypatch.setattr(dialogue, "_route", lambda *a: 1 / 0)
    reply = dialogue.say("u1", "12345")
    assert reply.kind == "error" and reply.lang == "es"


def test_typed_thumbs_are_feedback_and_other_emoji_are_not(dialogue):
    """👍/👎 normalise to nothing: their labels are kept as typed, and an emoji-only message presses neither."""
    dialogue.say("u1", "when is the annual review")
    other = dialogue.say("u1", "🙂🙂🙂")
    assert other.kind in ("fallback", "suggest") and dialogue.store.feedback() == []
    up = dialogue.say("u1", "👍")
    assert say("thanks_feedback", "en") in up.text
    answer = dialogue.say("u2", "what does the annual review check")
    assert answer.kind == "answer"
    down = dialogue.say("u2", "👎")
    assert say("thanks_feedback", "en") in down.text
    assert sorted((r["topic"], r["vote"]) for r in dialogue.store.feedback()) == \
        sorted([("review-months", 1), (answer.topic, -1)])


def test_feedback_and_reminders(dialogue):
    dialogue.clock = lambda: datetime(2025, 6, 10, tzinfo=timezone.utc)  # before the window opens
    answer = dialogue.say("u1", "when is the annual review")
    thanks = dialogue.say("u1", button=button(answer, "fb:down:").id)
    assert say("thanks_feedback", "en") in thanks.text
    assert [(r["topic"], r["vote"]) for r in dialogue.store.feedback()] == [("review-months", -1)]
    on = dialogue.say("u1", button=button(answer, "remind:on").id)
    assert on.kind == "command" and len(dialogue.store.reminders()) == 1
    off = dialogue.say("u1", "/remind off")
    assert say("remind_off", "en") in off.text and dialogue.store.reminders() == []


def test_fresh_store_fixture_is_empty(fresh_store):
    assert fresh_store.unanswered() == [] and fresh_store.holds("anyone") == 0


def test_every_button_under_every_answer_fits_in_telegrams_64_bytes(built_dialogue):
    """Button ids come from content (topic ids, 'walk:' + topic); Telegram refuses callback data over 64 bytes."""
    for tid in KB.topics:
        for lang in LANGS:
            _, buttons = built_dialogue._answer_view(tid, lang)
            for b in buttons:
                assert 1 <= len(b.id.encode("utf-8")) <= 64, (tid, b.id)
