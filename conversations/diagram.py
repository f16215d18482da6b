"""Draw a flow as a Mermaid state diagram, straight from its YAML, so the picture cannot drift."""
from __future__ import annotations

import re

from conversations.model import Flow, Step
from knowledge.language import has_cjk
from conversations.words import label

_UNSAFE = re.compile(r"[:;#{}\[\]<>\"|\n\r\t]+")  # characters Mermaid reads as syntax
WORDS = 5  # words of a step's text shown as its name
CJK_CHARS = 12  # the same for Chinese, which has no spaces


def mermaid(flow: Flow, lang: str = "en") -> str:
    """A `stateDiagram-v2`: [*] to the start, steps named by their first words, ends to [*]."""
    lines = ["stateDiagram-v2", f"    [*] --> {flow.start}"]
    for step in flow.steps.values():
        lines.append(f"    {step.id} : {short_label(step, lang)}")
    for step in flow.steps.values():
        if step.next:
            lines.append(f"    {step.id} --> {step.next} : {_clean(label('next', lang))}")
        for choice in step.choices:
            lines.append(f"    {step.id} --> {choice.to} : {_clean(choice.label.get(lang, choice.id))}")
        if step.is_end:
            lines.append(f"    {step.id} --> [*]")
    return "\n".join(lines) + "\n"


def short_label(step: Step, lang: str = "en") -> str:
    """The first words of a step's text, enough to recognise it in a diagram."""
    text = _clean(step.text.get(lang) or step.id)
    if has_cjk(text):
        return _cut(text[:CJK_CHARS], len(text) > CJK_CHARS)
    words = text.split()
    return _cut(" ".join(words[:WORDS]), len(words) > WORDS)


def _cut(text: str, shortened: bool) -> str:
    return text.rstrip(",.!?，。！？、“”«»¿¡ ") + "…" if shortened else text


def _clean(text: str) -> str:
    return " ".join(_UNSAFE.sub(" ", text).split())
