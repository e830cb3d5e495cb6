"""`when` conditions as Drone's runners evaluate them: globs, include/exclude, and the run policy from status."""

from __future__ import annotations

import pytest

from pipeline_queue.compiler.conditions import (
    BuildFacts,
    RunPolicy,
    condition_matches,
    glob_match,
    run_policy,
    should_run,
)
from pipeline_queue.spec.models import Condition, Conditions

PUSH_MAIN = BuildFacts(repo="octo/app", branch="main", event="push", ref="refs/heads/main")


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("release/*", "release/1.0", True),
        ("release/*", "release/1.0/hotfix", False),  # `*` stops at '/', as Go's filepath.Match
        ("feature-?", "feature-a", True),
        ("refs/tags/v[0-9]*", "refs/tags/v1.2", True),
        ("[^a]*", "main", True),
        ("[", "[", False),  # a malformed pattern matches nothing
        ("main", "main", True),
        ("main", "mainline", False),
    ],
)
def test_glob_match_follows_go_filepath_match(pattern, value, expected):
    assert glob_match(pattern, value) is expected


def test_exclude_wins_over_include_and_empty_include_means_all():
    assert condition_matches(Condition(exclude=("dependabot/*",)), "main")
    assert not condition_matches(Condition(include=("*",), exclude=("dependabot/*",)), "dependabot/npm")
    assert not condition_matches(Condition(include=("main",)), "")  # an include needs a value to match


def test_every_field_must_match():
    when = Conditions.model_validate({"branch": ["main"], "event": {"exclude": ["pull_request"]}})
    assert run_policy(when, PUSH_MAIN) is RunPolicy.ON_SUCCESS
    assert run_policy(when, BuildFacts(branch="main", event="pull_request")) is RunPolicy.NEVER
    assert run_policy(Conditions.model_validate({"target": "production"}), PUSH_MAIN) is RunPolicy.NEVER


@pytest.mark.parametrize(
    ("status", "policy"),
    [
        (None, RunPolicy.ON_SUCCESS),
        (["success"], RunPolicy.ON_SUCCESS),
        (["failure"], RunPolicy.ON_FAILURE),
        (["success", "failure"], RunPolicy.ALWAYS),
        ({"exclude": ["success"]}, RunPolicy.ON_FAILURE),
    ],
)
def test_status_gives_the_run_policy(status, policy):
    when = Conditions.model_validate({"status": status} if status is not None else {})
    assert run_policy(when, PUSH_MAIN) is policy


def test_should_run_by_policy_and_stage_health():
    assert should_run(RunPolicy.ON_SUCCESS, failing=False) and not should_run(RunPolicy.ON_SUCCESS, failing=True)
    assert should_run(RunPolicy.ON_FAILURE, failing=True) and not should_run(RunPolicy.ON_FAILURE, failing=False)
    assert should_run(RunPolicy.ALWAYS, failing=True) and should_run(RunPolicy.ALWAYS, failing=False)
    assert not should_run(RunPolicy.NEVER, failing=False)
