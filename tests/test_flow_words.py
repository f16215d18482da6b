"""Navigation words in three languages, typed labels, and stable button ids."""
from __future__ import annotations

import pytest

from conversations.events import SIMPLE, Back, Cancel, Choose, Continue, Done, Next, Restart, Start, Tick
from conversations.loader import build_flow, load_flows
from conversations.machine import State, advance, start
from knowledge.language import LANGS
from knowledge.text import label_key as key
from conversations.words import (
    LABELS,
    SYNONYMS,
    VOCABULARY,
    label,
    named_option,
    parse,
    repeats_last_choice,
)

FLOWS = load_flows()
ANNUAL = FLOWS["annual_review"]
AT_ROUTE = start(ANNUAL)


@pytest.mark.parametrize("text, event, lang", [
    ("next", Next(), "en"), ("Next", Next(), "en"), ("  NEXT!! ", Next(), "en"), ("ｎｅｘｔ", Next(), "en"),
    ("go on", Next(), "en"), ("ok, next", Next(), "en"),
    ("siguiente", Next(), "es"), ("Siguiente.", Next(), "es"), ("sigue", Next(), "es"), ("adelante", Next(), "es"),
    ("下一步", Next(), "zh"), ("下一步。", Next(), "zh"), ("下一个", Next(), "zh"), ("好的，下一步", Next(), "zh"),
    ("ok", Next(), None), ("OK", Next(), None),
    ("continue", Continue(), "en"), ("continuar", Continue(), "es"), ("继续", Continue(), "zh"), ("繼續", Continue(), "zh"),
    ("back", Back(), "en"), ("go back", Back(), "en"), ("previous", Back(), "en"),
    ("atrás", Back(), "es"), ("atras", Back(), "es"), ("ATRÁS", Back(), "es"), ("volver", Back(), "es"),
    ("返回", Back(), "zh"), ("上一步", Back(), "zh"),
    ("cancel", Cancel(), "en"), ("stop", Cancel(), "en"), ("quit", Cancel(), "en"), ("exit", Cancel(), "en"),
    ("salir", Cancel(), "es"), ("cancelar", Cancel(), "es"), ("parar", Cancel(), "es"),
    ("取消", Cancel(), "zh"), ("退出", Cancel(), "zh"), ("不做了", Cancel(), "zh"),
    ("start over", Restart(), "en"), ("restart", Restart(), "en"), ("empezar de nuevo", Restart(), "es"),
    ("reiniciar", Restart(), "es"), ("重新开始", Restart(), "zh"), ("重新開始", Restart(), "zh"), ("从头开始", Restart(), "zh"),
    ("done", Done(), "en"), ("finished", Done(), "en"), ("I'm done", Done(), "en"),
    ("listo", Done(), "es"), ("terminado", Done(), "es"), ("hecho", Done(), "es"),
    ("完成", Done(), "zh"), ("好了", Done(), "zh"), ("做完了", Done(), "zh"),
])
def test_navigation_words(text, event, lang):
    assert parse(text, ANNUAL, AT_ROUTE) == (event, lang)
    assert parse(text) == (event, lang)  # outside any flow too: "continue" resumes one


@pytest.mark.parametrize("text", [
    "what happens next after I submit?",
    "¿qué pasa si vuelvo atrás en el formulario?",
    "下一步要交什么材料",
    "can I cancel my social insurance",
    "next month",
    "",
    "   ",
    "?!",
])
def test_a_question_containing_a_word_is_not_an_event(text):
    assert parse(text, ANNUAL, AT_ROUTE) is None


@pytest.mark.parametrize("word", sorted(LABELS))
@pytest.mark.parametrize("lang", LANGS)
def test_typing_a_button_label_does_what_the_button_does(word, lang):
    assert parse(label(word, lang)) == (SIMPLE[word], lang)


def test_every_word_has_a_label_and_synonyms_in_every_language():
    assert set(LABELS) == set(SYNONYMS) == {"next", "back", "cancel", "restart", "done", "continue"}
    for word in LABELS:
        for lang in LANGS:
            assert LABELS[word][lang] and SYNONYMS[word][lang]


