"""The anonymous registry probe against a registry played by a local HTTP server: public, private, Docker
Hub's anonymous-token dance, missing, unreachable and slow registries; its cache; and the guard using it."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from pipeline_queue import keys
from pipeline_queue.cache.probe import DOCKER_HUB_REGISTRY, AnonymousProbe, anonymous_denied, manifest_target
from pipeline_queue.cache.service import CacheGuard
from pipeline_queue.compiler import StagePlan
from pipeline_queue.images import parse_image
from pipeline_queue.settings import CacheConfig
from pipeline_queue.store import NewStage
from pipeline_queue.vocabulary import CacheGuardMode
from tests.store.builders import new_build, planned_build

TOKEN = "anon-token-5521"
SERVICE = "test-registry"


@dataclass
class Seen:
    """One request the registry received."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]


@dataclass
class Registry:
    """What the test registry received, and the event that lets its slow repository answer."""

    port: int
    seen: list[Seen] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)

    def image(self, repository: str) -> str:
        return f"127.0.0.1:{self.port}/{repository}:1.0"

    def manifest_requests(self) -> list[Seen]:
        return [request for request in self.seen if "/manifests/" in request.path]


class _Handler(BaseHTTPRequestHandler):
    registry: Registry

    def log_message(self, format: str, *args: object) -> None:  # keep the test output quiet
        return

    def _record(self) -> Seen:
        parts = urlsplit(self.path)
        seen = Seen(self.command, parts.path, parse_qs(parts.query), {k.lower(): v for k, v in self.headers.items()})
        self.registry.seen.append(seen)
        return seen

    def _answer(self, status: int, *, headers: dict[str, str] | None = None, body: bytes = b"") -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_HEAD(self) -> None:
        seen = self._record()
        repository = seen.path.removeprefix("/v2/").partition("/manifests/")[0]
        with_token = seen.headers.get("authorization") == f"Bearer {TOKEN}"
        realm = f'Bearer realm="http://127.0.0.1:{self.registry.port}/token",service="{SERVICE}"'
        if repository == "slow/app":
            self.registry.release.wait(10)
        if repository in ("public/app", "slow/app") or (repository == "hub/app" and with_token):
            self._answer(200, headers={"Docker-Content-Digest": "sha256:" + "a" * 64})
        elif repository in ("private/app", "hub/app", "gated/app"):
            self._answer(401, headers={"WWW-Authenticate": realm})
        elif repository == "basic/app":
            self._answer(401, headers={"WWW-Authenticate": 'Basic realm="registry"'})
        elif repository == "forbidden/app":
            self._answer(403)
        elif repository == "broken/app":
            self._answer(500)
        else:
            self._answer(404)

    def do_GET(self) -> None:
        seen = self._record()
        if seen.path != "/token":
            self._answer(404)
        elif seen.query.get("scope") == ["repository:gated/app:pull"]:
            self._answer(401, body=b'{"errors": [{"code": "UNAUTHORIZED"}]}')
        else:
            self._answer(200, headers={"Content-Type": "application/json"}, body=json.dumps({"token": TOKEN}).encode())


