"""Likely wrong answers: an answer followed at once by a rephrasing of the same question, by a 👎, or
by "that's not what I asked". The dialogue asks `why()` about the message after each answer; the
store keeps the reason, and `socialbot report` lists them beside the questions it could not answer.
"""
from __future__ import annotations

from collections.abc import Mapping

from rapidfuzz import fuzz

from bot import buttons as bt
from bot import intents, schema
from knowledge.text import Utterance, normalize

REPHRASED = 75  # token_sort_ratio of two normalised questions at or above which one rephrases the other
REASONS = {"rephrased": "asked again", "thumbs_down": "👎", "not_what_i_asked": "not what I asked"}
NOT_ASKED = {normalize(p) for _, phrases in schema.words().not_asked.items() for p in phrases}  # bot/words.yaml


def answered(buttons: Mapping[str, str]) -> str | None:
    """The topic the last reply answered, read from its buttons (an answer carries its 👍 / 👎)."""
    for bid in buttons.values():
        pressed = bt.decode(bid)
        if isinstance(pressed, bt.Vote) and pressed.up:
            return pressed.topic
    return None


def why(topic: str, question: str | None, said: Utterance, button: str | None,
        buttons: Mapping[str, str]) -> str | None:
    """Why the message after an answer to `topic` (asked as `question`) says it was likely wrong, or None."""
    if button is not None:
        return "thumbs_down" if bt.decode(button) == bt.Vote(topic, up=False) else None
    if not said.text or said.text.startswith("/"):
        return None
    norm = said.norm
    if norm in NOT_ASKED or any(p in norm for p in NOT_ASKED if len(p) >= 8):
        return "not_what_i_asked"
    if intents.intent("feedback_down", said):
        return "thumbs_down"
    if said.key in buttons or len(norm) < 6 or not question:  # a button label typed, or too short to compare
        return None
    if fuzz.token_sort_ratio(norm, normalize(question)) >= REPHRASED:
        return "rephrased"
    return None
