"""The compose topology run as local processes (tests/deploy/topology.py): a push delivered to `serve` builds on
the pools and finishes; every API request each component made is one its Role in k8s/ allows, and together they
use each grant the code needs; a dead pool leaves the others working while its own queue waits in the Redis list
KEDA watches; SIGTERM is a warm shutdown for every process.

The tests share one topology and run in this order: the last one stops it.
"""

from __future__ import annotations

import json
import re
import signal
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from pipeline_queue.settings import Settings
from tests.conftest import ROOT
from tests.deploy.manifests import rendered
from tests.deploy.rbac import Authorizer, request_attributes
from tests.deploy.test_k8s_manifests import CODE_CALLS
from tests.deploy.topology import ACCOUNTS, Topology, topology
from tests.polling import wait_for
from tests.scm.local_git import Repository, make_repository
from tests.server.hook_support import headers, payload
from workers.app import make_app
from workers.routing import CACHE_SWEEP_TASK

BUILD_TIMEOUT = 90.0
DOCKER_CONFIG = json.dumps({"auths": {"https://index.docker.io/v1/": {"username": "ci", "password": "not-real-1"}}})
PIPELINE = """kind: pipeline
type: kubernetes
name: ci
image_pull_secrets: [dockerconfig]
services:
- name: cache
  image: redis:7
  commands: [exec sleep 120]
steps:
- name: test
  image: alpine:3.19
  commands: [cat marker.txt]
"""
NOT_EXERCISED = {
    # A create that finds the name taken (a redelivered `advance`) reads the object back: kube/stage.py.
    ("pq-worker-control", ("pq-builds", "pods", "get")): ("pipeline_queue/kube/stage.py", 'kube.get(obj["kind"]'),
    ("pq-worker-control", ("pq-builds", "secrets", "get")): ("pipeline_queue/kube/stage.py", 'kube.get(obj["kind"]'),
    ("pq-worker-control", ("pq-builds", "services", "get")): ("pipeline_queue/kube/stage.py", 'kube.get(obj["kind"]'),
    ("pq-worker-control", ("pq-builds", "persistentvolumeclaims", "get")): (
        "pipeline_queue/kube/stage.py", 'kube.get("PersistentVolumeClaim"'),
    # While the watcher runs, workers read a stage's pods from what it recorded; without it they list them.
    ("pq-worker-control", ("pq-builds", "pods", "list")): ("pipeline_queue/reconcile/service.py", "kube.list_pods("),
}
"""Grants a build that goes well does not use, each with the call that needs it (checked to be still there)."""


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topology]:
    with topology(tmp_path_factory.mktemp("topology")) as started:
        yield started


@pytest.fixture(scope="module")
def repository(stack: Topology) -> tuple[Repository, str]:
    """octo/app registered with serve's store (file:// clone URL), with its pull secret; the webhook secret."""
    repository = make_repository(stack.folder / "octo_app")
    repository.commit({".drone.yml": PIPELINE, "marker.txt": "the first commit\n"})
    added = stack.cli("repo", "add", "octo/app", "--clone-url", repository.url)
    assert added.returncode == 0, added.stderr
    secret = stack.cli("secret", "add", "octo/app", "dockerconfig", stdin=DOCKER_CONFIG)
    assert secret.returncode == 0, secret.stderr
    found = re.search(r"webhook secret: (\S+)", added.stdout)
    assert found is not None, added.stdout
    return repository, found[1]


def _push(stack: Topology, repository: tuple[Repository, str], marker: str) -> int:
    repo, secret = repository
    commit = repo.commit({"marker.txt": f"{marker}\n"})
    body = payload("github", "push", repo="octo/app", commit=commit, changes={"ref": "refs/heads/main"})
    answer = httpx.post(f"{stack.url}/hook", content=body, headers=headers("github", "push", body, secret=secret),
                        timeout=60)
    assert answer.status_code == 200, answer.text
    [build] = answer.json()["builds"]
    return int(build)


def _finished(stack: Topology, build: int) -> dict[str, Any]:
    def ended() -> dict[str, Any] | None:
        shown = stack.cli("build", "show", str(build), "--json")
        document = json.loads(shown.stdout) if shown.returncode == 0 else {"status": "pending"}
        return document if document["status"] not in ("pending", "running", "blocked") else None

    return dict(wait_for(ended, what=f"build {build} to finish", timeout=BUILD_TIMEOUT, interval=0.5,
                         explain=stack.logs))


