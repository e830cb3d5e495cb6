"""Helpers for the compiler tests: compile YAML text as the CLI does, and Kubernetes' `$(VAR)` expansion."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest

from pipeline_queue.compiler import BuildContext, CompiledStage, CompilerSettings, StagePlan, compile_pipeline
from pipeline_queue.spec.loader import load_text


def compile_stage(
    text: str,
    *,
    secrets: Mapping[str, str] | None = None,
    settings: CompilerSettings | None = None,
    **context: Any,
) -> CompiledStage:
    """Load `text` (one kubernetes pipeline) with the real loader and compile it: the plan and its Secrets."""
    loaded = load_text(text, filename="test.yml")
    assert len(loaded.pipelines) == 1, "a test pipeline text holds exactly one kubernetes pipeline"
    build = BuildContext(secrets=dict(secrets or {}), **context)
    return compile_pipeline(loaded.pipelines[0].pipeline, build, settings=settings or CompilerSettings())


def compile_text(text: str, **options: Any) -> StagePlan:
    """The stage plan `text` compiles to."""
    return compile_stage(text, **options).plan


def kube_expand(text: str, env: Mapping[str, str]) -> str:
    """What the kubelet makes of an env value, command or arg (k8s third_party/forked/golang/expansion)."""
    out: list[str] = []
    cursor = 0
    while cursor < len(text):
        char = text[cursor]
        if char != "$" or cursor + 1 == len(text):
            out.append(char)
            cursor += 1
            continue
        following = text[cursor + 1]
        if following == "$":
            out.append("$")
            cursor += 2
        elif following == "(" and ")" in text[cursor + 2 :]:
            end = text.index(")", cursor + 2)
            name = text[cursor + 2 : end]
            out.append(env.get(name, f"$({name})"))
            cursor = end + 1
        else:
            out.append("$" + following)
            cursor += 2
    return "".join(out)


def env_of(pod: dict[str, Any]) -> dict[str, Any]:
    """The container's env as name -> value (plain) or the valueFrom mapping."""
    container = pod["spec"]["containers"][0]
    return {entry["name"]: entry.get("value", entry.get("valueFrom")) for entry in container["env"]}


@pytest.fixture
def compile_yaml() -> Callable[..., StagePlan]:
    return compile_text
