"""Build Flow objects from conversations/flows/*.yaml, refusing files that do not validate."""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from conversations.model import LANGS, CheckItem, Choice, Flow, Step
from conversations.validate import FLOWS_DIR, check_flow, describe
from conversations.yamlfile import read_yaml


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
    doc = read_yaml(path)
    found = list(doc.problems) or check_flow(doc.data, path.stem)
    if doc.data is None and not found:
        found = [("", "the file is empty")]
    if found:
        raise FlowError([describe(path, doc, where, message) for where, message in found])
    return build_flow(doc.data)


def build_flow(data: Mapping[str, Any]) -> Flow:
    """A Flow from data that check_flow accepted."""
    steps = {str(step_id): _step(str(step_id), raw) for step_id, raw in data["steps"].items()}
    return Flow(
        id=data["id"],
        title=_text(data["title"]),
        description=_text(data["description"]),
        triggers=MappingProxyType({lang: tuple(data["triggers"][lang]) for lang in LANGS}),
        sources=tuple(data["sources"]),
        start=data["start"],
        steps=MappingProxyType(steps),
        topic=data.get("topic"),
        reviewed_on=str(data["reviewed_on"]) if data.get("reviewed_on") is not None else None,
    )


def _step(step_id: str, raw: Mapping[str, Any]) -> Step:
    source = raw["source"]
    return Step(
        id=step_id,
        text=_text(raw["text"]),
        next=raw.get("next"),
        choices=tuple(_choice(c) for c in raw.get("choices") or ()),
        checklist=tuple(CheckItem(i["id"], _text(i["label"])) for i in raw.get("checklist") or ()),
        sources=(source,) if isinstance(source, str) else tuple(source),
    )


def _choice(raw: Mapping[str, Any]) -> Choice:
    aliases = {lang: tuple(words) for lang, words in (raw.get("aliases") or {}).items()}
    return Choice(raw["id"], _text(raw["label"]), raw["to"], MappingProxyType(aliases))


def _text(value: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType({lang: value[lang].strip() for lang in LANGS})
