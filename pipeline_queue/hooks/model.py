"""What a webhook delivery becomes: an `Event` that may start builds, or an `Ignored` that says why none start.

Both are frozen values that serialise to JSON (`dataclasses.asdict`); a `HookError` is a delivery that cannot be
read at all (the HTTP layer answers it with its `status`, 400).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from pipeline_queue.errors import UsageError


class Provider(StrEnum):
    """The git hosts whose deliveries are understood; Forgejo speaks Gitea's dialect and is `gitea`."""

    GITHUB = "github"
    GITEA = "gitea"
    GITLAB = "gitlab"

    @property
    def label(self) -> str:
        """The host's name as users write it, for messages."""
        return {"github": "GitHub", "gitea": "Gitea", "gitlab": "GitLab"}[self.value]


class EventKind(StrEnum):
    """Drone's build events a delivery can become (DRONE_BUILD_EVENT)."""

    PUSH = "push"
    TAG = "tag"
    PULL_REQUEST = "pull_request"


class Action(StrEnum):
    """A pull request's action, the same word whichever host sent it (DRONE_BUILD_ACTION); empty for pushes."""

    NONE = ""
    OPENED = "opened"
    SYNCHRONIZED = "synchronized"
    """New commits on the pull request's source branch (GitHub `synchronize`, GitLab `update` with new commits)."""
    REOPENED = "reopened"
    CLOSED = "closed"
    """Closed or merged: builds nothing; the caller cancels the pull request's running builds."""


BUILDING_ACTIONS = frozenset({Action.OPENED, Action.SYNCHRONIZED, Action.REOPENED})
"""The pull request actions that start builds."""


class Cause(StrEnum):
    """Why a delivery starts nothing, as a word for logs and metrics (the `reason` says it to a user)."""

    PING = "ping"
    DELETED = "deleted"
    """A branch or tag was deleted; `Ignored.ref` names it, for a caller that cancels its builds."""
    SKIP_DIRECTIVE = "skip_directive"
    UNHANDLED_EVENT = "unhandled_event"
    UNHANDLED_ACTION = "unhandled_action"
    UNHANDLED_REF = "unhandled_ref"


class HookError(UsageError):
    """A delivery that is not the provider's JSON: not JSON, not an object, or without a field its event needs.

    The message names the event and the missing or malformed field (`repository.full_name`), never a value from
    the body. `status` is the HTTP status to answer with.
    """

    status: int = 400


@dataclass(frozen=True, kw_only=True)
class Event:
    """A delivery that concerns builds: a push to a branch, a new tag, or a pull request's action.

    Field names follow Drone's build (DRONE_* variables) where Drone has one; the producer decides what to do.
    """

    provider: Provider
    kind: EventKind
    action: Action
    """`opened`, `synchronized`, `reopened` or `closed` for pull requests; empty for pushes and tags."""
    repo: str
    """`owner/name` as the host spells it (GitLab: `group/subgroup/name`, the project's `path_with_namespace`)."""
    ref: str
    """`refs/heads/B`, `refs/tags/T`, `refs/pull/N/head` (GitHub, Gitea) or `refs/merge-requests/N/head` (GitLab)."""
    commit: str
    """The commit to build: the pushed head (a tag's commit, not an annotated tag's object), a pull request's head."""
    before: str
    """The previous head of a push (all zeros for a new ref); a pull request's base commit where the host says."""
    branch: str
    """DRONE_BRANCH: the pushed branch; a pull request's target branch; for a tag, the branch it was pushed from
    where the host says (GitHub's `base_ref`), else empty, as in Drone."""
    source_branch: str
    """DRONE_SOURCE_BRANCH: a pull request's head branch; otherwise the same as `branch`."""
    target_branch: str
    """DRONE_TARGET_BRANCH: a pull request's base branch; otherwise the same as `branch`."""
    pull_request: int | None
    """The pull (or merge) request's number on its repository; None for pushes and tags."""
    title: str
    """A pull request's title; empty otherwise."""
    fork: bool
    """A pull request whose head lives in another repository than its base (or in one that no longer exists)."""
    message: str
    """DRONE_COMMIT_MESSAGE: the head commit's message; for a pull request its description, else its title (Drone)."""
    author: str
    """The author's login: the head commit's author (GitLab: the pusher), a pull request's author."""
    author_name: str
    author_email: str
    author_avatar: str
    """The author's avatar URL; the sender's where the payload has none for the author (Drone does the same)."""
    link: str
    """The compare URL of a push (GitLab: the head commit's URL), the web page of a pull request."""
    sender: str
    """The login of whoever caused the delivery."""
    clone_url: str
    """The payload's HTTP clone URL of the repository (a pull request's base); informative, never fetched from."""
    delivery: str
    """The delivery's id from its headers, for deduplication; empty when the host sent none."""


@dataclass(frozen=True)
class Ignored:
    """A delivery that starts nothing, and why, in a sentence for the HTTP answer."""

    reason: str
    cause: Cause
    repo: str = ""
    """The repository, where the payload names one (a caller may verify the signature before answering)."""
    ref: str = ""
    """The ref concerned, where there is one (the deleted branch or tag, the skipped push)."""


Result = Event | Ignored
