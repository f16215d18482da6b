"""Where a procedure can go: reachability and distance to an end, on plain edge maps.

The functions take `{step: (successor, ...)}` rather than a Flow so that the validator can
run them on raw YAML data before it is safe to build a Flow.
"""
from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping

from conversations.model import Flow, Step

Edges = Mapping[str, tuple[str, ...]]


def successors(step: Step) -> tuple[str, ...]:
    """Every step this one can lead to: its next first, then its choices in order."""
    targets = ([step.next] if step.next else []) + [c.to for c in step.choices]
    return tuple(dict.fromkeys(targets))


def edges(flow: Flow) -> dict[str, tuple[str, ...]]:
    return {step_id: successors(step) for step_id, step in flow.steps.items()}


def reachable(start: str, graph: Edges) -> set[str]:
    """Steps a user can reach from start (start included); unknown targets are ignored."""
    if start not in graph:
        return set()
    seen, queue = {start}, deque([start])
    while queue:
        for target in graph[queue.popleft()]:
            if target in graph and target not in seen:
                seen.add(target)
                queue.append(target)
    return seen


def ends(graph: Edges) -> set[str]:
    return {node for node, targets in graph.items() if not targets}


def distances_to_end(graph: Edges) -> dict[str, int]:
    """Fewest moves from each step to an end; steps that can reach no end are left out.

    Searched backwards from every end at once, so one pass serves all steps.
    """
    incoming: dict[str, list[str]] = {node: [] for node in graph}
    for node, targets in graph.items():
        for target in targets:
            if target in incoming:
                incoming[target].append(node)
    distance = {node: 0 for node in ends(graph)}
    queue = deque(distance)
    while queue:
        node = queue.popleft()
        for source in incoming[node]:
            if source not in distance:
                distance[source] = distance[node] + 1
                queue.append(source)
    return distance


def in_order(nodes: Iterable[str], graph: Edges) -> list[str]:
    """nodes sorted as the flow lists its steps, so reports read top to bottom."""
    wanted = set(nodes)
    return [node for node in graph if node in wanted]
