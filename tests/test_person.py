"""A person to call: every fallback, every escalation and every 👎 offers the bureau's contact
(SOCIALBOT_CONTACT_*, by default the national 12333 hotline), presented as general advice, with
the masked summary of what the user asked."""
from __future__ import annotations

import pytest

from bot import render
from bot.pause import Switch
from knowledge.language import LANGS

QUESTION = {"en": "When is the annual review?", "es": "¿Cuándo es la revisión anual?", "zh": "社保年审是几月份？"}
MISS = {"en": "How do I bake bread?", "es": "¿Cómo se cocina una paella?", "zh": "怎么烤面包？"}
BUREAU = {"SOCIALBOT_CONTACT_NAME": "Chengdu social insurance bureau", "SOCIALBOT_CONTACT_PHONE": "028-12333",
          "SOCIALBOT_CONTACT_ADDRESS": "1 Renmin Road", "SOCIALBOT_CONTACT_HOURS": "Mon-Fri 9:00-17:00",
          "SOCIALBOT_CONTACT_WEBSITE": "https://example.gov.cn"}


def person(reply):
    return next((b for b in reply.buttons if b.id == "person"), None)


def assert_contact(reply, lang: str) -> None:
    assert (reply.kind, reply.lang, reply.fallback) == ("fallback", lang, True)
    assert render.say("contact_intro", lang) in reply.text  # general advice, said so
    assert render.say("contact_default_name", lang) in reply.text and "12333" in reply.text


@pytest.mark.parametrize("lang", LANGS)
def test_a_fallback_offers_a_person_and_pressing_it_gives_the_hotline(dialogue, lang):
    miss = dialogue.say("u", MISS[lang])
    assert miss.kind == "fallback" and person(miss).label == render.say("person_button", lang)
    assert_contact(dialogue.say("u", button="person"), lang)


@pytest.mark.parametrize("lang", LANGS)
def test_typing_the_label_is_pressing_it(dialogue, lang):
    dialogue.say("u", MISS[lang])
    reply = dialogue.say("u", render.say("person_button", lang))
    assert_contact(reply, lang)
    assert [line[2:] for line in reply.text.splitlines() if line.startswith("- ")] == [MISS[lang]]


@pytest.mark.parametrize("lang", LANGS)
def test_a_thumbs_down_offers_a_person(dialogue, lang):
    dialogue.say("u", QUESTION[lang])
    down = dialogue.say("u", button="fb:down:review-months")
    assert render.say("feedback_down", lang) in down.text and person(down) is not None
    up = dialogue.say("u", button="fb:up:review-months")
    assert person(up) is None  # it helped: nobody needs to be called


@pytest.mark.parametrize("lang", LANGS)
def test_an_escalation_gives_the_contact_and_keeps_the_masked_summary(dialogue, lang):
    dialogue.say("u", f"{MISS[lang]} 13812345678")
    reply = dialogue.say("u", {"en": "talk to a person", "es": "hablar con una persona", "zh": "转人工"}[lang])
    assert_contact(reply, lang)
    assert "[PHONE:***5678]" in reply.text and "13812345678" not in reply.text


def test_the_bureau_s_own_contact_from_settings(dialogue):
    dialogue.switch = Switch(env=BUREAU)  # this copy only: as if the process started with these settings
    dialogue.say("u", MISS["es"])
    reply = dialogue.say("u", button="person")
    for value in BUREAU.values():
        assert value in reply.text
    assert render.say("contact_default_name", "es") not in reply.text
    assert "Teléfono: 028-12333" in reply.text and "Horario: Mon-Fri 9:00-17:00" in reply.text


def test_inside_a_procedure_the_person_keeps_the_place(dialogue):
    dialogue.say("u", button="flow:annual_review:start")
    reply = dialogue.say("u", button="person")
    assert_contact(reply, "en")
    assert dialogue.store.user("u").flow_state["step"] == "route"
    assert any(b.id.startswith("flow:annual_review:continue") for b in reply.buttons)
