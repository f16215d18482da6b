"""`socialbot kb check`: topics and procedures validated together, since each refers to the other."""
from __future__ import annotations

from datetime import date

from conversations.validate import validate_flows
from knowledge.kb import SOURCES_FILE, TOPICS_DIR
from knowledge.review import FIELD as REVIEWED_ON, content_date, max_days, stale
from knowledge.schema import check_topics, known_sources, read_topic_files
from knowledge.text import FAMILIES_FILE, read_families


def check_all(topics_dir=TOPICS_DIR, flows_dir=None, sources_file=SOURCES_FILE,
              families_file=FAMILIES_FILE) -> list[str]:
    """Every problem in the knowledge base, its word families and the procedures, each with its
    file and field."""
    from conversations.loader import FLOWS_DIR

    flows_dir = flows_dir or FLOWS_DIR
    flow_ids = {p.stem for p in flows_dir.glob("*.yaml")}
    topic_ids = {p.stem for p in topics_dir.glob("*.yaml")}
    flow_problems = validate_flows(flows_dir, known_sources(sources_file), topic_ids)
    problems = check_topics(topics_dir, sources_file, flow_ids) + read_families(families_file)[2] + flow_problems
    if not problems:  # both sides sound: does each topic's flow_choice exist on its procedure's first step?
        problems += _flow_choices(topics_dir, sources_file, flows_dir)
    return problems


def _flow_choices(topics_dir, sources_file, flows_dir) -> list[str]:
    from conversations.loader import load_flows
    from knowledge.kb import load

    flows = load_flows(flows_dir)
    problems = []
    for topic in load(topics_dir, sources_file, check=False).topics.values():
        if topic.flow_choice is None or topic.flow not in flows:
            continue
        flow = flows[topic.flow]
        if flow.steps[flow.start].choice(topic.flow_choice) is None:
            problems.append(f"{topic.id}.yaml: flow_choice: {topic.flow_choice!r} is not a choice of the first step "
                            f"({flow.start!r}) of {topic.flow!r}")
    return problems


def _reviewed(topics_dir, flows_dir) -> list[tuple[str, object]]:
    """(file name, reviewed_on) of every topic and procedure that parses."""
    from conversations.loader import FLOWS_DIR
    from conversations.yamlfile import read_yaml

    dated = [(p.name, raw.get(REVIEWED_ON)) for p, raw in read_topic_files(topics_dir).items() if isinstance(raw, dict)]
    for path in sorted((flows_dir or FLOWS_DIR).glob("*.yaml")):
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
