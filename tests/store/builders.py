"""Builders of the values the store's tests create builds from: compiled plans, as the producer stores them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy.orm import Session

from pipeline_queue.compiler import BuildContext, StagePlan, compile_pipeline
from pipeline_queue.spec.loader import load_text
from pipeline_queue.store import BuildDetail, NewBuild, NewStage, create_build, get_build, set_stage_plan

BUILD = """
kind: pipeline
type: kubernetes
name: build
services:
- {name: db, image: "postgres:16"}
steps:
- {name: test, image: "golang:1.22", pull: if-not-exists, commands: [go test]}
- {name: lint, image: "golang:1.22", failure: ignore, commands: [go vet]}
"""
"""A service, a step, and a step whose failure is ignored."""

DEPLOY = """
kind: pipeline
type: kubernetes
name: deploy
depends_on: [build]
steps:
- {name: push, image: "registry.example.com/team/deployer:2", commands: [push]}
"""


def new_build(repo: str = "octo/hello", **fields: str) -> NewBuild:
    return NewBuild(
        repo=repo,
        event=fields.pop("event", "push"),
        branch=fields.pop("branch", "main"),
        ref=fields.pop("ref", "refs/heads/main"),
        commit=fields.pop("commit", "a" * 40),
        **fields,
    )


def pipeline_text(name: str, *steps: str, header: str = "") -> str:
    """A one-pipeline file whose steps are `name: image` pairs written `step=image`."""
    lines = [f"kind: pipeline\ntype: kubernetes\nname: {name}\n{header}steps:"]
    for item in steps:
        step, _, image = item.partition("=")
        lines.append(f'- {{name: {step}, image: "{image}", commands: [run]}}')
    return "\n".join(lines) + "\n"


def plan_for(text: str, *, stage_key: str = "1", secrets: Mapping[str, str] | None = None) -> StagePlan:
    loaded = load_text(text, filename="test.yml")
    context = BuildContext(stage_key=stage_key, secrets=dict(secrets or {}))
    return compile_pipeline(loaded.pipelines[0].pipeline, context).plan


def planned_build(session: Session, build: NewBuild, pipelines: Sequence[tuple[NewStage, str]], *,
                  secrets: Mapping[str, str] | None = None) -> BuildDetail:
    """A build whose stages get the plans compiled from the texts, each keyed by its stage's id."""
    detail = create_build(session, build, stages=[stage for stage, _ in pipelines])
    for stage, (_, text) in zip(detail.stages, pipelines, strict=True):
        set_stage_plan(session, stage.id, plan_for(text, stage_key=str(stage.id), secrets=secrets))
    planned = get_build(session, detail.build.id)
    assert planned is not None
    return planned


def two_stage_build(session: Session, build: NewBuild) -> BuildDetail:
    """`build` (a service, a step, a step whose failure is ignored) then `deploy`, which depends on it."""
    return planned_build(session, build, [
        (NewStage(name="build"), BUILD),
        (NewStage(name="deploy", depends_on=("build",), timeout_seconds=600), DEPLOY),
    ])
