"""Which host sent a delivery, which event it is and its delivery id, from HTTP headers in any letter case."""

from __future__ import annotations

from collections.abc import Mapping

from pipeline_queue.hooks.model import Provider

_EVENT_HEADERS: dict[Provider, tuple[str, ...]] = {
    # Forgejo sends its own headers beside Gitea's; Gitea (and Forgejo) also send X-GitHub-Event, so theirs
    # are looked at before GitHub's.
    Provider.GITEA: ("x-forgejo-event", "x-gitea-event"),
    Provider.GITLAB: ("x-gitlab-event",),
    Provider.GITHUB: ("x-github-event",),
}
_DELIVERY_HEADERS: dict[Provider, tuple[str, ...]] = {
    Provider.GITEA: ("x-forgejo-delivery", "x-gitea-delivery"),
    Provider.GITLAB: ("x-gitlab-event-uuid",),
    Provider.GITHUB: ("x-github-delivery",),
}


def normalise(headers: Mapping[str, str]) -> dict[str, str]:
    """The headers with lower-case names and trimmed values (HTTP header names are case-insensitive)."""
    return {name.strip().lower(): value.strip() for name, value in headers.items()}


def _first(normal: Mapping[str, str], names: tuple[str, ...]) -> str:
    for name in names:
        if normal.get(name):
            return normal[name]
    return ""


def provider_of(headers: Mapping[str, str]) -> Provider | None:
    """`gitea` (Gitea or Forgejo), `gitlab` or `github` by the event header the host sends; None for none."""
    normal = normalise(headers)
    for provider, names in _EVENT_HEADERS.items():
        if _first(normal, names):
            return provider
    return None


def _provider(provider: str) -> Provider | None:
    try:
        return Provider(provider)
    except ValueError:
        return None


def event_name(provider: str, headers: Mapping[str, str]) -> str:
    """The event header's value (`push`, `pull_request`, `Merge Request Hook`, ...); "" when absent."""
    known = _provider(provider)
    return _first(normalise(headers), _EVENT_HEADERS[known]) if known else ""


def delivery_id(provider: str, headers: Mapping[str, str]) -> str:
    """X-GitHub-Delivery, X-Forgejo-Delivery or X-Gitea-Delivery, X-Gitlab-Event-UUID; "" when absent."""
    known = _provider(provider)
    return _first(normalise(headers), _DELIVERY_HEADERS[known]) if known else ""
