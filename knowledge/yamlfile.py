"""Read one YAML file for a curator: its data, where each field sits, and what is broken.

PyYAML silently keeps the last of two equal keys, which would hide a duplicated step id,
so the node tree is walked once to find duplicates and to note each field's line.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import yaml

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_PARENT = re.compile(r"(\.[^.\[]+|\[\d+\]|^[^.\[]+)$")  # the last ".key" or "[n]" of a path


class Problem(NamedTuple):
    where: str  # the field path such as "steps.route.next"; "" is the whole file
    message: str
    line: int | None = None  # where the file says so itself; else the field's line is looked up


@dataclass(frozen=True)
class Document:
    data: Any = None
    lines: dict[str, int] = field(default_factory=dict)  # "steps.route.text.en" -> 1-based line
    problems: tuple[Problem, ...] = ()  # what stops the file from being read at all


def read_yaml(path: Path) -> Document:
    """Never raises for bad content: a broken file comes back as problems."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        return Document(problems=(Problem("", f"cannot read the file: {err}"),))
    loader = _LOADER(text)
    try:
        # One parse (in C where libyaml is there) gives both the nodes, for lines and duplicate
        # keys, and the data built from them: flows are read at every start of the bot.
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as err:
        return Document(problems=(_describe(err),))
    finally:
        loader.dispose()
    lines: dict[str, int] = {}
    problems: list[Problem] = []
    if node is not None:
        _walk(node, "", lines, problems)
    return Document(data, lines, tuple(problems))


def line_of(doc: Document, path: str) -> int | None:
    """The line of a field, or of its nearest parent that has one."""
    while path:
        if path in doc.lines:
            return doc.lines[path]
        path = _PARENT.sub("", path)
    return None


def _walk(node: yaml.Node, path: str, lines: dict[str, int], problems: list) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            child = f"{path}.{key}" if path else key
            if key in seen:
                what = "step id" if path == "steps" else "key"
                problems.append(Problem(child, f"duplicate {what} '{key}'", key_node.start_mark.line + 1))
                continue
            seen.add(key)
            lines[child] = key_node.start_mark.line + 1
            _walk(value_node, child, lines, problems)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            child = f"{path}[{index}]"
            lines[child] = item.start_mark.line + 1
            _walk(item, child, lines, problems)


def _describe(err: yaml.YAMLError) -> Problem:
    mark = getattr(err, "problem_mark", None)
    problem = " ".join((getattr(err, "problem", None) or str(err)).split())
    if mark is None:
        return Problem("", f"not valid YAML: {problem}")
    return Problem("", f"not valid YAML (column {mark.column + 1}): {problem}", mark.line + 1)
