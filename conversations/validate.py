"""Check flow YAML the way a curator needs: every problem at once, each naming file, field and line.

`check_flow` is pure and works on raw YAML data, so it can report a dangling step or a
missing language in a file that could never be built into a Flow.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from conversations.events import Choose, Tick
from conversations.graph import distances_to_end, in_order, reachable
from conversations.model import LANGS
from conversations.normal import has_cjk, key
from conversations.words import MAX_BUTTON_BYTES, TAG_ROOM, button_bytes
from conversations.yamlfile import Document, line_of, read_yaml
from knowledge.review import FIELD as REVIEWED_ON, review_problem

ROOT = Path(__file__).resolve().parent.parent
FLOWS_DIR = Path(__file__).resolve().parent / "flows"
SOURCES_FILE = ROOT / "knowledge" / "sources.yaml"

ID = re.compile(r"^[a-z][a-z0-9_]*$")
MIN_TRIGGERS = 6
TITLE_MAX = 40  # the title is a button label
LABEL_MAX = 64

FLOW_KEYS = {"id", "title", "description", "triggers", "topic", "sources", "start", "steps", REVIEWED_ON}
STEP_KEYS = {"text", "next", "choices", "checklist", "source"}
CHOICE_KEYS = {"id", "label", "to", "aliases"}
ITEM_KEYS = {"id", "label"}

Problem = tuple[str, str]  # (field path such as "steps.route.next", message)


def validate_flows(
    folder: Path | str | None = None,
    known_sources: set[str] | None = None,
    known_topics: set[str] | None = None,
) -> list[str]:
    """Every problem in a folder of flows, as "path/to/x.yaml: field: message (line n)".

    known_sources defaults to the ids in knowledge/sources.yaml; topics are checked only
    when known_topics is given (the knowledge room owns them).
    """
    folder = Path(folder) if folder is not None else FLOWS_DIR
    if known_sources is None:
        known_sources = default_sources()
    files = sorted(folder.glob("*.yaml"))
    if not files:
        return [f"{display(folder)}: no flow files (*.yaml)"]
    report: list[str] = []
    seen_triggers: dict[str, str] = {}  # normalised phrase -> flow id that has it
    for path in files:
        doc = read_yaml(path)
        problems = list(doc.problems)
        if doc.data is None and not problems:
            problems.append(("", "the file is empty"))
        elif not doc.problems:
            problems += check_flow(doc.data, path.stem, known_sources, known_topics)
            problems += _repeated_triggers(doc.data, path.stem, seen_triggers)
        report += [describe(path, doc, where, message) for where, message in problems]
    return report


def check_flow(
    data: Any,
    name: str | None = None,
    known_sources: set[str] | None = None,
    known_topics: set[str] | None = None,
) -> list[Problem]:
    """Problems in one flow's data; name is the file name the id must match."""
    if not isinstance(data, Mapping):
        return [("", "a flow file must be a mapping with id, title, steps, ...")]
    problems = _unknown_keys(data, FLOW_KEYS, "")
    problems += _check_id(data, name)
    problems += check_text(data.get("title"), "title", max_len=TITLE_MAX)
    problems += check_text(data.get("description"), "description")
    problems += _check_triggers(data.get("triggers"))
    problems += _check_topic(data.get("topic"), known_topics)
    review = review_problem(data.get(REVIEWED_ON))
    if review:
        problems.append((REVIEWED_ON, review))
    flow_sources = data.get("sources")
    problems += _check_sources(flow_sources, "sources", known_sources, None)
    steps = data.get("steps")
    if not isinstance(steps, Mapping) or not steps:
        return problems + [("steps", "needs at least one step")]
    listed = set(flow_sources) if isinstance(flow_sources, list) else None
    step_ids = {str(s) for s in steps}
    start = data.get("start")
    if not isinstance(start, str) or not start:
        problems.append(("start", "missing: name the first step"))
    elif start not in step_ids:
        problems.append(("start", f"unknown step '{start}'"))
    item_owner: dict[str, str] = {}
    for step_id, step in steps.items():
        problems += _check_step(str(step_id), step, step_ids, known_sources, listed, item_owner)
    problems += _check_graph(steps, start if start in step_ids else None)
    problems += _check_button_sizes(data.get("id"), steps)
    return problems


