"""Gitea's (and Forgejo's) deliveries: GitHub-shaped payloads with Gitea's own field and action names.

`push` (branches and tags; `compare_url`; commits newest first), `pull_request` (every pull request change comes
as this event; its `action` says which: `synchronized` for new commits); `create`, `delete` and the rest start nothing.
"""

from __future__ import annotations

from collections.abc import Mapping

from pipeline_queue.hooks.github import other_event, pull_request_event, push_event
from pipeline_queue.hooks.model import Action, Provider, Result
from pipeline_queue.hooks.payload import Fields

PULL_REQUEST_ACTIONS: Mapping[str, Action] = {
    "opened": Action.OPENED,
    "synchronized": Action.SYNCHRONIZED,
    "reopened": Action.REOPENED,
    "closed": Action.CLOSED,
}
"""Gitea's pull request actions that concern builds (a merge is `closed`); edited, label_updated, assigned,
review_requested... do not."""


def parse_gitea(event: str, payload: Fields, *, delivery: str) -> Result:
    """A Gitea or Forgejo delivery of `event` (the X-Gitea-Event or X-Forgejo-Event header)."""
    if event == "push":
        return push_event(Provider.GITEA, payload, delivery=delivery, link_field="compare_url")
    if event == "pull_request":
        return pull_request_event(Provider.GITEA, payload, delivery=delivery, actions=PULL_REQUEST_ACTIONS)
    return other_event(Provider.GITEA, event, payload)
