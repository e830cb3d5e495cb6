"""A simulated kubelet: registers its Node, pulls images like a real one and runs the pods bound to it.

Images land in a per-node cache shown in `status.images`; pull-secret credentials are matched by the node's own keyring.
Each pod gets a loopback address of its own (`network`); once a pod object is gone (graceful deletion over), its
folder and its logs are removed from the data directory, while a claim's folder stays with the claim.
"""

from __future__ import annotations

import contextlib
import logging
import platform
import shutil
import threading
import time
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pipeline_queue.devcluster.apiserver.conditions import is_terminal
from pipeline_queue.devcluster.apiserver.defaults import pull_policy_for
from pipeline_queue.devcluster.apiserver.errors import ApiError
from pipeline_queue.devcluster.apiserver.logs import pod_log_folder
from pipeline_queue.devcluster.apiserver.metadata import now
from pipeline_queue.devcluster.apiserver.recorder import NORMAL, WARNING, EventRecorder
from pipeline_queue.devcluster.errors import PodAddressError, PullSecretError
from pipeline_queue.devcluster.node.dockerconfig import Credential, DockerConfig, read_docker_config
from pipeline_queue.devcluster.node.imagecache import ImageCache
from pipeline_queue.devcluster.node.network import AddressPool
from pipeline_queue.devcluster.node.podworker import PodWorker, Timings
from pipeline_queue.devcluster.node.pulls import Outcome, PullResult, credentials_for, decide_pull
from pipeline_queue.devcluster.node.registries import RegistrySet
from pipeline_queue.devcluster.node.runner import decode_secret, pod_folder
from pipeline_queue.images import try_parse_image

log = logging.getLogger(__name__)
KUBELET_VERSION = "v1.30.0"
PULL_SECRET_KEYS = {"kubernetes.io/dockerconfigjson": ".dockerconfigjson", "kubernetes.io/dockercfg": ".dockercfg"}
_ARCHITECTURES = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}
_STOP_WAIT = 30.0
"""Seconds the removal of a deleted pod's files waits for its worker to stop writing them."""