def test_a_push_delivered_to_serve_is_built_by_the_pools_and_finishes(stack: Topology,
                                                                       repository: tuple[Repository, str]) -> None:
    build = _push(stack, repository, "built from the pushed commit")
    shown = _finished(stack, build)
    assert shown["status"] == "success", (shown, stack.logs())
    assert "built from the pushed commit" in stack.cli("logs", str(build), "test").stdout
    # The cache pool sweeps nodes when beat says so (every 30 s); an operator's `celery call` does it now.
    make_app(Settings(), broker_url=stack.redis_url).send_task(CACHE_SWEEP_TASK)
    wait_for(lambda: any("/api/v1/nodes" in target for _, target in stack.proxies["worker-cache"].requests),
             what="the cache pool to list nodes", timeout=30, explain=stack.logs)


def test_every_request_a_component_made_is_allowed_by_its_role_and_all_grants_are_used(stack: Topology) -> None:
    authorizer = Authorizer(rendered("production"))
    refused, used = [], set()
    for service, proxy in stack.proxies.items():
        account = ACCOUNTS[service]
        for method, target in list(proxy.requests):
            request = request_attributes(method, target)
            if not authorizer.allows(account, "pq-system", request):
                refused.append(f"{service} ({account}): {request.shown()} [{method} {target}]")
            if request.target is not None:
                _, resource, namespace, _ = request.target
                used.add((account, (namespace, resource, request.verb)))
    assert refused == []
    needed = {(account, call) for account, calls in CODE_CALLS.items() for call in calls}
    assert used <= needed  # nothing the code calls is missing from CODE_CALLS (and so from the Roles)
    assert needed - used == set(NOT_EXERCISED)
    for grant, (module, call) in NOT_EXERCISED.items():
        assert call in (ROOT / module).read_text(), f"{grant}: {module} no longer calls {call}: drop the grant"


def test_a_dead_pool_leaves_the_others_working_and_its_queue_waits_where_keda_looks(
        stack: Topology, repository: tuple[Repository, str]) -> None:
    cache = stack.processes["worker-cache"]
    cache.signal(signal.SIGKILL, group=True)  # as `docker kill` takes a whole container
    cache.popen.wait(timeout=30)
    make_app(Settings(), broker_url=stack.redis_url).send_task(CACHE_SWEEP_TASK)
    # The cache queue's message waits in the list the production ScaledObject names, for a pool to take it.
    wait_for(lambda: stack.redis().llen("cache") >= 1, what="the sweep to wait in the `cache` list", timeout=20)
    build = _push(stack, repository, "built while the cache pool was down")
    assert _finished(stack, build)["status"] == "success", stack.logs()


def _pod_create(method: str, target: str) -> bool:
    return method == "POST" and target.startswith("/api/v1/namespaces/pq-builds/pods")


def test_sigterm_is_a_warm_shutdown_for_every_process(stack: Topology, repository: tuple[Repository, str]) -> None:
    """The control worker gets SIGTERM while an `advance` waits on the API server: it finishes that task (its pod
    is created) and only then exits 0; serve, beat, watch and the other pool stop cleanly too."""
    control = stack.processes["worker-control"]
    proxy = stack.proxies["worker-control"]
    proxy.hold(_pod_create)
    _push(stack, repository, "in flight at SIGTERM")
    wait_for(proxy.held.is_set, what="an advance creating a pod", timeout=BUILD_TIMEOUT, explain=stack.logs)
    control.signal(signal.SIGTERM)
    wait_for(lambda: "Warm shutdown" in control.output(), what="the worker to begin its warm shutdown", timeout=30,
             explain=control.output)
    assert control.popen.poll() is None  # it waits for the task in flight
    proxy.release()
    assert control.popen.wait(timeout=60) == 0, control.output()
    held = json.loads(proxy.held_body)["metadata"]
    created = stack.core().read_namespaced_pod(held["name"], held["namespace"])  # the task finished: it exists
    assert created.metadata is not None and created.metadata.name == held["name"]
    assert re.search(r"Task pq\.advance\[[^]]+\] succeeded", control.output().split("Warm shutdown")[-1])

    for name in ("serve", "watch", "beat", "worker-default"):
        stack.processes[name].signal(signal.SIGTERM)
    for name in ("serve", "watch", "beat", "worker-default"):
        process = stack.processes[name]
        assert process.popen.wait(timeout=40) == 0, f"{name}:\n{process.output()}"
        assert "Traceback" not in process.output(), f"{name}:\n{process.output()}"

