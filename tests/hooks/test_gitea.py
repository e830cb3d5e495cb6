"""Gitea and Forgejo deliveries: GitHub-shaped payloads with Gitea's names (`compare_url`, `synchronized`)."""

from __future__ import annotations

import dataclasses
import json

import pytest

from pipeline_queue.hooks import Action, Cause, Event, EventKind, Ignored, Provider
from tests.hooks.deliveries import ZEROS, changed, deliver, event, ignored, raw

PUSH = "go-scm_gitea_push.json"
PULL = "go-scm_gitea_pull_request_edited.json"

PUSH_EVENT = Event(
    provider=Provider.GITEA,
    kind=EventKind.PUSH,
    action=Action.NONE,
    repo="gogits/hello-world",
    ref="refs/heads/master",
    commit="4522cbcefc20728a5b72b3a86af35e608622c514",
    before="9836a96a253cce25d17988fcf41b8c4205cf779f",
    branch="master",
    source_branch="master",
    target_branch="master",
    pull_request=None,
    title="",
    fork=False,
    message="Updated readme\n",
    author="unknwon",
    author_name="Unknwon",
    author_email="noreply@gogs.io",
    author_avatar="https://secure.gravatar.com/avatar/8c58a0be77ee441bb8f8595b7f1b4e87",
    link="http://try.gitea.io/gogits/hello-world/compare/9836a96a253cce25d17988fcf41b8c4205cf779f"
         "...4522cbcefc20728a5b72b3a86af35e608622c514",
    sender="unknwon",
    clone_url="http://try.gitea.io/gogits/hello-world.git",
    delivery="f6266f16-1bf3-46a5-9ea4-602e06ead473",
)

SYNCHRONIZED_EVENT = Event(
    provider=Provider.GITEA,
    kind=EventKind.PULL_REQUEST,
    action=Action.SYNCHRONIZED,
    repo="jcitizen/my-repo",
    ref="refs/pull/1/head",
    commit="2eba238e33607c1fa49253182e9fff42baafa1eb",
    before="39af58f1eff02aa308e16913e887c8d50362b474",
    branch="master",
    source_branch="feature",
    target_branch="master",
    pull_request=1,
    title="Add LICENSE File",
    fork=False,
    message="Using a BSD License",
    author="jcitizen",
    author_name="",
    author_email="jane@example.com",
    author_avatar="https://secure.gravatar.com/avatar/66f07ff48e6a9cb393de7a34e03bb52a?d=identicon",
    link="https://try.gitea.io/jcitizen/my-repo/pulls/1",
    sender="jcitizen",
    clone_url="https://try.gitea.io/jcitizen/my-repo.git",
    delivery="",
)


def test_the_push_fixture_is_a_push_event_with_every_field():
    headers = {"X-Gitea-Delivery": "f6266f16-1bf3-46a5-9ea4-602e06ead473", "X-GitHub-Event": "push"}
    assert deliver("gitea", "push", raw(PUSH), **headers) == PUSH_EVENT


def test_a_forgejo_delivery_is_read_the_same_with_its_own_headers():
    headers = {"X-Forgejo-Event": "push", "X-Forgejo-Delivery": "forgejo-1", "X-Gitea-Delivery": "gitea-1"}
    result = deliver("gitea", "push", raw(PUSH), **headers)
    assert result == dataclasses.replace(PUSH_EVENT, delivery="forgejo-1")


def test_the_edited_pull_request_fixture_is_ignored():
    assert deliver("gitea", "pull_request", raw(PULL)) == Ignored(
        "The Gitea pull request action 'edited' starts no build; opened, new commits, reopened and closed do.",
        Cause.UNHANDLED_ACTION, repo="jcitizen/my-repo",
    )


def test_the_pull_request_fixture_given_new_commits_is_a_pull_request_event_with_every_field():
    assert deliver("gitea", "pull_request", changed(PULL, {"action": "synchronized"})) == SYNCHRONIZED_EVENT


@pytest.mark.parametrize(("gitea_action", "action"), [
    ("opened", Action.OPENED), ("reopened", Action.REOPENED), ("closed", Action.CLOSED),
])
def test_pull_request_actions_that_concern_builds(gitea_action: str, action: Action):
    result = deliver("gitea", "pull_request", changed(PULL, {"action": gitea_action}))
    assert result == dataclasses.replace(SYNCHRONIZED_EVENT, action=action)