class Kubelet:
    """One simulated node: `start()` registers it and runs its pods, `stop()` kills every container."""

    def __init__(
        self,
        store: Any,
        *,
        node_name: str,
        registries: RegistrySet,
        data_dir: Path | str,
        timings: Timings | None = None,
        labels: Mapping[str, str] | None = None,
        taints: list[dict[str, str]] | None = None,
        addresses: AddressPool | None = None,
    ) -> None:
        self.store = store
        self.node_name = node_name
        self.data_dir = Path(data_dir)
        self.timings = timings or Timings()
        self.recorder = EventRecorder(store, component="kubelet", host=node_name)
        self._registries = registries
        self._labels, self._taints = dict(labels or {}), list(taints or [])
        octet = zlib.crc32(node_name.encode()) % 250 + 2
        self.host_ip = f"172.18.0.{octet}"
        self.addresses = addresses or AddressPool()
        self._cache = ImageCache()
        self._published: list[dict[str, Any]] = []
        self._cache_lock = threading.Lock()
        self._workers: dict[str, PodWorker] = {}
        self._workers_lock = threading.Lock()
        self._unsubscribe: Any = None
        self._stopped = False

    def start(self) -> Kubelet:
        self._register()
        self._unsubscribe = self.store.subscribe(self._on_event)
        pods, _ = self.store.list("pods", field_selector=f"spec.nodeName={self.node_name}")
        for pod in pods:
            self._on_pod("ADDED", pod)
        return self

    def stop(self) -> None:
        """Stop watching and kill every container at once (SIGKILL), writing nothing more."""
        self._stopped = True
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        with self._workers_lock:
            workers = list(self._workers.values())
        for worker in workers:
            worker.halt()
        for worker in workers:
            worker.join(5)

    # The node --------------------------------------------------------------------------------------------------

    def _register(self) -> None:
        try:
            existing = self.store.get("nodes", None, self.node_name)
        except ApiError as error:
            if error.code != 404:
                raise
            self.store.create("nodes", self._node())
            self.recorder.event(self._node_ref(), NORMAL, "Starting", "Starting kubelet.")
        else:
            labels = {**self._node()["metadata"]["labels"], **existing["metadata"].get("labels", {})}

            def relabel(node: dict[str, Any]) -> None:
                node["metadata"]["labels"] = labels

            self.store.mutate("nodes", None, self.node_name, relabel)
        self.store.mutate("nodes", None, self.node_name, self._ready_status, subresource="status")
        self.recorder.event(self._node_ref(), NORMAL, "NodeReady",
                            f"Node {self.node_name} status is now: NodeReady")

    def _node(self) -> dict[str, Any]:
        arch = _ARCHITECTURES.get(platform.machine().lower(), platform.machine().lower())
        labels = {
            "kubernetes.io/hostname": self.node_name, "kubernetes.io/os": "linux", "kubernetes.io/arch": arch,
            "beta.kubernetes.io/os": "linux", "beta.kubernetes.io/arch": arch, **self._labels,
        }
        spec: dict[str, Any] = {"taints": self._taints} if self._taints else {}
        return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": self.node_name, "labels": labels},
                "spec": spec, "status": {}}

    def _node_ref(self) -> dict[str, Any]:
        # A node's events name it by its own name as uid, as the real kubelet does.
        return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": self.node_name, "uid": self.node_name}}

    def _ready_status(self, node: dict[str, Any]) -> None:
        stamp = now()
        resources = {"cpu": "4", "memory": "8148224Ki", "pods": "110", "ephemeral-storage": "61255492Ki"}
        conditions = [
            ("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
            ("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
            ("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
            ("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
        ]
        node["status"] = {
            **node.get("status", {}),
            "capacity": resources, "allocatable": resources,
            "conditions": [{"type": kind, "status": value, "reason": reason, "message": message,
                            "lastHeartbeatTime": stamp, "lastTransitionTime": stamp}
                           for kind, value, reason, message in conditions],
            "addresses": [{"type": "InternalIP", "address": self.host_ip},
                          {"type": "Hostname", "address": self.node_name}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": self._node_info(),
            "images": self._cache.node_images(),
        }

    def _node_info(self) -> dict[str, str]:
        ident = f"{zlib.crc32(self.node_name.encode()):08x}" * 4
        return {
            "machineID": ident, "systemUUID": ident, "bootID": ident, "kernelVersion": platform.release(),
            "osImage": "pipeline-queue development cluster", "containerRuntimeVersion": "devcluster://0.1.0",
            "kubeletVersion": KUBELET_VERSION, "kubeProxyVersion": KUBELET_VERSION, "operatingSystem": "linux",
            "architecture": _ARCHITECTURES.get(platform.machine().lower(), platform.machine().lower()),
        }

    def _publish_images(self) -> None:
        """Write status.images when the list changed (called with the cache lock held, so writes keep order)."""
        images = self._cache.node_images()
        if images == self._published:
            return

        def update(node: dict[str, Any]) -> None:
            node.setdefault("status", {})["images"] = images

        self.store.mutate("nodes", None, self.node_name, update, subresource="status")
        self._published = images

    # Pods ------------------------------------------------------------------------------------------------------

    def _on_event(self, event_type: str, resource: str, obj: dict[str, Any]) -> None:
        if resource == "pods" and not self._stopped:
            self._on_pod(event_type, obj)

    def _on_pod(self, event_type: str, pod: dict[str, Any]) -> None:
        if pod.get("spec", {}).get("nodeName") != self.node_name:
            return
        uid = pod["metadata"]["uid"]
        with self._workers_lock:
            worker = self._workers.get(uid)
            if event_type == "DELETED":
                self._workers.pop(uid, None)
            elif worker is None and not is_terminal(pod) and not pod["metadata"].get("deletionTimestamp"):
                self._start_worker(pod)
                return
        if event_type == "DELETED":
            if worker is not None:
                worker.halt()
            self._forget(pod, worker)
        elif worker is None:
            if pod["metadata"].get("deletionTimestamp"):
                self._finish_deletion(pod)
        elif pod["metadata"].get("deletionTimestamp"):
            worker.request_deletion(float(pod["metadata"].get("deletionGracePeriodSeconds") or 0))

    def _finish_deletion(self, pod: dict[str, Any]) -> None:
        """A pod marked for deletion that this kubelet never ran: nothing to stop, remove it."""
        try:
            self.store.delete("pods", pod["metadata"]["namespace"], pod["metadata"]["name"], grace_period_seconds=0)
        except ApiError as error:
            if error.code != 404:
                raise

    def _start_worker(self, pod: dict[str, Any]) -> None:
        """Lease the pod an address and run it (called with the workers lock held); no address, no sandbox."""
        try:
            address = self.addresses.lease()
        except PodAddressError as error:
            self.recorder.event(pod, WARNING, "FailedCreatePodSandBox",
                                f"Failed to create pod sandbox: failed to allocate an address: {error.message}")
            return
        worker = self._workers[pod["metadata"]["uid"]] = PodWorker(self, pod, pod_ip=address)
        worker.start()

    def _forget(self, pod: dict[str, Any], worker: PodWorker | None) -> None:
        """The pod object is gone: once its worker stopped writing, remove its folder and its logs (not a claim's
        folder: that belongs to the claim, and other pods may share it)."""

        def remove() -> None:
            if worker is not None:
                worker.join(_STOP_WAIT)
            for folder in (pod_folder(self.data_dir, pod["metadata"]["uid"]), pod_log_folder(self.data_dir, pod)):
                _remove_tree(folder)

        threading.Thread(target=remove, name=f"pod-{pod['metadata']['name']}-cleanup", daemon=True).start()

    # Images ----------------------------------------------------------------------------------------------------

    def pull(self, pod: dict[str, Any], container: dict[str, Any], *, field_path: str) -> PullResult:
        """Ensure the container's image on this node and record the kubelet's events for it."""
        image = container.get("image", "")
        policy = container.get("imagePullPolicy") or pull_policy_for(image)
        credentials = self._credentials(pod, image)
        with self._cache_lock:
            began = time.monotonic()
            result = decide_pull(image, policy=policy, cache=self._cache, registries=self._registries,
                                 credentials=credentials)
            elapsed = time.monotonic() - began
            if result.outcome is Outcome.PULLED and result.image is not None:
                self._cache = self._cache.record(result.image)
            elif result.outcome is Outcome.PRESENT and result.image is not None:
                self._cache = self._cache.touch(result.image)
            self._publish_images()
        self._pull_events(pod, image, result, elapsed=elapsed, field_path=field_path)
        return result

    def _pull_events(self, pod: dict[str, Any], image: str, result: PullResult, *, elapsed: float,
                     field_path: str) -> None:
        def event(kind: str, reason: str, message: str) -> None:
            self.recorder.event(pod, kind, reason, message, field_path=field_path)

        if result.outcome is Outcome.PRESENT:
            event(NORMAL, "Pulled", f'Container image "{image}" already present on machine')
        elif result.reason == "ErrImageNeverPull":
            event(WARNING, "ErrImageNeverPull", result.message)
        elif result.reason == "InvalidImageName":
            event(WARNING, "InspectFailed", result.message)
        else:
            event(NORMAL, "Pulling", f'Pulling image "{image}"')
            if result.image is not None:
                took = _go_duration(elapsed)
                event(NORMAL, "Pulled", f'Successfully pulled image "{image}" in {took} ({took} including '
                                        f"waiting). Image size: {result.image.size} bytes.")
            else:
                event(WARNING, "Failed", f'Failed to pull image "{image}": {result.message}')

    def _credentials(self, pod: dict[str, Any], image: str) -> list[Credential]:
        """The pod's pull-secret credentials matching the image, as the kubelet's keyring orders them."""
        ref = try_parse_image(image)
        names = [item.get("name", "") for item in pod.get("spec", {}).get("imagePullSecrets") or []]
        if ref is None or not names:
            return []
        configs: list[DockerConfig] = []
        missing: list[str] = []
        for name in names:
            config = self._pull_secret(pod["metadata"]["namespace"], name)
            if config is None:
                missing.append(name)
            else:
                configs.append(config)
        if missing:
            self.recorder.event(pod, WARNING, "FailedToRetrieveImagePullSecret",
                                f"Unable to retrieve some image pull secrets ({', '.join(missing)}); "
                                "attempting to pull the image may not succeed.")
        return credentials_for(ref, configs)

    def _pull_secret(self, namespace: str, name: str) -> DockerConfig | None:
        try:
            secret = self.store.get("secrets", namespace, name)
        except ApiError:
            return None
        key = PULL_SECRET_KEYS.get(secret.get("type", ""))
        text = decode_secret(secret).get(key or "")
        if not text:
            return None
        try:
            return read_docker_config(text, source=f"secret {namespace}/{name}")
        except PullSecretError as error:
            log.warning("pull secret %s/%s ignored: %s", namespace, name, error)
            return None

    def secret_data(self, namespace: str, name: str) -> dict[str, str] | None:
        """A Secret's decoded data, or None when it does not exist."""
        try:
            return decode_secret(self.store.get("secrets", namespace, name))
        except ApiError:
            return None

    def config_map_data(self, namespace: str, name: str) -> dict[str, str] | None:
        """A ConfigMap's data (its text entries), or None when it does not exist."""
        try:
            return dict(self.store.get("configmaps", namespace, name).get("data") or {})
        except ApiError:
            return None


def _remove_tree(folder: Path) -> None:
    """Remove a folder a container filled, also where it took away its own write permission."""

    def unlock_and_retry(function: Any, path: str, _: Any) -> None:
        for target in (Path(path).parent, Path(path)):
            with contextlib.suppress(OSError):
                target.chmod(0o700)
        function(path)

    try:
        shutil.rmtree(folder, onerror=unlock_and_retry)
    except FileNotFoundError:
        pass
    except OSError as error:
        log.warning("cannot remove %s: %s", folder, error)


def _go_duration(seconds: float) -> str:
    """A duration as Go prints a time.Duration (`12.345ms`, `1.5s`)."""
    if seconds >= 1:
        return f"{seconds:.3f}".rstrip("0").rstrip(".") + "s"
    if seconds >= 0.001:
        return f"{seconds * 1000:.3f}".rstrip("0").rstrip(".") + "ms"
    return f"{max(seconds * 1_000_000, 1):.0f}µs"
