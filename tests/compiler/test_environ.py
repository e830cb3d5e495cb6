"""Step environments: Drone's variables, precedence of the layers, settings as PLUGIN_*, secrets by reference."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline_queue.compiler.environ import encode_setting, literal, plugin_variable
from pipeline_queue.errors import CompileError
from tests.compiler.conftest import compile_stage, compile_text, env_of, kube_expand

LAYERED = """
kind: pipeline
type: kubernetes
name: layers
environment:
  LEVEL: pipeline
  PIPELINE_ONLY: p
  DRONE_BRANCH: from-pipeline
steps:
- name: s
  image: plugins/base:1
  environment:
    LEVEL: step
    STEP_ONLY: s
    PLUGIN_NAME: from-environment
  settings:
    name: from-settings
"""


def test_later_layers_win_system_then_pipeline_then_step_then_settings() -> None:
    env = env_of(compile_text(LAYERED).steps[0].pod)
    assert env["LEVEL"] == "step"
    assert env["PIPELINE_ONLY"] == "p"
    assert env["STEP_ONLY"] == "s"
    assert env["DRONE_BRANCH"] == "from-pipeline"
    assert env["PLUGIN_NAME"] == "from-settings"


def test_each_variable_appears_once() -> None:
    container = compile_text(LAYERED).steps[0].pod["spec"]["containers"][0]
    names = [entry["name"] for entry in container["env"]]
    assert len(names) == len(set(names))


def test_drone_variables_describe_the_build() -> None:
    plan = compile_text(
        LAYERED,
        repo="octocat/hello-world",
        commit="7fd1a60b01f91b314f59955a4e4d4e80d8edf11d",
        branch="main",
        build_number=42,
        stage_number=3,
        event="push",
        link="https://github.com/octocat/hello-world/commit/7fd1a60",
        author="octocat",
        message="fix it",
        created=1700000000,
        system_host="ci.example.com",
        system_proto="https",
    )
    env = env_of(plan.steps[0].pod)
    expected = {
        "CI": "true",
        "DRONE": "true",
        "DRONE_REPO": "octocat/hello-world",
        "DRONE_REPO_OWNER": "octocat",
        "DRONE_REPO_NAMESPACE": "octocat",
        "DRONE_REPO_NAME": "hello-world",
        "DRONE_COMMIT": "7fd1a60b01f91b314f59955a4e4d4e80d8edf11d",
        "DRONE_COMMIT_SHA": "7fd1a60b01f91b314f59955a4e4d4e80d8edf11d",
        "DRONE_COMMIT_REF": "refs/heads/main",
        "DRONE_COMMIT_BRANCH": "main",
        "DRONE_COMMIT_LINK": "https://github.com/octocat/hello-world/commit/7fd1a60",
        "DRONE_COMMIT_AUTHOR": "octocat",
        "DRONE_COMMIT_MESSAGE": "fix it",
        "DRONE_BUILD_NUMBER": "42",
        "DRONE_BUILD_EVENT": "push",
        "DRONE_BUILD_CREATED": "1700000000",
        "DRONE_BUILD_LINK": "https://ci.example.com/octocat/hello-world/42",
        "DRONE_STAGE_NAME": "layers",
        "DRONE_STAGE_NUMBER": "3",
        "DRONE_STEP_NAME": "s",
        "DRONE_STEP_NUMBER": "1",
        "DRONE_WORKSPACE": "/drone/src",
        "DRONE_SYSTEM_HOST": "ci.example.com",
        "DRONE_SYSTEM_PROTO": "https",
        "DRONE_RUNNER_NAME": "pipeline-queue",
        "CI_BUILD_NUMBER": "42",
        "CI_COMMIT_SHA": "7fd1a60b01f91b314f59955a4e4d4e80d8edf11d",
    }
    assert {name: env.get(name) for name in expected} == expected
    assert "DRONE_TAG" not in env and "DRONE_PULL_REQUEST" not in env


def test_tag_and_pull_request_come_from_the_ref() -> None:
    tag_env = env_of(compile_text(LAYERED, ref="refs/tags/v1.0.0", event="tag").steps[0].pod)
    assert tag_env["DRONE_TAG"] == "v1.0.0"
    pr_env = env_of(
        compile_text(
            LAYERED, ref="refs/pull/7/head", event="pull_request", source_branch="feature", target_branch="main"
        )
        .steps[0]
        .pod
    )
    assert pr_env["DRONE_PULL_REQUEST"] == "7"
    assert (pr_env["DRONE_SOURCE_BRANCH"], pr_env["DRONE_TARGET_BRANCH"]) == ("feature", "main")


def test_a_given_tag_sets_the_ref() -> None:
    env = env_of(compile_text(LAYERED, tag="v2", event="tag").steps[0].pod)
    assert (env["DRONE_TAG"], env["DRONE_COMMIT_REF"]) == ("v2", "refs/tags/v2")


def test_step_numbers_count_services_first() -> None:
    plan = compile_text(
        "kind: pipeline\ntype: kubernetes\nname: n\nservices:\n- name: db\n  image: postgres:16\n"
        "steps:\n- name: a\n  image: alpine:3\n- name: b\n  image: alpine:3\n"
    )
    numbers = [env_of(step.pod)["DRONE_STEP_NUMBER"] for step in (*plan.services, *plan.steps)]
    assert numbers == ["1", "2", "3"]


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        ("plain", "plain"),
        (["a", "b", "1"], "a,b,1"),
        ([], ""),
        (True, "true"),
        (3, "3"),
        ({"b": "2", "a": "1"}, '{"a":"1","b":"2"}'),
        ([{"name": "x"}], '[{"name":"x"}]'),
        ("ünïcode", "ünïcode"),
    ],
)
def test_settings_are_encoded_like_drone(value: object, encoded: str) -> None:
    assert encode_setting(value) == encoded


@pytest.mark.parametrize(
    ("key", "variable"),
    [("repo", "PLUGIN_REPO"), ("auto_tag", "PLUGIN_AUTO_TAG"), ("dry-run", "PLUGIN_DRY_RUN"), ("a.b", "PLUGIN_A_B")],
)
def test_settings_become_plugin_variables(key: str, variable: str) -> None:
    assert plugin_variable(key) == variable


def test_from_secret_is_a_reference_to_the_stage_secret() -> None:
    compiled = compile_stage(
        "kind: pipeline\ntype: kubernetes\nname: s\nsteps:\n- name: p\n  image: plugins/docker:20\n"
        "  environment:\n    TOKEN: {from_secret: token}\n"
        "  settings:\n    password: {from_secret: docker/password}\n",
        secrets={"token": "t0ken-value", "docker/password": "pa55-value", "other": "never-used"},
        stage_key="s1",
    )
    env = env_of(compiled.plan.steps[0].pod)
    assert env["TOKEN"] == {"secretKeyRef": {"name": "pq-s1-env", "key": "token", "optional": True}}
    password_ref = env["PLUGIN_PASSWORD"]["secretKeyRef"]
    assert password_ref["name"] == "pq-s1-env"
    secret = compiled.env_secret
    assert secret is not None
    assert secret["metadata"]["name"] == "pq-s1-env"
    assert secret["type"] == "Opaque"
    assert set(secret["data"]) == {"token", password_ref["key"]}
    assert compiled.plan.secrets == ("pq-s1-env",)
    assert compiled.plan.warnings == ()


def test_a_missing_secret_is_a_warning_and_no_key() -> None:
    compiled = compile_stage(
        "kind: pipeline\ntype: kubernetes\nname: s\nsteps:\n- name: p\n  image: alpine:3\n"
        "  environment:\n    TOKEN: {from_secret: nowhere}\n"
    )
    assert compiled.env_secret is None and compiled.secrets == ()
    plan = compiled.plan
    assert plan.warnings == ("from_secret: secret 'nowhere' is not defined; the variables that use it are left unset",)
    assert env_of(plan.steps[0].pod)["TOKEN"]["secretKeyRef"]["optional"] is True


def test_dollars_survive_kubernetes_expansion() -> None:
    plan = compile_text(
        # `$$$$`: Drone's substitution makes it `$$`, which Kubernetes' expansion must then leave alone
        "kind: pipeline\ntype: kubernetes\nname: s\nenvironment:\n  A: 'cost $5 $$$$ $(DRONE_BRANCH) $(NOPE'\n"
        "steps:\n- name: p\n  image: alpine:3\n"
    )
    env = env_of(plan.steps[0].pod)
    plain = {name: value for name, value in env.items() if isinstance(value, str)}
    assert kube_expand(env["A"], plain) == "cost $5 $$ $(DRONE_BRANCH) $(NOPE"


@given(st.text())
def test_literal_values_come_back_unchanged_from_expansion(value: str) -> None:
    assert kube_expand(literal(value), {"HOME": "/root", "X": "y"}) == value


@pytest.mark.parametrize("name", ["", "A=B", "TAB\tNAME"])
def test_an_impossible_variable_name_is_an_error(name: str) -> None:
    text = (
        "kind: pipeline\ntype: kubernetes\nname: s\nsteps:\n- name: p\n  image: alpine:3\n"
        f"  environment:\n    {json.dumps(name)}: x\n"
    )
    with pytest.raises(CompileError, match=r"step 'p': .* is not a valid environment variable name"):
        compile_text(text)


@pytest.mark.parametrize(("tag", "expected"), [
    ("v1.2.3", {"DRONE_SEMVER": "1.2.3", "DRONE_SEMVER_SHORT": "1.2.3", "DRONE_SEMVER_MAJOR": "1",
                "DRONE_SEMVER_MINOR": "2", "DRONE_SEMVER_PATCH": "3"}),
    ("1.2.3-alpha.1+001", {"DRONE_SEMVER": "1.2.3-alpha.1+001", "DRONE_SEMVER_SHORT": "1.2.3",
                           "DRONE_SEMVER_PRERELEASE": "alpha.1", "DRONE_SEMVER_BUILD": "001"}),
    ("v2.1", {"DRONE_SEMVER": "2.1.0", "DRONE_SEMVER_PATCH": "0"}),
])
def test_a_semantic_version_tag_sets_drone_s_semver_variables(tag: str, expected: dict[str, str]) -> None:
    env = env_of(compile_text(LAYERED, ref=f"refs/tags/{tag}", event="tag").steps[0].pod)
    assert {name: env[name] for name in expected} == expected
    assert "DRONE_SEMVER_ERROR" not in env


def test_a_tag_that_is_no_version_says_so_and_sets_no_semver() -> None:
    env = env_of(compile_text(LAYERED, ref="refs/tags/latest", event="tag").steps[0].pod)
    assert "DRONE_SEMVER" not in env and "latest" in env["DRONE_SEMVER_ERROR"]
    push = env_of(compile_text(LAYERED).steps[0].pod)
    assert not {name for name in push if name.startswith("DRONE_SEMVER")}


def test_a_pull_request_s_action_title_and_authors_are_set() -> None:
    env = env_of(compile_text(
        LAYERED, ref="refs/pull/9/head", event="pull_request", action="synchronized", title="Fix the build",
        before="b" * 40, author="mona", author_name="Mona Lisa", author_email="mona@example.com",
        author_avatar="https://example.com/a.png", trigger="@hook", parent=3,
    ).steps[0].pod)
    assert (env["DRONE_BUILD_ACTION"], env["DRONE_PULL_REQUEST_TITLE"], env["DRONE_COMMIT_BEFORE"]) == (
        "synchronized", "Fix the build", "b" * 40)
    assert (env["DRONE_COMMIT_AUTHOR_NAME"], env["DRONE_COMMIT_AUTHOR_EMAIL"], env["DRONE_COMMIT_AUTHOR_AVATAR"]) == (
        "Mona Lisa", "mona@example.com", "https://example.com/a.png")
    assert (env["DRONE_BUILD_TRIGGER"], env["DRONE_BUILD_PARENT"]) == ("@hook", "3")
