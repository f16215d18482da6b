"""The "did you mean" list ends with "None of these": pressed (or typed), it gives the honest
fallback with the bureau's contact, and curators see the question had no topic."""
from __future__ import annotations

import pytest

from bot import buttons as bt
from bot import render
from bot.channels.telegram_format import keyboard
from bot.report import report
from bot.store import NONE_OF_THESE

ASKED = {"en": "annual review", "es": "revisión anual", "zh": "年审"}


@pytest.mark.parametrize("lang", sorted(ASKED))
def test_the_list_ends_with_none_of_these_in_the_users_language(dialogue, lang):
    offer = dialogue.say("u1", ASKED[lang])
    assert offer.kind == "suggest"
    last = offer.buttons[-1]
    assert (last.label, bt.decode(last.id)) == (render.say("none_of_these", lang), bt.NoneOfThese())
    assert all(isinstance(bt.decode(b.id), bt.Pick) for b in offer.buttons[:-1])


@pytest.mark.parametrize("lang", sorted(ASKED))
def test_none_of_these_is_the_honest_fallback_with_the_contact(dialogue, lang):
    dialogue.say("u1", ASKED[lang])
    reply = dialogue.say("u1", button=bt.encode(bt.NoneOfThese()))
    assert (reply.kind, reply.fallback, reply.topic, reply.lang) == ("fallback", True, None, lang)
    assert render.say("none_fit", lang) in reply.text and render.say("bureau", lang) in reply.text
    assert all(line in reply.text for line in dialogue.switch.contact.lines(lang))
    assert [bt.decode(b.id) for b in reply.buttons] == [bt.Person()]


def test_it_is_recorded_for_curators_like_a_pick(dialogue):
    dialogue.say("u1", "annual review")
    dialogue.say("u1", render.say("none_of_these", "en"))  # typed: the same as pressed
    (row,) = dialogue.store.unanswered()
    assert (row["kind"], row["text"], row["chosen"]) == ("suggest", "annual review", NONE_OF_THESE)
    text = report(dialogue.store)
    assert '"None of these"' in text and '[en] "annual review"' in text
    assert f"→ {NONE_OF_THESE}" not in text  # not offered to curators as a variant of a topic


def test_on_telegram_it_is_drawn_last_never_behind_more(dialogue):
    offer = dialogue.say("u1", "annual review")
    rows = keyboard(offer.buttons, "en").inline_keyboard
    assert [b.callback_data for b in rows[-1]] == [bt.encode(bt.NoneOfThese())]
    assert not any(b.callback_data == "kb:more" for row in rows for b in row)
