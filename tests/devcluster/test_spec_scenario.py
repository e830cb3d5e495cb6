"""The specification's caching caveat, reproduced on the development cluster.

Kubernetes keeps every pulled image on the node and lets any pod use it without credentials: a pipeline that
pulled a private image makes it available to pipelines that have no credentials, on that node only, unless
the image is pulled with `Always` (which makes the kubelet ask the registry, and so check credentials).
"""

from __future__ import annotations

import pytest

from tests.devcluster.simulated import (
    PRIVATE_IMAGE,
    events,
    finished,
    pod,
    private_registry_cluster,
    pull_secret,
    state_of,
    waiting_reason,
)

DENIED = ("pull access denied, repository does not exist or may require authorization: "
          "authorization failed: no basic auth credentials")


@pytest.fixture(scope="module")
def devcluster(tmp_path_factory):
    with private_registry_cluster(tmp_path_factory.mktemp("scenario")) as cluster:
        yield cluster


@pytest.fixture(scope="module")
def scenario(devcluster, core):
    """Pod A, with credentials, pulls the private image onto node-1."""
    namespace = "caching"
    core.create_namespace({"metadata": {"name": namespace}})
    core.create_namespaced_secret(namespace, pull_secret("regcred"))
    core.create_namespaced_pod(namespace, pod("a", image=PRIVATE_IMAGE, secrets=["regcred"], node="node-1"))
    return namespace


def test_a_with_credentials_pulls_the_private_image_onto_node_1(scenario, core, wait_for):
    done = wait_for(lambda: finished(core, scenario, "a"), what="pod a")
    assert (done.spec.node_name, done.status.phase) == ("node-1", "Succeeded")
    assert ("Normal", "Pulling", f'Pulling image "{PRIVATE_IMAGE}"') in events(core, scenario, "a")
    cached = [name for image in core.read_node("node-1").status.images for name in image.names]
    assert "registry.example.com/team/app:1.0" in cached


def test_b_without_credentials_runs_it_from_node_1s_cache_with_if_not_present(scenario, core, wait_for):
    wait_for(lambda: finished(core, scenario, "a"), what="pod a")
    core.create_namespaced_pod(scenario, pod("b", image=PRIVATE_IMAGE, policy="IfNotPresent", node="node-1"))
    done = wait_for(lambda: finished(core, scenario, "b"), what="pod b")
    assert (done.spec.node_name, done.status.phase) == ("node-1", "Succeeded")
    assert done.status.container_statuses[0].image_id.startswith("registry.example.com/team/app@sha256:")
    assert ("Normal", "Pulled", f'Container image "{PRIVATE_IMAGE}" already present on machine') in events(
        core, scenario, "b")


def test_c_without_credentials_and_always_is_refused_on_the_same_node(scenario, core, wait_for):
    wait_for(lambda: finished(core, scenario, "a"), what="pod a")
    core.create_namespaced_pod(scenario, pod("c", image=PRIVATE_IMAGE, policy="Always", node="node-1"))
    wait_for(lambda: waiting_reason(core, scenario, "c") == "ErrImagePull", what="pod c in ErrImagePull")
    assert state_of(core, scenario, "c")["waiting"]["message"].endswith(DENIED)
    found = core.read_namespaced_pod("c", scenario)
    assert (found.spec.node_name, found.status.phase) == ("node-1", "Pending")


def test_d_without_credentials_fails_on_a_node_without_the_image(scenario, core, wait_for):
    wait_for(lambda: finished(core, scenario, "a"), what="pod a")
    core.create_namespaced_pod(scenario, pod("d", image=PRIVATE_IMAGE, policy="IfNotPresent", node="node-2"))
    wait_for(lambda: waiting_reason(core, scenario, "d") == "ErrImagePull", what="pod d in ErrImagePull")
    assert state_of(core, scenario, "d")["waiting"]["message"].endswith(DENIED)
    found = core.read_namespaced_pod("d", scenario)
    assert (found.spec.node_name, found.status.phase) == ("node-2", "Pending")
    cached = [name for image in core.read_node("node-2").status.images or [] for name in image.names]
    assert not any(name.startswith("registry.example.com/") for name in cached)