@pytest.fixture
def registry() -> Iterator[Registry]:
    handler = type("Handler", (_Handler,), {})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    handler.registry = state = Registry(port=server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield state
    state.release.set()
    server.shutdown()
    server.server_close()
    thread.join(5)


def probe(registry: Registry, repository: str, *, timeout: float = 3.0) -> bool | None:
    return anonymous_denied(parse_image(registry.image(repository)), timeout=timeout, scheme="http")


# -- where the probe asks ---------------------------------------------------------------------------------------


def test_docker_hub_images_are_asked_of_registry_1_by_digest_when_there_is_one():
    digest = "sha256:" + "b" * 64
    assert manifest_target(parse_image("golang:1.7")) == (DOCKER_HUB_REGISTRY, "/v2/library/golang/manifests/1.7")
    assert manifest_target(parse_image(f"index.docker.io/acme/app:2@{digest}")) == (
        DOCKER_HUB_REGISTRY, f"/v2/acme/app/manifests/{digest}")
    assert manifest_target(parse_image("quay.io/team/app")) == ("quay.io", "/v2/team/app/manifests/latest")


# -- what the registry answers --------------------------------------------------------------------------------


def test_a_public_repository_is_not_denied_and_no_credentials_are_sent(registry):
    assert probe(registry, "public/app") is False
    [head] = registry.seen
    assert (head.method, head.path) == ("HEAD", "/v2/public/app/manifests/1.0")
    assert "authorization" not in head.headers
    assert "application/vnd.oci.image.index.v1+json" in head.headers["accept"]
    assert "application/vnd.docker.distribution.manifest.v2+json" in head.headers["accept"]


def test_a_private_repository_still_refused_with_the_anonymous_token_is_denied(registry):
    assert probe(registry, "private/app") is True
    first, token, retry = registry.seen
    assert "authorization" not in first.headers
    assert (token.method, token.path) == ("GET", "/token")
    assert token.query == {"service": [SERVICE], "scope": ["repository:private/app:pull"]}
    assert "authorization" not in token.headers
    assert retry.headers["authorization"] == f"Bearer {TOKEN}"


def test_a_docker_hub_like_registry_serving_with_the_anonymous_token_is_public(registry):
    assert probe(registry, "hub/app") is False
    assert [request.method for request in registry.seen] == ["HEAD", "GET", "HEAD"]


def test_a_token_endpoint_refusing_anonymous_access_means_private(registry):
    assert probe(registry, "gated/app") is True
    assert len(registry.manifest_requests()) == 1  # no retry without a token


@pytest.mark.parametrize(("repository", "expected"), [
    ("basic/app", True),  # a Basic challenge: nothing an anonymous client can do
    ("forbidden/app", True),
    ("missing/app", False),  # 404: nothing there to protect
    ("broken/app", None),
])
def test_other_answers(registry, repository, expected):
    assert probe(registry, repository) is expected


def test_an_unreachable_registry_is_unknown():
    with socket.socket() as bound:  # bound but not listening: connections to it are refused
        bound.bind(("127.0.0.1", 0))
        port = bound.getsockname()[1]
        image = parse_image(f"127.0.0.1:{port}/team/app:1.0")
        assert anonymous_denied(image, timeout=2.0, scheme="http") is None


def test_a_registry_slower_than_the_timeout_is_unknown(registry):
    assert probe(registry, "slow/app", timeout=0.3) is None
    assert [request.path for request in registry.seen] == ["/v2/slow/app/manifests/1.0"]


# -- the cache of answers -------------------------------------------------------------------------------------


def test_answers_are_shared_through_redis_per_repository_for_an_hour(registry, client, prefix):
    image = parse_image(registry.image("private/app"))
    assert AnonymousProbe(redis=client, prefix=prefix, scheme="http").denied(image) is True
    other_worker = AnonymousProbe(redis=client, prefix=prefix, scheme="http")
    assert other_worker.denied(parse_image(registry.image("private/app").replace(":1.0", ":2.0"))) is True
    assert len(registry.manifest_requests()) == 2  # the first probe's HEAD and its retry, nothing after
    key = keys.CACHE_PROBE.format(prefix=prefix, name=image.name)
    assert client.get(key) == b"denied"
    assert 0 < client.ttl(key) <= keys.CACHE_PROBE_TTL


def test_without_redis_answers_are_kept_in_the_process_and_unknown_ones_briefly(registry, client, prefix):
    local = AnonymousProbe(redis=None, scheme="http")
    image = parse_image(registry.image("public/app"))
    assert (local.denied(image), local.denied(image)) == (False, False)
    assert len(registry.seen) == 1
    shared = AnonymousProbe(redis=client, prefix=prefix, scheme="http")
    broken = parse_image(registry.image("broken/app"))
    assert shared.denied(broken) is None
    assert 0 < client.ttl(keys.CACHE_PROBE.format(prefix=prefix, name=broken.name)) <= keys.CACHE_PROBE_UNKNOWN_TTL


# -- the guard with the probe on and off ----------------------------------------------------------------------

PIPELINE = """
kind: pipeline
type: kubernetes
name: default
steps:
- name: app
  image: {image}
  commands: [echo hi]
"""



def _read(guard: CacheGuard, sessions, image: str):
    """What advance reads for the guard about a one-step stage of `image`; that step's facts."""
    text = PIPELINE.format(image=image)
    with sessions.begin() as session:
        detail = planned_build(session, new_build("acme/app"), [(NewStage(name="default"), text)])
        stage = detail.stages[0]
        plan = StagePlan.from_json(stage.plan)
        view = guard.read(session, plan, {}, build_id=detail.build.id, repo="acme/app",
                          step_ids={"app": stage.steps[0].id})
    return view.facts(plan.step("app"))


def test_with_the_probe_on_an_image_its_registry_refuses_is_private(registry, sessions):
    config = CacheConfig(guard=CacheGuardMode.WARN, probe_anonymous=True)
    guard = CacheGuard(config, redis=None, probe=AnonymousProbe(scheme="http"))
    private = _read(guard, sessions, registry.image("private/app"))
    public = _read(guard, sessions, registry.image("public/app"))
    assert private.verdict.private
    assert "refused an anonymous manifest request" in private.verdict.reason
    assert not public.verdict.private


def test_with_the_probe_off_or_a_pattern_deciding_no_request_reaches_the_registry(registry, sessions):
    image = registry.image("private/app")
    off = CacheGuard(CacheConfig(guard=CacheGuardMode.WARN), redis=None, probe=AnonymousProbe(scheme="http"))
    listed = CacheConfig(guard=CacheGuardMode.WARN, probe_anonymous=True,
                         public_registries=(f"127.0.0.1:{registry.port}",))
    decided = CacheGuard(listed, redis=None, probe=AnonymousProbe(scheme="http"))
    assert not _read(off, sessions, image).verdict.private
    assert not _read(decided, sessions, image).verdict.private
    assert registry.seen == []
