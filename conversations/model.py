"""The shape of a procedure once loaded: plain frozen data, no behaviour beyond naming things."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType


Text = Mapping[str, str]  # one string per language in knowledge.language.LANGS



def _empty() -> Mapping:
    return MappingProxyType({})


@dataclass(frozen=True)
class Choice:
    """An option the user picks on a step; it leads to another step."""

    id: str
    label: Text
    to: str
    # Extra words a user may type for this option, per language (the label always counts).
    aliases: Mapping[str, tuple[str, ...]] = field(default_factory=_empty)


@dataclass(frozen=True)
class CheckItem:
    """Something the user can tick off (a document to bring, a form to fill in)."""

    id: str
    label: Text


@dataclass(frozen=True)
class Step:
    id: str
    text: Text
    next: str | None = None
    choices: tuple[Choice, ...] = ()
    checklist: tuple[CheckItem, ...] = ()
    sources: tuple[str, ...] = ()

    @property
    def is_end(self) -> bool:
        """A step with nowhere to go is where the procedure finishes."""
        return self.next is None and not self.choices

    def choice(self, choice_id: str) -> Choice | None:
        return next((c for c in self.choices if c.id == choice_id), None)

    def item(self, item_id: str) -> CheckItem | None:
        return next((i for i in self.checklist if i.id == item_id), None)


@dataclass(frozen=True)
class Flow:
    id: str
    title: Text
    description: Text
    triggers: Mapping[str, tuple[str, ...]]
    sources: tuple[str, ...]
    start: str
    steps: Mapping[str, Step] = field(default_factory=_empty)  # in the order the YAML file lists them
    topic: str | None = None
    reviewed_on: str | None = None  # YYYY-MM-DD: when a curator last checked it against its sources

    def step(self, step_id: str) -> Step:
        return self.steps[step_id]
