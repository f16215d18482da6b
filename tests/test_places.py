"""Never lose a place silently: another procedure is asked before it replaces the one a user is in,
Cancel offers Undo, "go back to where I was" returns to the place left, exactly (step, way taken,
ticked items), and /forget is confirmed first. Through the core, as every channel gets it."""
from __future__ import annotations

import pytest

from bot import render
from bot.buttons import step_tag
from bot.store import Store
from knowledge.language import LANGS

START = {"en": "I want to do the company annual review", "es": "Quiero hacer la revisión anual de la empresa",
         "zh": "企业社保年审"}
NEXT = {"en": "next", "es": "siguiente", "zh": "下一步"}
CANCEL = {"en": "cancel", "es": "cancelar", "zh": "取消"}
GO_BACK = {"en": "go back to where I was", "es": "me equivoqué, quiero seguir donde estaba", "zh": "回到刚才那一步"}


def at_materials_with_a_tick(core, user: str, lang: str) -> dict:
    """The company review, at its checklist step with one item ticked: a place worth keeping exactly."""
    core.say(user, f"/language {lang}")
    core.say(user, button="flow:enterprise_review:start")
    core.say(user, NEXT[lang])
    item = core.flows["enterprise_review"].steps["materials"].checklist[0].id
    reply = core.say(user, button=f"flow:enterprise_review:tick:{item}" + step_tag("materials"))
    assert reply.step == "materials"
    place = core.store.user(user).flow_state
    assert place["ticked"] == [item] and place["path"] == ["intro"]
    return place


def ids(reply) -> list[str]:
    return [b.id for b in reply.buttons]


def label(reply, bid: str) -> str:
    return next(b.label for b in reply.buttons if b.id == bid or b.id.startswith(bid))


@pytest.mark.parametrize("lang", LANGS)
def test_starting_another_procedure_asks_and_stay_keeps_the_place(dialogue, lang):
    place = at_materials_with_a_tick(dialogue, "u", lang)
    asked = dialogue.say("u", button="flow:personal_payment:start")
    title = dialogue.flows["personal_payment"].title[lang]
    assert asked.kind == "command" and asked.lang == lang and title in asked.text
    assert ids(asked)[0] == "switch:personal_payment" and ids(asked)[1].startswith("flow:enterprise_review:continue")
    assert [b.label for b in asked.buttons] == [render.say("switch_button", lang), render.say("stay_button", lang)]
    stay = dialogue.say("u", render.say("stay_button", lang))  # typing the label is pressing it
    assert (stay.kind, stay.flow, stay.step) == ("step", "enterprise_review", "materials")
    assert {k: v for k, v in dialogue.store.user("u").flow_state.items() if k != "paused"} == place


@pytest.mark.parametrize("lang", LANGS)
def test_switch_then_go_back_to_where_i_was_restores_it_exactly(dialogue, lang):
    place = at_materials_with_a_tick(dialogue, "u", lang)
    dialogue.say("u", button="flow:personal_payment:start")
    switched = dialogue.say("u", render.say("switch_button", lang))
    assert (switched.kind, switched.flow, switched.lang) == ("step", "personal_payment", lang)
    back = dialogue.say("u", GO_BACK[lang])
    assert (back.kind, back.flow, back.step, back.lang) == ("step", "enterprise_review", "materials", lang)
    assert render.say("back_to_place", lang) in back.text and "☑" in back.text
    assert dialogue.store.user("u").flow_state == place
    again = dialogue.say("u", GO_BACK[lang])  # and the other way: the one just left is kept too
    assert (again.flow, again.step) == ("personal_payment", switched.step)


@pytest.mark.parametrize("lang", LANGS)
def test_cancel_offers_undo_and_undo_restores_the_place_exactly(dialogue, lang):
    place = at_materials_with_a_tick(dialogue, "u", lang)
    cancelled = dialogue.say("u", CANCEL[lang])
    assert cancelled.kind == "command" and cancelled.flow is None and ids(cancelled)[0] == "undo"
    assert dialogue.store.user("u").flow_state is None
    undone = dialogue.say("u", render.say("undo_button", lang))
    assert (undone.kind, undone.flow, undone.step, undone.lang) == ("step", "enterprise_review", "materials", lang)
    assert dialogue.store.user("u").flow_state == place
    assert dialogue.say("u", NEXT[lang]).step == "fill_form"  # and it goes on from there


@pytest.mark.parametrize("lang", LANGS)
def test_go_back_after_cancel_resumes(dialogue, lang):
    place = at_materials_with_a_tick(dialogue, "u", lang)
    dialogue.say("u", CANCEL[lang])
    dialogue.say("u", {"en": "when is the annual review", "es": "¿cuándo es la revisión anual?",
                       "zh": "社保年审是几月份？"}[lang])  # something else in between
    back = dialogue.say("u", GO_BACK[lang])
    assert (back.flow, back.step) == ("enterprise_review", "materials")
    assert dialogue.store.user("u").flow_state == place