def check_text(value: Any, where: str, max_len: int | None = None) -> list[Problem]:
    """A text in every language: present, a non-empty string, Chinese where it says zh."""
    if not isinstance(value, Mapping):
        return [(where, "missing: give it in " + ", ".join(LANGS))]
    problems = [(f"{where}.{lang}", f"unknown language '{lang}'") for lang in value if lang not in LANGS]
    for lang in LANGS:
        text = value.get(lang)
        if lang not in value:
            problems.append((where, f"missing language '{lang}'"))
        elif not isinstance(text, str) or not text.strip():
            problems.append((f"{where}.{lang}", "empty"))
        elif max_len is not None and len(text) > max_len:
            problems.append((f"{where}.{lang}", f"too long for a button ({len(text)} > {max_len} characters)"))
        elif lang == "zh" and where.split(".")[-1] in ("text", "title", "description") and not has_cjk(text):
            problems.append((f"{where}.{lang}", "has no Chinese characters"))
    return problems


def _check_id(data: Mapping, name: str | None) -> list[Problem]:
    flow_id = data.get("id")
    if not isinstance(flow_id, str) or not ID.match(flow_id):
        return [("id", "missing or not lowercase_words")]
    if name is not None and flow_id != name:
        return [("id", f"'{flow_id}' differs from the file name '{name}'")]
    return []


def _check_triggers(value: Any) -> list[Problem]:
    if not isinstance(value, Mapping):
        return [("triggers", "missing: give phrases in " + ", ".join(LANGS))]
    problems = [(f"triggers.{lang}", f"unknown language '{lang}'") for lang in value if lang not in LANGS]
    for lang in LANGS:
        phrases = value.get(lang)
        where = f"triggers.{lang}"
        if lang not in value:
            problems.append(("triggers", f"missing language '{lang}'"))
        elif not isinstance(phrases, list) or not phrases:
            problems.append((where, "empty list"))
        else:
            if len(phrases) < MIN_TRIGGERS:
                problems.append((where, f"needs at least {MIN_TRIGGERS} phrases, has {len(phrases)}"))
            seen: set[str] = set()
            for index, phrase in enumerate(phrases):
                if not isinstance(phrase, str) or not key(phrase):
                    problems.append((f"{where}[{index}]", "empty"))
                elif key(phrase) in seen:
                    problems.append((f"{where}[{index}]", f"repeated phrase '{phrase}'"))
                else:
                    seen.add(key(phrase))
    return problems


def _check_topic(topic: Any, known_topics: set[str] | None) -> list[Problem]:
    if topic is None:
        return []
    if not isinstance(topic, str) or not topic:
        return [("topic", "must be a topic id")]
    if known_topics is not None and topic not in known_topics:
        return [("topic", f"unknown topic '{topic}'")]
    return []


def _check_sources(
    value: Any, where: str, known: set[str] | None, listed: set[str] | None
) -> list[Problem]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        return [(where, "missing: cite at least one source id")]
    problems: list[Problem] = []
    for index, source in enumerate(items):
        at = where if isinstance(value, str) else f"{where}[{index}]"
        if not isinstance(source, str):
            problems.append((at, "must be a source id"))
        elif known is not None and source not in known:
            problems.append((at, f"unknown source '{source}'"))
        elif listed is not None and source not in listed:
            problems.append((at, f"'{source}' is not in the flow's sources"))
    return problems


