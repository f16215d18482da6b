"""`socialbot kb check`: topics and procedures validated together, since each refers to the other."""
from __future__ import annotations

from conversations.validate import validate_flows
from knowledge.kb import SOURCES_FILE, TOPICS_DIR
from knowledge.schema import check_topics, known_sources
from knowledge.text import FAMILIES_FILE, read_families


def check_all(topics_dir=TOPICS_DIR, flows_dir=None, sources_file=SOURCES_FILE,
              families_file=FAMILIES_FILE) -> list[str]:
    """Every problem in the knowledge base, its word families and the procedures, each with its
    file and field."""
    from conversations.loader import FLOWS_DIR

    flows_dir = flows_dir or FLOWS_DIR
    flow_ids = {p.stem for p in flows_dir.glob("*.yaml")}
    topic_ids = {p.stem for p in topics_dir.glob("*.yaml")}
    return check_topics(topics_dir, sources_file, flow_ids) + read_families(families_file)[2] + validate_flows(
        flows_dir, known_sources(sources_file), topic_ids
    )
