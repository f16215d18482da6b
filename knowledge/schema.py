"""What the knowledge room's files look like: a topic, the sources, the word families; declared once.

A curator who knows no Python edits YAML; this is what tells them, in one pass, every place
that is wrong (not just the first), each as `path:line: field: message`. `knowledge.kb` builds
the topics the matcher uses from these models; nothing else re-checks the data.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BeforeValidator, Field, RootModel, ValidationInfo, field_validator, \
    model_validator

from knowledge.declare import PerLang, Shape, SomeLangs, at_least, button_label, display, fail, not_blank, \
    number_as_text, read, report, validated_with
from knowledge.review import review_problem
from knowledge.text import fold, normalize
from knowledge.yamlfile import Document, Problem, line_of

HERE = Path(__file__).resolve().parent
TOPICS_DIR = HERE / "topics"
SOURCES_FILE = HERE / "sources.yaml"
FAMILIES_FILE = HERE / "families.yaml"
KINDS = ("answer", "smalltalk", "out_of_scope", "uncovered")
MIN_QUESTIONS = 8
MAX_TITLE = 40  # a topic's title is a button label

Text = Annotated[str, AfterValidator(not_blank)]
Phrase = Annotated[str, BeforeValidator(number_as_text), AfterValidator(not_blank)]
Phrases = list[Phrase]


class Texts(PerLang[Text]):
    WHAT: ClassVar[str] = "a text"


class Titles(PerLang[Annotated[Text, AfterValidator(button_label(MAX_TITLE))]]):
    WHAT: ClassVar[str] = "a text"


class Lists(PerLang[Phrases]):
    WHAT: ClassVar[str] = "a list"


class Questions(PerLang[Annotated[Phrases, AfterValidator(at_least(MIN_QUESTIONS, "variants"))]]):
    WHAT: ClassVar[str] = "a list"


def reviewed(value: Any, info: ValidationInfo) -> str | None:
    """reviewed_on, written YYYY-MM-DD (YAML reads it bare as a date, quoted as text: both are fine).
    A draft (a flow a test writes in place) may leave it out."""
    if value is None and (info.context or {}).get("draft"):
        return None
    problem = review_problem(value)
    if problem:
        raise ValueError(problem)
    return str(value)


Reviewed = Annotated[Any, AfterValidator(reviewed)]


# --- the sources: read one way, by the knowledge base and by the procedures' check ------------

class DocumentSource(Shape):
    file: str
    title: Texts


class LawSource(Shape):
    article: int
    title: Texts


class Sources(Shape):
    documents: dict[str, DocumentSource] = {}
    laws: dict[str, LawSource] = {}

    @model_validator(mode="after")
    def _one_meaning(self):
        fail(((("laws", sid), f"'{sid}' is also a document") for sid in self.documents if sid in self.laws))
        return self

    def ids(self) -> set[str]:
        return set(self.documents) | set(self.laws)


def read_sources(path: Path = SOURCES_FILE) -> tuple[Sources | None, list[str]]:
    """sources.yaml as its model (None when it is broken) and its problems."""
    value, doc, problems = read(path, Sources, what="must map documents and laws to their titles")
    return value, report(path, doc, problems)


def known_sources(sources_file: Path = SOURCES_FILE) -> set[str] | None:
    """The source ids a topic or step may cite; None when sources.yaml itself is broken."""
    sources, _ = read_sources(sources_file)
    return sources.ids() if sources else None


# --- a topic ------------------------------------------------------------------------------------

class TopicFile(Shape):
    """One topic: one file, the three languages side by side, its sources cited."""

    id: str
    kind: Literal[KINDS] = "answer"
    title: Titles
    answer: Texts
    questions: Questions
    keywords: Lists
    sources: list[str] = Field([], validate_default=True)
    related: list[str] = []
    flow: str | None = None
    flow_choice: str | None = Field(None, validate_default=True)  # the option of the flow's first step it makes
    # Out-of-scope topics: phrases that bring a question back in scope ("... working in Shanghai"),
    # and phrases that keep it out even then (another country's own scheme: "IMSS").
    unless: Lists | None = None
    still_if: Lists | None = None
    reviewed_on: Reviewed = Field(None, validate_default=True)
    anchored: bool = False  # a gap that counts only when a question uses one of its keywords

    @field_validator("id")
    @classmethod
    def _named_as_its_file(cls, value: str, info: ValidationInfo) -> str:
        name = (info.context or {}).get("name")
        if name is not None and value != name:
            raise ValueError(f"must be '{name}' (the file name), not {value!r}")
        return value

    @field_validator("sources")
    @classmethod
    def _cited(cls, value: list[str], info: ValidationInfo) -> list[str]:
        known = (info.context or {}).get("sources")
        fail(((i,), f"unknown source {sid!r} (see knowledge/sources.yaml)")
             for i, sid in enumerate(value) if known is not None and sid not in known)
        if info.data.get("kind", "answer") == "answer" and not value:
            raise ValueError("an answer must cite at least one source")
        return value

    @field_validator("related")
    @classmethod
    def _known_topics(cls, value: list[str], info: ValidationInfo) -> list[str]:
        context = info.context or {}
        topics, name = context.get("topics"), context.get("name")
        fail(((n,), "a topic cannot relate to itself") if rid == name else ((n,), f"unknown topic {rid!r}")
             for n, rid in enumerate(value) if rid == name or (topics is not None and rid not in topics))
        return value

    @field_validator("flow")
    @classmethod
    def _known_flow(cls, value: str | None, info: ValidationInfo) -> str | None:
        flows = (info.context or {}).get("flows")
        if value is not None and flows is not None and value not in flows:
            raise ValueError(f"unknown procedure {value!r}")
        return value

    @field_validator("flow_choice")
    @classmethod
    def _needs_a_flow(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and info.data.get("flow") is None and "flow" in info.data:
            raise ValueError("needs a flow (the procedure whose first step it chooses)")
        return value

    @field_validator("unless", "still_if")
    @classmethod
    def _out_of_scope_only(cls, value, info: ValidationInfo):
        if value is not None and info.data.get("kind") != "out_of_scope":
            raise ValueError("only an out_of_scope topic can be brought back in scope")
        return value

    @field_validator("anchored")
    @classmethod
    def _gaps_only(cls, value: bool, info: ValidationInfo) -> bool:
        if value and info.data.get("kind") not in ("uncovered", "out_of_scope"):
            raise ValueError("only a gap (uncovered or out_of_scope) is known by its keywords alone")
        return value

    @model_validator(mode="after")
    def _still_if_needs_unless(self):
        if self.still_if is not None and self.unless is None:
            fail([(("still_if",), "says when 'unless' does not apply, so it needs an unless")])
        return self


TOPIC_WHAT = "must be a mapping of fields (id, title, answer, questions, ...)"


@dataclass(frozen=True)
class TopicRead:
    """A topic file as read: its model when it is sound, where its fields are, what is wrong."""

    path: Path
    doc: Document
    topic: TopicFile | None
    problems: list[Problem]


def read_topic(path: Path, sources: set[str] | None = None, flows: set[str] | None = None,
               topics: set[str] | None = None) -> TopicRead:
    """One topic file checked on its own; sources, flows and topics are checked when they are known."""
    context = {"name": path.stem, "sources": sources, "flows": flows, "topics": topics}
    topic, doc, problems = read(path, TopicFile, context, TOPIC_WHAT)
    return TopicRead(path, doc, topic, problems)


def read_topics(topics_dir: Path = TOPICS_DIR, sources: set[str] | None = None,
                flows: set[str] | None = None) -> list[TopicRead]:
    """Every topic file, checked on its own and against the others."""
    paths = sorted(Path(topics_dir).glob("*.yaml"))
    found = [read_topic(path, sources, flows, {p.stem for p in paths}) for path in paths]
    _shared_questions(found)
    return found


def _shared_questions(found: list[TopicRead]) -> None:
    """What no topic can see alone: a question two topics share (the matcher could not tell them apart)."""
    seen: dict[str, tuple[TopicRead, str]] = {}
    for r in found:
        if r.topic is None:
            continue
        for lang, questions in r.topic.questions.items():
            for n, question in enumerate(questions):
                key = normalize(question)
                where = f"questions.{lang}[{n}]"
                other = seen.setdefault(key, (r, where))
                if key and other[0] is not r:
                    there, field = other
                    line = line_of(there.doc, field)
                    r.problems.append(Problem(where, f"same question as {display(there.path)}:{line} ({field})"))


def check_topics(topics_dir: Path = TOPICS_DIR, sources_file: Path = SOURCES_FILE,
                 flow_ids: set[str] | None = None) -> list[str]:
    """Every problem of the topics, as `path:line: field: message`."""
    found = read_topics(topics_dir, known_sources(sources_file), flow_ids)
    if not found:
        return [f"{topics_dir}: no topic files (*.yaml)"]
    return [line for r in found for line in report(r.path, r.doc, r.problems)]


# --- word families ------------------------------------------------------------------------------

_FAMILY_NAME = re.compile(r"[a-z]+")
_ONE_WORD = re.compile(r"[a-z0-9]+")


def _one_word(member: str) -> str:
    if not _ONE_WORD.fullmatch(fold(member).rstrip("*")):
        raise ValueError(f"{member!r} is not one word of letters")
    return member


class Family(SomeLangs[list[Annotated[Phrase, AfterValidator(_one_word)]]]):
    WHAT: ClassVar[str] = "its words"

    @model_validator(mode="after")
    def _has_words(self):
        if not any(words for _, words in self.items()):
            raise ValueError("must list its words per language (en, es, zh)")
        return self


def _family_name(name: str) -> str:
    if not _FAMILY_NAME.fullmatch(name):
        raise ValueError("a family name is lowercase letters a-z")
    return name


FamilyName = Annotated[str, AfterValidator(_family_name)]


class Families(RootModel[dict[FamilyName, Family]]):
    """Words that mean the same in questions about social insurance (families.yaml)."""

    @model_validator(mode="wrap")
    @classmethod
    def _one_family_a_word(cls, data: Any, handler: Callable):
        """A word in two families: looked for in every family, even one with a mistake of its own."""
        clashes = []
        owner: dict[str, str] = {}
        for name, family in data.items() if isinstance(data, dict) else ():
            for lang, words in family.items() if isinstance(family, dict) else ():
                for n, member in enumerate(words if isinstance(words, list) else ()):
                    word = fold(str(member)).rstrip("*")
                    if owner.setdefault(word, name) != name:
                        clashes.append(((name, lang, n), f"{word!r} is already in family {owner[word]!r}"))
        return validated_with(handler, data, clashes)


def check_families(path: Path = FAMILIES_FILE) -> list[str]:
    _, doc, problems = read(path, Families, what="must map each family name to its words per language")
    return report(path, doc, problems)

