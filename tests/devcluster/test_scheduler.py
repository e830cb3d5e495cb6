"""The scheduler: which node fits a pod (pure rules), and binding through the development cluster."""

from __future__ import annotations

import kubernetes
import pytest

from pipeline_queue.devcluster.cluster import DevCluster
from pipeline_queue.devcluster.controllers.scheduler import node_load, place, tolerates, unfit_reason


def node(name: str, *, labels=None, taints=None, unschedulable=False, pods="110"):
    return {
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, **(labels or {})}},
        "spec": {"taints": taints or [], **({"unschedulable": True} if unschedulable else {})},
        "status": {"allocatable": {"pods": pods}},
    }


def pod(**spec):
    return {"metadata": {"name": "p", "namespace": "default"}, "spec": {"containers": [], **spec}}


def hostname_affinity(operator: str, *values: str, field: bool = False):
    requirement = {"key": "metadata.name" if field else "kubernetes.io/hostname", "operator": operator}
    if values:
        requirement["values"] = list(values)
    term = {"matchFields" if field else "matchExpressions": [requirement]}
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [term]}}}


NODES = [node("node-1", labels={"disk": "ssd"}), node("node-2", labels={"disk": "hdd"})]


def test_least_loaded_node_wins_and_ties_go_by_name():
    assert place(pod(), NODES, load={}) == ("node-1", "")
    assert place(pod(), NODES, load={"node-1": 2, "node-2": 1}) == ("node-2", "")


def test_node_selector_must_match_every_label():
    assert place(pod(nodeSelector={"disk": "hdd"}), NODES, load={}) == ("node-2", "")
    assert place(pod(nodeSelector={"disk": "nvme"}), NODES, load={}) == (
        None, "0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector.")


@pytest.mark.parametrize(
    ("affinity", "expected"),
    [
        (hostname_affinity("In", "node-2"), "node-2"),
        (hostname_affinity("NotIn", "node-1"), "node-2"),
        (hostname_affinity("Exists"), "node-1"),
        (hostname_affinity("DoesNotExist"), None),
        (hostname_affinity("In", "node-2", field=True), "node-2"),
        (hostname_affinity("NotIn", "node-1", "node-2", field=True), None),
    ],
)
def test_required_node_affinity(affinity, expected):
    assert place(pod(affinity=affinity), NODES, load={})[0] == expected


def test_affinity_terms_are_ored_and_an_empty_term_matches_nothing():
    terms = [{}, {"matchExpressions": [{"key": "disk", "operator": "In", "values": ["hdd"]}]}]
    affinity = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": terms}}}
    assert place(pod(affinity=affinity), NODES, load={})[0] == "node-2"


TAINT = {"key": "dedicated", "value": "ci", "effect": "NoSchedule"}


@pytest.mark.parametrize(
    ("toleration", "expected"),
    [
        ({"key": "dedicated", "operator": "Equal", "value": "ci", "effect": "NoSchedule"}, True),
        ({"key": "dedicated", "value": "ci"}, True),
        ({"key": "dedicated", "operator": "Exists"}, True),
        ({"operator": "Exists"}, True),
        ({"key": "dedicated", "operator": "Equal", "value": "other"}, False),
        ({"key": "dedicated", "operator": "Exists", "effect": "NoExecute"}, False),
        ({"key": "other", "operator": "Exists"}, False),
    ],
)
def test_toleration_rules(toleration, expected):
    assert tolerates(toleration, TAINT) is expected


def test_taints_keep_pods_away_unless_tolerated_and_prefer_no_schedule_does_not():
    nodes = [node("node-1", taints=[TAINT]), node("node-2", taints=[{**TAINT, "effect": "NoExecute"}])]
    assert place(pod(), nodes, load={}) == (
        None, "0/2 nodes are available: 2 node(s) had untolerated taint {dedicated: ci}.")
    tolerant = pod(tolerations=[{"key": "dedicated", "operator": "Exists", "effect": "NoSchedule"}])
    assert place(tolerant, nodes, load={}) == ("node-1", "")
    soft = [node("node-1", taints=[{**TAINT, "effect": "PreferNoSchedule"}])]
    assert place(pod(), soft, load={}) == ("node-1", "")


