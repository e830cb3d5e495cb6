"""Pod networking in the simulation: an address of its own per pod, a hosts file with its hostAliases."""

from __future__ import annotations

import ipaddress
import secrets
import socket

import pytest

from pipeline_queue.devcluster.errors import PodAddressError
from pipeline_queue.devcluster.node.network import POD_NETWORK, AddressPool, hosts_file
from tests.devcluster.simulated import PYTHON, finished, pod, state_of

# A tiny redis-like service: answers every connection with the name it was given, on $POD_IP:6379.
SERVICE = """\
import os, socket
server = socket.create_server((os.environ["POD_IP"], 6379))
print("listening", flush=True)
while True:
    conn, _ = server.accept()
    with conn:
        conn.recv(64)
        conn.sendall(("+" + os.environ["WHO"] + "\\r\\n").encode())
"""
# A step that finds `redis` in its hosts file (first entry wins, as in /etc/hosts) and talks to it.
STEP = """\
import os, socket
hosts = {}
with open(os.environ.get("DEVCLUSTER_HOSTS_FILE", "/etc/hosts")) as lines:
    for line in lines:
        fields = line.split("#")[0].split()
        for name in fields[1:]:
            hosts.setdefault(name, fields[0])
with socket.create_connection((hosts["redis"], 6379), timeout=5) as conn:
    conn.sendall(b"PING\\r\\n")
    print(hosts["redis"], conn.recv(64).decode().strip())
"""


def private_network() -> str:
    """A /29 of its own somewhere in 127.99.0.0/16, so concurrent test runs do not share it."""
    return f"127.99.{secrets.randbelow(256)}.{secrets.randbelow(32) * 8}/29"


# The address pool -------------------------------------------------------------------------------------------------

def test_addresses_are_distinct_loopback_addresses_from_127_10_0_0_16():
    pool = AddressPool()
    try:
        addresses = [pool.lease() for _ in range(5)]
        assert len(set(addresses)) == 5
        assert all(ipaddress.ip_address(a) in ipaddress.ip_network(POD_NETWORK) for a in addresses)
        with socket.create_server((addresses[0], 0)):  # on Linux, all of 127.0.0.0/8 is loopback
            pass
    finally:
        for address in pool.leased():
            pool.release(address)


def test_a_lease_holds_machine_wide_so_two_pools_never_hand_out_the_same_address():
    network = private_network()
    first, second = AddressPool(network), AddressPool(network)
    mine = [first.lease() for _ in range(3)]
    theirs = [second.lease() for _ in range(2)]
    assert not set(mine) & set(theirs)
    with pytest.raises(PodAddressError, match=f"no free pod address left in {network}"):
        second.lease()  # a /29 holds five: .2 to .6 (.0 network, .1 gateway, .7 broadcast)
    first.release(mine[0])
    assert second.lease() == mine[0]
    for pool in (first, second):
        for address in pool.leased():
            pool.release(address)


def test_a_released_address_is_handed_out_again_only_after_the_others():
    pool = AddressPool(private_network())
    one, two = pool.lease(), pool.lease()
    pool.release(one)
    three = pool.lease()
    assert three not in (one, two)
    for address in pool.leased():
        pool.release(address)


# The hosts file ---------------------------------------------------------------------------------------------------

def test_the_hosts_file_is_the_kubelets_with_the_pods_own_name_and_its_host_aliases():
    manifest = {"metadata": {"name": "step-1", "namespace": "ci"},
                "spec": {"hostAliases": [{"ip": "127.10.0.7", "hostnames": ["redis", "cache"]},
                                         {"ip": "127.10.0.8", "hostnames": ["db"]}]}}
    assert hosts_file(manifest, pod_ip="127.10.0.3") == (
        "# Kubernetes-managed hosts file.\n"
        "127.0.0.1\tlocalhost\n"
        "::1\tlocalhost ip6-localhost ip6-loopback\n"
        "fe00::0\tip6-localnet\n"
        "fe00::0\tip6-mcastprefix\n"
        "fe00::1\tip6-allnodes\n"
        "fe00::2\tip6-allrouters\n"
        "127.10.0.3\tstep-1\n"
        "\n"
        "# Entries added by HostAliases.\n"
        "127.10.0.7\tredis\tcache\n"
        "127.10.0.8\tdb\n"
    )


def test_a_hostname_and_subdomain_give_the_pod_its_cluster_name():
    manifest = {"metadata": {"name": "web-0", "namespace": "ci"}, "spec": {"hostname": "web", "subdomain": "front"}}
    assert hosts_file(manifest, pod_ip="127.10.0.9").endswith("127.10.0.9\tweb.front.ci.svc.cluster.local\tweb\n")


# Pods on the cluster ----------------------------------------------------------------------------------------------

def log_of(core, namespace, name):
    return core.read_namespaced_pod_log(name, namespace)


def test_each_pod_gets_its_own_address_in_its_status_and_environment(core, namespace, wait_for):
    script = 'echo "$POD_IP $HOSTNAME"; cat "$DEVCLUSTER_HOSTS_FILE"'
    names = [f"p{number}" for number in range(3)]
    for name in names:
        core.create_namespaced_pod(namespace, pod(name, command=["sh", "-c", script]))
    done = [wait_for(lambda n=name: finished(core, namespace, n), what=f"pod {name}") for name in names]
    addresses = [found.status.pod_ip for found in done]
    assert len(set(addresses)) == 3
    assert all(ipaddress.ip_address(a) in ipaddress.ip_network(POD_NETWORK) for a in addresses)
    for name, address, found in zip(names, addresses, done, strict=True):
        assert found.status.pod_ips[0].ip == address
        output = log_of(core, namespace, name).splitlines()
        assert output[0] == f"{address} {name}"
        assert "# Kubernetes-managed hosts file." in output and f"{address}\t{name}" in output


def test_a_containers_own_pod_ip_variable_wins(core, namespace, wait_for):
    manifest = pod("own", command=["sh", "-c", "echo $POD_IP"])
    manifest["spec"]["containers"][0]["env"] = [{"name": "POD_IP", "value": "mine"}]
    core.create_namespaced_pod(namespace, manifest)
    wait_for(lambda: finished(core, namespace, "own"), what="the pod")
    assert log_of(core, namespace, "own") == "mine\n"


def test_two_steps_reach_their_own_service_by_the_same_name(core, namespace, wait_for):
    services = {}
    for who in ("svc-a", "svc-b"):
        manifest = pod(who, command=[PYTHON, "-c", SERVICE])
        manifest["spec"]["containers"][0]["env"] = [{"name": "WHO", "value": who}]
        core.create_namespaced_pod(namespace, manifest)
    for who in ("svc-a", "svc-b"):
        wait_for(lambda w=who: state_of(core, namespace, w).get("running")
                 and "listening" in log_of(core, namespace, w), what=f"{who} listening")
        services[who] = core.read_namespaced_pod(who, namespace).status.pod_ip
    assert services["svc-a"] != services["svc-b"]
    for step, who in (("step-a", "svc-a"), ("step-b", "svc-b")):
        core.create_namespaced_pod(namespace, pod(step, command=[PYTHON, "-c", STEP],
                                                  hostAliases=[{"ip": services[who], "hostnames": ["redis"]}]))
    for step, who in (("step-a", "svc-a"), ("step-b", "svc-b")):
        done = wait_for(lambda s=step: finished(core, namespace, s), what=step)
        assert done.status.phase == "Succeeded", log_of(core, namespace, step)
        assert log_of(core, namespace, step) == f"{services[who]} +{who}\n"
