"""The clone step: where it sits in the plan, and its script run by a real shell and git against a local repository."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from pipeline_queue.compiler import CompilerSettings, StagePlan
from pipeline_queue.compiler.context import DEFAULT_CLONE_IMAGE
from pipeline_queue.errors import CompileError
from pipeline_queue.vocabulary import StepKind
from tests.compiler.conftest import compile_text, env_of, kube_expand
from tests.scm.local_git import Repository, make_repository

URL = "https://git.example.com/octo/hello.git"
SERIAL = """kind: pipeline
type: kubernetes
name: t
{clone}
services:
- name: db
  image: postgres:16
steps:
- name: build
  image: rust:1.80
  commands: [cargo build]
- name: test
  image: rust:1.80
  commands: [cargo test]
"""
GRAPH = """kind: pipeline
type: kubernetes
name: t
services:
- name: db
  image: postgres:16
steps:
- name: lint
  image: golang:1.22
  commands: [go vet]
- name: build
  image: golang:1.22
  depends_on: [clone]
  commands: [go build]
- name: migrate
  image: golang:1.22
  depends_on: [db]
  commands: [migrate]
- name: test
  image: golang:1.22
  depends_on: [build, migrate]
  commands: [go test]
"""


def order(plan: StagePlan) -> list[tuple[str, StepKind, int, tuple[str, ...]]]:
    return [(step.name, step.kind, step.number, step.depends_on) for step in plan.all_steps]


def test_the_clone_step_comes_first_and_the_serial_steps_wait_for_it() -> None:
    plan = compile_text(SERIAL.format(clone=""), clone_url=URL)
    assert order(plan) == [
        ("db", StepKind.SERVICE, 1, ()),
        ("clone", StepKind.STEP, 2, ()),
        ("build", StepKind.STEP, 3, ("clone",)),
        ("test", StepKind.STEP, 4, ("build",)),
    ]
    clone = plan.steps[0]
    assert (clone.image.reference, clone.pull.policy) == (f"docker.io/{DEFAULT_CLONE_IMAGE}", "IfNotPresent")
    assert clone.pod["metadata"]["name"] == f"pq-{plan.stage_label}-clone"
    assert clone.counts and not clone.detach


def test_with_depends_on_clone_means_the_clone_step() -> None:
    plan = compile_text(GRAPH, clone_url=URL)
    assert order(plan) == [
        ("db", StepKind.SERVICE, 1, ()),
        ("clone", StepKind.STEP, 2, ()),
        ("lint", StepKind.STEP, 3, ("clone",)),
        ("build", StepKind.STEP, 4, ("clone",)),
        ("migrate", StepKind.STEP, 5, ("clone", "db")),  # services start before the clone; the step waits for both
        ("test", StepKind.STEP, 6, ("build", "migrate")),
    ]


def test_without_a_clone_url_or_with_clone_disabled_there_is_no_clone_step() -> None:
    assert [step.name for step in compile_text(GRAPH).all_steps] == ["db", "lint", "build", "migrate", "test"]
    disabled = compile_text(GRAPH.replace("services:", "clone:\n  disable: true\nservices:"), clone_url=URL)
    assert order(disabled) == [
        ("db", StepKind.SERVICE, 1, ()),
        ("lint", StepKind.STEP, 2, ()),
        ("build", StepKind.STEP, 3, ()),
        ("migrate", StepKind.STEP, 4, ("db",)),
        ("test", StepKind.STEP, 5, ("build", "migrate")),
    ]
    assert all(env_of(step.pod)["DRONE_REMOTE_URL"] == URL for step in disabled.all_steps)


def test_the_remote_url_is_in_every_step_when_there_is_one() -> None:
    plain = compile_text(SERIAL.format(clone=""))
    assert not [step for step in plain.all_steps if "DRONE_REMOTE_URL" in env_of(step.pod)]
    for url, kind in ((URL, "DRONE_GIT_HTTP_URL"), ("git@git.example.com:octo/hello.git", "DRONE_GIT_SSH_URL"),
                      ("ssh://git@git.example.com/octo/hello.git", "DRONE_GIT_SSH_URL")):
        plan = compile_text(SERIAL.format(clone=""), clone_url=url)
        for step in plan.all_steps:
            env = env_of(step.pod)
            assert (env["DRONE_REMOTE_URL"], env[kind]) == (url, url)
    local = env_of(compile_text(SERIAL.format(clone=""), clone_url="file:///srv/x.git").steps[1].pod)
    assert "DRONE_GIT_HTTP_URL" not in local and "DRONE_GIT_SSH_URL" not in local


def test_a_step_may_not_take_the_clone_step_s_name() -> None:
    text = SERIAL.format(clone="").replace("name: build", "name: clone")
    with pytest.raises(CompileError, match=r"^step 'clone': the name is taken by the clone step"):
        compile_text(text, clone_url=URL)
    with pytest.raises(CompileError, match=r"^service 'clone': the name is taken by the clone step"):
        compile_text(SERIAL.format(clone="").replace("name: db", "name: clone"), clone_url=URL)
    assert [step.name for step in compile_text(text).steps] == ["clone", "test"]
    disabled = compile_text(text.replace("services:", "clone:\n  disable: true\nservices:"), clone_url=URL)
    assert [step.name for step in disabled.steps] == ["clone", "test"]
    other = compile_text(SERIAL.format(clone="").replace("name: build", "name: Clone"), clone_url=URL)
    assert [step.name for step in other.steps] == ["clone", "Clone", "test"]


def test_the_clone_image_is_the_operator_s_choice() -> None:
    plan = compile_text(SERIAL.format(clone=""), clone_url=URL,
                        settings=CompilerSettings(clone_image="registry.example.com/tools/git:2"))
    assert plan.steps[0].image.reference == "registry.example.com/tools/git:2"


def test_the_clone_options_reach_git() -> None:
    clone = "clone:\n  depth: 5\n  skip_verify: true\n  trace: true\n"
    step = compile_text(SERIAL.format(clone=clone), clone_url=URL).steps[0]
    env = env_of(step.pod)
    assert (env["GIT_SSL_NO_VERIFY"], env["GIT_TRACE"], env["GIT_TERMINAL_PROMPT"]) == ("true", "true", "0")
    assert "--depth=5" in env["DRONE_SCRIPT"]
    default = env_of(compile_text(SERIAL.format(clone="clone:\n  depth: 0\n"), clone_url=URL).steps[0].pod)
    assert "--depth" not in default["DRONE_SCRIPT"] and "GIT_TRACE" not in default


def test_a_url_with_credentials_is_never_in_the_script() -> None:
    url = "https://ci:t0ken-abc@git.example.com/octo/hello.git"
    step = compile_text(SERIAL.format(clone="clone:\n  retries: 3\n"), clone_url=url).steps[0]
    script = env_of(step.pod)["DRONE_SCRIPT"]
    assert "t0ken" not in script and "$$DRONE_REMOTE_URL" in script
    assert env_of(step.pod)["DRONE_REMOTE_URL"] == url  # the operator's choice, in the environment only


# The script, run as the kubelet would run the container: env expanded, then `sh -c "$(DRONE_SCRIPT)"`.


def run_clone(
    repository: Repository, workspace: Path, *, clone: str = "", extra_env: dict[str, str] | None = None,
    url: str = "", **context: Any,
) -> subprocess.CompletedProcess[str]:
    step = compile_text(SERIAL.format(clone=clone), clone_url=url or repository.url, **context).steps[0]
    assert step.name == "clone"
    container = step.pod["spec"]["containers"][0]
    env = {name: kube_expand(value, {}) for name, value in env_of(step.pod).items() if isinstance(value, str)}
    argv = [kube_expand(part, env) for part in container["command"] + container["args"]]
    workspace.mkdir(parents=True, exist_ok=True)
    return subprocess.run(
        argv,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(repository.home), "GIT_CONFIG_NOSYSTEM": "1",
             **env, **(extra_env or {})},
        cwd=workspace,  # the pod's workingDir: the workspace
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def history(repository: Repository, workspace: Path) -> tuple[str, str, str]:
    """HEAD, the number of commits present, and whether the clone is shallow."""
    git = repository.git
    return (git("rev-parse", "HEAD", cwd=workspace), git("rev-list", "--count", "HEAD", cwd=workspace),
            git("rev-parse", "--is-shallow-repository", cwd=workspace))


@pytest.fixture
def repository(tmp_path: Path) -> Repository:
    return make_repository(tmp_path / "repo")


@pytest.fixture
def three(repository: Repository) -> list[str]:
    return [repository.commit({".drone.yml": f"name: {n}\n", "src/main.go": f"// {n}\n"}) for n in range(3)]


def test_the_sources_are_checked_out_at_the_commit_with_the_whole_history(
    repository: Repository, three: list[str], tmp_path: Path
) -> None:
    workspace = tmp_path / "drone" / "src"
    result = run_clone(repository, workspace, commit=three[1])
    assert result.returncode == 0, result.stderr
    assert history(repository, workspace) == (three[1], "2", "false")
    assert (workspace / "src" / "main.go").read_text() == "// 1\n"
    assert repository.git("status", "--porcelain", cwd=workspace) == ""
    traced = [line for line in result.stdout.splitlines() if line.startswith("+ ")]
    assert traced == ["+ git init -q", '+ git remote add origin "$DRONE_REMOTE_URL"',
                      '+ git fetch origin "$DRONE_COMMIT_SHA" || git fetch origin "$DRONE_COMMIT_REF"',
                      '+ git checkout -qf "$DRONE_COMMIT_SHA"']


def test_a_depth_makes_a_shallow_clone(repository: Repository, three: list[str], tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    result = run_clone(repository, workspace, clone="clone:\n  depth: 1\n", commit=three[2])
    assert result.returncode == 0, result.stderr
    assert history(repository, workspace) == (three[2], "1", "true")
    assert (workspace / ".drone.yml").read_text() == "name: 2\n"


def test_a_server_that_refuses_the_sha_is_asked_for_the_ref(
    repository: Repository, three: list[str], tmp_path: Path
) -> None:
    # Protocol v0 refuses an object no ref advertises (three[1] is not main's tip): the ref is fetched instead.
    v0 = {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "protocol.version", "GIT_CONFIG_VALUE_0": "0"}
    workspace = tmp_path / "ws"
    result = run_clone(repository, workspace, clone="clone:\n  depth: 5\n", extra_env=v0, commit=three[1],
                       ref="refs/heads/main")
    assert result.returncode == 0, result.stderr
    assert "unadvertised object" in result.stderr
    assert history(repository, workspace)[0] == three[1]


def test_a_url_with_dollars_reaches_git_unchanged(tmp_path: Path) -> None:
    repository = make_repository(tmp_path / "r", name="re$po$(HOME)${HOME}$$.git")
    commit = repository.commit({"README": "dollars\n"})
    workspace = tmp_path / "ws"
    result = run_clone(repository, workspace, commit=commit)
    assert result.returncode == 0, result.stderr
    assert (workspace / "README").read_text() == "dollars\n"


def test_retries_fetch_again_then_fail(repository: Repository, tmp_path: Path) -> None:
    missing = (tmp_path / "missing.git").as_uri()
    result = run_clone(repository, tmp_path / "ws", clone="clone:\n  retries: 2\n", url=missing, commit="a" * 40)
    assert result.returncode == 1
    assert "retry 1 of 2" in result.stdout and "retry 2 of 2" in result.stdout
    assert "retry 3" not in result.stdout
    assert not [line for line in result.stdout.splitlines() if line.startswith("+ git checkout")]


def test_an_unknown_commit_fails_the_step(repository: Repository, three: list[str], tmp_path: Path) -> None:
    # Not fetched by sha, the ref is fetched instead: the commit is not in it, and the checkout says so.
    workspace = tmp_path / "ws"
    result = run_clone(repository, workspace, commit="b" * 40)
    assert result.returncode != 0
    assert "b" * 40 in result.stderr
    assert not (workspace / ".drone.yml").exists()
