"""`parse`: a delivery's headers and raw body become an `Event` or an `Ignored`, through its provider's reader."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from pipeline_queue.hooks.gitea import parse_gitea
from pipeline_queue.hooks.github import parse_github
from pipeline_queue.hooks.gitlab import parse_gitlab
from pipeline_queue.hooks.headers import delivery_id, event_name
from pipeline_queue.hooks.model import HookError, Provider, Result
from pipeline_queue.hooks.payload import Fields, load
from pipeline_queue.hooks.rules import is_word


class _Reader(Protocol):
    def __call__(self, event: str, payload: Fields, *, delivery: str) -> Result: ...


_READERS: Mapping[Provider, _Reader] = {
    Provider.GITHUB: parse_github,
    Provider.GITEA: parse_gitea,
    Provider.GITLAB: parse_gitlab,
}
_EVENT_HEADER = {Provider.GITHUB: "X-GitHub-Event", Provider.GITEA: "X-Gitea-Event", Provider.GITLAB: "X-Gitlab-Event"}


def parse(provider: str, headers: Mapping[str, str], body: bytes) -> Result:
    """The delivery `body` (raw bytes) that `provider` sent with `headers`, as an Event or an Ignored.

    HookError for an unknown provider, a missing event header, or a body that is not the provider's JSON. The
    signature is not looked at: `verify` does that, with the secret of the repository this names.
    """
    try:
        known = Provider(provider)
    except ValueError:
        raise HookError("the webhook comes from no known provider (GitHub, Gitea, Forgejo, GitLab)") from None
    event = event_name(known, headers)
    if not event:
        raise HookError(f"the {known.label} delivery has no {_EVENT_HEADER[known]} header")
    what = f"{known.label} {event} payload" if is_word(event) else f"{known.label} payload"
    payload = load(body, what=what, host=known.label)
    return _READERS[known](event, payload, delivery=delivery_id(known, headers))
