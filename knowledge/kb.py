"""The knowledge base the matcher uses: topics and the sources they cite, built from their checked files."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from knowledge.declare import report
from knowledge.language import LANGS
from knowledge.schema import KINDS, SOURCES_FILE, TOPICS_DIR, Sources, TopicFile, read_sources, read_topics

__all__ = ["LANGS", "KINDS", "SOURCES_FILE", "TOPICS_DIR", "Source", "Topic", "KnowledgeBase", "KnowledgeError",
           "load", "load_sources"]


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
    # A gap known by its own words only (a tax, a scheme, a kind of person): without one of its keywords
    # in a question, likeness to its variants ("do I pay ... on my pension") is no evidence of it.
    anchored: bool = False


@dataclass(frozen=True)
class KnowledgeBase:
    topics: dict[str, Topic]
    sources: dict[str, Source] = field(default_factory=dict)

    def answerable(self) -> list[Topic]:
        """The topics a user can be offered (not small talk, not out-of-scope markers)."""
        return [t for t in self.topics.values() if t.kind == "answer"]


class KnowledgeError(ValueError):
    """The YAML does not pass `socialbot kb check`; the message lists every problem."""


def sources_from(model: Sources) -> dict[str, Source]:
    sources = {sid: Source(sid, dict(doc.title.items()), file=doc.file) for sid, doc in model.documents.items()}
    sources.update({sid: Source(sid, dict(law.title.items()), article=law.article) for sid, law in model.laws.items()})
    return sources


def load_sources(path: Path = SOURCES_FILE) -> dict[str, Source]:
    model, problems = read_sources(path)
    if model is None:
        raise KnowledgeError("\n".join(problems))
    return sources_from(model)


def topic_from(model: TopicFile) -> Topic:
    def lists(value) -> dict[str, tuple[str, ...]]:
        return {lang: tuple(words) for lang, words in value.items()} if value is not None else {}

    return Topic(
        id=model.id,
        kind=model.kind,
        title={lang: text.strip() for lang, text in model.title.items()},
        answer={lang: text.strip() for lang, text in model.answer.items()},
        questions=lists(model.questions),
        keywords=lists(model.keywords),
        sources=tuple(model.sources),
        related=tuple(model.related),
        flow=model.flow,
        flow_choice=model.flow_choice,
        unless=lists(model.unless),
        still_if=lists(model.still_if),
        reviewed_on=model.reviewed_on,
        anchored=model.anchored,
    )


def load(topics_dir: Path = TOPICS_DIR, sources_file: Path = SOURCES_FILE, *, check: bool = True) -> KnowledgeBase:
    """Read every topic once; with check=True refuse what `socialbot kb check` would reject
    (with check=False a broken topic is left out instead)."""
    sources, problems = read_sources(sources_file)
    found = read_topics(topics_dir, sources.ids() if sources and check else None)
    if check:
        problems += [line for r in found for line in report(r.path, r.doc, r.problems)]
        if problems:
            raise KnowledgeError("\n".join(problems))
    topics = {r.topic.id: topic_from(r.topic) for r in found if r.topic is not None}
    return KnowledgeBase(topics=topics, sources=sources_from(sources) if sources else {})
