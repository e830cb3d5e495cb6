"""Whole-system scenarios: each a real build through the store, Redis, a Celery worker and the development cluster.

They check what a user checks: `build show` (statuses, exit codes, errors, step times), `logs`, and what is
left in the cluster. The environments are the fixtures of tests/integration/conftest.py.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import yaml

from pipeline_queue.commands.common import load_secrets_file
from pipeline_queue.compiler import StagePlan
from pipeline_queue.kube import Kube
from pipeline_queue.producer.cancel import cancel_build
from pipeline_queue.store import BuildDetail, StageRecord, StepRecord, get_build
from pipeline_queue.vocabulary import Status
from tests.conftest import run_cli
from tests.integration.conftest import (
    PRIVATE_IMAGE,
    PRIVATE_PASSWORD,
    PRIVATE_REGISTRY,
    PRIVATE_USER,
    CliEnvironment,
    Environment,
    docker_config,
    step_states,
    wait_for,
)

# b and c each wait (at most a minute) for the other's file: they pass only when they run at the same time.
DIAMOND = """
kind: pipeline
type: kubernetes
name: default
steps:
- name: a
  image: alpine:3.19
  commands: ["echo from-a > a.txt"]
- name: b
  image: alpine:3.19
  depends_on: [a]
  commands:
  - "cat a.txt"
  - "echo from-b > b.txt"
  - "for i in $(seq 600); do test -f c.txt && break; sleep 0.1; done"
  - "test -f c.txt"
- name: c
  image: alpine:3.19
  depends_on: [a]
  commands:
  - "cat a.txt"
  - "echo from-c > c.txt"
  - "for i in $(seq 600); do test -f b.txt && break; sleep 0.1; done"
  - "test -f b.txt"
- name: d
  image: alpine:3.19
  depends_on: [b, c]
  commands: ["cat b.txt c.txt"]
"""

ON_FAILURE = """
kind: pipeline
type: kubernetes
name: default
steps:
- name: broken
  image: alpine:3.19
  commands: [echo breaking, exit 2]
- name: publish
  image: alpine:3.19
  when: {status: [success]}
  commands: [echo publishing]
- name: notify
  image: alpine:3.19
  when: {status: [failure]}
  commands: [echo telling-the-team-it-broke]
"""

PRIVATE = f"""
kind: pipeline
type: kubernetes
name: default
image_pull_secrets: [dockerconfig]
steps:
- name: private
  image: {PRIVATE_IMAGE}
  commands: [echo ran-the-private-image]
"""

# `pull: always`: another build of this module may have left the image on the node, and an IfNotPresent pod
# would run that copy without credentials (the leak the cache guard reports); the kubelet must ask the registry.
NO_CREDENTIALS = f"""
kind: pipeline
type: kubernetes
name: default
steps:
- name: private
  image: {PRIVATE_IMAGE}
  pull: always
  commands: [echo must-not-run]
"""

# The step prints its process group (field 5 of /proc/self/stat) so the test can see it killed.
LONG = f"""
kind: pipeline
type: kubernetes
name: default
image_pull_secrets: [dockerconfig]
steps:
- name: long
  image: {PRIVATE_IMAGE}
  environment:
    TOKEN: {{from_secret: token}}
  commands:
  - "cut -d ' ' -f 5 /proc/self/stat"
  - "sleep 30"
"""

TIMED_OUT = """
kind: pipeline
type: kubernetes
name: default
steps:
- name: slow
  image: alpine:3.19
  commands:
  - "cut -d ' ' -f 5 /proc/self/stat"
  - "sleep 60"
"""

CLI_PASSING = """
kind: pipeline
type: kubernetes
name: default
steps:
- name: greet
  image: alpine:3.19
  commands: [echo hello-from-the-cli-run]
"""

CLI_FAILING = """
kind: pipeline
type: kubernetes
name: default
steps:
- name: broken
  image: alpine:3.19
  commands: [echo going-down, exit 4]
