"""The order steps run in: Drone's `depends_on` graph, or one after another when no step uses it."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from pipeline_queue.errors import CompileError
from pipeline_queue.spec.models import Step

CLONE_STEP = "clone"


def dependencies(
    steps: Sequence[Step], *, services: Collection[str] = (), clone: bool = False
) -> dict[str, tuple[str, ...]]:
    """Each step's prerequisites by name; with no `depends_on` anywhere, each waits for the one before.

    With `clone`, the clone step (CLONE_STEP) comes first and waits for nothing; as in Drone, every step that
    names no prerequisite (or only services) waits for it, and `depends_on: [clone]` means it.
    """
    first = (CLONE_STEP,) if clone else ()
    if not any(step.depends_on for step in steps):
        order = [*first, *(step.name for step in steps)]
        return {name: (order[index - 1],) if index else () for index, name in enumerate(order)}
    known = {step.name for step in steps} | set(services) | set(first)
    # Drone's implicit clone step, when none is compiled: waiting for it means waiting for nothing.
    implicit = {CLONE_STEP} - known
    for step in steps:
        for name in step.depends_on:
            if name not in known | implicit:
                raise CompileError(f"step {step.name!r}: depends_on {name!r}, but no step has that name")
    graph: dict[str, tuple[str, ...]] = {CLONE_STEP: ()} if clone else {}
    step_names = {step.name for step in steps} | set(first)
    for step in steps:
        named = tuple(dict.fromkeys(name for name in step.depends_on if name not in implicit))
        # Services start before the clone: a step that waits only for services waits for the clone as well.
        graph[step.name] = named if any(name in step_names for name in named) else (*first, *named)
    _check_acyclic(graph)
    return graph


def _check_acyclic(graph: dict[str, tuple[str, ...]]) -> None:
    """Peel off steps with nothing left to wait for; whatever remains is on a cycle or waits on one."""
    remaining = {name: {dep for dep in deps if dep in graph} for name, deps in graph.items()}
    free = [name for name, deps in remaining.items() if not deps]
    while free:
        for name in free:
            del remaining[name]
        for deps in remaining.values():
            deps.difference_update(free)
        free = [name for name, deps in remaining.items() if not deps]
    if remaining:
        raise CompileError(f"depends_on: steps {sorted(remaining)} wait on each other in a cycle")
