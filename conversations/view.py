"""What the user should see at a step, in one language: a channel-neutral picture of it.

The dialogue renders this with its templates and turns the options into buttons; keeping
the choice of buttons here means every channel offers the same moves.
"""
from __future__ import annotations

from dataclasses import dataclass

from conversations.events import Back, Cancel, Choose, Done, Event, Next, Restart, Tick
from conversations.machine import State, progress
from conversations.model import Flow
from conversations.words import button_id, label


@dataclass(frozen=True)
class Option:
    label: str
    button: str  # a stable id from words.button_id
    event: Event
    ticked: bool | None = None  # for checklist items only


@dataclass(frozen=True)
class StepView:
    flow: str
    step: str
    title: str
    text: str
    k: int
    n: int
    choices: tuple[Option, ...]
    checklist: tuple[Option, ...]
    nav: tuple[Option, ...]  # Next/Done, Back, Start over, Cancel as they apply
    sources: tuple[str, ...]
    is_end: bool

    @property
    def options(self) -> tuple[Option, ...]:
        """Every button in display order: the step's own options first."""
        return self.choices + self.checklist + self.nav


def view(flow: Flow, state: State, lang: str) -> StepView:
    step = flow.steps[state.step]
    k, n = progress(flow, state)

    def option(text: str, event: Event, ticked: bool | None = None) -> Option:
        return Option(text, button_id(flow.id, event), event, ticked)

    choices = tuple(option(c.label[lang], Choose(c.id)) for c in step.choices)
    checklist = tuple(option(i.label[lang], Tick(i.id), i.id in state.ticked) for i in step.checklist)
    nav: list[Option] = []
    if step.next:
        nav.append(option(label("next", lang), Next()))
    if step.is_end:
        nav.append(option(label("done", lang), Done()))
    if state.path:
        nav.append(option(label("back", lang), Back()))
        nav.append(option(label("restart", lang), Restart()))
    if not step.is_end:
        nav.append(option(label("cancel", lang), Cancel()))
    return StepView(
        flow=flow.id,
        step=step.id,
        title=flow.title[lang],
        text=step.text[lang],
        k=k,
        n=n,
        choices=choices,
        checklist=checklist,
        nav=tuple(nav),
        sources=step.sources,
        is_end=step.is_end,
    )
