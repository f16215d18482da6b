"""Intents are read the same way whether the message is short (remembered) or long (read afresh)."""
from __future__ import annotations

import pytest

from bot import intents
from knowledge.memo import SHORT


@pytest.mark.parametrize("name, text, lang", [
    ("person", "I want to talk to a person", "en"),
    ("person", "quiero hablar con una persona", "es"),
    ("person", "我要转人工", "zh"),
    ("forget", "Forget me", "en"),
    ("forget", "  olvídame ", "es"),
    ("feedback_up", "👍", "en"),
])
def test_an_intent_is_found_in_short_and_long_messages(name, text, lang):
    assert intents.intent(name, text) == lang
    assert intents.intent(name, text) == lang  # asked again: the remembered answer is the same
    if name == "person":  # an `inside` phrase is found however much story surrounds it
        padded = "my mother is 80 and confused " * (SHORT // 25) + text
        assert len(padded) > SHORT
        assert intents.intent(name, padded) == lang


def test_a_whole_message_intent_is_not_found_inside_a_longer_message():
    assert intents.intent("forget", "please do not forget me when the review comes") is None
    assert intents.intent("forget", "x " * SHORT + "forget me") is None


def test_a_question_says_no_intent():
    for name in ("guide", "forget", "person", "remind_on", "feedback_up", "feedback_down"):
        assert intents.intent(name, "when is the annual review") is None
