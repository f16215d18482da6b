"""Procedure words typed when no procedure is going on get a useful answer, not a guess."""
import pytest

from bot import render


@pytest.mark.parametrize("text, lang, key", [
    ("next", "en", "no_procedure"),
    ("atrás", "es", "no_procedure"),
    ("下一步", "zh", "no_procedure"),
    ("cancel", "en", "nothing_to_cancel"),
    ("取消", "zh", "nothing_to_cancel"),
])
def test_a_procedure_word_with_no_procedure(dialogue, text, lang, key):
    reply = dialogue.say("nav", text)
    assert reply.lang == lang
    assert reply.text.endswith(render.say(key, lang))  # a new user's first reply starts with the introduction
    assert not reply.fallback and reply.flow is None
    assert any(b.id.startswith("flow:") for b in reply.buttons)  # the procedures are offered


def test_a_procedure_word_inside_a_procedure_still_moves_it(dialogue):
    first = dialogue.say("nav2", "guide me step by step through paying social insurance myself")
    assert first.flow == "personal_payment"
    moved = dialogue.say("nav2", "next")
    assert moved.flow == "personal_payment" and moved.step != first.step
