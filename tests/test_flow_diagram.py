"""The Mermaid drawing of a flow shows every step and every transition, in each language."""
from __future__ import annotations

import re

import pytest

from conversations.diagram import mermaid, short_label
from conversations.loader import load_flows
from knowledge.language import LANGS
from conversations.words import label

FLOWS = load_flows()


@pytest.mark.parametrize("flow_id", sorted(FLOWS))
@pytest.mark.parametrize("lang", LANGS)
def test_every_step_and_transition_is_drawn(flow_id, lang):
    flow = FLOWS[flow_id]
    lines = mermaid(flow, lang).splitlines()
    assert lines[0] == "stateDiagram-v2"
    assert f"    [*] --> {flow.start}" in lines
    for step in flow.steps.values():
        assert f"    {step.id} : {short_label(step, lang)}" in lines
        if step.next:
            assert f"    {step.id} --> {step.next} : {label('next', lang)}" in lines
        for choice in step.choices:
            assert f"    {step.id} --> {choice.to} : {choice.label[lang]}" in lines
        assert (f"    {step.id} --> [*]" in lines) == step.is_end


@pytest.mark.parametrize("flow_id", sorted(FLOWS))
def test_the_drawing_has_nothing_else(flow_id):
    flow = FLOWS[flow_id]
    arrows = [line for line in mermaid(flow).splitlines() if "-->" in line]
    expected = 1 + sum(
        (1 if s.next else 0) + len(s.choices) + (1 if s.is_end else 0) for s in flow.steps.values()
    )
    assert len(arrows) == expected


def test_annual_review_drawing():
    text = mermaid(FLOWS["annual_review"])
    assert "route --> alipay_more : Alipay" in text
    assert "alipay_certify --> trouble : It didn't work" in text
    assert "alipay_more --> alipay_city : Next" in text
    assert "review_done --> [*]" in text and "trouble --> [*]" in text
    assert "route : Let's do your social security…" in text


@pytest.mark.parametrize("lang", LANGS)
def test_labels_carry_no_mermaid_syntax(lang):
    for flow in FLOWS.values():
        for line in mermaid(flow, lang).splitlines()[1:]:
            described = line.split(" : ", 1)
            if len(described) == 2:
                assert not re.search(r"[:;#{}\[\]<>\"]", described[1]), line
