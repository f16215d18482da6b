"""The state machine walked over the real flows, in every language."""
from __future__ import annotations

import json
from dataclasses import replace
from collections import deque

import pytest

from conversations.events import Back, Cancel, Choose, Continue, Done, Next, Restart, Start, Tick
from conversations.loader import load_flows
from conversations.machine import NotApplicable, State, advance, fits, start
from conversations.model import Flow
from knowledge.language import LANGS

FLOWS = load_flows()
FLOW_IDS = sorted(FLOWS)


def events_to(flow: Flow, target: str) -> list:
    """The shortest list of events from the start step to target."""
    queue = deque([(flow.start, [])])
    seen = {flow.start}
    while queue:
        step_id, events = queue.popleft()
        if step_id == target:
            return events
        step = flow.steps[step_id]
        moves = ([(step.next, Next())] if step.next else []) + [(c.to, Choose(c.id)) for c in step.choices]
        for to, event in moves:
            if to not in seen:
                seen.add(to)
                queue.append((to, [*events, event]))
    raise AssertionError(f"{target} unreachable")


def walk(flow: Flow, state: State, events: list) -> State:
    for event in events:
        state = advance(flow, state, event)
    return state


def test_the_five_procedures_exist():
    assert set(FLOWS) == {
        "annual_review", "enterprise_review", "personal_payment",
        "client_declaration", "new_employee_registration",
    }


@pytest.mark.parametrize("flow_id", FLOW_IDS)
@pytest.mark.parametrize("lang", LANGS)
def test_every_step_reads_in_every_language(flow_id, lang):
    flow = FLOWS[flow_id]
    assert flow.title[lang].strip() and flow.description[lang].strip()
    for step in flow.steps.values():
        assert step.text[lang].strip(), (step.id, lang)
        assert all(c.label[lang].strip() for c in step.choices)
        assert all(i.label[lang].strip() for i in step.checklist)


@pytest.mark.parametrize("flow_id", FLOW_IDS)
@pytest.mark.parametrize("lang", LANGS)
def test_every_step_walked_forward_to_an_end_and_back_to_the_start(flow_id, lang):
    flow = FLOWS[flow_id]
    for step_id in flow.steps:
        state = walk(flow, start(flow), events_to(flow, step_id))
        assert state.step == step_id
        seen = [flow.steps[state.step].text[lang]]
        while not flow.steps[state.step].is_end:  # onwards: Next, or the first choice
            step = flow.steps[state.step]
            state = advance(flow, state, Next() if step.next else Choose(step.choices[0].id))
            seen.append(flow.steps[state.step].text[lang])
        end = state
        assert advance(flow, end, Next()).status == "done"
        while state.path:
            state = advance(flow, state, Back())
            seen.append(flow.steps[state.step].text[lang])
        assert state == start(flow)
        assert flow.title[lang].strip() and all(text.strip() for text in seen)


@pytest.mark.parametrize("flow_id", FLOW_IDS)
def test_every_step_cites_a_source_of_its_flow(flow_id):
    flow = FLOWS[flow_id]
    for step in flow.steps.values():
        assert step.sources and set(step.sources) <= set(flow.sources)


def test_annual_review_three_routes():
    flow = FLOWS["annual_review"]
    state = start(flow)
    assert state.step == "route"
    assert advance(flow, state, Choose("alipay")).step == "alipay_more"
    assert advance(flow, state, Choose("app")).step == "app_download"
    assert advance(flow, state, Choose("online")).step == "online_install"


def test_annual_review_alipay_route_in_order():
    flow = FLOWS["annual_review"]
    state = advance(flow, start(flow), Choose("alipay"))
    visited = [state.step]
    while flow.steps[state.step].next:
        state = advance(flow, state, Next())
        visited.append(state.step)
    assert visited == [
        "alipay_more", "alipay_city", "alipay_service", "alipay_authorize",
        "alipay_login", "alipay_certify", "review_done",
    ]
    assert "complete" in flow.steps["review_done"].text["en"]
    assert "完成" in flow.steps["review_done"].text["zh"]


def test_annual_review_when_it_fails():
    flow = FLOWS["annual_review"]
    for last in ("alipay_certify", "app_complete", "online_face"):
        state = walk(flow, start(flow), events_to(flow, last))
        trouble = advance(flow, state, Choose("failed"))
        assert trouble.step == "trouble"
        text = flow.steps["trouble"].text
        assert "social security bureau" in text["en"] and "社保局" in text["zh"]
    channel = walk(flow, start(flow), events_to(flow, "online_channel"))
    assert advance(flow, channel, Choose("green")).step == "online_face"
    assert advance(flow, channel, Choose("general")).step == "online_general"


def test_first_steps_say_what_they_are_about():
    first = {f: FLOWS[f].steps[FLOWS[f].start].text for f in FLOWS}
    reg = first["new_employee_registration"]
    assert "30" in reg["en"] and "register" in reg["en"]
    assert "30" in reg["es"] and "registro" in reg["es"]
    assert "三十日" in reg["zh"] and "登记" in reg["zh"]
    client = first["client_declaration"]
    assert all(w in client["en"] for w in ("download", "install", "register"))
    assert all(w in client["es"] for w in ("descargue", "instale", "registro"))
    assert all(w in client["zh"] for w in ("下载", "安装", "注册"))
    pay = first["personal_payment"]
    assert "personal payment window" in pay["en"] and "Declaration Form" in pay["en"]
    assert "ventanilla de pago personal" in pay["es"] and "declaración" in pay["es"]
    assert "个人缴费窗口" in pay["zh"] and "申报表" in pay["zh"]
    assert "September to December" in first["enterprise_review"]["en"]


