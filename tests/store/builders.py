"""Builders of the values the store's tests create builds from."""

from __future__ import annotations

from pipeline_queue.store import NewBuild, NewStage, NewStep
from pipeline_queue.vocabulary import StepKind


def new_build(repo: str = "octo/hello", **fields: str) -> NewBuild:
    return NewBuild(
        repo=repo,
        event=fields.pop("event", "push"),
        branch=fields.pop("branch", "main"),
        ref=fields.pop("ref", "refs/heads/main"),
        commit=fields.pop("commit", "a" * 40),
        **fields,
    )


def two_stages() -> list[NewStage]:
    """`build` (a service, a step, a step whose failure is ignored) then `deploy`, which depends on it."""
    return [
        NewStage(
            name="build",
            plan={"pods": [{"name": "pq-1-test"}]},
            steps=(
                NewStep(name="db", image="docker.io/library/postgres:16", kind=StepKind.SERVICE),
                NewStep(name="test", image="docker.io/library/golang:1.22", pull_policy="IfNotPresent"),
                NewStep(name="lint", image="docker.io/library/golang:1.22", ignore_failure=True),
            ),
        ),
        NewStage(
            name="deploy",
            plan={"pods": []},
            depends_on=("build",),
            steps=(NewStep(name="push", image="registry.example.com/team/deployer:2"),),
            timeout_seconds=600,
        ),
    ]
