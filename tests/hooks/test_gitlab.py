"""GitLab deliveries: push, tag push and merge request hooks (also as system hooks); the rest is ignored."""

from __future__ import annotations

import dataclasses
import json

import pytest

from pipeline_queue.hooks import Action, Cause, Event, EventKind, Ignored, Provider
from tests.hooks.deliveries import ZEROS, changed, deliver, event, ignored, raw

PUSH = "go-scm_gitlab_push.json"
MERGE_REQUEST = "gitlab_merge_request_update_fork.json"
TAG = "gitlab_tag_push_annotated.json"

PUSH_EVENT = Event(
    provider=Provider.GITLAB,
    kind=EventKind.PUSH,
    action=Action.NONE,
    repo="gitlab-org/hello-world",
    ref="refs/heads/master",
    commit="2adc9465c4edfc33834e173fe89436a7cb899a1d",
    before="9217710ce8c7e1eae7a5d1c45f6e43e1c769f866",
    branch="master",
    source_branch="master",
    target_branch="master",
    pull_request=None,
    title="",
    fork=False,
    message="added readme\n",
    author="sytses",
    author_name="Sid Sijbrandij",
    author_email="noreply@gitlab.com",
    author_avatar="https://secure.gravatar.com/avatar/8c58a0be77ee441bb8f8595b7f1b4e87?s=80&d=identicon",
    link="https://gitlab.com/gitlab-org/hello-world/commit/2adc9465c4edfc33834e173fe89436a7cb899a1d",
    sender="sytses",
    clone_url="https://gitlab.com/gitlab-org/hello-world.git",
    delivery="9cdd7a2e-4b4a-4c3b-8f3c-5a3f2e1d0c9b",
)

MERGE_REQUEST_EVENT = Event(
    provider=Provider.GITLAB,
    kind=EventKind.PULL_REQUEST,
    action=Action.SYNCHRONIZED,
    repo="platform/tools/deployer",
    ref="refs/merge-requests/7/head",
    commit="da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
    before="",
    branch="main",
    source_branch="retry-rollouts",
    target_branch="main",
    pull_request=7,
    title="Retry failed rollouts once",
    fork=True,
    message="Retry failed rollouts once",
    author="jdoe",
    author_name="Jane Doe",
    author_email="[REDACTED]",
    author_avatar="https://gitlab.example.com/uploads/-/system/user/avatar/57/avatar.png",
    link="https://gitlab.example.com/platform/tools/deployer/-/merge_requests/7",
    sender="jdoe",
    clone_url="https://gitlab.example.com/platform/tools/deployer.git",
    delivery="",
)


def test_the_push_fixture_is_a_push_event_with_every_field():
    uuid = {"X-Gitlab-Event-UUID": "9cdd7a2e-4b4a-4c3b-8f3c-5a3f2e1d0c9b"}
    result = deliver("gitlab", "Push Hook", raw(PUSH), **uuid)
    assert result == PUSH_EVENT


def test_a_merge_request_given_new_commits_from_a_fork_is_a_pull_request_event_with_every_field():
    assert deliver("gitlab", "Merge Request Hook", raw(MERGE_REQUEST)) == MERGE_REQUEST_EVENT


def test_an_annotated_tag_builds_its_checkout_sha():
    assert deliver("gitlab", "Tag Push Hook", raw(TAG)) == Event(
        provider=Provider.GITLAB,
        kind=EventKind.TAG,
        action=Action.NONE,
        repo="platform/tools/deployer",
        ref="refs/tags/v2.0.0",
        commit="da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
        before=ZEROS,
        branch="",
        source_branch="",
        target_branch="",
        pull_request=None,
        title="",
        fork=False,
        message="",
        author="ada",
        author_name="Ada Admin",
        author_email="",
        author_avatar="https://gitlab.example.com/uploads/-/system/user/avatar/1/avatar.png",
        link="",
        sender="ada",
        clone_url="https://gitlab.example.com/platform/tools/deployer.git",
        delivery="",
    )


def test_the_head_commit_is_the_listed_commit_checkout_sha_names():
    data = json.loads(raw(PUSH))
    head = data["commits"][0]
    data["commits"] = [head, {**head, "id": "1" * 40, "message": "not the head\n", "url": "elsewhere"}]
    result = event("gitlab", "Push Hook", json.dumps(data).encode())
    assert (result.message, result.link) == (PUSH_EVENT.message, PUSH_EVENT.link)


def test_a_bare_ref_is_expanded():
    assert event("gitlab", "Push Hook", changed(PUSH, {"ref": "master"})).ref == "refs/heads/master"
    assert event("gitlab", "Tag Push Hook", changed(TAG, {"ref": "v2.0.0"})).ref == "refs/tags/v2.0.0"