def test_next_follows_next_when_a_step_also_has_choices():
    flow = FLOWS["client_declaration"]
    state = walk(flow, start(flow), events_to(flow, "submit"))
    assert advance(flow, state, Next()).step == "approved"
    fixed = advance(flow, advance(flow, state, Choose("error")), Next())
    assert fixed.step == "submit" and fixed.path[-2:] == ("submit", "fix_error")


def test_tick_toggles_and_survives_moving_on():
    flow = FLOWS["new_employee_registration"]
    state = walk(flow, start(flow), [Choose("new_unit"), Next()])
    assert state.step == "attachments"
    state = advance(flow, state, Tick("licence_copy"))
    assert state.ticked == {"licence_copy"}
    state = advance(flow, state, Tick("org_code_certificate"))
    assert state.ticked == {"licence_copy", "org_code_certificate"}
    assert advance(flow, state, Tick("licence_copy")).ticked == {"org_code_certificate"}
    assert advance(flow, state, Next()).ticked == state.ticked
    with pytest.raises(NotApplicable):  # an item of another step
        advance(flow, state, Tick("registration_form"))


def test_restart_cancel_done():
    flow = FLOWS["personal_payment"]
    state = walk(flow, start(flow), [Next(), Next(), Tick("declaration_form")])
    assert state.step == "submit"
    assert advance(flow, state, Restart()) == start(flow)
    assert advance(flow, state, Start()) == start(flow)
    cancelled = advance(flow, state, Cancel())
    assert cancelled.status == "cancelled" and cancelled.step == "submit"
    assert advance(flow, state, Done()) == advance(flow, state, Next())  # done with this step: the next one
    last = walk(flow, state, [Next()])
    assert flow.steps[last.step].is_end
    done = advance(flow, last, Done())
    assert done.status == "done" and not done.active
    assert advance(flow, done, Restart()).active


def test_done_on_a_step_that_needs_a_choice_is_not_applicable():
    flow = FLOWS["annual_review"]
    with pytest.raises(NotApplicable):
        advance(flow, start(flow), Done())  # which way first


def test_continue_acts_as_next():
    flow = FLOWS["enterprise_review"]
    assert advance(flow, start(flow), Continue()) == advance(flow, start(flow), Next())


def test_not_applicable():
    flow = FLOWS["annual_review"]
    state = start(flow)
    with pytest.raises(NotApplicable):
        advance(flow, state, Next())  # the route step needs a choice
    with pytest.raises(NotApplicable):
        advance(flow, state, Back())  # already at the start
    with pytest.raises(NotApplicable):
        advance(flow, state, Choose("fax"))
    with pytest.raises(NotApplicable):
        advance(flow, state, Tick("nothing"))
    finished = replace(state, status="done")
    for over in (advance(flow, state, Cancel()), finished):
        for event in (Next(), Back(), Choose("alipay"), Done(), Cancel()):
            with pytest.raises(NotApplicable):
                advance(flow, over, event)
    with pytest.raises(ValueError):
        advance(FLOWS["enterprise_review"], state, Next())  # a state of another flow


def test_next_on_the_last_step_ends_the_flow():
    flow = FLOWS["enterprise_review"]
    state = walk(flow, start(flow), [Next()] * 4)
    assert state.step == "signature" and state.active
    assert advance(flow, state, Next()).status == "done"


def test_state_round_trips_through_json():
    flow = FLOWS["new_employee_registration"]
    state = walk(flow, start(flow), [Choose("new_unit"), Tick("staff_increase"), Tick("registration_form")])
    stored = json.loads(json.dumps(state.to_dict()))
    assert stored["ticked"] == ["registration_form", "staff_increase"]
    assert State.from_dict(stored) == state
    for status in ("done", "cancelled"):
        other = advance(flow, state, Done() if status == "done" else Cancel())
        assert State.from_dict(json.loads(json.dumps(other.to_dict()))) == other
    assert State.from_dict({"flow": "annual_review", "step": "route"}) == start(FLOWS["annual_review"])


@pytest.mark.parametrize("bad", [
    None, [], {}, {"flow": "annual_review"}, {"flow": "x", "step": "y", "status": "paused"},
    {"flow": "x", "step": "y", "path": "route"}, {"flow": "x", "step": "y", "ticked": [1]},
])
def test_state_from_bad_dict(bad):
    with pytest.raises(ValueError):
        State.from_dict(bad)


def test_fits_tells_a_stale_state():
    flow = FLOWS["annual_review"]
    assert fits(flow, start(flow))
    assert not fits(flow, State("annual_review", "gone"))
    assert not fits(flow, State("annual_review", "route", ticked=frozenset({"nope"})))
    assert not fits(flow, State("personal_payment", "route"))
