"""DevCluster: the store, the API server, the garbage collector, a scheduler and N kubelets, wired together."""

from __future__ import annotations

import importlib
import importlib.util
import secrets
import shutil
import tempfile
from pathlib import Path
from typing import Any

import kubernetes

from .gc import GarbageCollector
from .kubeconfig import CONTEXT, DEFAULT_PATH, write_kubeconfig
from .server import ApiServer
from .store import Store


def _sibling(name: str) -> Any:
    """The module `name` of this package, or None while it is not written yet."""
    qualified = f"{__package__}.{name}"
    return importlib.import_module(qualified) if importlib.util.find_spec(qualified) else None


class DevCluster:
    """A small Kubernetes for development and tests; `with DevCluster(nodes=2) as cluster: ...`."""

    url: str
    kubeconfig_path: Path
    store: Store
    data_dir: Path

    def __init__(self, *, nodes: int = 1, registries: str | Path | None = None, port: int = 0,
                 data_dir: Path | None = None, kubeconfig: Path | None = None, history: int = 1000) -> None:
        self.nodes = nodes
        self.registries = registries
        self.port = port
        self.history = history
        self._given_dir = Path(data_dir) if data_dir is not None else None
        self.kubeconfig_path = Path(kubeconfig) if kubeconfig is not None else DEFAULT_PATH
        self.url = ""
        if self._given_dir is not None:
            self.data_dir = self._given_dir
        self._server: ApiServer | None = None
        self._gc: GarbageCollector | None = None
        self._components: list[Any] = []

    def start(self) -> DevCluster:
        self.data_dir = self._given_dir or Path(tempfile.mkdtemp(prefix="pq-devcluster-"))
        for part in ("logs", "volumes"):
            (self.data_dir / part).mkdir(parents=True, exist_ok=True)
        self.store = Store(history=self.history)
        self._gc = GarbageCollector(self.store).start()
        self._server = ApiServer(self.store, data_dir=self.data_dir, port=self.port).start()
        self.url = self._server.url
        # The server accepts any token; the kubeconfig carries one so clients send what a real cluster expects.
        write_kubeconfig(self.kubeconfig_path, server=self.url, token=secrets.token_urlsafe(24))
        try:
            self._start_nodes()
        except BaseException:
            self.stop()
            raise
        return self

    def _start_nodes(self) -> None:
        scheduler, kubelet, registries = _sibling("scheduler"), _sibling("kubelet"), _sibling("registries")
        if scheduler is None or kubelet is None or registries is None:
            return  # without the simulated nodes pods simply stay Pending
        registry_set = registries.load_registries(self.registries)
        parts = [scheduler.Scheduler(self.store)]
        parts += [kubelet.Kubelet(self.store, node_name=f"node-{index}", registries=registry_set,
                                  data_dir=self.data_dir) for index in range(1, self.nodes + 1)]
        for part in parts:
            part.start()
            self._components.append(part)

    def stop(self) -> None:
        """Stop kubelets, scheduler, server and collector (in reverse order); remove a data dir made here."""
        while self._components:
            self._components.pop().stop()
        if self._server is not None:
            self._server.stop()
            self._server = None
        if self._gc is not None:
            self._gc.stop()
            self._gc = None
        if hasattr(self, "store"):
            self.store.close()
        if self._given_dir is None and hasattr(self, "data_dir"):
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def api_client(self) -> kubernetes.client.ApiClient:
        """An official client built from the kubeconfig this cluster wrote."""
        return kubernetes.config.new_client_from_config(config_file=str(self.kubeconfig_path), context=CONTEXT)

    def __enter__(self) -> DevCluster:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
