"""The order steps run in: Drone's `depends_on` graph, or one after another when no step uses it."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from pipeline_queue.errors import CompileError
from pipeline_queue.spec.models import Step

CLONE_STEP = "clone"


def dependencies(steps: Sequence[Step], *, services: Collection[str] = ()) -> dict[str, tuple[str, ...]]:
    """Each step's prerequisites by name; with no `depends_on` anywhere, each waits for the one before."""
    if not any(step.depends_on for step in steps):
        previous = [None, *(step.name for step in steps)]
        return {step.name: (before,) if before else () for step, before in zip(steps, previous, strict=False)}
    known = {step.name for step in steps} | set(services)
    # Drone's implicit clone step: waiting for it means waiting for nothing, as no clone pod is compiled.
    implicit = {CLONE_STEP} - known
    for step in steps:
        for name in step.depends_on:
            if name not in known | implicit:
                raise CompileError(f"step {step.name!r}: depends_on {name!r}, but no step has that name")
    graph = {step.name: tuple(dict.fromkeys(n for n in step.depends_on if n not in implicit)) for step in steps}
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
