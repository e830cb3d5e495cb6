"""A run end to end: file -> build and Secrets -> `pq.advance` on a real Redis -> real Celery workers -> pods.

The environment (Redis under this module's key prefix, a worker process, the pod watcher, the development
cluster) is the `environment` fixture of tests/integration/conftest.py.
"""

from __future__ import annotations

import io

from rich.console import Console

from pipeline_queue.commands.run import follow_build
from pipeline_queue.vocabulary import Status
from tests.integration.conftest import step_states

PASSING = """
kind: pipeline
type: kubernetes
name: default
steps:
- name: build
  image: alpine:3.19
  environment:
    GREETING: {from_secret: greeting}
  commands: [echo compiled-the-app]
- name: test
  image: alpine:3.19
  commands: [echo all-tests-passed]
"""

FAILING = """
kind: pipeline
type: kubernetes
name: default
steps:
- name: broken
  image: alpine:3.19
  commands: [echo about-to-fail, exit 3]
- name: never
  image: alpine:3.19
  commands: [echo unreachable]
"""

IGNORED = """
kind: pipeline
type: kubernetes
name: default
steps:
- name: flaky
  image: alpine:3.19
  failure: ignore
  commands: [exit 5]
- name: after
  image: alpine:3.19
  commands: [echo still-ran]
"""

CHAINED = """
kind: pipeline
type: kubernetes
name: first
steps:
- name: one
  image: alpine:3.19
  commands: [echo first-stage]
---
kind: pipeline
type: kubernetes
name: second
depends_on: [first]
steps:
- name: two
  image: alpine:3.19
  commands: [echo second-stage]
"""


def test_a_two_step_build_passes_with_the_commands_output_in_its_logs(environment):
    submitted = environment.submit(PASSING, repo="octo/pass", secrets={"greeting": "hello-secret-7781"})
    detail = environment.finished(submitted.build_id)
    assert detail.build.status is Status.SUCCESS
    assert step_states(detail) == {"build": (Status.SUCCESS, 0), "test": (Status.SUCCESS, 0)}
    text = environment.logs(detail)
    assert "compiled-the-app" in text["build"] and "all-tests-passed" in text["test"]


def test_a_failing_step_fails_the_build_with_its_exit_code(environment):
    detail = environment.finished(environment.submit(FAILING, repo="octo/fail").build_id)
    assert detail.build.status is Status.FAILURE
    assert step_states(detail) == {"broken": (Status.FAILURE, 3), "never": (Status.SKIPPED, None)}
    assert "about-to-fail" in environment.logs(detail)["broken"]


def test_a_step_whose_failure_is_ignored_does_not_fail_the_build(environment):
    detail = environment.finished(environment.submit(IGNORED, repo="octo/ignore").build_id)
    assert detail.build.status is Status.SUCCESS
    assert step_states(detail) == {"flaky": (Status.FAILURE, 5), "after": (Status.SUCCESS, 0)}
    assert "still-ran" in environment.logs(detail)["after"]


def test_a_pipeline_that_depends_on_another_runs_after_it(environment):
    submitted = environment.submit(CHAINED, repo="octo/chain")
    assert len(submitted.enqueued) == 1
    detail = environment.finished(submitted.build_id)
    assert detail.build.status is Status.SUCCESS
    first, second = detail.stages
    assert second.started >= first.finished
    assert "second-stage" in environment.logs(detail)["two"]


def test_following_a_build_prints_each_step_and_its_log_and_says_whether_it_passed(environment):
    submitted = environment.submit(FAILING, repo="octo/follow")
    output = io.StringIO()
    passed = follow_build(Console(file=output, width=200), environment.sessions, submitted.build_id)
    text = output.getvalue()
    assert passed is False
    assert "default/broken: failure (exit code 3)" in text and "about-to-fail" in text
    assert "default/never: skipped" in text and text.rstrip().endswith("build #1: failure")
