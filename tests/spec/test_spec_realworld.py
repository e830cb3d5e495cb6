"""Realistic Drone files written every way YAML allows: each loads, lints without errors, and keeps its values."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline_queue.spec import LoadedFile, has_errors, lint, load_file

REALWORLD = Path(__file__).parent / "testdata" / "realworld"
FILES = sorted(path.name for path in REALWORLD.iterdir())


def load(name: str) -> LoadedFile:
    return load_file(REALWORLD / name)


def test_there_are_enough_realworld_files() -> None:
    assert len(FILES) >= 8


@pytest.mark.parametrize("name", FILES)
def test_each_file_loads_and_lints_without_errors(name: str) -> None:
    loaded = load(name)
    problems = lint(loaded)
    assert not has_errors(problems), [str(problem) for problem in problems]
    assert loaded.pipelines


def test_anchors_and_merge_keys() -> None:
    [entry] = load("go-anchors-merge.yml").pipelines
    vet, test, build = entry.pipeline.steps
    assert (vet.name, vet.image, vet.pull) == ("vet", "golang:1.10", "if-not-exists")
    assert {key: value.value for key, value in vet.environment.items()} == {
        "GO111MODULE": "on", "CGO_ENABLED": "0", "GOFLAGS": "-mod=vendor",
    }
    assert test.environment["GOFLAGS"].value == "-mod=mod"
    assert test.environment["GO111MODULE"].value == "on"
    assert test.environment["GORACE"].value == "halt_on_error=1"
    assert (build.image, build.when.branch.include, build.when.event.include) == ("golang:1.22", ("main",), ("push",))
    assert build.volumes[0].path == "/root/.cache/go-build"
    # The merged key is placed where the anchor wrote it.
    assert entry.document.position("steps", 0, "image").line == 9
    assert lint(load("go-anchors-merge.yml")) == []  # anchor-holder keys (.name, x-name) are not warned about


def test_flow_style() -> None:
    [entry] = load("flow-style.yml").pipelines
    pipeline = entry.pipeline
    assert pipeline.platform.arch == "arm64"
    assert pipeline.trigger.branch.include == ("main", "release/*")
    assert pipeline.trigger.event.exclude == ("pull_request",)
    assert [step.name for step in pipeline.steps] == ["install", "test", "lint"]
    assert {key: value.value for key, value in pipeline.steps[1].environment.items()} == {
        "CI": "true", "NODE_ENV": "test", "PORT": "3000",
    }
    assert pipeline.steps[2].commands == ("npx eslint .",)


def test_pure_json() -> None:
    [entry] = load("pure-json.json").pipelines
    pipeline = entry.pipeline
    assert (pipeline.clone.depth, pipeline.metadata.labels) == (50, {"team": "platform", "tier": "1"})
    build, publish = pipeline.steps
    assert (build.pull, build.privileged) == ("always", False)
    assert build.environment["VERSION"].value == "1.10"
    assert build.environment["DEBUG"].value == "false"
    assert publish.settings["tags"].value == ["latest", "1.10"]
    assert publish.settings["password"].from_secret == "registry_password"
    assert pipeline.image_pull_secrets == ("dockerconfig",)
    assert entry.document.position("steps", 1, "settings", "password").line == 23


def test_end_markers_and_directives() -> None:
    loaded = load("end-markers.yml")
    assert [entry.pipeline.name for entry in loaded.pipelines] == ["backend", "frontend"]
    assert [document.index for document in loaded.documents] == [0, 1]


def test_quoted_keys() -> None:
    [entry] = load("quoted-keys.yml").pipelines
    step = entry.pipeline.steps[0]
    assert (entry.pipeline.name, step.image) == ("quoted", "maven:3.9-eclipse-temurin-21")
    assert step.environment["JAVA-HOME-HINT"].value == "/opt/java"
    assert step.environment["on"].value == "off"
    assert (step.resources.limits.cpu, step.resources.requests.memory) == ("1000", "512MiB")


def test_booleans_numbers_and_dates_written_where_strings_are_meant() -> None:
    [entry] = load("typed-scalars.yml").pipelines
    pipeline = entry.pipeline
    step = pipeline.steps[0]
    environment = {key: value.value for key, value in step.environment.items()}
    assert environment == {
        "GO_VERSION": "1.10", "ENABLED": "yes", "DISABLED": "no", "FEATURE": "on", "FLOAT": "1e3",
        "OCTAL": "0755", "HEX": "0xFF", "SEXAGESIMAL": "1:20", "DATE": "2001-12-14",
        "EMPTY": "", "TILDE": "", "NULL_WORD": "", "QUOTED_TRUE": "true",
    }
    assert step.commands == ("echo $GO_VERSION", "1.10")
    assert (step.privileged, step.detach, step.user) == (True, False, "1000")
    assert (pipeline.clone.depth, pipeline.clone.skip_verify) == (16, True)
    config_map = pipeline.volumes[0].config_map
    assert config_map is not None and (config_map.default_mode, config_map.optional) == (0o644, True)


def test_several_pipelines_with_docker_secrets_and_signature() -> None:
    loaded = load("multi-pipeline.yml")
    assert [entry.pipeline.name for entry in loaded.pipelines] == ["build", "integration", "deploy"]
    assert loaded.pipelines[1].pipeline.depends_on == ("build", "windows")
    assert [str(notice).split(": ", 1)[1] for notice in loaded.notices] == [
        'notice: pipeline "windows" has type "docker"; only kubernetes pipelines run here, skipped'
    ]
    deploy = loaded.pipelines[2].pipeline
    assert deploy.trigger.event.include == ("push", "promote")
    assert deploy.trigger.target.include == ("production",)
    assert [secret.name for secret in loaded.secrets] == ["postgres_password"]
    assert loaded.signatures[0].hmac.startswith("0a0e7e4c")
    # The secret the file declares counts as provided.
    assert lint(loaded, secrets=[]) == list(loaded.notices)


def test_kubernetes_settings() -> None:
    [entry] = load("kubernetes-features.yml").pipelines
    pipeline = entry.pipeline
    assert pipeline.metadata.annotations == {"cluster-autoscaler.kubernetes.io/safe-to-evict": "false"}
    assert pipeline.node_selector["node-role.kubernetes.io/ci"] == "true"
    assert pipeline.tolerations[0].toleration_seconds == 3600
    assert pipeline.services[0].privileged is True
    assert [volume.name for volume in pipeline.volumes] == ["dockersock", "cache", "certs", "host-tools"]
    certs = pipeline.volumes[2].secret
    assert certs is not None and certs.default_mode == 0o400
    assert pipeline.volumes[0].temp is not None and pipeline.volumes[3].host is not None
    assert (pipeline.steps[0].resources.limits.cpu, pipeline.steps[0].resources.limits.memory) == ("2000", "2GiB")
    [missing] = lint(load("kubernetes-features.yml"), secrets=["other"])
    assert missing.rule == "missing-secret" and missing.line == 27


def test_plugins_and_secret_documents() -> None:
    loaded = load("plugins-secrets.yml")
    docker, notify = loaded.pipelines[0].pipeline.steps
    assert docker.settings["auto_tag"].value == "true"
    assert docker.settings["build_args"].value == ["VERSION=1.10"]
    assert docker.when.ref.exclude == ("refs/tags/*-rc*",)
    assert notify.when.status.include == ("success", "failure")
    assert [secret.name for secret in loaded.secrets] == ["docker_username", "docker_password", "slack_webhook"]
    assert lint(loaded, secrets=[]) == []
    assert "K1pwV2lBM0VGOUtmR2dSRE1WcVZ5Q2E2V3pNWDRTMXI" not in repr(loaded)
