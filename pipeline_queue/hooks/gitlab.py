"""GitLab's deliveries: `Push Hook`, `Tag Push Hook` and `Merge Request Hook`, and the same three as system hooks.

A push names its project by `path_with_namespace` (groups may nest: `group/sub/name`), its pusher by `user_*`
fields and its head commit by `checkout_sha`; a deletion has an all-zeros `after`. A merge request's action is
`open`, `reopen`, `close`, `merge` or `update` (which is new commits only when `oldrev` is present).
"""

from __future__ import annotations

from collections.abc import Mapping

from pipeline_queue.hooks.model import Action, Cause, Event, EventKind, Ignored, Provider, Result
from pipeline_queue.hooks.payload import Fields
from pipeline_queue.hooks.rules import (
    BRANCH_PREFIX,
    TAG_PREFIX,
    deleted,
    head_commit,
    is_zero,
    ref_kind,
    screened,
    trim_ref,
    unhandled_ref,
    word,
)

GITLAB = Provider.GITLAB

MERGE_REQUEST_ACTIONS: Mapping[str, Action] = {
    "open": Action.OPENED,
    "reopen": Action.REOPENED,
    "close": Action.CLOSED,
    "merge": Action.CLOSED,
}
"""GitLab's merge request actions besides `update`; approved, unapproved, approval... start nothing."""


def _full_ref(ref: str, *, tag: bool) -> str:
    # GitLab sends full refs; a bare name is expanded as go-scm does.
    if ref.startswith("refs/"):
        return ref
    return (TAG_PREFIX if tag else BRANCH_PREFIX) + ref


def push_event(payload: Fields, *, delivery: str, tag: bool) -> Result:
    """A push or tag push as a `push` or `tag` event; `tag` for a Tag Push Hook."""
    project = payload.obj("project")
    repo = project.text("path_with_namespace", required=True)
    ref = _full_ref(payload.text("ref", required=True), tag=tag)
    after = payload.text("after", required=True)
    if is_zero(after):
        return deleted(GITLAB, repo=repo, ref=ref)
    kind = ref_kind(ref)
    if kind is None:
        return unhandled_ref(GITLAB, repo=repo, ref=ref)
    # For an annotated tag `after` is the tag object; `checkout_sha` is always the commit.
    commit = payload.text("checkout_sha") or after
    head = head_commit(payload, commit, newest_first=False)
    branch = trim_ref(ref) if kind is EventKind.PUSH else ""
    pusher = payload.text("user_username")
    return screened(Event(
        provider=GITLAB, kind=kind, action=Action.NONE, repo=repo, ref=ref, commit=commit,
        before=payload.text("before"), branch=branch, source_branch=branch, target_branch=branch,
        pull_request=None, title="", fork=False, message=head.text("message"), author=pusher,
        author_name=payload.text("user_name"), author_email=payload.text("user_email"),
        author_avatar=payload.text("user_avatar"), link=head.text("url"), sender=pusher,
        clone_url=project.text("git_http_url"), delivery=delivery,
    ))


def _is_fork(attributes: Fields, repo: str) -> bool:
    source = attributes.obj("source", required=False).text("path_with_namespace")
    target = attributes.obj("target", required=False).text("path_with_namespace") or repo
    if source:
        return source.casefold() != target.casefold()
    if attributes.has("source_project_id") and attributes.has("target_project_id"):
        return attributes.number("source_project_id") != attributes.number("target_project_id")
    # No source project left (a deleted fork): treated as a fork.
    return True


def _action(raw: str, attributes: Fields, *, repo: str) -> Action | Ignored:
    if raw == "update":
        if attributes.has("oldrev"):
            return Action.SYNCHRONIZED
        return Ignored("The GitLab merge request changed without new commits (its title, labels, assignees...); "
                       "that starts no build.", Cause.UNHANDLED_ACTION, repo=repo)
    action = MERGE_REQUEST_ACTIONS.get(raw)
    if action is None:
        return Ignored(f"The GitLab merge request action{word(raw)} starts no build; open, update with new commits, "
                       "reopen, close and merge do.", Cause.UNHANDLED_ACTION, repo=repo)
    return action


def merge_request_event(payload: Fields, *, delivery: str) -> Result:
    """A merge request as a `pull_request` event, or Ignored for an action that builds nothing."""
    project = payload.obj("project")
    repo = project.text("path_with_namespace", required=True)
    attributes = payload.obj("object_attributes")
    action = _action(attributes.text("action", required=True), attributes, repo=repo)
    if isinstance(action, Ignored):
        return action
    number = attributes.number("iid")
    target = attributes.text("target_branch", required=True)
    user = payload.obj("user", required=False)
    title, body = attributes.text("title"), attributes.text("description")
    return screened(Event(
        provider=GITLAB, kind=EventKind.PULL_REQUEST, action=action, repo=repo,
        ref=f"refs/merge-requests/{number}/head", commit=attributes.obj("last_commit").text("id", required=True),
        before="", branch=target, source_branch=attributes.text("source_branch", required=True),
        target_branch=target, pull_request=number, title=title, fork=_is_fork(attributes, repo),
        message=body or title, author=user.text("username"), author_name=user.text("name"),
        author_email=user.text("email"), author_avatar=user.text("avatar_url"), link=attributes.text("url"),
        sender=user.text("username"), clone_url=project.text("git_http_url"), delivery=delivery,
    ))


def _by_kind(kind: str, payload: Fields, *, delivery: str) -> Result | None:
    if kind in ("push", "tag_push"):
        return push_event(payload, delivery=delivery, tag=kind == "tag_push")
    if kind == "merge_request":
        return merge_request_event(payload, delivery=delivery)
    return None


def parse_gitlab(event: str, payload: Fields, *, delivery: str) -> Result:
    """A GitLab delivery of `event` (the X-Gitlab-Event header)."""
    kinds = {"Push Hook": "push", "Tag Push Hook": "tag_push", "Merge Request Hook": "merge_request"}
    repo = payload.peek("project", "path_with_namespace")
    if event == "System Hook":
        # A system hook's object_kind (or, for instance events, event_name) says what it is.
        kind = payload.peek("object_kind") or payload.peek("event_name")
        result = _by_kind(kind, payload, delivery=delivery)
        if result is not None:
            return result
        return Ignored(f"The GitLab system hook{word(kind)} starts no build; push, tag push and merge request ones "
                       "do.", Cause.UNHANDLED_EVENT, repo=repo)
    result = _by_kind(kinds.get(event, ""), payload, delivery=delivery)
    if result is not None:
        return result
    return Ignored(f"The GitLab event{word(event)} starts no build; push, tag push and merge request hooks do.",
                   Cause.UNHANDLED_EVENT, repo=repo)
