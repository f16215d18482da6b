"""Build Flow objects from conversations/flows/*.yaml, refusing files that do not validate."""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from conversations.model import CheckItem, Choice, Flow, Step
from conversations.schema import FLOW_WHAT, ChoiceFile, FlowFile, StepFile, context
from conversations.validate import FLOWS_DIR, read_flow
from knowledge.declare import report, validate


class FlowError(ValueError):
    """A flow file that cannot be run; .problems lists every reason, as validate_flows words them."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


def load_flows(folder: Path | str | None = None) -> dict[str, Flow]:
    """Every flow in the folder by id; raises FlowError naming all broken files at once.

    Sources and topics are not checked here: they are content, and a missing topic must not
    stop the bot (validate_flows and `socialbot kb check` report them).
    """
    folder = Path(folder) if folder is not None else FLOWS_DIR
    flows: dict[str, Flow] = {}
    problems: list[str] = []
    for path in sorted(folder.glob("*.yaml")):
        try:
            flow = load_flow(path)
        except FlowError as err:
            problems += err.problems
        else:
            flows[flow.id] = flow
    if problems:
        raise FlowError(problems)
    return flows


def load_flow(path: Path | str) -> Flow:
    path = Path(path)
    model, doc, problems = read_flow(path)
    if model is None:
        raise FlowError(report(path, doc, problems))
    return flow_from(model)


def build_flow(data: Mapping[str, Any] | FlowFile) -> Flow:
    """A Flow from its model, or from data as a test writes it (a draft: few triggers, no review date)."""
    if not isinstance(data, FlowFile):
        model, problems = validate(FlowFile, data, context(data, draft=True), FLOW_WHAT)
        if model is None:
            raise FlowError([f"{where}: {message}" for where, message, _ in problems])
        data = model
    return flow_from(data)


def flow_from(model: FlowFile) -> Flow:
    return Flow(
        id=model.id,
        title=_text(model.title),
        description=_text(model.description),
        triggers=MappingProxyType({lang: tuple(phrases) for lang, phrases in model.triggers.items()}),
        sources=tuple(model.sources),
        start=model.start,
        steps=MappingProxyType({sid: _step(sid, step) for sid, step in model.steps.items()}),
        topic=model.topic,
        reviewed_on=model.reviewed_on,
    )


def _step(step_id: str, model: StepFile) -> Step:
    return Step(
        id=step_id,
        text=_text(model.text),
        next=model.next,
        choices=tuple(_choice(c) for c in model.choices or ()),
        checklist=tuple(CheckItem(i.id, _text(i.label)) for i in model.checklist or ()),
        sources=tuple(model.source),
    )


def _choice(model: ChoiceFile) -> Choice:
    aliases = {lang: tuple(words) for lang, words in model.aliases.items()} if model.aliases else {}
    return Choice(model.id, _text(model.label), model.to, MappingProxyType(aliases))


def _text(value) -> Mapping[str, str]:
    return MappingProxyType({lang: text.strip() for lang, text in value.items()})
