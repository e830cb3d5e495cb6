"""Which host sent a delivery and its delivery id, from headers in any letter case and any mapping."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import pytest

from pipeline_queue.hooks import Provider, delivery_id, parse, provider_of
from tests.hooks.deliveries import raw


class Headers(Mapping[str, str]):
    """A read-only mapping that is not a dict, as some HTTP frameworks hand headers over."""

    def __init__(self, items: dict[str, str]) -> None:
        self._items = items

    def __getitem__(self, key: str) -> str:
        return self._items[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)


@pytest.mark.parametrize(("headers", "provider"), [
    ({"X-GitHub-Event": "push"}, Provider.GITHUB),
    ({"x-github-event": "push"}, Provider.GITHUB),
    ({"X-GITHUB-EVENT": "push"}, Provider.GITHUB),
    ({"X-Gitea-Event": "push", "X-GitHub-Event": "push", "X-Gogs-Event": "push"}, Provider.GITEA),
    ({"X-Forgejo-Event": "push", "X-Gitea-Event": "push", "X-GitHub-Event": "push"}, Provider.GITEA),
    ({"x-forgejo-event": "push"}, Provider.GITEA),
    ({"X-Gitlab-Event": "Push Hook"}, Provider.GITLAB),
    ({"x-gitlab-event": "System Hook"}, Provider.GITLAB),
    ({"Content-Type": "application/json"}, None),
    ({"X-Gogs-Event": "push"}, None),
    ({"X-GitHub-Event": ""}, None),
    ({}, None),
])
def test_the_provider_is_named_by_its_event_header(headers: dict[str, str], provider: Provider | None):
    assert provider_of(headers) == provider
    assert provider_of(Headers(headers)) == provider


def test_the_provider_compares_equal_to_its_name():
    assert provider_of({"X-Gitea-Event": "push"}) == "gitea"


@pytest.mark.parametrize(("provider", "headers", "delivery"), [
    ("github", {"X-GitHub-Delivery": "72d3162e"}, "72d3162e"),
    ("github", {"x-github-delivery": " 72d3162e "}, "72d3162e"),
    ("gitea", {"X-Gitea-Delivery": "g-1"}, "g-1"),
    ("gitea", {"X-Forgejo-Delivery": "f-1", "X-Gitea-Delivery": "g-1"}, "f-1"),
    ("gitlab", {"X-Gitlab-Event-UUID": "u-1"}, "u-1"),
    ("gitlab", {"X-GITLAB-EVENT-UUID": "u-1"}, "u-1"),
    ("gitlab", {"X-GitHub-Delivery": "not gitlab's"}, ""),
    ("github", {}, ""),
    ("bitbucket", {"X-GitHub-Delivery": "72d3162e"}, ""),
])
def test_the_delivery_id_comes_from_the_provider_s_header(provider: str, headers: dict[str, str], delivery: str):
    assert delivery_id(provider, headers) == delivery
    assert delivery_id(provider, Headers(headers)) == delivery


def test_parse_reads_headers_in_any_case():
    headers = Headers({"x-gitlab-event": "Push Hook", "X-GITLAB-EVENT-UUID": "u-9"})
    result = parse("gitlab", headers, raw("go-scm_gitlab_push.json"))
    assert result.delivery == "u-9"  # type: ignore[union-attr]
