"""The report `explain` prints: per step, image, pull policy and why, credentials; never a secret."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.console import Console

from pipeline_queue.compiler import CompiledStep, Plan
from pipeline_queue.spec.linter import Problem


def step_record(step: CompiledStep) -> dict[str, Any]:
    return {
        "name": step.name,
        "kind": step.kind,
        "image": step.image.reference,
        "pull_policy": step.pull.policy,
        "pull_reason": step.pull.reason,
        "credentials": [
            {"secret": source.secret, "registry": source.key, "username": source.username}
            for source in step.credentials
        ],
    }


def explain_plans(file: str, plans: Sequence[Plan], problems: Sequence[Problem]) -> dict[str, Any]:
    """The JSON document of `explain --json`."""
    return {
        "file": file,
        "pipelines": [
            {
                "name": plan.pipeline,
                "namespace": plan.namespace,
                "steps": [step_record(step) for step in (*plan.services, *plan.steps)],
                "warnings": list(plan.warnings),
            }
            for plan in plans
        ],
        "problems": [str(problem) for problem in problems],
    }


def credentials_text(step: dict[str, Any]) -> str:
    if not step["credentials"]:
        return "none (anonymous pull)"
    return "; ".join(f"{c['secret']} -> {c['registry']} (user {c['username']})" for c in step["credentials"])


def print_explanation(report: dict[str, Any]) -> None:
    """A block per step, readable at any terminal width."""
    console = Console(highlight=False)
    for pipeline in report["pipelines"]:
        console.print(f"[bold]pipeline {pipeline['name']!r}[/bold] (namespace {pipeline['namespace']})")
        for step in pipeline["steps"]:
            kind = " (service)" if step["kind"] == "service" else ""
            console.print(f"  [bold]{step['name']}[/bold]{kind}")
            console.print(f"    image        {step['image']}")
            console.print(f"    pull policy  [cyan]{step['pull_policy']}[/cyan]: {step['pull_reason']}")
            console.print(f"    credentials  {credentials_text(step)}")
        for warning in pipeline["warnings"]:
            console.print(f"  [yellow]warning:[/yellow] {warning}")
    if not report["pipelines"]:
        console.print("no kubernetes pipelines in this file")
