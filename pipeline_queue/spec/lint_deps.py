"""Lint rules on `depends_on`: steps within a pipeline, pipelines within a file, and cycles of both.

Drone's own linter only lets a step wait for steps written above it, which
rules out cycles by construction; pipeline-queue schedules by the graph, so it
accepts any order and reports unknown names and cycles instead.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Sequence

from pipeline_queue.spec.document import LoadedFile, LoadedPipeline, Problem, quote
from pipeline_queue.spec.lint_names import CLONE_STEP, pipeline_documents, written_name
from pipeline_queue.spec.lint_rules import pipeline_label, problem, step_label

Graph = dict[str, list[str]]


def check_step_dependencies(filename: str, loaded: LoadedPipeline) -> Iterator[Problem]:
    pipeline, document = loaded.pipeline, loaded.document
    steps = [step.name for step in pipeline.steps if step.name]
    services = {service.name for service in pipeline.services}
    known = set(steps) | (set() if pipeline.clone.disable else {CLONE_STEP})
    graph: Graph = {}
    for index, step in enumerate(pipeline.steps):
        label = step_label(step, ("steps", index))
        for position, dependency in enumerate(step.depends_on):
            if dependency in known:
                continue
            if dependency in services:
                message = f"{label}: depends_on names service {quote(dependency)}; services are not steps"
            else:
                message = f"{label}: depends_on names unknown step {quote(dependency)}"
            yield problem(document, file=filename, path=("steps", index, "depends_on", position),
                          rule="unknown-step-dependency", message=message)
        if step.name:
            graph.setdefault(step.name, [name for name in step.depends_on if name in known])
    for cycle in find_cycles(steps, graph):
        index = next(index for index, step in enumerate(pipeline.steps) if step.name == cycle[0])
        position = pipeline.steps[index].depends_on.index(cycle[1])
        yield problem(document, file=filename, path=("steps", index, "depends_on", position),
                      rule="step-dependency-cycle",
                      message=f"step {quote(cycle[0])}: dependency cycle {_arrows(cycle)}")


def check_pipeline_dependencies(loaded: LoadedFile) -> Iterator[Problem]:
    """Names come from every pipeline of the file: a kubernetes one may wait for a docker one."""
    documents = pipeline_documents(loaded)
    names = [written_name(document) or "default" for document in documents]
    by_document = {id(entry.document): entry for entry in loaded.pipelines}
    graph: Graph = {}
    for name, document in zip(names, documents, strict=True):
        dependencies = _written_dependencies(document.data.get("depends_on"))
        graph.setdefault(name, [dependency for dependency in dependencies if dependency in names])
        entry = by_document.get(id(document))
        for position, dependency in enumerate(dependencies):
            if entry is not None and dependency not in names:
                yield problem(document, file=loaded.filename, path=("depends_on", position),
                              rule="unknown-pipeline-dependency",
                              message=f"{pipeline_label(entry.pipeline)}: depends_on names unknown "
                                      f"pipeline {quote(dependency)}")
    for cycle in find_cycles(names, graph):
        document = documents[names.index(cycle[0])]
        position = _written_dependencies(document.data.get("depends_on")).index(cycle[1])
        yield problem(document, file=loaded.filename, path=("depends_on", position), rule="pipeline-dependency-cycle",
                      message=f"pipeline {quote(cycle[0])}: dependency cycle {_arrows(cycle)}")


def _written_dependencies(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


def _arrows(cycle: Sequence[str]) -> str:
    return " -> ".join(quote(name) for name in cycle)


def find_cycles(order: Sequence[str], graph: Graph) -> list[list[str]]:
    """One cycle per strongly connected component that has one, as [a, b, ..., a].

    Each starts at the component's first node in `order` (the one written first).
    """
    rank = {name: position for position, name in reversed(list(enumerate(order)))}
    graph = {node: [child for child in children if child in rank] for node, children in graph.items()}
    cycles = []
    for component in strongly_connected(order, graph):
        start = min(component, key=rank.__getitem__)
        if len(component) > 1 or start in graph.get(start, ()):
            cycles.append(_cycle_through(start, graph, members=set(component)))
    cycles.sort(key=lambda cycle: rank[cycle[0]])
    return cycles


def _cycle_through(start: str, graph: Graph, *, members: set[str]) -> list[str]:
    """The shortest way from `start` back to itself inside its component (breadth first)."""
    parents: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for child in graph.get(node, ()):
            if child == start:
                path = [node]
                while path[-1] != start:
                    path.append(parents[path[-1]])
                return [*reversed(path), start]
            if child in members and child not in parents:
                parents[child] = node
                queue.append(child)
    raise AssertionError(f"{start} is on no cycle")


def strongly_connected(order: Sequence[str], graph: Graph) -> list[list[str]]:
    """Tarjan's algorithm without recursion (a generated file may chain thousands of steps)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    for root in order:
        if root in index:
            continue
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        work = [(root, iter(graph.get(root, ())))]
        while work:
            node, children = work[-1]
            child = next(
                (child for child in children if _visit(child, node, index=index, low=low, on_stack=on_stack)),
                None,
            )
            if child is not None:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(graph.get(child, ()))))
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                components.append(_pop_component(node, stack=stack, on_stack=on_stack))
    return components


def _visit(child: str, node: str, *, index: dict[str, int], low: dict[str, int], on_stack: set[str]) -> bool:
    """True when `child` is new (descend into it); otherwise update `node`'s low link."""
    if child not in index:
        return True
    if child in on_stack:
        low[node] = min(low[node], index[child])
    return False


def _pop_component(node: str, *, stack: list[str], on_stack: set[str]) -> list[str]:
    component = []
    while True:
        member = stack.pop()
        on_stack.discard(member)
        component.append(member)
        if member == node:
            return component
