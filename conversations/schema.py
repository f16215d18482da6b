"""What a procedure file looks like (flow, step, choice, checklist item), declared once.

The loader builds the runtime `Flow` from these models and `socialbot kb check` reports their
errors; nothing re-checks the data by hand. What a step may lead to is known before its steps
are read (the file's own step ids, its listed sources), so a dangling `next` is reported in the
same pass as a missing translation.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, BeforeValidator, Field, ValidationInfo, field_validator, model_validator

from conversations.graph import distances_to_end, in_order, reachable
from knowledge.declare import LANGS, PerLang, Shape, SomeLangs, button_label, fail, not_blank, \
    number_as_text, validated_with
from knowledge.language import has_cjk
from knowledge.text import label_key, normalize
from knowledge.schema import Reviewed

ID = re.compile(r"^[a-z][a-z0-9_]*$")
MIN_TRIGGERS = 6
TITLE_MAX = 40  # the title is a button label
LABEL_MAX = 64
# A step's button id carries the flow id and a choice or checklist item id, with their kind and the
# step's tag, within Telegram's 64 bytes (the grammar's own 18 bytes at most): the ids share the rest
# (bot/buttons.py is the grammar; tests/test_buttons.py checks that this room fits it).
BUTTON_ID_ROOM = 46


def _context(info: ValidationInfo) -> dict:
    return info.context or {}


def lowercase_id(value: str) -> str:
    if not ID.match(value):
        raise ValueError("not lowercase_words")
    return value


def _step_id(value: str) -> str:
    if not ID.match(value):
        raise ValueError(f"step id '{value}' is not lowercase_words")
    return value


def _known_step(value: str, info: ValidationInfo) -> str:
    steps = _context(info).get("step_ids")
    if steps is not None and value not in steps:
        raise ValueError(f"unknown step '{value}'")
    return value


def _cited(listed_only: bool):
    def check(value: list[str], info: ValidationInfo) -> list[str]:
        if not value:
            raise ValueError("missing: cite at least one source id")
        known, listed = _context(info).get("sources"), _context(info).get("listed")
        problems = []
        for n, source in enumerate(value):
            if known is not None and source not in known:
                problems.append(((n,), f"unknown source '{source}'"))
            elif listed_only and listed is not None and source not in listed:
                problems.append(((n,), f"'{source}' is not in the flow's sources"))
        fail(problems)
        return value
    return check


def _one_or_more(value: Any) -> Any:
    """A step cites one source as `source: doc-000` or several as a list."""
    return [value] if isinstance(value, str) else value


Text = Annotated[str, AfterValidator(not_blank)]
Target = Annotated[str, AfterValidator(_known_step)]
Words = list[Annotated[str, AfterValidator(not_blank)]]


def _chinese(texts):
    """What the user reads on a step, a title or a description: the Chinese must be Chinese."""
    if not has_cjk(texts.zh):
        fail([(("zh",), "has no Chinese characters")])
    return texts


class Said(PerLang[Text]):
    chinese = model_validator(mode="after")(_chinese)


class Title(PerLang[Annotated[Text, AfterValidator(button_label(TITLE_MAX))]]):
    chinese = model_validator(mode="after")(_chinese)


class Label(PerLang[Annotated[Text, AfterValidator(button_label(LABEL_MAX))]]):
    pass


def _triggers(value: list[str], info: ValidationInfo) -> list[str]:
    if not value:
        raise ValueError("empty list")
    if len(value) < MIN_TRIGGERS and not _context(info).get("draft"):
        raise ValueError(f"{len(value)} phrases, at least {MIN_TRIGGERS} needed")
    seen: set[str] = set()
    problems = []
    for n, phrase in enumerate(value):
        if label_key(phrase) in seen:
            problems.append(((n,), f"repeated phrase '{phrase}'"))
        seen.add(label_key(phrase))
    fail(problems)
    return value


Phrase = Annotated[str, BeforeValidator(number_as_text), AfterValidator(lambda p: not_blank(normalize(p)) and p)]


class Triggers(PerLang[Annotated[list[Phrase], AfterValidator(_triggers)]]):
    WHAT: ClassVar[str] = "a list of phrases"


class Aliases(SomeLangs[Annotated[Words, AfterValidator(lambda w: [not_blank(normalize(x)) and x for x in w])]]):
    WHAT: ClassVar[str] = "a list of words"


class ChoiceFile(Shape):
    id: Annotated[str, AfterValidator(lowercase_id)]
    label: Label
    to: Target
    aliases: Aliases | None = None  # extra words a user may type for this option, per language


class ItemFile(Shape):
    id: Annotated[str, AfterValidator(lowercase_id)]
    label: Label


def _options(items: list, noun: str) -> list:
    if not items:
        raise ValueError("must be a non-empty list (or leave it out)")
    seen: set[str] = set()
    problems = []
    for n, item in enumerate(items):
        if item.id in seen:
            problems.append(((n, "id"), f"duplicate {noun} id '{item.id}'"))
        seen.add(item.id)
    fail(problems)
    return items


class StepFile(Shape):
    text: Said
    next: Target | None = None
    choices: Annotated[list[ChoiceFile], AfterValidator(lambda c: _options(c, "choice"))] | None = None
    checklist: Annotated[list[ItemFile], AfterValidator(lambda c: _options(c, "checklist"))] | None = None
    source: Annotated[list[str], BeforeValidator(_one_or_more), AfterValidator(_cited(listed_only=True))]

    def targets(self) -> tuple[str, ...]:
        return tuple(t for t in [self.next, *(c.to for c in self.choices or ())] if t is not None)


class FlowFile(Shape):
    """One procedure: its steps in the order the file lists them."""

    id: Annotated[str, AfterValidator(lowercase_id)]
    title: Title
    description: Said
    triggers: Triggers
    topic: str | None = None
    sources: Annotated[list[str], AfterValidator(_cited(listed_only=False))]
    reviewed_on: Reviewed = Field(None, validate_default=True)
    start: Target
    steps: dict[Annotated[str, AfterValidator(_step_id)], StepFile]

    @field_validator("id")
    @classmethod
    def _named_as_its_file(cls, value: str, info: ValidationInfo) -> str:
        name = _context(info).get("name")
        if name is not None and value != name:
            raise ValueError(f"'{value}' differs from the file name '{name}'")
        return value

    @field_validator("topic")
    @classmethod
    def _known_topic(cls, value: str | None, info: ValidationInfo) -> str | None:
        topics = _context(info).get("topics")
        if value is not None and topics is not None and value not in topics:
            raise ValueError(f"unknown topic '{value}'")
        return value

    @field_validator("steps")
    @classmethod
    def _some_steps(cls, value: dict) -> dict:
        if not value:
            raise ValueError("needs at least one step")
        return value

    @model_validator(mode="after")
    def _whole_flow(self):
        """What only the whole procedure shows: loops, unreachable steps, shared ticks, button sizes."""
        problems = [(("steps", sid, "next"), "leads back to the same step")
                    for sid, step in self.steps.items() if step.next == sid]
        problems += [(("steps", sid, "choices", n, "to"), "leads back to the same step")
                     for sid, step in self.steps.items() for n, c in enumerate(step.choices or ()) if c.to == sid]
        owner: dict[str, str] = {}
        for sid, step in self.steps.items():
            # Ticks are stored by item id for the whole flow, so ids are unique flow-wide.
            for n, item in enumerate(step.checklist or ()):
                if owner.setdefault(item.id, sid) != sid:
                    problems.append((("steps", sid, "checklist", n, "id"),
                                     f"duplicate checklist id '{item.id}' (also in step '{owner[item.id]}')"))
        graph = {sid: step.targets() for sid, step in self.steps.items()}
        problems += [(("steps", s), f"unreachable from the start step '{self.start}'")
                     for s in in_order(set(graph) - reachable(self.start, graph), graph)]
        problems += [(("steps", s), "no end can be reached from this step (every way loops back)")
                     for s in in_order(set(graph) - set(distances_to_end(graph)), graph)]
        problems += self._button_sizes()
        fail(problems)
        return self

    def _button_sizes(self) -> list:
        """Telegram refuses a button whose id is over 64 bytes: a flow id and an entry id share BUTTON_ID_ROOM."""
        problems = []
        for sid, step in self.steps.items():
            for kind, entries in (("choices", step.choices), ("checklist", step.checklist)):
                for n, entry in enumerate(entries or ()):
                    size = len(self.id.encode()) + len(entry.id.encode())
                    if size > BUTTON_ID_ROOM:
                        problems.append(((("steps", sid, kind, n, "id"),
                                          f"button id would be over 64 bytes: the flow id and this id take {size} "
                                          f"(> {BUTTON_ID_ROOM}): shorten the ids")))
        return problems


FLOW_WHAT = "a flow file must be a mapping with id, title, steps, ..."


# --- the words that move every flow (conversations/words.yaml) ------------------------------------

class Typed(PerLang[list[Phrase]]):
    WHAT: ClassVar[str] = "a list of phrases"


class NavigationWord(Shape):
    label: Label  # the button
    typed: Typed  # what people type for it besides the label, as the whole message


class Navigation(Shape):
    """Each word a user may say to move a procedure, named as its event (conversations.events.SIMPLE)."""

    next: NavigationWord
    continue_: NavigationWord = Field(alias="continue")
    back: NavigationWord
    cancel: NavigationWord
    restart: NavigationWord
    done: NavigationWord

    def words(self) -> dict[str, NavigationWord]:
        return {field.alias or name: getattr(self, name) for name, field in type(self).model_fields.items()}

    @model_validator(mode="wrap")
    @classmethod
    def _one_meaning(cls, data: Any, handler: Callable):
        """A phrase meaning two words would move users the wrong way; looked for even in a broken file."""
        meaning: dict[str, str] = {}
        problems = []
        for word, spec in data.items() if isinstance(data, dict) else ():
            label = spec.get("label") if isinstance(spec, dict) else None
            typed = spec.get("typed") if isinstance(spec, dict) else None
            said = [(("label", lang), text) for lang, text in (label.items() if isinstance(label, dict) else ())]
            said += [(("typed", lang, n), phrase) for lang, phrases in (typed.items() if isinstance(typed, dict) else ())
                     for n, phrase in enumerate(phrases if isinstance(phrases, list) else ())]
            for loc, phrase in said:
                if not isinstance(phrase, str) or not normalize(phrase):
                    continue
                other = meaning.setdefault(label_key(phrase), word)
                if other != word:
                    problems.append(((word, *loc), f"'{phrase}' also means '{other}'"))
        return validated_with(handler, data, problems)


NAVIGATION_WHAT = "must map each navigation word (next, back, ...) to its label and typed phrases"


def context(data: Any, name: str | None = None, sources: set[str] | None = None,
            topics: set[str] | None = None, draft: bool = False) -> dict:
    """What a flow's parts are checked against: the file's own step ids and listed sources among them."""
    steps = data.get("steps") if isinstance(data, dict) else None
    listed = data.get("sources") if isinstance(data, dict) else None
    return {"name": name, "sources": sources, "topics": topics, "draft": draft,
            "step_ids": {str(s) for s in steps} if isinstance(steps, dict) else None,
            "listed": set(listed) if isinstance(listed, list) and all(isinstance(s, str) for s in listed) else None}


__all__ = ["FlowFile", "StepFile", "ChoiceFile", "ItemFile", "context", "FLOW_WHAT", "LANGS", "ID"]