"""


def _steps(detail: BuildDetail) -> dict[str, StepRecord]:
    return {step.name: step for stage in detail.stages for step in stage.steps}


def _secrets_file(tmp: Path) -> dict[str, str]:
    """The repository secrets as a user keeps them: a YAML file, read as `run --secrets FILE` reads it."""
    path = tmp / "secrets.yml"
    path.write_text(yaml.safe_dump({
        "dockerconfig": docker_config(PRIVATE_REGISTRY, PRIVATE_USER, PRIVATE_PASSWORD),
        "token": "tok-e2e-5521",
    }))
    return load_secrets_file(str(path))


def _running(read: Callable[[int], BuildDetail], build_id: int, step: str) -> StepRecord:
    def running() -> StepRecord | None:
        found = _steps(read(build_id))[step]
        return found if found.status is Status.RUNNING else None

    return wait_for(running, what=f"step {step!r} of build {build_id} to run")


def _group_alive(group: int) -> bool:
    """Whether any live (not zombie) process is in process group `group`."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # the process ended while we looked
        if fields[0] != "Z" and int(fields[2]) == group:
            return True
    return False


def _process_group(log: str) -> int:
    numbers = [line.strip() for line in log.splitlines() if line.strip().isdigit()]
    assert numbers, f"the step did not print its process group:\n{log}"
    return int(numbers[0])


def _left_in_cluster(kube: Kube, stage: StageRecord) -> list[str]:
    """The stage's pods, Secrets and workspace claim still in the cluster, as `kubectl get -l` would list them."""
    plan = StagePlan.from_json(dict(stage.plan))
    found = [f"pod/{pod['metadata']['name']}" for pod in kube.list_pods(plan.namespace, plan.selector)]
    found += [f"secret/{secret['metadata']['name']}"
              for secret in kube.list("Secret", plan.namespace, label_selector=plan.selector)]
    found += [f"pvc/{claim['metadata']['name']}"
              for claim in kube.list("PersistentVolumeClaim", plan.namespace, label_selector=plan.selector)]
    return found


def test_parallel_branches_run_together_after_their_parent_and_the_join_sees_both_outputs(
    environment: Environment,
) -> None:
    detail = environment.finished(environment.submit(DIAMOND, repo="octo/diamond").build_id)
    assert detail.build.status is Status.SUCCESS, step_states(detail)
    steps = _steps(detail)
    assert {name: step.status for name, step in steps.items()} == dict.fromkeys("abcd", Status.SUCCESS)
    for branch in ("b", "c"):
        assert steps[branch].started >= steps["a"].finished
        assert steps["d"].started >= steps[branch].finished
    text = environment.logs(detail)
    assert "from-a" in text["b"] and "from-a" in text["c"]
    assert "from-b" in text["d"] and "from-c" in text["d"]


def test_a_failure_only_step_runs_after_a_failure_and_a_success_only_step_is_skipped(
    environment: Environment,
) -> None:
    detail = environment.finished(environment.submit(ON_FAILURE, repo="octo/notify").build_id)
    assert detail.build.status is Status.FAILURE
    assert step_states(detail) == {
        "broken": (Status.FAILURE, 2),
        "publish": (Status.SKIPPED, None),
        "notify": (Status.SUCCESS, 0),
    }
    steps = _steps(detail)
    assert steps["notify"].started >= steps["broken"].finished
    text = environment.logs(detail)
    assert "telling-the-team-it-broke" in text["notify"] and "publishing" not in text["publish"]


def test_a_private_image_runs_with_its_pull_secret(environment: Environment) -> None:
    submitted = environment.submit(PRIVATE, repo="octo/private", secrets=_secrets_file(environment.tmp))
    detail = environment.finished(submitted.build_id)
    assert detail.build.status is Status.SUCCESS, step_states(detail)
    step = _steps(detail)["private"]
    assert step.credential_source is not None and step.credential_source.username == PRIVATE_USER
    assert "ran-the-private-image" in environment.logs(detail)["private"]


def test_a_private_image_without_credentials_fails_at_once_saying_why(environment: Environment) -> None:
    started = time.monotonic()
    # Well under the 300 s start timeout: the pull failure itself ends the step.
    detail = environment.finished(environment.submit(NO_CREDENTIALS, repo="octo/nocreds").build_id, timeout=60)
    assert time.monotonic() - started < 60
    assert detail.build.status is not Status.SUCCESS
    step = _steps(detail)["private"]
    assert step.status is Status.ERROR
    assert f"could not be pulled: no credentials for {PRIVATE_REGISTRY}" in step.error
    assert PRIVATE_PASSWORD not in step.error
    assert "must-not-run" not in environment.logs(detail)["private"]


