"""What a user can do inside a procedure, as small frozen values."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Next:
    """Go on to the step's next step (or finish, on the last step)."""


@dataclass(frozen=True)
class Continue:
    """"Continue": the dialogue resumes a paused flow with it; inside a flow it acts as Next."""


@dataclass(frozen=True)
class Back:
    """Return to the previous step on the path taken."""


@dataclass(frozen=True)
class Choose:
    option: str  # a choice id of the current step


@dataclass(frozen=True)
class Tick:
    item: str  # a checklist item id of the current step; ticking twice unticks


@dataclass(frozen=True)
class Restart:
    """Go back to the first step, forgetting the path and the ticks."""


@dataclass(frozen=True)
class Start:
    """Begin the flow (a flow's button on an answer); acts as Restart on an existing state."""


@dataclass(frozen=True)
class Cancel:
    """Leave the flow unfinished."""


@dataclass(frozen=True)
class Done:
    """The user says they have finished: the flow ends wherever they are."""


Event = Next | Continue | Back | Choose | Tick | Restart | Start | Cancel | Done

# The events that carry no argument, by the name used in button ids and in words.LABELS.
SIMPLE: dict[str, Event] = {
    "next": Next(),
    "continue": Continue(),
    "back": Back(),
    "restart": Restart(),
    "start": Start(),
    "cancel": Cancel(),
    "done": Done(),
}


def event_name(event: Event) -> str:
    """The word for an event: "next", "choose", "tick", ..."""
    if isinstance(event, Choose):
        return "choose"
    if isinstance(event, Tick):
        return "tick"
    for name, simple in SIMPLE.items():
        if simple == event:
            return name
    raise TypeError(f"not a flow event: {event!r}")