def test_unschedulable_nodes_are_skipped_unless_tolerated():
    nodes = [node("node-1", unschedulable=True)]
    assert place(pod(), nodes, load={}) == (None, "0/1 nodes are available: 1 node(s) were unschedulable.")
    tolerant = pod(tolerations=[{"key": "node.kubernetes.io/unschedulable", "operator": "Exists"}])
    assert place(tolerant, nodes, load={}) == ("node-1", "")


def test_reasons_are_counted_and_sorted_like_kube_scheduler():
    nodes = [node("node-1", unschedulable=True), node("node-2", taints=[TAINT]), node("node-3")]
    message = place(pod(nodeSelector={"disk": "ssd"}), nodes, load={})[1]
    assert message == ("0/3 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, "
                       "1 node(s) had untolerated taint {dedicated: ci}, 1 node(s) were unschedulable.")


def test_a_full_node_has_too_many_pods():
    assert unfit_reason(pod(), node("node-1", pods="2"), load=2) == "Too many pods"
    assert place(pod(), [], load={}) == (None, "no nodes available to schedule pods")


def test_load_counts_only_running_or_pending_pods_per_node():
    pods = [
        {"spec": {"nodeName": "node-1"}, "status": {"phase": "Running"}},
        {"spec": {"nodeName": "node-1"}, "status": {"phase": "Succeeded"}},
        {"spec": {"nodeName": "node-2"}, "status": {"phase": "Pending"}},
        {"spec": {}, "status": {"phase": "Pending"}},
    ]
    assert node_load(pods) == {"node-1": 1, "node-2": 1}


# Through the development cluster ----------------------------------------------------------------------------------

@pytest.fixture
def nodes(core):
    """Lets a test label, taint or cordon nodes; puts every node back as it was afterwards."""
    saved = {node.metadata.name: (dict(node.metadata.labels), node.spec.taints, node.spec.unschedulable)
             for node in core.list_node().items}
    yield core
    for name, (labels, taints, unschedulable) in saved.items():
        current = core.read_node(name).metadata.labels
        removed = {key: None for key in current if key not in labels}
        core.patch_node(name, {"metadata": {"labels": {**labels, **removed}},
                               "spec": {"taints": [t.to_dict() for t in taints or []] or None,
                                        "unschedulable": unschedulable}})


def bound_node(core, namespace, name):
    return core.read_namespaced_pod(name, namespace).spec.node_name


def scheduled_condition(core, namespace, name):
    found = core.read_namespaced_pod(name, namespace)
    return next((c for c in found.status.conditions or [] if c.type == "PodScheduled"), None)


def failed_scheduling(core, namespace, name):
    """The message of the pod's FailedScheduling events, newest last."""
    events = core.list_namespaced_event(namespace, field_selector=f"involvedObject.name={name}").items
    return [event.message for event in sorted(events, key=lambda e: e.metadata.name)
            if event.reason == "FailedScheduling"]


def manifest(name, **spec):
    return {"metadata": {"name": name},
            "spec": {"restartPolicy": "Never", "containers": [{"name": "main", "image": "busybox:1.36",
                                                                "command": ["true"]}], **spec}}


def test_a_node_selector_binds_the_pod_and_records_it(nodes, namespace, wait_for):
    core = nodes
    core.create_namespaced_pod(namespace, manifest("p", nodeSelector={"kubernetes.io/hostname": "node-2"}))
    assert wait_for(lambda: bound_node(core, namespace, "p"), what="binding") == "node-2"
    assert scheduled_condition(core, namespace, "p").status == "True"
    events = core.list_namespaced_event(namespace, field_selector="involvedObject.name=p,reason=Scheduled").items
    assert [(e.type, e.message, e.source.component) for e in events] == [
        ("Normal", f"Successfully assigned {namespace}/p to node-2", "default-scheduler")]


