"""GitHub deliveries: pushes, tags and pull requests become Drone's events; the rest is ignored, saying why."""

from __future__ import annotations

import dataclasses

import pytest

from pipeline_queue.hooks import Action, Cause, Event, EventKind, Ignored, Provider
from tests.hooks.deliveries import ZEROS, changed, deliver, event, ignored, raw

PUSH = "go-scm_github_push.json"
PULL = "github_pull_request_opened_fork.json"
TAG = "github_push_tag_annotated.json"

PUSH_EVENT = Event(
    provider=Provider.GITHUB,
    kind=EventKind.PUSH,
    action=Action.NONE,
    repo="Codertocat/Hello-World",
    ref="refs/heads/master",
    commit="199eddf46df50de8d02e99bf1c5fdb4101338224",
    before="a10867b14bb761a232cd80139fbd4c0d33264240",
    branch="master",
    source_branch="master",
    target_branch="master",
    pull_request=None,
    title="",
    fork=False,
    message="Update README",
    author="Codertocat",
    author_name="Codertocat",
    author_email="21031067+Codertocat@users.noreply.github.com",
    author_avatar="https://avatars1.githubusercontent.com/u/21031067?v=4",
    link="https://github.com/Codertocat/Hello-World/compare/a10867b14bb7...000000000000",
    sender="Codertocat",
    clone_url="https://github.com/Codertocat/Hello-World.git",
    delivery="72d3162e-cc78-11e3-81ab-4c9367dc0958",
)

PULL_EVENT = Event(
    provider=Provider.GITHUB,
    kind=EventKind.PULL_REQUEST,
    action=Action.OPENED,
    repo="octo-org/octocal",
    ref="refs/pull/42/head",
    commit="6dcb09b5b57875f334f61aebed695e2e4193db5e",
    before="9049f1265b7d61be4a8904a9a27120d2064dab3b",
    branch="main",
    source_branch="week-numbers",
    target_branch="main",
    pull_request=42,
    title="Show week numbers",
    fork=True,
    message="Adds ISO week numbers to the month view.",
    author="mona",
    author_name="",
    author_email="",
    author_avatar="https://avatars.githubusercontent.com/u/583231?v=4",
    link="https://github.com/octo-org/octocal/pull/42",
    sender="mona",
    clone_url="https://github.com/octo-org/octocal.git",
    delivery="",
)


def test_the_push_fixture_is_a_push_event_with_every_field():
    result = deliver("github", "push", raw(PUSH), **{"X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958"})
    assert result == PUSH_EVENT


def test_a_pull_request_from_a_fork_is_a_pull_request_event_with_every_field():
    assert deliver("github", "pull_request", raw(PULL)) == PULL_EVENT


def test_an_annotated_tag_builds_its_commit_on_the_branch_it_was_pushed_from():
    assert deliver("github", "push", raw(TAG)) == Event(
        provider=Provider.GITHUB,
        kind=EventKind.TAG,
        action=Action.NONE,
        repo="octo-org/octocal",
        ref="refs/tags/v1.4.0",
        commit="4b825dc642cb6eb9a060e54bf8d69288fbee4904",
        before=ZEROS,
        branch="main",
        source_branch="main",
        target_branch="main",
        pull_request=None,
        title="",
        fork=False,
        message="Release 1.4.0",
        author="hubot",
        author_name="Hu Bot",
        author_email="hubot@example.com",
        author_avatar="https://avatars.githubusercontent.com/u/7361?v=4",
        link="https://github.com/octo-org/octocal/compare/v1.4.0",
        sender="hubot",
        clone_url="https://github.com/octo-org/octocal.git",
        delivery="",
    )


def test_a_tag_without_base_ref_has_no_branch():
    result = event("github", "push", changed(TAG, {"base_ref": None}))
    assert (result.branch, result.source_branch, result.target_branch) == ("", "", "")


def test_a_push_without_commits_takes_its_author_from_the_pusher():
    result = event("github", "push", changed(PUSH, {"head_commit": None, "commits": []}))
    assert (result.author, result.author_name, result.author_email, result.message) == (
        "Codertocat", "", "21031067+Codertocat@users.noreply.github.com", "")
    assert result.commit == "199eddf46df50de8d02e99bf1c5fdb4101338224"


@pytest.mark.parametrize(("github_action", "action"), [
    ("synchronize", Action.SYNCHRONIZED),
    ("reopened", Action.REOPENED),
    ("closed", Action.CLOSED),
])
def test_pull_request_actions_that_concern_builds(github_action: str, action: Action):
    result = deliver("github", "pull_request", changed(PULL, {"action": github_action}))
    assert result == dataclasses.replace(PULL_EVENT, action=action)


