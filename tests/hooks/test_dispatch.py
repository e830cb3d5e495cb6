"""`parse` refuses what is not a provider's JSON with a HookError that says what is wrong and repeats nothing."""

from __future__ import annotations

import pytest

from pipeline_queue.errors import UsageError
from pipeline_queue.hooks import HookError, parse
from tests.hooks.deliveries import changed, deliver

MARKER = "PQ-SECRET-MARKER-9b1f"
"""Text in a body that must never come back in a message."""


def hook_error(provider: str, event: str, body: bytes) -> HookError:
    with pytest.raises(HookError) as caught:
        deliver(provider, event, body)
    assert MARKER not in str(caught.value)
    return caught.value


def test_a_hook_error_is_a_usage_error_answered_with_400():
    error = hook_error("github", "push", b"not json")
    assert isinstance(error, UsageError)
    assert (error.status, error.exit_code) == (400, 2)


@pytest.mark.parametrize(("provider", "event", "message"), [
    ("github", "push",
     "GitHub push payload: the body is not JSON (set the webhook's content type to application/json)"),
    ("gitea", "push",
     "Gitea push payload: the body is not JSON (set the webhook's POST content type to application/json)"),
    ("gitlab", "Push Hook", "GitLab Push Hook payload: the body is not JSON"),
])
def test_a_body_that_is_not_json_says_so(provider: str, event: str, message: str):
    assert str(hook_error(provider, event, f"payload={MARKER}".encode())) == message


def test_a_form_encoded_github_delivery_is_not_json():
    assert "content type to application/json" in str(hook_error("github", "push", b"payload=%7B%7D"))


def test_bytes_that_are_not_text_are_not_json():
    assert "not JSON" in str(hook_error("github", "push", b"\xff\xfe\x00garbage"))


@pytest.mark.parametrize(("body", "kind"), [
    (f'["{MARKER}"]'.encode(), "array"), (f'"{MARKER}"'.encode(), "string"), (b"42", "number"), (b"null", "null"),
    (b"true", "boolean"),
])
def test_a_body_that_is_not_a_json_object_says_what_it_is(body: bytes, kind: str):
    assert str(hook_error("github", "push", body)) == f"GitHub push payload: the body is a JSON {kind}, not an object"


@pytest.mark.parametrize("body", [b"[" * 100_000, b'{"a":' * 100_000, b"[" * 100_000 + b"]" * 100_000])
def test_a_deeply_nested_body_is_a_hook_error_not_a_recursion_error(body: bytes):
    assert "nests too deeply" in str(hook_error("github", "push", body))


@pytest.mark.parametrize(("provider", "event", "body", "message"), [
    ("github", "push", f'{{"ref": "refs/heads/{MARKER}"}}'.encode(), "GitHub push payload: `repository` is missing"),
    ("gitea", "pull_request", b'{"action": "opened"}', "Gitea pull_request payload: `repository` is missing"),
    ("gitlab", "Push Hook", b'{"ref": "refs/heads/main"}', "GitLab Push Hook payload: `project` is missing"),
    ("gitlab", "Merge Request Hook", b'{"project": {"path_with_namespace": "a/b"}}',
     "GitLab Merge Request Hook payload: `object_attributes` is missing"),
])
def test_a_body_without_the_fields_its_event_needs_names_the_missing_one(
        provider: str, event: str, body: bytes, message: str):
    assert str(hook_error(provider, event, body)) == message


@pytest.mark.parametrize(("fixture", "changes", "message"), [
    ("go-scm_github_push.json", {"repository.full_name": None}, "`repository.full_name` is missing"),
    ("go-scm_github_push.json", {"repository.full_name": 5}, "`repository.full_name` is not a string"),
    ("go-scm_github_push.json", {"repository": [MARKER]}, "`repository` is not an object"),
    ("go-scm_github_push.json", {"after": ""}, "`after` is missing"),
    ("go-scm_github_push.json", {"ref": None}, "`ref` is missing"),
    ("go-scm_github_push.json", {"deleted": "no"}, "`deleted` is not a boolean"),
    ("go-scm_github_push.json", {"head_commit": None, "commits": [MARKER]}, "`commits[0]` is not an object"),
    ("go-scm_github_push.json", {"head_commit": None, "commits": MARKER}, "`commits` is not an array"),
    ("go-scm_github_push.json", {"head_commit.message": ["x"]}, "`head_commit.message` is not a string"),
    ("github_pull_request_opened_fork.json", {"pull_request.number": "42"},
     "`pull_request.number` is not an integer"),
    ("github_pull_request_opened_fork.json", {"pull_request.number": True},
     "`pull_request.number` is not an integer"),
    ("github_pull_request_opened_fork.json", {"pull_request.head.sha": None}, "`pull_request.head.sha` is missing"),
    ("github_pull_request_opened_fork.json", {"pull_request.base": None}, "`pull_request.base` is missing"),
    ("github_pull_request_opened_fork.json", {"action": None}, "`action` is missing"),
])
def test_a_malformed_field_is_named_by_its_path(fixture: str, changes: dict[str, object], message: str):
    event = "pull_request" if "pull_request" in fixture else "push"
    error = hook_error("github", event, changed(fixture, changes))
    assert str(error) == f"GitHub {event} payload: {message}"


def test_a_gitlab_merge_request_without_its_last_commit_is_refused():
    body = changed("gitlab_merge_request_update_fork.json", {"object_attributes.last_commit": None})
    error = hook_error("gitlab", "Merge Request Hook", body)
    assert str(error) == "GitLab Merge Request Hook payload: `object_attributes.last_commit` is missing"


def test_an_unknown_provider_is_refused():
    with pytest.raises(HookError, match="no known provider"):
        parse("bitbucket", {"X-Event-Key": "repo:push"}, b"{}")


def test_a_delivery_without_its_event_header_is_refused():
    with pytest.raises(HookError, match=r"^the GitLab delivery has no X-Gitlab-Event header$"):
        parse("gitlab", {"X-GitHub-Event": "push"}, b"{}")


def test_an_event_header_that_is_not_a_plain_word_is_not_repeated():
    with pytest.raises(HookError) as caught:
        parse("github", {"X-GitHub-Event": f"<{MARKER}>"}, b"[]")
    assert str(caught.value) == "GitHub payload: the body is a JSON array, not an object"
