"""The knowledge base as read from YAML: topics and the sources they cite."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
TOPICS_DIR = HERE / "topics"
SOURCES_FILE = HERE / "sources.yaml"
LANGS = ("en", "es", "zh")
KINDS = ("answer", "smalltalk", "out_of_scope", "uncovered")

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class Source:
    id: str
    title: dict[str, str]
    file: str | None = None
    article: int | None = None


@dataclass(frozen=True)
class Topic:
    id: str
    kind: str
    title: dict[str, str]
    answer: dict[str, str]
    questions: dict[str, tuple[str, ...]]
    keywords: dict[str, tuple[str, ...]]
    sources: tuple[str, ...] = ()
    related: tuple[str, ...] = ()
    flow: str | None = None
    flow_choice: str | None = None  # the choice of the procedure's first step this topic already makes
    # Out-of-scope topics: phrases that bring a question back in scope ("... working in Shanghai"),
    # and phrases that keep it out even then (another country's own scheme: "IMSS", "US social security").
    unless: dict[str, tuple[str, ...]] = field(default_factory=dict)
    still_if: dict[str, tuple[str, ...]] = field(default_factory=dict)
    reviewed_on: str | None = None  # YYYY-MM-DD: when a curator last checked it against its sources


@dataclass(frozen=True)
class KnowledgeBase:
    topics: dict[str, Topic]
    sources: dict[str, Source] = field(default_factory=dict)

    def answerable(self) -> list[Topic]:
        """The topics a user can be offered (not small talk, not out-of-scope markers)."""
        return [t for t in self.topics.values() if t.kind == "answer"]


class KnowledgeError(ValueError):
    """The YAML does not pass `socialbot kb check`; the message lists every problem."""


def read_yaml(path: Path):
    with path.open(encoding="utf-8") as f:
        return yaml.load(f, Loader=_Loader)


def load_sources(path: Path = SOURCES_FILE) -> dict[str, Source]:
    raw = read_yaml(path) or {}
    sources = {}
    for sid, doc in (raw.get("documents") or {}).items():
        sources[sid] = Source(sid, dict(doc["title"]), file=doc.get("file"))
    for sid, law in (raw.get("laws") or {}).items():
        sources[sid] = Source(sid, dict(law["title"]), article=law.get("article"))
    return sources


def topic_from_dict(raw: dict) -> Topic:
    def per_lang(key):
        return {lang: tuple(str(q) for q in (raw.get(key) or {}).get(lang) or ()) for lang in LANGS}

    return Topic(
        id=raw["id"],
        kind=raw.get("kind", "answer"),
        title={lang: str(raw["title"][lang]).strip() for lang in LANGS},
        answer={lang: str(raw["answer"][lang]).strip() for lang in LANGS},
        questions=per_lang("questions"),
        keywords=per_lang("keywords"),
        sources=tuple(raw.get("sources") or ()),
        related=tuple(raw.get("related") or ()),
        flow=raw.get("flow"),
        flow_choice=raw.get("flow_choice"),
        unless=per_lang("unless") if raw.get("unless") else {},
        still_if=per_lang("still_if") if raw.get("still_if") else {},
        reviewed_on=str(raw["reviewed_on"]) if raw.get("reviewed_on") is not None else None,
    )


def load(topics_dir: Path = TOPICS_DIR, sources_file: Path = SOURCES_FILE, *, check: bool = True) -> KnowledgeBase:
    """Read every topic once; with check=True refuse what `socialbot kb check` would reject."""
    from knowledge.schema import check_raw_topics, known_sources, read_topic_files

    raws = read_topic_files(topics_dir)
    if check:
        problems = check_raw_topics(raws, known_sources(sources_file))
        if problems:
            raise KnowledgeError("\n".join(problems))
    topics = {}
    for raw in raws.values():
        topic = topic_from_dict(raw)
        topics[topic.id] = topic
    return KnowledgeBase(topics=topics, sources=load_sources(sources_file))
