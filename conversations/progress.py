""""Step k of n" that a user can trust: counted along the way they are on, never jumping.

A procedure has a main line: from a step, its `next`, or its first option when it has only
options. Another option leaves the main line for a detour ("It didn't work", "the error
page") that either rejoins it or ends early. So:

- a first step that only asks which way to go ("Alipay, the app or online?") is not a step of
  the work: it shows no number, and each way is numbered from 1 with its own total;
- main-line steps are numbered along that way, and the total is the way's length, so it never
  changes on one path;
- a detour step keeps the number of the step it left from (the user is still on that step of the
  work), and its end is not "all done".

Pure functions of the Flow and the State, like the machine.
"""
from __future__ import annotations

from dataclasses import dataclass

from conversations.machine import State
from conversations.model import Flow


@dataclass(frozen=True)
class Progress:
    k: int  # 0 on the step that asks which way: nothing of the work done yet
    n: int
    detour: bool = False  # off the main line (a failure, an error page, an early end)

    @property
    def numbered(self) -> bool:
        return self.k > 0


def main_next(flow: Flow, step_id: str) -> str | None:
    step = flow.steps[step_id]
    if step.next:
        return step.next
    return step.choices[0].to if step.choices else None


def asks_the_way(flow: Flow, step_id: str) -> bool:
    """The first step only chooses among ways (no Next of its own): not counted as a step."""
    step = flow.steps[step_id]
    return step_id == flow.start and step.next is None and bool(step.choices)


def main_line(flow: Flow, begin: str) -> tuple[str, ...]:
    """The steps from `begin` along the main line, `begin` first, to an end (or a loop)."""
    line: list[str] = []
    step: str | None = begin
    while step is not None and step in flow.steps and step not in line:
        line.append(step)
        step = main_next(flow, step)
    return tuple(line)


def progress(flow: Flow, state: State) -> Progress:
    """Where the user is: k of n along the way they took."""
    walked = [*state.path, state.step]
    if asks_the_way(flow, walked[0]):
        walked = walked[1:]
    if not walked:  # still choosing the way
        return Progress(0, 0)
    line = main_line(flow, walked[0])
    index = {step: i for i, step in enumerate(line)}
    k = 1
    for step in walked:
        if step in index:
            k = index[step] + 1
    return Progress(k, len(line), detour=state.step not in index)


def unticked(flow: Flow, state: State) -> list[str]:
    """Checklist items of the steps walked that were left unticked, in the order met (item ids)."""
    seen, left = set(), []
    for step in [*state.path, state.step]:
        if step in seen or step not in flow.steps:
            continue
        seen.add(step)
        left += [item.id for item in flow.steps[step].checklist if item.id not in state.ticked]
    return left