def test_a_typed_request_for_another_procedure_asks_too(dialogue):
    at_materials_with_a_tick(dialogue, "u", "en")
    asked = dialogue.say("u", "guide me step by step through the annual review on my phone")
    assert asked.kind == "command" and ids(asked)[0] == "switch:annual_review"
    assert dialogue.store.user("u").flow_state["step"] == "materials"


def test_a_walk_me_through_button_keeps_the_way_it_names(dialogue):
    at_materials_with_a_tick(dialogue, "u", "en")
    topic = next(t for t in dialogue.kb.topics.values() if t.flow == "annual_review" and t.flow_choice)
    asked = dialogue.say("u", button=f"walk:{topic.id}")
    assert ids(asked)[0] == f"switch:annual_review:{topic.flow_choice}"
    switched = dialogue.say("u", button=ids(asked)[0])
    assert switched.flow == "annual_review" and dialogue.store.user("u").flow_state["path"]  # the way is taken


def test_the_same_procedure_again_is_not_a_switch(dialogue):
    at_materials_with_a_tick(dialogue, "u", "en")
    restarted = dialogue.say("u", "start over")
    assert (restarted.kind, restarted.step) == ("step", "intro")


def test_nothing_to_go_back_to_says_so(dialogue):
    reply = dialogue.say("u", "go back to where I was")
    assert reply.kind == "command" and render.say("nothing_to_resume", "en") in reply.text
    assert "flow:annual_review:start" in ids(reply)


def test_a_place_the_content_no_longer_has_is_not_restored(dialogue):
    at_materials_with_a_tick(dialogue, "u", "en")
    dialogue.say("u", "cancel")
    row = dialogue.store.user("u")
    row.parked = {**row.parked, "step": "a_step_a_curator_removed"}
    dialogue.store.save_user(row)
    reply = dialogue.say("u", button="undo")
    assert render.say("nothing_to_resume", "en") in reply.text and dialogue.store.user("u").parked is None


def test_the_parked_place_survives_a_restart(built_dialogue, tmp_path):
    import copy

    d = copy.copy(built_dialogue)
    d.store = Store(tmp_path / "p.db")
    place = at_materials_with_a_tick(d, "u", "es")
    d.say("u", "cancelar")
    d.store.close()
    d.store = Store(tmp_path / "p.db")
    assert d.say("u", "Deshacer").step == "materials" and d.store.user("u").flow_state == place
    d.store.close()


@pytest.mark.parametrize("lang", LANGS)
def test_forget_asks_first_and_no_keeps_everything(dialogue, lang):
    place = at_materials_with_a_tick(dialogue, "u", lang)
    held = dialogue.store.holds("u")
    asked = dialogue.say("u", "/forget")
    assert asked.lang == lang and render.say("forget_ask", lang) in asked.text
    assert ids(asked) == ["forget:yes", "forget:no"] and dialogue.store.holds("u") == held
    kept = dialogue.say("u", render.say("forget_no", lang))
    assert render.say("forget_kept", lang) in kept.text and (kept.flow, kept.step) == ("enterprise_review", "materials")
    assert dialogue.store.user("u").flow_state == place
    dialogue.say("u", "/forget")
    gone = dialogue.say("u", label(asked, "forget:yes"))
    assert render.say("forgotten", lang) in gone.text and dialogue.store.holds("u") == 0


YES = {"en": "yes", "es": "sí", "zh": "是的"}
NO = {"en": "no", "es": "no", "zh": "不"}


@pytest.mark.parametrize("lang", LANGS)
def test_a_typed_yes_or_no_answers_the_question_its_buttons_ask(dialogue, lang):
    """In a hurry people answer "Erase it all?" or "Switch to X?" with a word, not the label."""
    place = at_materials_with_a_tick(dialogue, "u", lang)
    dialogue.say("u", "/forget")
    kept = dialogue.say("u", NO[lang])
    assert render.say("forget_kept", lang) in kept.text and dialogue.store.user("u").flow_state == place
    assert dialogue.store.user("u").misses == 0  # not a "didn't catch that"
    dialogue.say("u", button="flow:personal_payment:start")
    stay = dialogue.say("u", NO[lang])
    assert (stay.kind, stay.flow, stay.step) == ("step", "enterprise_review", "materials")
    dialogue.say("u", button="flow:personal_payment:start")
    switched = dialogue.say("u", YES[lang])
    assert (switched.kind, switched.flow, switched.lang) == ("step", "personal_payment", lang)
    dialogue.say("u", "/forget")
    gone = dialogue.say("u", YES[lang])
    assert render.say("forgotten", lang) in gone.text and dialogue.store.holds("u") == 0
    assert dialogue.say("u", NO[lang]).kind != "command"  # asked nothing: "no" is no answer to anything