def _check_step(
    step_id: str,
    step: Any,
    step_ids: set[str],
    known_sources: set[str] | None,
    listed: set[str] | None,
    item_owner: dict[str, str],
) -> list[Problem]:
    where = f"steps.{step_id}"
    problems: list[Problem] = []
    if not ID.match(step_id):
        problems.append((where, f"step id '{step_id}' is not lowercase_words"))
    if not isinstance(step, Mapping):
        return problems + [(where, "a step must be a mapping with text, next/choices, source")]
    problems += _unknown_keys(step, STEP_KEYS, where)
    problems += check_text(step.get("text"), f"{where}.text")
    problems += _check_sources(step.get("source"), f"{where}.source", known_sources, listed)
    target = step.get("next")
    if target is not None:
        problems += _check_target(target, f"{where}.next", step_id, step_ids)
    choices = step.get("choices")
    if choices is not None:
        problems += _check_choices(choices, f"{where}.choices", step_id, step_ids)
    checklist = step.get("checklist")
    if checklist is not None:
        problems += _check_checklist(checklist, f"{where}.checklist", step_id, item_owner)
    return problems


def _check_target(target: Any, where: str, step_id: str, step_ids: set[str]) -> list[Problem]:
    if not isinstance(target, str):
        return [(where, "must be a step id")]
    if target not in step_ids:
        return [(where, f"unknown step '{target}'")]
    if target == step_id:
        return [(where, "leads back to the same step")]
    return []


def _check_choices(choices: Any, where: str, step_id: str, step_ids: set[str]) -> list[Problem]:
    if not isinstance(choices, list) or not choices:
        return [(where, "must be a non-empty list (or leave it out)")]
    problems: list[Problem] = []
    seen: set[str] = set()
    for index, choice in enumerate(choices):
        at = f"{where}[{index}]"
        if not isinstance(choice, Mapping):
            problems.append((at, "a choice needs id, label and to"))
            continue
        problems += _unknown_keys(choice, CHOICE_KEYS, at)
        choice_id = choice.get("id")
        if not isinstance(choice_id, str) or not ID.match(choice_id):
            problems.append((f"{at}.id", "missing or not lowercase_words"))
        elif choice_id in seen:
            problems.append((f"{at}.id", f"duplicate choice id '{choice_id}'"))
        else:
            seen.add(choice_id)
        problems += check_text(choice.get("label"), f"{at}.label", max_len=LABEL_MAX)
        if "to" not in choice:
            problems.append((at, "missing 'to': the step this choice leads to"))
        else:
            problems += _check_target(choice["to"], f"{at}.to", step_id, step_ids)
        problems += _check_aliases(choice.get("aliases"), f"{at}.aliases")
    return problems


def _check_aliases(aliases: Any, where: str) -> list[Problem]:
    if aliases is None:
        return []
    if not isinstance(aliases, Mapping):
        return [(where, "must map a language to a list of words")]
    problems: list[Problem] = []
    for lang, words in aliases.items():
        if lang not in LANGS:
            problems.append((f"{where}.{lang}", f"unknown language '{lang}'"))
        elif not isinstance(words, list) or not all(isinstance(w, str) and key(w) for w in words):
            problems.append((f"{where}.{lang}", "must be a list of non-empty words"))
    return problems


def _check_checklist(
    checklist: Any, where: str, step_id: str, item_owner: dict[str, str]
) -> list[Problem]:
    if not isinstance(checklist, list) or not checklist:
        return [(where, "must be a non-empty list (or leave it out)")]
    problems: list[Problem] = []
    for index, item in enumerate(checklist):
        at = f"{where}[{index}]"
        if not isinstance(item, Mapping):
            problems.append((at, "a checklist item needs id and label"))
            continue
        problems += _unknown_keys(item, ITEM_KEYS, at)
        item_id = item.get("id")
        # Ticks are stored by item id for the whole flow, so ids are unique flow-wide.
        if not isinstance(item_id, str) or not ID.match(item_id):
            problems.append((f"{at}.id", "missing or not lowercase_words"))
        elif item_id in item_owner:
            problems.append((f"{at}.id", f"duplicate checklist id '{item_id}' (also in step '{item_owner[item_id]}')"))
        else:
            item_owner[item_id] = step_id
        problems += check_text(item.get("label"), f"{at}.label", max_len=LABEL_MAX)
    return problems


