"""Git webhook deliveries, read and checked purely: headers and raw body in, frozen values out; no I/O.

The API (stable names; the HTTP layer calls them in this order):

- `provider_of(headers) -> Provider | None`: `gitea` (X-Gitea-Event or Forgejo's X-Forgejo-Event, looked at
  first as both also send X-GitHub-Event), `gitlab` (X-Gitlab-Event), `github` (X-GitHub-Event); None otherwise.
  Headers are any mapping, in any letter case. `Provider` is a `StrEnum`: it compares equal to those strings.
- `delivery_id(provider, headers) -> str`: X-GitHub-Delivery, X-Forgejo-Delivery / X-Gitea-Delivery,
  X-Gitlab-Event-UUID; "" when absent.
- `parse(provider, headers, body: bytes) -> Event | Ignored`: an `Event` (push, tag or pull request, with Drone's
  build fields) or an `Ignored` with a `reason` to answer and a `cause` (ping, deletion, skip directive,
  unhandled event, action or ref). Raises `HookError` (a `UsageError`, `status` 400) for a body that is not the
  provider's JSON; its message names what is missing and never repeats the body.
- `verify(provider, headers, body: bytes, secret: str) -> bool`: the repository's webhook secret signed this body
  (GitHub: X-Hub-Signature-256 `sha256=<hex HMAC-SHA256>`; Gitea/Forgejo: X-Gitea-Signature /
  X-Forgejo-Signature `<hex HMAC-SHA256>`; GitLab: X-Gitlab-Token equal to the secret). Constant time; False for a
  missing or malformed header or an empty secret. `parse` first (it names the repository whose secret to use),
  then `verify` before acting on an Event.

What builds follows Drone: a push to a branch (`push`), a new tag (`tag`), a pull request opened, given new commits
or reopened (`pull_request`); a closed or merged pull request is an Event with action `closed` (to cancel its
builds); `[skip ci]`, `[ci skip]` and `***NO_CI***` skip pushes and pull requests, never tags.
"""

from __future__ import annotations

from pipeline_queue.hooks.dispatch import parse
from pipeline_queue.hooks.headers import delivery_id, provider_of
from pipeline_queue.hooks.model import BUILDING_ACTIONS, Action, Cause, Event, EventKind, HookError, Ignored, Provider
from pipeline_queue.hooks.signature import verify

__all__ = [
    "BUILDING_ACTIONS",
    "Action",
    "Cause",
    "Event",
    "EventKind",
    "HookError",
    "Ignored",
    "Provider",
    "delivery_id",
    "parse",
    "provider_of",
    "verify",
]
