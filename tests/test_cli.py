"""The command line as a user runs it: exit codes, the JSON contracts, and no secret in any output."""

from __future__ import annotations

import base64
import json
import os
import re

import pytest

from tests.conftest import ROOT

DEMO = ROOT / "pipeline_queue" / "examples" / "demo.yml"
DEMO_SECRETS = ROOT / "pipeline_queue" / "examples" / "demo-secrets.yml"
INSPECT_KEYS = ["input", "valid", "domain", "path", "name", "tag", "digest", "reference", "familiar"]
PASSWORD = "pa55-w0rd-never-shown"


def json_lines(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def test_image_inspect_json_contract(cli):
    result = cli("image", "inspect", "--json", "--", "golang:1.7", "localhost:5000/x",
                 "index.docker.io/library/golang", "docker.company.com/golang")
    assert result.returncode == 0, result.stderr
    records = json_lines(result.stdout)
    assert [list(r) for r in records] == [INSPECT_KEYS] * 4
    golang, local, hub, company = records
    assert golang == {
        "input": "golang:1.7", "valid": True, "domain": "docker.io", "path": "library/golang",
        "name": "docker.io/library/golang", "tag": "1.7", "digest": None,
        "reference": "docker.io/library/golang:1.7", "familiar": "golang:1.7",
    }
    assert (local["domain"], local["path"], local["reference"]) == ("localhost:5000", "x", "localhost:5000/x:latest")
    assert hub["name"] == "docker.io/library/golang" and hub["familiar"] == "golang"
    assert company["domain"] == "docker.company.com" and company["familiar"] == "docker.company.com/golang"


def test_image_inspect_digest_reference(cli):
    digest = "sha256:" + "a" * 64
    result = cli("image", "inspect", "--json", f"alpine:3.20@{digest}")
    (record,) = json_lines(result.stdout)
    assert record["tag"] == "3.20" and record["digest"] == digest
    assert record["reference"] == f"docker.io/library/alpine:3.20@{digest}"


def test_image_inspect_invalid_exits_2_and_says_why(cli):
    result = cli("image", "inspect", "--json", "--", "golang", "Golang:1.7", "x@sha256:abc")
    assert result.returncode == 2
    ok, upper, digest = json_lines(result.stdout)
    assert ok["valid"] is True
    assert upper == {"input": "Golang:1.7", "valid": False, "error": upper["error"]}
    assert "lowercase" in upper["error"]
    assert digest["valid"] is False and "digest" in digest["error"]


def write_config(tmp_path, auths: dict) -> str:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"auths": auths}))
    return str(path)


def test_registry_match_json_contract_in_kubelet_order(cli, tmp_path):
    auth = base64.b64encode(f"hubuser:{PASSWORD}".encode()).decode()
    config = write_config(tmp_path, {
        "registry.example.com": {"username": "ci", "password": PASSWORD},
        "registry.example.com/team": {"username": "team-ci", "password": PASSWORD},
        "https://index.docker.io/v1/": {"auth": auth},
    })
    result = cli("registry", "match", "--config", config, "--json", "--",
                 "registry.example.com/team/app:1.0", "golang", "quay.io/x/y")
    assert result.returncode == 0, result.stderr
    team, hub, quay = json_lines(result.stdout)
    assert team == {"image": "registry.example.com/team/app:1.0", "registry": "registry.example.com",
                    "matches": [{"key": "registry.example.com/team", "username": "team-ci"},
                                {"key": "registry.example.com", "username": "ci"}]}
    assert hub["registry"] == "docker.io"
    assert hub["matches"] == [{"key": "https://index.docker.io/v1/", "username": "hubuser"}]
    assert quay["matches"] == []
    assert PASSWORD not in result.stdout + result.stderr and auth not in result.stdout


@pytest.mark.parametrize(
    "auths, entry",
    [
        ({"bad.example.com": {"auth": "%%%not-base64" + PASSWORD}}, "bad.example.com"),
        ({"colon.example.com": {"auth": base64.b64encode(PASSWORD.encode()).decode()}}, "colon.example.com"),
    ],
)
def test_registry_match_malformed_config_names_entry_not_value(cli, tmp_path, auths, entry):
    result = cli("registry", "match", "--config", write_config(tmp_path, auths), "golang")
    assert result.returncode == 2
    assert entry in result.stderr
    assert PASSWORD not in result.stdout + result.stderr
    assert base64.b64encode(PASSWORD.encode()).decode() not in result.stderr


def test_registry_match_malformed_json(cli, tmp_path):
    path = tmp_path / "config.json"
    path.write_text('{"auths": {"r.example.com": {"password": "' + PASSWORD + '"')
    result = cli("registry", "match", "--config", str(path), "golang")
    assert result.returncode == 2
    assert "config.json" in result.stderr and PASSWORD not in result.stderr


def test_lint_clean_file_exits_0(cli):
    result = cli("lint", str(DEMO))
    assert result.returncode == 0, result.stdout + result.stderr


def test_lint_reports_file_line_col(cli, tmp_path):
    bad = tmp_path / ".drone.yml"
    bad.write_text(
        "kind: pipeline\ntype: kubernetes\nname: default\nsteps:\n"
        "- name: build\n  image: golang\n  pull: sometimes\n"
        "- name: test\n  commands: [go test]\n  depends_on: [biuld]\n"
    )
    result = cli("lint", str(bad))
    assert result.returncode == 1
    lines = [line for line in result.stdout.splitlines() + result.stderr.splitlines() if "warning" not in line]
    assert lines, result.stdout + result.stderr
    for line in lines:
        assert re.match(rf"^{re.escape(str(bad))}:\d+:\d+: \S", line), line
    joined = "\n".join(lines)
    assert f"{bad}:7:" in joined  # the unknown pull value
    assert "biuld" in joined
    assert "image" in joined