def _check_graph(steps: Mapping, start: str | None) -> list[Problem]:
    graph = {str(step_id): _targets(step) for step_id, step in steps.items()}
    # A dangling reference counts as a way out (a phantom end), so one broken 'next' is
    # reported once, as unknown, and not again as a step that leads nowhere.
    phantoms = {t: () for targets in graph.values() for t in targets if t not in graph}
    problems: list[Problem] = []
    if start is not None:
        seen = reachable(start, graph)
        problems += [
            (f"steps.{s}", f"unreachable from the start step '{start}'")
            for s in in_order(set(graph) - seen, graph)
        ]
    finishing = distances_to_end({**graph, **phantoms})
    problems += [
        (f"steps.{s}", "no end can be reached from this step (every way loops back)")
        for s in in_order(set(graph) - set(finishing), graph)
    ]
    return problems


def _targets(step: Any) -> tuple[str, ...]:
    """A step's successors in raw data, whatever their state."""
    if not isinstance(step, Mapping):
        return ()
    found = [step.get("next")] + [
        c.get("to") for c in step.get("choices") or [] if isinstance(c, Mapping)
    ]
    return tuple(t for t in found if isinstance(t, str))


def _check_button_sizes(flow_id: Any, steps: Mapping) -> list[Problem]:
    """Telegram refuses a button whose id is over 64 bytes; ids must also leave TAG_ROOM spare."""
    if not isinstance(flow_id, str) or not ID.match(flow_id):
        return []
    problems: list[Problem] = []
    for step_id, step in steps.items():
        if not isinstance(step, Mapping):
            continue
        for kind, event in (("choices", Choose), ("checklist", Tick)):
            entries = step.get(kind)
            for index, entry in enumerate(entries if isinstance(entries, list) else []):
                entry_id = entry.get("id") if isinstance(entry, Mapping) else None
                if isinstance(entry_id, str) and ID.match(entry_id):
                    size = button_bytes(flow_id, event(entry_id))
                    if size > MAX_BUTTON_BYTES - TAG_ROOM:
                        problems.append((
                            f"steps.{step_id}.{kind}[{index}].id",
                            f"button id would be {size} bytes (> {MAX_BUTTON_BYTES - TAG_ROOM}): shorten the ids",
                        ))
    return problems


def _repeated_triggers(data: Any, flow_id: str, seen: dict[str, str]) -> list[Problem]:
    """The same phrase triggering two flows would make the dialogue pick one at random."""
    triggers = data.get("triggers") if isinstance(data, Mapping) else None
    if not isinstance(triggers, Mapping):
        return []
    problems: list[Problem] = []
    for lang, phrases in triggers.items():
        for index, phrase in enumerate(phrases if isinstance(phrases, list) else []):
            if not isinstance(phrase, str):
                continue
            other = seen.setdefault(key(phrase), flow_id)
            if other != flow_id:
                problems.append((f"triggers.{lang}[{index}]", f"'{phrase}' is also a trigger of flow '{other}'"))
    return problems


def _unknown_keys(data: Mapping, allowed: Iterable[str], where: str) -> list[Problem]:
    prefix = f"{where}." if where else ""
    return [(f"{prefix}{k}", f"unknown field '{k}'") for k in data if k not in allowed]


def default_sources() -> set[str] | None:
    """Source ids from knowledge/sources.yaml, read as data (this room imports no knowledge code)."""
    try:
        data = yaml.safe_load(SOURCES_FILE.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return None
    if not isinstance(data, Mapping):
        return None
    return {str(k) for part in ("documents", "laws") if isinstance(data.get(part), Mapping) for k in data[part]}


def display(path: Path) -> str:
    """A path as the curator knows it: relative to the repository when it is inside it."""
    try:
        return path.resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return str(path)


def describe(path: Path, doc: Document, where: str, message: str) -> str:
    line = line_of(doc, where) if where else None
    suffix = f" (line {line})" if line is not None and "line " not in message else ""
    return f"{display(path)}: {where}: {message}{suffix}" if where else f"{display(path)}: {message}"
