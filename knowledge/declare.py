"""Content declared once: one pydantic model per shape of YAML, and its mistakes in a curator's words.

Every content file (topics, sources, word families, procedures, navigation words, UI strings,
intents) is a model built on `Shape`. pydantic collects every field's error in one pass; here
each becomes one line `path:line: field: message`, the line found from the YAML itself, so
`socialbot kb check` reads the same whatever the file.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from knowledge.language import LANGS
from knowledge.yamlfile import Document, Problem, line_of, read_yaml

ROOT = Path(__file__).resolve().parent.parent

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


class Shape(BaseModel):
    """A mapping in a content file. An unknown key is a mistake: a typo would silently drop a field."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def fail(problems: Iterable[tuple[tuple, str]], title: str = "content") -> None:
    """Raise from a validator one error per (location, message), each where it belongs: pydantic
    prefixes the location of the value being validated, so a list's validator can name an item."""
    errors = [InitErrorDetails(type=PydanticCustomError("content", message), loc=loc, input=None)
              for loc, message in problems]
    if errors:
        raise ValidationError.from_exception_data(title, errors)


def validated_with(handler: Callable, data: Any, problems: list[tuple[tuple, str]]):
    """Run a model's own validation and raise its errors together with `problems`, found by a wrap
    validator in the raw data: a rule across many entries still speaks when one entry is broken."""
    try:
        value = handler(data)
    except ValidationError as err:
        fail([(e["loc"], message(e)) for e in err.errors()] + problems)
    fail(problems)
    return value


class _Languages(Shape):
    """A value per language. Its own words for a missing or unknown language, and for not being a mapping."""

    WHAT: ClassVar[str] = "its text"

    @model_validator(mode="wrap")
    @classmethod
    def _languages(cls, data: Any, handler: Callable):
        if not isinstance(data, Mapping):
            raise PydanticCustomError("languages", f"must map each language ({', '.join(LANGS)}) to {cls.WHAT}")
        unknown = [k for k in data if k not in LANGS]
        problems = [((k,), f"unknown language '{k}' (use {', '.join(LANGS)})") for k in unknown]
        try:
            value = handler({k: v for k, v in data.items() if k not in unknown})
        except ValidationError as err:
            problems += [(e["loc"], "missing language") if e["type"] == "missing" and len(e["loc"]) == 1
                         else (e["loc"], message(e)) for e in err.errors()]
            fail(problems, cls.__name__)
        fail(problems, cls.__name__)
        return value


class PerLang(_Languages, Generic[T]):
    """Something said in every language, side by side."""

    en: T
    es: T
    zh: T

    def get(self, lang: str, default=None):
        return getattr(self, lang, default) if lang in LANGS else default

    def items(self) -> list[tuple[str, T]]:
        return [(lang, getattr(self, lang)) for lang in LANGS]


class SomeLangs(_Languages, Generic[T]):
    """Something said in any of the languages (extra words a user may type, say)."""

    en: T | None = None
    es: T | None = None
    zh: T | None = None

    def items(self) -> list[tuple[str, T]]:
        return [(lang, getattr(self, lang)) for lang in LANGS if getattr(self, lang) is not None]


# --- small rules many shapes share ------------------------------------------------------------

def not_blank(text: str) -> str:
    if not text.strip():
        raise PydanticCustomError("empty", "empty")
    return text


def number_as_text(value: Any) -> Any:
    """A phrase YAML read as a number ("12333") is still a phrase."""
    return str(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value


def button_label(limit: int) -> Callable[[str], str]:
    def check(text: str) -> str:
        if len(text) > limit:
            raise PydanticCustomError(
                "too_long", f"too long for a button: {len(text)} characters, longer than {limit}")
        return text
    return check


def at_least(count: int, noun: str) -> Callable[[list], list]:
    def check(items: list) -> list:
        if not items:
            raise PydanticCustomError("too_few", "empty list")
        if len(items) < count:
            raise PydanticCustomError("too_few", f"{len(items)} {noun}, at least {count} needed")
        return items
    return check


# --- from pydantic's errors to a curator's ----------------------------------------------------

_WORDS: dict[str, Callable[[dict], str]] = {
    "missing": lambda e: "missing",
    "extra_forbidden": lambda e: f"unknown field '{e['loc'][-1]}'",
    "string_type": lambda e: "empty" if e.get("input") is None else "must be a text",
    "list_type": lambda e: "must be a list",
    "tuple_type": lambda e: "must be a list",
    "dict_type": lambda e: "must be a mapping",
    "model_type": lambda e: "must be a mapping",
    "model_attributes_type": lambda e: "must be a mapping",
    "int_type": lambda e: "must be a whole number",
    "int_parsing": lambda e: "must be a whole number",
    "int_from_float": lambda e: "must be a whole number",
    "literal_error": lambda e: f"{e.get('input')!r} is not one of {e['ctx']['expected']}".replace(" or ", ", "),
    "value_error": lambda e: str(e["ctx"]["error"]),
    "assertion_error": lambda e: str(e["ctx"]["error"]),
}


def message(error: Mapping) -> str:
    """One pydantic error in a curator's words (our own errors carry theirs already)."""
    words = _WORDS.get(error["type"])
    return words(error) if words else error["msg"]


def field_path(loc: Iterable, data: Any) -> str:
    """pydantic's location as the file names it: "steps.route.choices[0].label". The data says
    whether a number is a list index or a key, and drops the index pydantic adds to a single value
    it takes as a list of one (a step's `source: doc-000`)."""
    path, node = "", data
    for part in loc:
        if part == "[key]":
            continue
        if isinstance(node, Mapping) and (part in node or str(part) in node):
            node = node.get(part, node.get(str(part)))
            path = f"{path}.{part}" if path else str(part)
        elif isinstance(part, int):
            if isinstance(node, list):
                node = node[part] if part < len(node) else None
                path = f"{path}[{part}]"
        else:
            node = None
            path = f"{path}.{part}" if path else str(part)
    return path


def problems_of(err: ValidationError, data: Any) -> list[Problem]:
    return [Problem(field_path(e["loc"], data), message(e)) for e in err.errors()]


def validate(model: type[M], data: Any, context: Mapping | None = None,
             what: str = "must be a mapping") -> tuple[M | None, list[Problem]]:
    """The model of some data, or None and every problem with it."""
    if data is None:
        return None, [Problem("", "the file is empty")]
    if not isinstance(data, Mapping) and issubclass(model, Shape):
        return None, [Problem("", what)]
    try:
        return model.model_validate(data, context=dict(context or {})), []
    except ValidationError as err:
        return None, problems_of(err, data)


def read(path: Path, model: type[M], context: Mapping | None = None,
         what: str = "must be a mapping") -> tuple[M | None, Document, list[Problem]]:
    """A content file read and checked: its model (None when it has problems), its lines, its problems."""
    doc = read_yaml(path)
    if doc.problems:
        return None, doc, list(doc.problems)
    value, problems = validate(model, doc.data, context, what)
    return value, doc, problems


def display(path: Path) -> str:
    """A path as the curator knows it: relative to the repository when it is inside it."""
    try:
        return Path(path).resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return str(path)


def report(path: Path, doc: Document, problems: Iterable[Problem]) -> list[str]:
    """Each problem as `path:line: field: message`, top to bottom; a problem of the whole file is at line 1."""
    placed = sorted(((line or (line_of(doc, where) if where else None) or 1, where, text)
                     for where, text, line in problems), key=lambda p: p[0])
    return [f"{display(path)}:{line}: {where}: {text}" if where else f"{display(path)}:{line}: {text}"
            for line, where, text in placed]