def test_a_merged_pull_request_is_closed():
    merged = changed(PULL, {"action": "closed", "pull_request.merged": True, "pull_request.state": "closed"})
    assert event("gitea", "pull_request", merged).action is Action.CLOSED


@pytest.mark.parametrize("gitea_action", ["label_updated", "label_cleared", "assigned", "milestoned",
                                          "review_requested", "synchronize"])
def test_pull_request_actions_that_build_nothing_are_ignored(gitea_action: str):
    assert ignored("gitea", "pull_request", changed(PULL, {"action": gitea_action})).cause is Cause.UNHANDLED_ACTION


def test_a_pull_request_from_another_repository_is_a_fork():
    fork = changed(PULL, {"action": "opened", "pull_request.head.repo.full_name": "someone/my-repo"})
    assert event("gitea", "pull_request", fork).fork is True


def test_the_pull_request_author_s_full_name_is_its_name():
    named = changed(PULL, {"action": "opened", "pull_request.user.full_name": "Jane Citizen"})
    assert event("gitea", "pull_request", named).author_name == "Jane Citizen"


def test_a_tag_push_without_commits_takes_its_author_from_the_pusher():
    assert deliver("gitea", "push", raw("gitea_push_tag.json")) == Event(
        provider=Provider.GITEA,
        kind=EventKind.TAG,
        action=Action.NONE,
        repo="tea/kettle",
        ref="refs/tags/v0.3.0",
        commit="8f3c2a1de9b0e4c7a6b5d4e3f2a1b0c9d8e7f6a5",
        before=ZEROS,
        branch="",
        source_branch="",
        target_branch="",
        pull_request=None,
        title="",
        fork=False,
        message="",
        author="tea",
        author_name="Tea Maker",
        author_email="tea@example.org",
        author_avatar="https://gitea.example.org/avatars/3",
        link="",
        sender="tea",
        clone_url="https://gitea.example.org/tea/kettle.git",
        delivery="",
    )


def test_the_head_commit_is_the_listed_commit_the_push_moved_to():
    data = json.loads(raw(PUSH))
    newest = data["commits"][0]
    older = {**newest, "id": "1" * 40, "message": "older\n"}
    data["commits"] = [older, newest]
    assert event("gitea", "push", json.dumps(data).encode()).message == "Updated readme\n"


def test_a_head_commit_object_is_preferred_where_gitea_sends_one():
    data = json.loads(raw(PUSH))
    data["head_commit"] = {**data["commits"][0], "message": "from head_commit\n"}
    assert event("gitea", "push", json.dumps(data).encode()).message == "from head_commit\n"


def test_a_push_asking_to_skip_ci_is_ignored():
    result = ignored("gitea", "push", changed(PUSH, {"commits": [{"id": "4522cbcefc20728a5b72b3a86af35e608622c514",
                                                                  "message": "Typo [skip ci]\n"}]}))
    assert (result.cause, result.repo, result.ref) == (Cause.SKIP_DIRECTIVE, "gogits/hello-world", "refs/heads/master")


def test_a_delete_event_is_ignored():
    assert deliver("gitea", "delete", raw("gitea_delete_branch.json")) == Ignored(
        "The Gitea delivery deletes the branch old-feature; deletions start no build.",
        Cause.DELETED, repo="tea/kettle", ref="refs/heads/old-feature",
    )


def test_a_push_to_all_zeros_is_a_deletion():
    result = ignored("gitea", "push", changed(PUSH, {"after": ZEROS, "commits": []}))
    assert (result.cause, result.ref) == (Cause.DELETED, "refs/heads/master")


def test_a_sha256_repository_s_zero_id_is_a_deletion_too():
    result = ignored("gitea", "push", changed(PUSH, {"after": "0" * 64, "commits": []}))
    assert result.cause is Cause.DELETED


def test_create_events_are_ignored_as_their_push_builds():
    body = changed("gitea_delete_branch.json", {"ref": "v0.3.0", "ref_type": "tag"})
    result = ignored("gitea", "create", body)
    assert (result.cause, result.ref) == (Cause.UNHANDLED_EVENT, "refs/tags/v0.3.0")


def test_a_ping_is_ignored():
    assert ignored("gitea", "ping", b'{"repository": {"full_name": "tea/kettle"}}').cause is Cause.PING


@pytest.mark.parametrize("name", ["issues", "issue_comment", "release", "pull_request_approved", "repository"])
def test_other_events_are_ignored(name: str):
    assert ignored("gitea", name, b'{"action": "opened"}').cause is Cause.UNHANDLED_EVENT
