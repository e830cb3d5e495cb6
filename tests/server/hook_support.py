"""Signed webhook deliveries for tests: a fixture payload pointed at a repository and commit of the test's own."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from typing import Any

from tests.hooks.deliveries import raw

FIXTURES = {
    ("github", "push"): "go-scm_github_push.json",
    ("github", "tag"): "github_push_tag_annotated.json",
    ("github", "pull_request"): "github_pull_request_opened_fork.json",
    ("github", "ping"): "github_ping.json",
    ("gitea", "push"): "go-scm_gitea_push.json",
    ("gitea", "tag"): "gitea_push_tag.json",
    ("gitlab", "push"): "go-scm_gitlab_push.json",
    ("gitlab", "tag"): "gitlab_tag_push_annotated.json",
    ("gitlab", "merge_request"): "gitlab_merge_request_update_fork.json",
}
EVENTS = {("github", "push"): "push", ("github", "tag"): "push", ("github", "pull_request"): "pull_request",
          ("github", "ping"): "ping", ("gitea", "push"): "push", ("gitea", "tag"): "push",
          ("gitlab", "push"): "Push Hook", ("gitlab", "tag"): "Tag Push Hook",
          ("gitlab", "merge_request"): "Merge Request Hook"}
DELIVERY_HEADER = {"github": "X-GitHub-Delivery", "gitea": "X-Gitea-Delivery", "gitlab": "X-Gitlab-Event-UUID"}
EVENT_HEADER = {"github": "X-GitHub-Event", "gitea": "X-Gitea-Event", "gitlab": "X-Gitlab-Event"}


def payload(provider: str, kind: str, *, repo: str, commit: str, changes: dict[str, Any] | None = None) -> bytes:
    """The fixture of `provider`'s `kind`, naming `repo` and building `commit` (plus any dotted-path changes)."""
    data = json.loads(raw(FIXTURES[provider, kind]))
    owner, name = repo.rsplit("/", 1)
    if provider == "gitlab":
        data["project"]["path_with_namespace"] = repo
        data["project"]["namespace"] = owner
        data["project"]["name"] = name
    else:
        data["repository"]["full_name"] = repo
        data["repository"]["name"] = name
        data["repository"]["owner"]["login"] = owner
        data["repository"]["owner"]["username"] = owner
    if kind == "merge_request":
        data["object_attributes"]["last_commit"]["id"] = commit
    elif kind == "pull_request":
        data["pull_request"]["head"]["sha"] = commit
    elif kind != "ping":
        data["after"] = commit
        data.setdefault("checkout_sha", None)
        if provider == "gitlab":
            data["checkout_sha"] = commit
        if data.get("head_commit"):
            data["head_commit"]["id"] = commit
        for listed in data.get("commits") or []:
            listed["id"] = commit
    for path, value in (changes or {}).items():
        *parents, last = path.split(".")
        node = data
        for key in parents:
            node = node[key]
        node[last] = value
    return json.dumps(data).encode()


def headers(provider: str, kind: str, body: bytes, *, secret: str, delivery: str = "") -> dict[str, str]:
    """The event header, a delivery id (fresh unless given) and the signature `secret` makes for `body`."""
    found = {EVENT_HEADER[provider]: EVENTS[provider, kind], DELIVERY_HEADER[provider]: delivery or str(uuid.uuid4()),
             "Content-Type": "application/json"}
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    if provider == "github":
        found["X-Hub-Signature-256"] = f"sha256={digest}"
    elif provider == "gitea":
        found["X-Gitea-Signature"] = digest
    else:
        found["X-Gitlab-Token"] = secret
    return found
