"""GitHub's deliveries, and the GitHub-shaped push and pull request payloads that Gitea and Forgejo send too.

GitHub: `push` (branches and tags; a deletion has `deleted: true`), `pull_request` (its `action`); `ping`, `create`
(GitHub also sends a push for every new ref, which is what builds, as in Drone), `delete` and the rest start nothing.
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

PULL_REQUEST_ACTIONS: Mapping[str, Action] = {
    "opened": Action.OPENED,
    "synchronize": Action.SYNCHRONIZED,
    "reopened": Action.REOPENED,
    "closed": Action.CLOSED,
}
"""GitHub's pull request actions that concern builds; labeled, edited, assigned, ready_for_review... do not."""


def login(user: Fields) -> str:
    """A user object's login (Gitea's objects carry both `login` and `username`)."""
    return user.text("login") or user.text("username")


def _push_author(head: Fields, payload: Fields) -> tuple[str, str, str]:
    """Login, name and e-mail of the head commit's author; the pusher's for a push without commits."""
    if head.has("author"):
        author = head.obj("author")
        return author.text("username"), author.text("name"), author.text("email")
    pusher = payload.obj("pusher", required=False)
    # GitHub's pusher is {name: login, email}; Gitea's a user object.
    return login(pusher) or pusher.text("name"), pusher.text("full_name"), pusher.text("email")


def _tag_branch(payload: Fields) -> str:
    """A tag's branch, as Drone takes it: the branch GitHub's `base_ref` names, if any (Gitea and GitLab: none)."""
    base_ref = payload.text("base_ref")
    return trim_ref(base_ref) if base_ref.startswith(BRANCH_PREFIX) else ""


def push_event(provider: Provider, payload: Fields, *, delivery: str, link_field: str) -> Result:
    """A push payload (GitHub's shape) as a `push` or `tag` event; `link_field` holds the compare URL."""
    repository = payload.obj("repository")
    repo = repository.text("full_name", required=True)
    ref = payload.text("ref", required=True)
    after = payload.text("after", required=True)
    if payload.flag("deleted") or is_zero(after):
        return deleted(provider, repo=repo, ref=ref)
    kind = ref_kind(ref)
    if kind is None:
        return unhandled_ref(provider, repo=repo, ref=ref)
    head = head_commit(payload, after, newest_first=True)
    # A tag's `after` is the tag object for an annotated tag; its head commit is what gets built (go-scm does so).
    commit = head.text("id") if kind is EventKind.TAG and head.has("id") else after
    branch = trim_ref(ref) if kind is EventKind.PUSH else _tag_branch(payload)
    author, author_name, author_email = _push_author(head, payload)
    sender = payload.obj("sender", required=False)
    return screened(Event(
        provider=provider, kind=kind, action=Action.NONE, repo=repo, ref=ref, commit=commit,
        before=payload.text("before"), branch=branch, source_branch=branch, target_branch=branch,
        pull_request=None, title="", fork=False, message=head.text("message"), author=author,
        author_name=author_name, author_email=author_email, author_avatar=sender.text("avatar_url"),
        link=payload.text(link_field), sender=login(sender), clone_url=repository.text("clone_url"),
        delivery=delivery,
    ))


def _is_fork(head: Fields, base: Fields, repo: str) -> bool:
    # A head repository that is gone (null) was a fork that has since been deleted.
    if not head.has("repo"):
        return True
    head_repo = head.obj("repo").text("full_name", required=True)
    base_repo = base.obj("repo", required=False).text("full_name") or repo
    return head_repo.casefold() != base_repo.casefold()


def pull_request_event(provider: Provider, payload: Fields, *, delivery: str,
                       actions: Mapping[str, Action]) -> Result:
    """A pull request payload (GitHub's shape) as a `pull_request` event, or Ignored for an action that builds
    nothing; `actions` maps the host's action words to ours."""
    repository = payload.obj("repository")
    repo = repository.text("full_name", required=True)
    raw_action = payload.text("action", required=True)
    action = actions.get(raw_action)
    if action is None:
        return Ignored(f"The {provider.label} pull request action{word(raw_action)} starts no build; opened, "
                       "new commits, reopened and closed do.", Cause.UNHANDLED_ACTION, repo=repo)
    pull = payload.obj("pull_request")
    number = pull.number("number")
    head, base = pull.obj("head"), pull.obj("base")
    target = base.text("ref", required=True)
    user, sender = pull.obj("user", required=False), payload.obj("sender", required=False)
    title, body = pull.text("title"), pull.text("body")
    return screened(Event(
        provider=provider, kind=EventKind.PULL_REQUEST, action=action, repo=repo, ref=f"refs/pull/{number}/head",
        commit=head.text("sha", required=True), before=base.text("sha"), branch=target,
        source_branch=head.text("ref", required=True), target_branch=target, pull_request=number, title=title,
        fork=_is_fork(head, base, repo), message=body or title, author=login(user),
        author_name=user.text("full_name"), author_email=user.text("email"),
        author_avatar=user.text("avatar_url") or sender.text("avatar_url"), link=pull.text("html_url"),
        sender=login(sender), clone_url=repository.text("clone_url"), delivery=delivery,
    ))


def ref_event(provider: Provider, event: str, payload: Fields) -> Ignored:
    """A `create` or `delete` event (a bare `ref` and its `ref_type`): the push that comes with a new ref builds."""
    repo = payload.peek("repository", "full_name")
    prefix = TAG_PREFIX if payload.peek("ref_type") == "tag" else BRANCH_PREFIX
    ref = prefix + payload.peek("ref") if payload.peek("ref") else ""
    if event == "delete":
        return deleted(provider, repo=repo, ref=ref)
    return Ignored(f"{provider.label} sends a push event for every new branch or tag, which is what builds; the "
                   "create event starts nothing.", Cause.UNHANDLED_EVENT, repo=repo, ref=ref)


def other_event(provider: Provider, event: str, payload: Fields) -> Ignored:
    """An event that is not a push or a pull request: a ping, a new or deleted ref, an issue, a release..."""
    repo = payload.peek("repository", "full_name")
    if event in ("create", "delete"):
        return ref_event(provider, event, payload)
    if event == "ping":
        return Ignored(f"{provider.label}'s ping arrived: the webhook works. Pings start no build.", Cause.PING,
                       repo=repo)
    return Ignored(f"The {provider.label} event{word(event)} starts no build; push and pull request events do.",
                   Cause.UNHANDLED_EVENT, repo=repo)


def parse_github(event: str, payload: Fields, *, delivery: str) -> Result:
    """A GitHub delivery of `event` (the X-GitHub-Event header)."""
    if event == "push":
        return push_event(Provider.GITHUB, payload, delivery=delivery, link_field="compare")
    if event == "pull_request":
        return pull_request_event(Provider.GITHUB, payload, delivery=delivery, actions=PULL_REQUEST_ACTIONS)
    return other_event(Provider.GITHUB, event, payload)