@pytest.mark.parametrize("github_action", [
    "labeled", "unlabeled", "edited", "assigned", "review_requested", "ready_for_review", "converted_to_draft",
])
def test_pull_request_actions_that_build_nothing_are_ignored(github_action: str):
    result = ignored("github", "pull_request", changed(PULL, {"action": github_action}))
    assert result.cause is Cause.UNHANDLED_ACTION
    assert result.repo == "octo-org/octocal"
    assert f"action '{github_action}' starts no build" in result.reason


def test_a_pull_request_in_its_own_repository_is_not_a_fork():
    same = changed(PULL, {"pull_request.head.repo": {"full_name": "Octo-Org/OctoCal"}})
    assert event("github", "pull_request", same).fork is False


def test_a_pull_request_whose_fork_was_deleted_counts_as_a_fork():
    assert event("github", "pull_request", changed(PULL, {"pull_request.head.repo": None})).fork is True


def test_a_pull_request_without_description_has_its_title_as_message():
    assert event("github", "pull_request", changed(PULL, {"pull_request.body": None})).message == "Show week numbers"


@pytest.mark.parametrize("changes", [
    {"pull_request.title": "[skip ci] Show week numbers"},
    {"pull_request.body": "Docs only. [CI SKIP]"},
])
def test_a_pull_request_asking_to_skip_ci_is_ignored(changes: dict[str, str]):
    result = ignored("github", "pull_request", changed(PULL, changes))
    assert result == Ignored(result.reason, Cause.SKIP_DIRECTIVE, repo="octo-org/octocal", ref="refs/pull/42/head")
    assert "title or description" in result.reason


def test_a_closed_pull_request_is_reported_even_with_a_skip_directive():
    closing = changed(PULL, {"action": "closed", "pull_request.title": "[skip ci] Show week numbers"})
    assert event("github", "pull_request", closing).action is Action.CLOSED


@pytest.mark.parametrize("message", ["Update README [ci skip]", "[SKIP CI] Update README", "***NO_CI*** readme"])
def test_a_push_asking_to_skip_ci_is_ignored(message: str):
    result = ignored("github", "push", changed(PUSH, {"head_commit.message": message}))
    expected = Ignored(result.reason, Cause.SKIP_DIRECTIVE, repo="Codertocat/Hello-World", ref="refs/heads/master")
    assert result == expected
    assert "head commit's message" in result.reason


def test_a_tag_is_never_skipped():
    assert event("github", "push", changed(TAG, {"head_commit.message": "Release [skip ci]"})).kind is EventKind.TAG


def test_a_deleted_branch_is_ignored():
    result = ignored("github", "push", raw("github_push_branch_deleted.json"))
    assert result == Ignored(
        "The GitHub delivery deletes the branch week-numbers; deletions start no build.",
        Cause.DELETED, repo="octo-org/octocal", ref="refs/heads/week-numbers",
    )


def test_a_push_to_an_all_zeros_commit_is_a_deletion_even_without_the_flag():
    result = ignored("github", "push", changed(TAG, {"after": ZEROS, "created": False, "head_commit": None}))
    assert (result.cause, result.ref) == (Cause.DELETED, "refs/tags/v1.4.0")
    assert "deletes the tag v1.4.0" in result.reason


def test_a_push_to_a_ref_that_is_no_branch_or_tag_is_ignored():
    result = ignored("github", "push", changed(PUSH, {"ref": "refs/notes/commits"}))
    assert (result.cause, result.ref) == (Cause.UNHANDLED_REF, "refs/notes/commits")


def test_a_ping_is_ignored():
    result = ignored("github", "ping", raw("github_ping.json"))
    assert result == Ignored("GitHub's ping arrived: the webhook works. Pings start no build.", Cause.PING,
                             repo="octo-org/octocal")


def test_the_create_event_is_ignored_as_its_push_builds():
    body = b'{"ref": "v1.4.0", "ref_type": "tag", "repository": {"full_name": "octo-org/octocal"}}'
    result = ignored("github", "create", body)
    assert (result.cause, result.repo, result.ref) == (Cause.UNHANDLED_EVENT, "octo-org/octocal", "refs/tags/v1.4.0")


def test_the_delete_event_is_a_deletion():
    body = b'{"ref": "week-numbers", "ref_type": "branch", "repository": {"full_name": "octo-org/octocal"}}'
    result = ignored("github", "delete", body)
    assert (result.cause, result.ref) == (Cause.DELETED, "refs/heads/week-numbers")


@pytest.mark.parametrize("name", ["issues", "issue_comment", "release", "workflow_run", "check_suite", "star"])
def test_other_events_are_ignored(name: str):
    result = ignored("github", name, b'{"action": "created", "repository": {"full_name": "octo-org/octocal"}}')
    assert result == Ignored(f"The GitHub event '{name}' starts no build; push and pull request events do.",
                             Cause.UNHANDLED_EVENT, repo="octo-org/octocal")


def test_an_event_name_that_is_not_a_plain_word_is_not_repeated():
    result = ignored("github", "<script>alert(1)</script>", b"{}")
    assert "script" not in result.reason
    assert result.reason == "The GitHub event starts no build; push and pull request events do."