def test_affinity_on_the_node_name_field_binds_there(nodes, namespace, wait_for):
    core = nodes
    affinity = hostname_affinity("In", "node-2", field=True)
    core.create_namespaced_pod(namespace, manifest("p", affinity=affinity))
    assert wait_for(lambda: bound_node(core, namespace, "p"), what="binding") == "node-2"


def test_a_pod_nothing_fits_stays_pending_until_a_node_changes(nodes, namespace, wait_for):
    core = nodes
    core.create_namespaced_pod(namespace, manifest("p", nodeSelector={"disk": "ssd"}))
    message = "0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector."
    condition = wait_for(lambda: scheduled_condition(core, namespace, "p"), what="PodScheduled=False")
    assert (condition.status, condition.reason, condition.message) == ("False", "Unschedulable", message)
    assert wait_for(lambda: failed_scheduling(core, namespace, "p"), what="FailedScheduling") == [message]
    assert core.read_namespaced_pod("p", namespace).status.phase == "Pending"
    core.patch_node("node-2", {"metadata": {"labels": {"disk": "ssd"}}})
    assert wait_for(lambda: bound_node(core, namespace, "p"), what="binding after relabel") == "node-2"
    assert scheduled_condition(core, namespace, "p").status == "True"


def test_a_taint_repels_pods_without_a_toleration(nodes, namespace, wait_for):
    core = nodes
    core.patch_node("node-1", {"spec": {"taints": [{"key": "dedicated", "value": "ci", "effect": "NoSchedule"}]}})
    pinned = hostname_affinity("In", "node-1")
    core.create_namespaced_pod(namespace, manifest("plain", affinity=pinned))
    toleration = {"key": "dedicated", "operator": "Equal", "value": "ci", "effect": "NoSchedule"}
    core.create_namespaced_pod(namespace, manifest("tolerant", affinity=pinned, tolerations=[toleration]))
    assert wait_for(lambda: bound_node(core, namespace, "tolerant"), what="binding") == "node-1"
    assert wait_for(lambda: failed_scheduling(core, namespace, "plain"), what="FailedScheduling") == [
        "0/2 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, "
        "1 node(s) had untolerated taint {dedicated: ci}."]
    assert bound_node(core, namespace, "plain") is None


def test_a_cordoned_node_takes_no_new_pods(nodes, namespace, wait_for):
    core = nodes
    core.patch_node("node-1", {"spec": {"unschedulable": True}})
    core.create_namespaced_pod(namespace, manifest("p", nodeSelector={"kubernetes.io/hostname": "node-1"}))
    assert wait_for(lambda: failed_scheduling(core, namespace, "p"), what="FailedScheduling") == [
        "0/2 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, "
        "1 node(s) were unschedulable."]
    core.patch_node("node-1", {"spec": {"unschedulable": False}})
    assert wait_for(lambda: bound_node(core, namespace, "p"), what="binding after uncordon") == "node-1"


def test_pods_spread_to_the_least_loaded_node(tmp_path, wait_for):
    with DevCluster(nodes=3, data_dir=tmp_path / "data", kubeconfig=tmp_path / "kubeconfig") as cluster:
        api = cluster.api_client()
        core = kubernetes.client.CoreV1Api(api)
        placed = []
        for number in range(3):
            sleeper = manifest(f"p{number}")
            sleeper["spec"]["containers"][0]["command"] = ["sleep", "30"]
            core.create_namespaced_pod("default", sleeper)
            placed.append(wait_for(lambda n=number: bound_node(core, "default", f"p{n}"), what="binding"))
        api.close()
    assert placed == ["node-1", "node-2", "node-3"]
