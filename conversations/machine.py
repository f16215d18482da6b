"""The pure state machine that walks a user through a Flow.

`advance(flow, state, event) -> state` never mutates and never does I/O, so the dialogue can
store the state as a small JSON row and tests can replay any walk.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Literal

from conversations.events import (
    Back,
    Cancel,
    Choose,
    Continue,
    Done,
    Event,
    Next,
    Restart,
    Start,
    Tick,
)
from conversations.model import Flow

Status = Literal["active", "done", "cancelled"]
STATUSES: tuple[str, ...] = ("active", "done", "cancelled")

# Bumped when the stored shape changes, so old rows can be recognised rather than misread.
STATE_VERSION = 1


class NotApplicable(Exception):
    """The event makes no sense here (Back at the start, Next where a choice is needed, ...)."""


@dataclass(frozen=True)
class State:
    flow: str
    step: str
    path: tuple[str, ...] = ()  # steps already visited, oldest first: what Back pops
    ticked: frozenset[str] = field(default_factory=frozenset)
    status: Status = "active"

    @property
    def active(self) -> bool:
        return self.status == "active"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict for storage; ticked is sorted so equal states store equally."""
        return {
            "v": STATE_VERSION,
            "flow": self.flow,
            "step": self.step,
            "path": list(self.path),
            "ticked": sorted(self.ticked),
            "status": self.status,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> State:
        """Rebuild a stored state; raises ValueError on anything malformed."""
        if not isinstance(data, dict):
            raise ValueError("a stored flow state must be a dict")
        flow, step = data.get("flow"), data.get("step")
        path, ticked = data.get("path", []), data.get("ticked", [])
        status = data.get("status", "active")
        if not (isinstance(flow, str) and flow and isinstance(step, str) and step):
            raise ValueError("a stored flow state needs a flow and a step")
        if not (isinstance(path, list) and all(isinstance(p, str) for p in path)):
            raise ValueError("path must be a list of step ids")
        if not (isinstance(ticked, list) and all(isinstance(t, str) for t in ticked)):
            raise ValueError("ticked must be a list of item ids")
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}")
        return cls(flow, step, tuple(path), frozenset(ticked), status)


def start(flow: Flow) -> State:
    return State(flow=flow.id, step=flow.start)


def fits(flow: Flow, state: State) -> bool:
    """Whether a stored state still makes sense for this flow (its YAML may have changed)."""
    known = flow.steps
    items = {item.id for step in known.values() for item in step.checklist}
    return (
        state.flow == flow.id
        and state.step in known
        and all(p in known for p in state.path)
        and state.ticked <= items
    )


def advance(flow: Flow, state: State, event: Event) -> State:
    """The state after event; raises NotApplicable when the event does not apply here."""
    if state.flow != flow.id:
        raise ValueError(f"state of flow {state.flow!r} given with flow {flow.id!r}")
    if isinstance(event, (Restart, Start)):
        return start(flow)
    if not state.active:
        raise NotApplicable(f"the flow is already {state.status}")
    step = flow.steps.get(state.step)
    if step is None:
        raise NotApplicable(f"unknown step {state.step!r}")

    if isinstance(event, Cancel):
        return replace(state, status="cancelled")
    if isinstance(event, Done) and (step.next or not step.is_end):
        # "Done" typed on a step that goes on means done with *this* step (its checklist, say): ending
        # the whole procedure at step 3 of 6 would tell them they had finished when they had not.
        event = Next()
    if isinstance(event, Done):
        return replace(state, status="done")
    if isinstance(event, (Next, Continue)):
        if step.next:
            return _move(state, step.next)
        if step.is_end:
            return replace(state, status="done")
        raise NotApplicable("this step needs a choice")
    if isinstance(event, Back):
        if not state.path:
            raise NotApplicable("already at the first step")
        return replace(state, step=state.path[-1], path=state.path[:-1])
    if isinstance(event, Choose):
        choice = step.choice(event.option)
        if choice is None:
            raise NotApplicable(f"no option {event.option!r} on this step")
        return _move(state, choice.to)
    if isinstance(event, Tick):
        if step.item(event.item) is None:
            raise NotApplicable(f"no checklist item {event.item!r} on this step")
        return replace(state, ticked=state.ticked ^ {event.item})
    raise NotApplicable(f"not a flow event: {event!r}")


def _move(state: State, to: str) -> State:
    return replace(state, step=to, path=(*state.path, state.step))
