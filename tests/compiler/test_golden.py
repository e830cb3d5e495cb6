"""Golden cases: testdata/NAME.yml compiles to testdata/NAME.json (PQ_UPDATE_GOLDEN=1 rewrites them).

Each NAME.yml holds one kubernetes pipeline and, optionally, a `kind: test-context` document with the
build context, the repository secrets (a mapping value is written as its JSON text) and compiler settings.
Cases named `error_*` must fail to compile; their golden file holds the error.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import os
import re
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from kubernetes_validate.utils import latest_version

from pipeline_queue.compiler import BuildContext, CompiledStage, CompilerSettings, compile_pipeline
from pipeline_queue.errors import PipelineQueueError
from pipeline_queue.pull import PullSettings
from pipeline_queue.spec.loader import load_text

TESTDATA = Path(__file__).parent / "testdata"
CASES = sorted(path.stem for path in TESTDATA.glob("*.yml"))
GOOD_CASES = [name for name in CASES if not name.startswith("error_")]
KUBERNETES = latest_version()
UPDATE = os.environ.get("PQ_UPDATE_GOLDEN") == "1"


def load_case(name: str) -> tuple[Any, BuildContext, CompilerSettings]:
    text = (TESTDATA / f"{name}.yml").read_text()
    parts = re.split(r"^---[ \t]*\n", text, flags=re.MULTILINE)
    extra: dict[str, Any] = {}
    documents = []
    for part in parts:
        data = yaml.safe_load(part) if part.strip() else None
        if isinstance(data, dict) and data.get("kind") == "test-context":
            extra = data
        elif part.strip():
            documents.append(part)
    loaded = load_text("---\n".join(documents), filename=f"{name}.yml")
    assert len(loaded.pipelines) == 1, f"{name}.yml must hold exactly one kubernetes pipeline"
    secrets = {
        key: value if isinstance(value, str) else json.dumps(value)
        for key, value in (extra.get("secrets") or {}).items()
    }
    context = BuildContext(secrets=secrets, **(extra.get("context") or {}))
    pull = extra.get("pull") or {}
    settings = CompilerSettings(
        pull=PullSettings(**{key: tuple(value) for key, value in pull.items()}),
        storage_class=extra.get("storage_class", ""),
    )
    return loaded.pipelines[0].pipeline, context, settings


def compile_case(name: str) -> CompiledStage:
    pipeline, context, settings = load_case(name)
    return compile_pipeline(pipeline, context, settings=settings)


def summary(compiled: CompiledStage) -> dict[str, Any]:
    plan = compiled.plan
    return {
        "pipeline": plan.pipeline,
        "stage_id": plan.stage_key,
        "namespace": plan.namespace,
        "warnings": list(plan.warnings),
        "steps": [
            {
                "name": step.name,
                "kind": step.kind,
                "number": step.number,
                "pod": step.pod_name,
                "image": step.image.reference,
                "pull_policy": step.pull.policy,
                "pull_reason": step.pull.reason,
                "credentials": [[c.secret, c.key, c.username] for c in step.credentials],
                "depends_on": list(step.depends_on),
                "detach": step.detach,
                "failure": "ignore" if step.ignore_failure else "fail",
            }
            for step in plan.all_steps
        ],
        "objects": compiled.objects(),
    }


def outcome(name: str) -> dict[str, Any]:
    try:
        return summary(compile_case(name))
    except PipelineQueueError as error:
        return {"error": {"type": type(error).__name__, "message": str(error)}}


@pytest.mark.parametrize("name", CASES)
def test_golden(name: str) -> None:
    actual = outcome(name)
    assert ("error" in actual) == name.startswith("error_")
    golden = TESTDATA / f"{name}.json"
    if UPDATE:
        golden.write_text(json.dumps(actual, indent=2, ensure_ascii=False) + "\n")
    assert golden.exists(), f"no {golden.name}; run with PQ_UPDATE_GOLDEN=1 and review it"
    assert actual == json.loads(golden.read_text())


def test_there_are_enough_cases() -> None:
    assert len(GOOD_CASES) >= 10


@pytest.mark.parametrize("name", GOOD_CASES)
def test_every_object_validates_against_the_kubernetes_schema(name: str) -> None:
    for obj in compile_case(name).objects():
        assert kubernetes_validate.validate(obj, KUBERNETES, strict=True)


@pytest.mark.parametrize("name", GOOD_CASES)
def test_every_object_carries_the_stage_labels(name: str) -> None:
    compiled = compile_case(name)
    for obj in compiled.objects():
        labels = obj["metadata"]["labels"]
        assert labels["app.kubernetes.io/managed-by"] == "pipeline-queue"
        assert labels["pipeline-queue.io/stage"]
        assert labels["pipeline-queue.io/build"]
        assert labels["pipeline-queue.io/repo"]
        assert obj["metadata"]["namespace"] == compiled.plan.namespace
    for step in compiled.plan.all_steps:
        pull_secret = compiled.pull_secret(step.name)
        for obj in (pull_secret, step.pod, step.service):
            if obj is not None:
                assert obj["metadata"]["labels"]["pipeline-queue.io/step"] == step.slug


def secret_values(context: BuildContext) -> set[str]:
    """Every value that must stay hidden: repository secrets, and passwords inside config.json files."""
    values = set(context.secrets.values())
    for text in context.secrets.values():
        try:
            config = json.loads(text)
        except ValueError:
            continue
        for entry in config.get("auths", {}).values():
            values.update((entry.get("password", ""), entry.get("auth", "")))
            with contextlib.suppress(binascii.Error, UnicodeDecodeError):
                values.add(base64.b64decode(entry.get("auth", ""), validate=True).decode().partition(":")[2])
    return {value for value in values if len(value) >= 6}


def without_secret_data(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in obj.items() if not (obj["kind"] == "Secret" and k == "data")} for obj in objects]


@pytest.mark.parametrize("name", CASES)
def test_no_secret_value_is_ever_shown(name: str) -> None:
    pipeline, context, settings = load_case(name)
    try:
        plan = compile_pipeline(pipeline, context, settings=settings)
    except PipelineQueueError as error:
        shown = [str(error)]
    else:
        shown = [
            str(without_secret_data(plan.objects())),
            str(plan.redacted_objects()),
            repr(plan),
            str(plan),
            json.dumps(plan.plan.to_json()),
            *plan.plan.warnings,
        ]
    for value in secret_values(context):
        for text in shown:
            assert value not in text
    assert all(value not in repr(context) for value in secret_values(context))