def test_lint_refuses_unreadable_yaml(cli, tmp_path):
    bomb = tmp_path / "bomb.yml"
    layers = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 9):
        prev, cur = chr(ord("a") + i - 1), chr(ord("a") + i)
        layers.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 9) + "]")
    bomb.write_text("\n".join(layers) + "\n")
    result = cli("lint", str(bomb))
    assert result.returncode == 1
    assert str(bomb) in result.stderr


def test_explain_json_shows_policy_reason_and_credentials_without_secrets(cli):
    result = cli("explain", str(DEMO), "--secrets", str(DEMO_SECRETS), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    (pipeline,) = report["pipelines"]
    steps = {step["name"]: step for step in pipeline["steps"]}
    assert steps["lint"]["pull_policy"] == "Always"
    assert steps["test"]["pull_policy"] == "IfNotPresent"
    assert steps["package"]["image"] == "registry.example.com/team/builder:1.0"
    assert steps["package"]["credentials"] == [
        {"secret": "dockerconfig", "registry": "registry.example.com", "username": "ci"}
    ]
    for secret in ("s3cret", "demo-password", "example-codecov-token", "ZGVtbzpkZW1vLXBhc3N3b3Jk"):
        assert secret not in result.stdout + result.stderr


def test_explain_covers_services_never_and_anonymous_pulls(cli, tmp_path):
    pipeline = tmp_path / ".drone.yml"
    pipeline.write_text(
        "kind: pipeline\ntype: kubernetes\nname: default\n"
        "services:\n- name: cache\n  image: redis:7\n"
        "steps:\n- name: offline\n  image: alpine:3.20\n  pull: never\n  commands: [true]\n"
    )
    result = cli("explain", str(pipeline), "--json")
    assert result.returncode == 0, result.stderr
    steps = {step["name"]: step for step in json.loads(result.stdout)["pipelines"][0]["steps"]}
    assert steps["cache"]["kind"] == "service" and steps["cache"]["pull_policy"] == "IfNotPresent"
    assert steps["offline"]["pull_policy"] == "Never" and "never" in steps["offline"]["pull_reason"]
    assert steps["offline"]["credentials"] == []


def test_compile_never_prints_secret_values(cli):
    result = cli("compile", str(DEMO), "--secrets", str(DEMO_SECRETS), "--json")
    assert result.returncode == 0, result.stderr
    objects = json.loads(result.stdout)
    kinds = {obj["kind"] for obj in objects}
    assert {"Pod", "Secret", "PersistentVolumeClaim"} <= kinds
    text = result.stdout
    for secret in ("s3cret", "demo-password", "example-codecov-token"):
        assert secret not in text
        assert base64.b64encode(secret.encode()).decode() not in text


def test_compile_yaml_is_default(cli):
    result = cli("compile", str(DEMO), "--secrets", str(DEMO_SECRETS))
    assert result.returncode == 0, result.stderr
    assert "kind: Pod" in result.stdout


def test_demo_runs_the_bundled_pipeline_through_the_whole_system(cli, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "KUBECONFIG", "DATABASE_URL", "PQ_DATA_DIR")}
    result = cli("demo", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    assert "registry.example.com/team/builder:1.0" in out  # explained first
    assert "hello from pipeline-queue on branch main" in out  # then run, with the step's log
    assert "token is ********" in out and "example-codecov-token" not in out
    assert "artifact built from 0000000000000000000000000000000000000000" in out  # workspace shared by steps
    assert "build #1: success" in out
    assert not (tmp_path / ".pipeline-queue" / "up.json").exists()  # what demo started, it stopped
    builds = cli("builds", "--json", cwd=tmp_path, env=env)
    assert [(b["id"], b["status"]) for b in json.loads(builds.stdout)] == [(1, "success")]


@pytest.mark.parametrize(
    "content, message",
    [("- just\n- a list\n", "mapping"), ("token: [1, 2]\n", "'token'"), ("a: [unclosed\n", "not valid YAML")],
)
def test_bad_secrets_file_is_a_clear_error(cli, tmp_path, content, message):
    secrets = tmp_path / "secrets.yml"
    secrets.write_text(content)
    result = cli("explain", str(DEMO), "--secrets", str(secrets))
    assert result.returncode == 2
    assert message in result.stderr and str(secrets) in result.stderr


def test_registry_match_refuses_an_oversized_config_on_its_size_alone(cli, tmp_path):
    big = tmp_path / "config.json"
    with big.open("wb") as handle:
        handle.truncate(2 << 30)  # sparse: 2 GiB that would take long to read
    result = cli("registry", "match", "--config", str(big), "alpine")
    assert result.returncode == 2
    assert "a Docker config.json of at most 1048576 bytes; this one is 2147483648 bytes" in result.stderr


def test_a_service_that_does_not_answer_is_an_error_saying_what_to_start(cli, tmp_path):
    pipeline = tmp_path / ".drone.yml"
    pipeline.write_text("kind: pipeline\ntype: kubernetes\nname: default\nsteps:\n"
                        "- {name: a, image: 'alpine:3.19', commands: [x]}\n")
    base = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "KUBECONFIG", "DATABASE_URL")}
    redis = cli("run", str(pipeline), env={**base, "PQ_DATA_DIR": str(tmp_path / "data"),
                                           "REDIS_URL": "redis://127.0.0.1:1/0"})
    database = cli("builds", env={**base, "PQ_DATA_DIR": str(tmp_path / "data"),
                                  "DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none"})
    for result, what in ((redis, "Redis does not answer"), (database, "is it running? check DATABASE_URL")):
        assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
        assert what in result.stderr and "start it" in result.stderr
