"""Which pipelines of a file run for an event, and what each then waits on, as Drone's trigger step decides.

A pipeline whose `trigger` does not match the event is left out of the build; a pipeline that depended
on it depends instead on what it depended on, so the chain of the others holds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pipeline_queue.compiler.conditions import BuildFacts, facts_match
from pipeline_queue.spec.models import Pipeline


@dataclass(frozen=True)
class Selection:
    """One pipeline of the file: whether it runs, why not, and (when it runs) its rewired dependencies."""

    pipeline: Pipeline
    runs: bool
    reason: str = ""
    depends_on: tuple[str, ...] = ()


def select(pipelines: Sequence[Pipeline], facts: BuildFacts) -> list[Selection]:
    """Every pipeline, in file order, with Drone's verdict for `facts`."""
    by_name = {pipeline.name: pipeline for pipeline in pipelines}
    running = {pipeline.name for pipeline in pipelines if facts_match(pipeline.trigger, facts)}
    selections = []
    for pipeline in pipelines:
        if pipeline.name not in running:
            reason = f"trigger does not match {_describe(facts)}"
            selections.append(Selection(pipeline, runs=False, reason=reason))
            continue
        selections.append(Selection(pipeline, runs=True, depends_on=_running_upstream(pipeline.name, by_name, running)))
    return selections


def _running_upstream(name: str, by_name: Mapping[str, Pipeline], running: set[str]) -> tuple[str, ...]:
    """The running pipelines `name` waits on, looking through left-out ones (as Drone's dag.Dependencies)."""
    found: list[str] = []
    seen: set[str] = set()
    pending = list(by_name[name].depends_on)
    while pending:
        upstream = pending.pop(0)
        if upstream in seen or upstream not in by_name:
            continue
        seen.add(upstream)
        if upstream in running:
            found.append(upstream)
        else:
            pending.extend(by_name[upstream].depends_on)
    return tuple(found)


def _describe(facts: BuildFacts) -> str:
    parts = [f"{label} {value!r}" for label, value in
             (("event", facts.event), ("branch", facts.branch), ("ref", facts.ref), ("repo", facts.repo)) if value]
    return ", ".join(parts) or "this build"