@pytest.mark.parametrize(("gitlab_action", "action"), [
    ("open", Action.OPENED), ("reopen", Action.REOPENED), ("close", Action.CLOSED), ("merge", Action.CLOSED),
])
def test_merge_request_actions_are_normalised(gitlab_action: str, action: Action):
    payload = changed(MERGE_REQUEST, {"object_attributes.action": gitlab_action})
    result = deliver("gitlab", "Merge Request Hook", payload)
    assert result == dataclasses.replace(MERGE_REQUEST_EVENT, action=action)


def test_an_update_without_new_commits_is_ignored():
    result = ignored("gitlab", "Merge Request Hook", changed(MERGE_REQUEST, {"object_attributes.oldrev": None}))
    assert result == Ignored(
        "The GitLab merge request changed without new commits (its title, labels, assignees...); that starts no "
        "build.", Cause.UNHANDLED_ACTION, repo="platform/tools/deployer",
    )


@pytest.mark.parametrize("gitlab_action", ["approved", "unapproved", "approval", "unapproval"])
def test_approvals_are_ignored(gitlab_action: str):
    body = changed(MERGE_REQUEST, {"object_attributes.action": gitlab_action})
    assert ignored("gitlab", "Merge Request Hook", body).cause is Cause.UNHANDLED_ACTION


def test_a_merge_request_in_its_own_project_is_not_a_fork():
    target = json.loads(raw(MERGE_REQUEST))["project"]
    body = changed(MERGE_REQUEST, {"object_attributes.source": target, "object_attributes.source_project_id": 311})
    assert event("gitlab", "Merge Request Hook", body).fork is False


def test_without_source_project_the_project_ids_decide_and_else_it_counts_as_a_fork():
    same = changed(MERGE_REQUEST, {"object_attributes.source": None, "object_attributes.source_project_id": 311})
    assert event("gitlab", "Merge Request Hook", same).fork is False
    gone = changed(MERGE_REQUEST, {"object_attributes.source": None, "object_attributes.source_project_id": None})
    assert event("gitlab", "Merge Request Hook", gone).fork is True


def test_a_merge_request_with_a_description_has_it_as_message():
    body = changed(MERGE_REQUEST, {"object_attributes.description": "Fixes #12"})
    assert event("gitlab", "Merge Request Hook", body).message == "Fixes #12"


def test_a_merge_request_asking_to_skip_ci_is_ignored():
    body = changed(MERGE_REQUEST, {"object_attributes.title": "Draft: retry [Skip CI]"})
    result = ignored("gitlab", "Merge Request Hook", body)
    assert (result.cause, result.repo, result.ref) == (
        Cause.SKIP_DIRECTIVE, "platform/tools/deployer", "refs/merge-requests/7/head")


def test_a_push_asking_to_skip_ci_is_ignored():
    data = json.loads(raw(PUSH))
    data["commits"][0]["message"] = "added readme [ci skip]\n"
    result = ignored("gitlab", "Push Hook", json.dumps(data).encode())
    assert (result.cause, result.ref) == (Cause.SKIP_DIRECTIVE, "refs/heads/master")


@pytest.mark.parametrize(("hook", "fixture", "what"), [
    ("Push Hook", PUSH, "branch master"), ("Tag Push Hook", TAG, "tag v2.0.0"),
])
def test_deletions_are_ignored(hook: str, fixture: str, what: str):
    body = changed(fixture, {"after": ZEROS, "checkout_sha": None, "commits": []})
    result = ignored("gitlab", hook, body)
    assert result.cause is Cause.DELETED
    assert f"deletes the {what};" in result.reason


def test_system_hooks_for_pushes_and_merge_requests_are_read_as_project_hooks():
    assert deliver("gitlab", "System Hook", raw(PUSH)) == dataclasses.replace(PUSH_EVENT, delivery="")
    assert deliver("gitlab", "System Hook", raw(MERGE_REQUEST)) == MERGE_REQUEST_EVENT


def test_other_system_hooks_are_ignored():
    result = ignored("gitlab", "System Hook", raw("gitlab_system_hook_project_create.json"))
    assert result == Ignored(
        "The GitLab system hook 'project_create' starts no build; push, tag push and merge request ones do.",
        Cause.UNHANDLED_EVENT,
    )


@pytest.mark.parametrize("name", ["Note Hook", "Issue Hook", "Pipeline Hook", "Job Hook", "Release Hook"])
def test_other_events_are_ignored(name: str):
    result = ignored("gitlab", name, b'{"project": {"path_with_namespace": "platform/tools/deployer"}}')
    assert result == Ignored(
        f"The GitLab event '{name}' starts no build; push, tag push and merge request hooks do.",
        Cause.UNHANDLED_EVENT, repo="platform/tools/deployer",
    )
