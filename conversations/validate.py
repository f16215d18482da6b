"""Check flow YAML the way a curator needs: every problem at once, each as `path:line: field: message`.

The shape of a flow is declared once, in conversations/schema.py; this module runs it over a
folder and adds what only several flows together show (one phrase triggering two of them).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from conversations.schema import FLOW_WHAT, FlowFile, context
from knowledge.declare import ROOT, display, report, validate
from knowledge.schema import SOURCES_FILE, known_sources as known_sources_of
from knowledge.text import label_key
from knowledge.yamlfile import Document, Problem, read_yaml

FLOWS_DIR = Path(__file__).resolve().parent / "flows"

__all__ = ["FLOWS_DIR", "ROOT", "validate_flows", "check_flow", "read_flow", "default_sources", "display"]


def validate_flows(
    folder: Path | str | None = None,
    known_sources: set[str] | None = None,
    known_topics: set[str] | None = None,
    sources_file: Path = SOURCES_FILE,
) -> list[str]:
    """Every problem in a folder of flows.

    known_sources defaults to the ids in sources_file (none are checked when that file is itself
    broken: kb check reports it); topics are checked only when known_topics is given (the
    knowledge room owns them).
    """
    folder = Path(folder) if folder is not None else FLOWS_DIR
    if known_sources is None:
        known_sources = known_sources_of(sources_file)
    files = sorted(folder.glob("*.yaml"))
    if not files:
        return [f"{display(folder)}: no flow files (*.yaml)"]
    found = [read_flow(path, known_sources, known_topics) for path in files]
    lines: list[str] = []
    seen_triggers: dict[str, str] = {}  # normalised phrase -> flow id that has it
    for path, (flow, doc, problems) in zip(files, found):
        if flow is not None:
            problems = problems + _repeated_triggers(flow, seen_triggers)
        lines += report(path, doc, problems)
    return lines


def read_flow(path: Path, sources: set[str] | None = None, topics: set[str] | None = None,
              ) -> tuple[FlowFile | None, Document, list[Problem]]:
    """One flow file read and checked: its model (None when broken), its lines, its problems."""
    doc = read_yaml(path)
    if doc.problems:
        return None, doc, list(doc.problems)
    flow, problems = validate(FlowFile, doc.data, context(doc.data, path.stem, sources, topics), FLOW_WHAT)
    return flow, doc, problems


def check_flow(data: Any, name: str | None = None, known_sources: set[str] | None = None,
               known_topics: set[str] | None = None) -> list[Problem]:
    """Problems in one flow's data; name is the file name the id must match."""
    return validate(FlowFile, data, context(data, name, known_sources, known_topics), FLOW_WHAT)[1]


def _repeated_triggers(flow: FlowFile, seen: dict[str, str]) -> list[Problem]:
    """The same phrase triggering two flows would make the dialogue pick one at random."""
    problems = []
    for lang, phrases in flow.triggers.items():
        for n, phrase in enumerate(phrases):
            other = seen.setdefault(label_key(phrase), flow.id)
            if other != flow.id:
                problems.append(Problem(f"triggers.{lang}[{n}]", f"'{phrase}' is also a trigger of flow '{other}'"))
    return problems


def default_sources() -> set[str] | None:
    """Source ids from knowledge/sources.yaml, read the one way the knowledge room reads them."""
    return known_sources_of()
