"""How citizens name things, in words of our own: the bot must meet them where they are."""
from __future__ import annotations

import pytest


@pytest.mark.parametrize("text,lang,topic", [
    # a company adding someone to its account declares a staff increase in the client software
    ("our company hired someone, how do we add a new employee in the social insurance system", "en",
     "client-declaration"),
    ("¿cómo se añade un empleado a la cuenta de la seguridad social de la empresa?", "es", "client-declaration"),
    ("公司社保怎么增员", "zh", "client-declaration"),
    # the yearly review goes by other names
    ("in which months is the annual inspection of social security", "en", "review-months"),
    ("¿en qué meses es la inspección anual del seguro social?", "es", "review-months"),
    # what the agency that runs social insurance does
    ("what are the functions of the social insurance agency in my district", "en", "management-centers"),
    ("社保经办机构都负责哪些事", "zh", "management-centers"),
])
def test_other_names_reach_the_topic(dialogue, text, lang, topic):
    reply = dialogue.say("u1", text)
    assert (reply.kind, reply.topic, reply.lang) == ("answer", topic, lang)


@pytest.mark.parametrize("text", ["guíeme en la revisión anual con el móvil", "¿me guía paso a paso con la revisión anual?",
                                  "ayúdeme a hacer la revisión anual"])
def test_asking_politely_in_spanish_starts_the_procedure(dialogue, text):
    """Usted's imperative (guíeme, ayúdeme) asks for the guide as much as tú's (guíame)."""
    reply = dialogue.say("u1", text)
    assert (reply.kind, reply.flow, reply.lang) == ("step", "annual_review", "es")


@pytest.mark.parametrize("text,topic", [
    ("How to operate the unit social security declaration?", "client-declaration"),  # the example
    ("does the unit withhold my part of the premiums?", "art60-employer-duties"),
    ("the unit did not pay my endowment insurance on time, is that allowed", "art60-employer-duties"),
    ("what is endowment insurance for", "five-programs"),
])
def test_translated_chinese_names_are_understood(dialogue, text, topic):
    """English pages translated from Chinese say "unit" (单位) for the employer and "endowment
    insurance" (养老保险) for pension insurance."""
    assert dialogue.say("u1", text).topic == topic
