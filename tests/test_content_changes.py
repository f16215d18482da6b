"""A curator's edit must never strand a user: a stored place the content no longer has is put right.

The stored place is written as an older socialbot would have left it after a flow lost a step or a
whole procedure was withdrawn; the next message, whatever it is, gets a polite reply in the user's
language instead of "something went wrong".
"""
from __future__ import annotations

import pytest

from bot import render
from conversations.loader import load_flows

FLOWS = load_flows()
FLOW = "personal_payment"


def _strand(dialogue, user: str, place: dict) -> None:
    row = dialogue.store.user(user)
    row.flow_state = place
    dialogue.store.save_user(row)


@pytest.mark.parametrize("lang, text", [("en", "Next"), ("es", "Siguiente"), ("zh", "下一步")])
def test_a_removed_step_restarts_the_procedure_in_the_users_language(dialogue, lang, text):
    dialogue.say("u1", "/start", lang=lang)
    _strand(dialogue, "u1", {"flow": FLOW, "step": "a-step-a-curator-removed", "path": []})
    reply = dialogue.say("u1", text)
    assert reply.kind == "step" and reply.lang == lang
    assert reply.flow == FLOW and reply.step == FLOWS[FLOW].start
    assert render.say("place_restarted", lang) in reply.text
    # and the place is sound again: the next press moves on, it does not fail
    assert dialogue.say("u1", text).kind == "step"


def test_a_removed_checklist_item_or_path_step_restarts_too(dialogue):
    _strand(dialogue, "u2", {"flow": FLOW, "step": FLOWS[FLOW].start, "path": ["gone"], "ticked": []})
    reply = dialogue.say("u2", "Next")
    assert reply.kind == "step" and render.say("place_restarted", "en") in reply.text


def test_a_removed_procedure_closes_the_place_and_answers_the_message(dialogue):
    _strand(dialogue, "u3", {"flow": "withdrawn_procedure", "step": "s1", "path": []})
    reply = dialogue.say("u3", "When is the annual review?")
    assert reply.kind == "answer" and reply.flow is None
    assert render.say("place_gone", "en") in reply.text
    assert dialogue.store.user("u3").flow_state is None


def test_a_malformed_stored_place_is_dropped_not_fatal(dialogue):
    _strand(dialogue, "u4", {"flow": FLOW, "step": 7})
    reply = dialogue.say("u4", "hello")
    assert reply.kind != "error"


@pytest.mark.parametrize("lang, text", [("en", "Next"), ("es", "Siguiente"), ("zh", "下一步")])
def test_a_removed_procedure_is_said_politely_in_the_users_language(dialogue, lang, text):
    dialogue.say("u5", "/start", lang=lang)
    _strand(dialogue, "u5", {"flow": "withdrawn_procedure", "step": "s1", "path": []})
    reply = dialogue.say("u5", text)  # a step word, with no procedure left to move
    assert reply.kind != "error" and reply.lang == lang and reply.flow is None
    assert render.say("place_gone", lang) in reply.text
    assert dialogue.store.user("u5").flow_state is None


def test_a_button_of_a_removed_procedure_is_not_fatal(dialogue):
    from bot import buttons as bt
    from conversations.events import Next

    _strand(dialogue, "u6", {"flow": "withdrawn_procedure", "step": "s1", "path": []})
    reply = dialogue.say("u6", button=bt.encode(bt.Step.on("withdrawn_procedure", Next(), "s1")))
    assert reply.kind == "error" and render.say("unknown_button", "en") in reply.text
    assert render.say("place_gone", "en") in reply.text and reply.flow is None
