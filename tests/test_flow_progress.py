""""Step k of n" along every way through every procedure: the first real step is 1, k never goes
down and n never changes going forward, a detour keeps its step's number, and only the end of a
way says "done" (conversations/progress.py)."""
from __future__ import annotations

import pytest

from bot import buttons as bt
from bot.render import say
from conversations import events as ev
from conversations import machine
from conversations.loader import load_flows
from conversations.progress import Progress, progress, unticked

FLOWS = load_flows()


def forward_walks(flow, limit: int = 40) -> list[list[machine.State]]:
    """Every way forward from the start (Next and each option), each detour loop taken at most twice."""
    walks = []

    def go(walked: list[machine.State]) -> None:
        state = walked[-1]
        step = flow.steps[state.step]
        if step.is_end or len(walked) > limit:
            walks.append(walked)
            return
        moves = ([ev.Next()] if step.next else []) + [ev.Choose(c.id) for c in step.choices]
        for move in moves:
            if isinstance(move, ev.Choose) and [s.step for s in walked].count(state.step) > 2:
                continue
            go([*walked, machine.advance(flow, state, move)])

    go([machine.start(flow)])
    return walks


@pytest.mark.parametrize("flow_id", sorted(FLOWS))
def test_progress_never_goes_down_nor_changes_its_total_on_a_way(flow_id):
    flow = FLOWS[flow_id]
    walks = forward_walks(flow)
    assert len(walks) >= 1
    for walk in walks:
        shown = [progress(flow, s) for s in walk]
        numbered = [p for p in shown if p.numbered]
        assert numbered[0].k == 1, [s.step for s in walk]
        assert len({p.n for p in numbered}) == 1, [(s.step, p) for s, p in zip(walk, shown)]
        assert all(a.k <= b.k for a, b in zip(numbered, numbered[1:])), [(s.step, p) for s, p in zip(walk, shown)]
        assert all(not p.numbered for p in shown[:len(shown) - len(numbered)])  # only the way's choice is unnumbered
        last = shown[-1]
        assert last.detour or last.k == last.n  # the end of the way is its last step


def test_the_first_step_that_only_asks_the_way_is_not_counted_and_each_way_has_its_total():
    flow = FLOWS["annual_review"]
    route = machine.start(flow)
    assert progress(flow, route) == Progress(0, 0)
    alipay = machine.advance(flow, route, ev.Choose("alipay"))
    app = machine.advance(flow, route, ev.Choose("app"))
    assert (progress(flow, alipay).k, progress(flow, alipay).n) == (1, 7)
    assert (progress(flow, app).k, progress(flow, app).n) == (1, 5)


def test_a_detour_keeps_the_number_of_the_step_it_left():
    flow = FLOWS["annual_review"]
    state = machine.advance(flow, machine.start(flow), ev.Choose("alipay"))
    for _ in range(5):
        state = machine.advance(flow, state, ev.Next())
    assert state.step == "alipay_certify" and progress(flow, state) == Progress(6, 7)
    trouble = machine.advance(flow, state, ev.Choose("failed"))
    assert progress(flow, trouble) == Progress(6, 7, detour=True)


def test_unticked_items_are_those_of_the_steps_walked():
    flow = FLOWS["enterprise_review"]
    state = machine.advance(flow, machine.start(flow), ev.Next())
    items = [i.id for i in flow.steps[state.step].checklist]
    ticked = machine.advance(flow, state, ev.Tick(items[0]))
    assert unticked(flow, ticked) == items[1:]
    assert unticked(flow, machine.start(flow)) == []


@pytest.mark.parametrize("lang", ["en", "es", "zh"])
def test_the_end_of_a_way_is_a_summary_and_a_failure_is_not_all_done(dialogue, lang):
    flow = dialogue.flows["annual_review"]
    reply = dialogue.say("u", button=bt.encode(bt.Step(flow.id, ev.Start())), lang=lang)
    reply = dialogue.say("u", button=next(b.id for b in reply.buttons if ":choose:app" in b.id))
    while reply.step != "app_complete":
        reply = dialogue.say("u", button=next(b.id for b in reply.buttons if ":next@" in b.id))
    failed = dialogue.say("u", button=next(b.id for b in reply.buttons if ":choose:failed" in b.id))
    assert failed.step == "trouble"
    ended = dialogue.say("u", button=next(b.id for b in failed.buttons if ":done@" in b.id))
    assert ended.text == say("flow_closed", lang, title=flow.title[lang])
    assert "✅" not in ended.text

    enterprise = dialogue.flows["enterprise_review"]
    reply = dialogue.say("v", button=bt.encode(bt.Step(enterprise.id, ev.Start())), lang=lang)
    while reply.step:
        reply = dialogue.say("v", button=next(b.id for b in reply.buttons if ":next@" in b.id or ":done@" in b.id))
    assert reply.text.startswith(say("flow_done", lang, title=enterprise.title[lang], n=5))
    assert say("flow_unticked", lang) in reply.text
    assert all(f"☐ {item.label[lang]}" in reply.text for item in enterprise.steps["materials"].checklist)
