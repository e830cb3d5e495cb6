"""Pod networking on the one machine all simulated nodes share: an address per pod and its hosts file.

Every pod gets a loopback address of its own from 127.10.0.0/16 (`AddressPool`): on Linux the whole of
127.0.0.0/8 is loopback, so a container's process can bind it with no setup, and two service pods can both
listen on port 6379. An address is leased machine-wide, by binding an abstract Unix socket named after it, so
pods of two clusters running at once (two test sessions) never get the same one; a lease ends with its socket,
also when the process dies.

A local process cannot have an /etc/hosts of its own, so the kubelet writes the pod's (`hosts_file`: what the
real kubelet writes, `spec.hostAliases` included) into the pod's folder and names it in the environment:

- `POD_IP`: the pod's address (`status.podIP`), for a service to bind: `python -m http.server -b "$POD_IP"`;
- `DEVCLUSTER_HOSTS_FILE`: the pod's hosts file, to read instead of /etc/hosts. A step written as
  `hosts=${DEVCLUSTER_HOSTS_FILE:-/etc/hosts}` resolves its hostAliases the same way on a real cluster.

Neither is set by a real kubelet; a container's own `env` entry of the same name wins.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
import sys
import threading
from typing import Any

from pipeline_queue.devcluster.errors import PodAddressError

POD_NETWORK = "127.10.0.0/16"
POD_IP_ENV = "POD_IP"
HOSTS_FILE_ENV = "DEVCLUSTER_HOSTS_FILE"
CLUSTER_DOMAIN = "cluster.local"
_FIRST_HOST = 2
"""The first address handed out: .0 names the network and .1 is the gateway, as CNI's host-local IPAM keeps them."""
_LEASE_PREFIX = "\0pipeline-queue-devcluster/pod-ip/"
_ABSTRACT_SOCKETS = sys.platform.startswith("linux")
_HOSTNAME_MAX = 63
_MANAGED_HEADER = (
    "# Kubernetes-managed hosts file.\n"
    "127.0.0.1\tlocalhost\n"
    "::1\tlocalhost ip6-localhost ip6-loopback\n"
    "fe00::0\tip6-localnet\n"
    "fe00::0\tip6-mcastprefix\n"
    "fe00::1\tip6-allnodes\n"
    "fe00::2\tip6-allrouters\n"
)

_held_here: set[str] = set()
"""Addresses leased by this process where abstract sockets do not exist (not Linux): unique per process only."""
_held_lock = threading.Lock()


class _Lease:
    """One leased address: an abstract Unix socket bound to its name (Linux), else an entry in `_held_here`."""

    def __init__(self, address: str, holder: socket.socket | None) -> None:
        self.address, self._holder = address, holder

    @classmethod
    def claim(cls, address: str) -> _Lease | None:
        """The lease of `address`, or None when someone on this machine holds it."""
        if not _ABSTRACT_SOCKETS:
            with _held_lock:
                if address in _held_here:
                    return None
                _held_here.add(address)
            return cls(address, None)
        holder = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)  # not inherited by containers (PEP 446)
        try:
            holder.bind(_LEASE_PREFIX + address)
        except OSError as error:
            holder.close()
            if error.errno == errno.EADDRINUSE:
                return None
            raise PodAddressError(f"cannot lease pod address {address}: {error.strerror}") from error
        return cls(address, holder)

    def end(self) -> None:
        if self._holder is not None:
            self._holder.close()
        else:
            with _held_lock:
                _held_here.discard(self.address)


class AddressPool:
    """Hands out free addresses of `network` in turn (a released one is reused last) and takes them back."""

    def __init__(self, network: str = POD_NETWORK) -> None:
        self.network = ipaddress.IPv4Network(network)
        self._count = max(self.network.num_addresses - _FIRST_HOST - 1, 0)  # without the broadcast address
        self._cursor = 0
        self._leases: dict[str, _Lease] = {}
        self._lock = threading.Lock()

    def lease(self) -> str:
        """A free address, leased until `release`; PodAddressError when the whole network is taken."""
        with self._lock:
            for _ in range(self._count):
                address = str(self.network[_FIRST_HOST + self._cursor])
                self._cursor = (self._cursor + 1) % self._count
                lease = _Lease.claim(address) if address not in self._leases else None
                if lease is not None:
                    self._leases[address] = lease
                    return address
        raise PodAddressError(f"no free pod address left in {self.network}")

    def release(self, address: str) -> None:
        with self._lock:
            lease = self._leases.pop(address, None)
        if lease is not None:
            lease.end()

    def leased(self) -> list[str]:
        with self._lock:
            return sorted(self._leases, key=ipaddress.IPv4Address)


def pod_hostname(pod: dict[str, Any]) -> tuple[str, str]:
    """The pod's hostname and domain as the kubelet sets them: spec.hostname or the name (63 characters at most),
    and `<subdomain>.<namespace>.svc.cluster.local` with a spec.subdomain."""
    meta, spec = pod["metadata"], pod.get("spec") or {}
    hostname = spec.get("hostname") or meta["name"][:_HOSTNAME_MAX].rstrip("-.")
    subdomain = spec.get("subdomain")
    return hostname, f"{subdomain}.{meta['namespace']}.svc.{CLUSTER_DOMAIN}" if subdomain else ""


def hosts_file(pod: dict[str, Any], *, pod_ip: str) -> str:
    """The pod's /etc/hosts as the kubelet writes it: localhost, the pod's own name, then its hostAliases."""
    hostname, domain = pod_hostname(pod)
    own = f"{pod_ip}\t{hostname}.{domain}\t{hostname}\n" if domain else f"{pod_ip}\t{hostname}\n"
    aliases = (pod.get("spec") or {}).get("hostAliases") or []
    if not aliases:
        return _MANAGED_HEADER + own
    lines = ["\t".join([alias.get("ip", ""), *(alias.get("hostnames") or [])]) + "\n" for alias in aliases]
    return _MANAGED_HEADER + own + "\n# Entries added by HostAliases.\n" + "".join(lines)
