"""`socialbot kb check`: every content file validated together, since they refer to one another.

Topics, sources, word families, procedures, navigation words, UI strings, intents and word lists: each
problem is one line `path:line: field: message`, all of them in one pass.
"""
from __future__ import annotations

from datetime import date
from pathlib import Path

from bot.schema import INTENTS_FILE, STRINGS_FILE, WORDS_FILE, check_intents, check_strings, check_words
from conversations.validate import FLOWS_DIR, read_flow, validate_flows
from conversations.words import NAVIGATION_FILE, read_navigation
from knowledge.declare import report
from knowledge.review import FIELD as REVIEWED_ON, content_date, max_days, stale
from knowledge.schema import FAMILIES_FILE, SOURCES_FILE, TOPICS_DIR, check_families, read_sources, read_topics
from knowledge.yamlfile import Problem, read_yaml


def check_all(topics_dir=TOPICS_DIR, flows_dir=None, sources_file=SOURCES_FILE,
              families_file=FAMILIES_FILE, strings_file=STRINGS_FILE, intents_file=INTENTS_FILE,
              navigation_file=NAVIGATION_FILE, words_file=WORDS_FILE) -> list[str]:
    """Every problem in the knowledge base, its word families, the procedures and the bot's own words."""
    flows_dir = Path(flows_dir or FLOWS_DIR)
    flow_ids = {p.stem for p in flows_dir.glob("*.yaml")}
    topic_ids = {p.stem for p in Path(topics_dir).glob("*.yaml")}
    sources, problems = read_sources(sources_file)
    known = sources.ids() if sources else None
    topics = read_topics(topics_dir, known, flow_ids)
    if not topics:
        problems.append(f"{topics_dir}: no topic files (*.yaml)")
    _flow_choices(topics, flows_dir, flow_ids)
    problems += [line for r in topics for line in report(r.path, r.doc, r.problems)]
    problems += check_families(families_file)
    problems += validate_flows(flows_dir, known, topic_ids, sources_file)
    problems += read_navigation(navigation_file)[1]
    problems += check_strings(strings_file) + check_intents(intents_file) + check_words(words_file)
    return problems


def _flow_choices(topics, flows_dir: Path, flow_ids: set[str]) -> None:
    """Does each topic's flow_choice exist on the first step of its procedure?"""
    for r in topics:
        topic = r.topic
        if topic is None or topic.flow_choice is None or topic.flow not in flow_ids:
            continue
        flow = read_flow(flows_dir / f"{topic.flow}.yaml")[0]
        if flow is None:
            continue
        first = flow.steps[flow.start]
        if topic.flow_choice not in {c.id for c in first.choices or ()}:
            r.problems.append(Problem("flow_choice", f"{topic.flow_choice!r} is not a choice of the first step "
                                                     f"({flow.start!r}) of {topic.flow!r}"))


def _reviewed(topics_dir, flows_dir) -> list[tuple[str, object]]:
    """(file name, reviewed_on) of every topic and procedure that parses."""
    dated = []
    for path in sorted(Path(topics_dir).glob("*.yaml")) + sorted(Path(flows_dir or FLOWS_DIR).glob("*.yaml")):
        data = read_yaml(path).data
        if isinstance(data, dict):
            dated.append((path.name, data.get(REVIEWED_ON)))
    return dated


def review_warnings(topics_dir=TOPICS_DIR, flows_dir=None, today: date | None = None,
                    days: int | None = None) -> list[str]:
    """A warning for each topic or procedure not checked against its sources for too long."""
    return stale(_reviewed(topics_dir, flows_dir), today or date.today(), max_days() if days is None else days)


def reviewed_date(topics_dir=TOPICS_DIR, flows_dir=None) -> str | None:
    """The content's date: its oldest reviewed_on."""
    return content_date(value for _, value in _reviewed(topics_dir, flows_dir))