def test_cancelling_through_the_python_api_kills_the_build_and_cleans_the_cluster(
    environment: Environment,
) -> None:
    submitted = environment.submit(LONG, repo="octo/cancel", secrets=_secrets_file(environment.tmp))
    _running(environment.detail, submitted.build_id, "long")
    (stage,) = environment.detail(submitted.build_id).stages
    assert any(name.startswith("secret/") for name in _left_in_cluster(environment.kube, stage))
    cancel_build(submitted.build_id, sessions=environment.sessions, send=environment.send)
    # Far less than the step's 30 s: the cancellation, not the step's end, finishes the build.
    detail = environment.finished(submitted.build_id, timeout=25)
    assert detail.build.status is Status.KILLED
    assert _steps(detail)["long"].status is Status.KILLED
    wait_for(lambda: not _left_in_cluster(environment.kube, stage), what="the stage's objects to be deleted",
             explain=lambda: str(_left_in_cluster(environment.kube, stage)))
    group = _process_group(environment.logs(detail)["long"])
    wait_for(lambda: not _group_alive(group), what=f"the step's processes (group {group}) to end")


def test_a_stage_past_its_timeout_fails_with_the_reason_and_its_process_is_killed(
    environment: Environment,
) -> None:
    submitted = environment.submit(TIMED_OUT, repo="octo/timeout", stage_timeout=5)
    detail = environment.finished(submitted.build_id, timeout=45)
    assert detail.build.status is Status.FAILURE
    (stage,) = detail.stages
    step = _steps(detail)["slow"]
    assert step.status in (Status.FAILURE, Status.KILLED)
    reasons = f"{stage.error} {step.error}"
    assert "timeout of 5s" in reasons or "time limit" in reasons, reasons
    wait_for(lambda: not _left_in_cluster(environment.kube, stage), what="the stage's objects to be deleted",
             explain=lambda: str(_left_in_cluster(environment.kube, stage)))
    group = _process_group(environment.logs(detail)["slow"])
    wait_for(lambda: not _group_alive(group), what=f"the step's processes (group {group}) to end")


def test_run_follow_prints_the_logs_and_exits_0_for_a_passing_pipeline(cli_environment: CliEnvironment) -> None:
    path = cli_environment.tmp / "passing.yml"
    path.write_text(CLI_PASSING)
    result = run_cli("run", str(path), "--repo", "octo/cli", "--follow", env=cli_environment.env)
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}\n{cli_environment.log()}"
    assert "default/greet: success" in result.stdout
    assert "hello-from-the-cli-run" in result.stdout
    assert "build #1: success" in result.stdout


def test_run_follow_exits_1_for_a_failing_pipeline(cli_environment: CliEnvironment) -> None:
    path = cli_environment.tmp / "failing.yml"
    path.write_text(CLI_FAILING)
    result = run_cli("run", str(path), "--repo", "octo/cli-fail", "--follow", env=cli_environment.env)
    assert result.returncode == 1, f"{result.stdout}\n{result.stderr}\n{cli_environment.log()}"
    assert "default/broken: failure (exit code 4)" in result.stdout
    assert "going-down" in result.stdout


def test_build_cancel_stops_a_running_build(cli_environment: CliEnvironment) -> None:
    path = cli_environment.tmp / "long.yml"
    path.write_text(TIMED_OUT)
    submitted = run_cli("run", str(path), "--repo", "octo/cli-cancel", env=cli_environment.env)
    assert submitted.returncode == 0, submitted.stderr
    build_id = int(submitted.stdout.split("(id ", 1)[1].split(")", 1)[0])

    def read(number: int) -> BuildDetail:
        with cli_environment.sessions.begin() as session:
            found = get_build(session, number)
        assert found is not None
        return found

    _running(read, build_id, "slow")
    cancelled = run_cli("build", "cancel", str(build_id), env=cli_environment.env)
    assert cancelled.returncode == 0, cancelled.stderr
    assert f"build {build_id}: cancelling" in cancelled.stdout

    def ended() -> BuildDetail | None:
        detail = read(build_id)
        return detail if detail.build.status.terminal else None

    detail = wait_for(ended, what=f"build {build_id} to end", timeout=25, explain=cli_environment.log)
    assert detail.build.status is Status.KILLED
    (stage,) = detail.stages
    wait_for(lambda: not _left_in_cluster(cli_environment.kube, stage), what="the stage's objects to be deleted")
    shown = run_cli("build", "show", str(build_id), "--json", env=cli_environment.env)
    assert '"status": "killed"' in shown.stdout
    again = run_cli("build", "cancel", str(build_id), env=cli_environment.env)
    assert again.returncode == 0 and "already finished (killed)" in again.stdout