def test_no_phrase_means_two_things():
    meanings: dict[str, set[str]] = {}
    for word, by_lang in SYNONYMS.items():
        for phrases in by_lang.values():
            for phrase in phrases:
                meanings.setdefault(key(phrase), set()).add(word)
    assert all(len(words) == 1 for words in meanings.values())
    assert VOCABULARY[key("ok")] == ("next", frozenset(LANGS))


@pytest.mark.parametrize("text, event, lang", [
    ("Alipay", Choose("alipay"), None),
    ("alipay", Choose("alipay"), None),
    ("支付宝", Choose("alipay"), "zh"),
    ("支付寶", Choose("alipay"), "zh"),
    ("Social security bureau app", Choose("app"), "en"),
    ("app de la seguridad social", Choose("app"), "es"),
    ("社保局APP", Choose("app"), "zh"),
    ("en linea", Choose("online"), "es"),
    ("身份证和人脸认证", Choose("online"), "zh"),
])
def test_choice_labels_in_any_language(text, event, lang):
    assert parse(text, ANNUAL, AT_ROUTE) == (event, lang)


def test_choices_count_only_on_their_step_and_in_an_active_flow():
    later = advance(ANNUAL, AT_ROUTE, Choose("alipay"))
    assert parse("alipay", ANNUAL, later) is None
    assert parse("alipay") is None
    assert parse("alipay", ANNUAL, advance(ANNUAL, AT_ROUTE, Cancel())) is None
    assert parse("No ha funcionado", ANNUAL, later) is None


def test_a_step_option_wins_over_a_navigation_word():
    certify = State(ANNUAL.id, "alipay_certify", ("route",))
    assert parse("no ha funcionado", ANNUAL, certify) == (Choose("failed"), "es")
    assert parse("下一步", ANNUAL, certify) == (Next(), "zh")
    text = {"en": "Ready", "es": "Listo", "zh": "好"}
    flow = build_flow({
        "id": "tiny", "title": text, "description": text, "triggers": {l: ["x"] for l in LANGS},
        "sources": ["doc-000"], "start": "a",
        "steps": {
            "a": {"text": text, "source": "doc-000", "choices": [{"id": "ready", "label": text, "to": "b"}]},
            "b": {"text": text, "source": "doc-000"},
        },
    })
    assert parse("listo", flow, start(flow)) == (Choose("ready"), "es")  # not Done
    assert parse("listo", flow, advance(flow, start(flow), Choose("ready"))) == (Done(), "es")


def test_checklist_labels_tick():
    flow = FLOWS["new_employee_registration"]
    state = advance(flow, advance(flow, start(flow), Choose("new_unit")), Next())
    assert parse("Copy of the business licence", flow, state) == (Tick("licence_copy"), "en")
    assert parse("copia de la licencia comercial", flow, state) == (Tick("licence_copy"), "es")
    assert parse("☐ 工商营业执照复印件", flow, state) == (Tick("licence_copy"), "zh")


@pytest.mark.parametrize("text, option", [
    ("guide me through the annual review with alipay", "alipay"),
    ("Guíame con la App, por favor", "app"),
    ("一步一步教我用社保局APP年审", "app"),
    ("walk me through the online certification", "online"),
    ("walk me through the annual review", None),  # no way named
    ("alipay or the app, which is easier?", None),  # two named: the user has not chosen
    ("my happy alipayment", None),  # whole words only
])
def test_named_option_is_the_one_way_a_message_names(text, option):
    from knowledge.text import normalize

    assert named_option(ANNUAL, normalize(text)) == option


def test_repeating_the_option_that_led_here_is_recognised_and_nothing_else_is():
    at_alipay = advance(ANNUAL, AT_ROUTE, Choose("alipay"))
    assert repeats_last_choice(ANNUAL, at_alipay, "Alipay")
    assert repeats_last_choice(ANNUAL, at_alipay, "支付宝")
    assert not repeats_last_choice(ANNUAL, at_alipay, "the app")  # another way: not a repeat
    assert not repeats_last_choice(ANNUAL, at_alipay, "next")
    assert not repeats_last_choice(ANNUAL, AT_ROUTE, "Alipay")  # at the first step there is nothing before
