"""DevCluster: the assembly of the halves: the store and API server, the controllers, and N simulated nodes."""

from __future__ import annotations

import secrets
import shutil
import tempfile
from pathlib import Path

import kubernetes

from pipeline_queue.devcluster.apiserver.server import ApiServer
from pipeline_queue.devcluster.apiserver.store import Store
from pipeline_queue.devcluster.controllers.garbagecollector import GarbageCollector
from pipeline_queue.devcluster.controllers.scheduler import Scheduler
from pipeline_queue.devcluster.kubeconfig import CONTEXT, DEFAULT_PATH, write_kubeconfig
from pipeline_queue.devcluster.node.kubelet import Kubelet
from pipeline_queue.devcluster.node.registries import load_registries


class DevCluster:
    """A small Kubernetes for development and tests; `with DevCluster(nodes=2) as cluster: ...`."""

    url: str
    token: str
    """The bearer token the API server requires, the one the kubeconfig carries (new at every start)."""
    certificate_authority: bytes
    """The PEM authority that signed the server's certificate (new at every start), also in the kubeconfig."""
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
        self.token = ""
        self.certificate_authority = b""
        if self._given_dir is not None:
            self.data_dir = self._given_dir
        self._server: ApiServer | None = None
        self._gc: GarbageCollector | None = None
        self._components: list[Scheduler | Kubelet] = []

    def start(self) -> DevCluster:
        self.data_dir = self._given_dir or Path(tempfile.mkdtemp(prefix="pq-devcluster-"))
        for part in ("logs", "volumes"):
            (self.data_dir / part).mkdir(parents=True, exist_ok=True)
        self.store = Store(history=self.history)
        self._gc = GarbageCollector(self.store).start()
        self.token = secrets.token_urlsafe(32)
        self._server = ApiServer(self.store, data_dir=self.data_dir, token=self.token, port=self.port).start()
        self.url = self._server.url
        self.certificate_authority = self._server.certificate.authority
        write_kubeconfig(self.kubeconfig_path, server=self.url, token=self.token,
                         certificate_authority=self.certificate_authority)
        try:
            self._start_nodes()
        except BaseException:
            self.stop()
            raise
        return self

    def _start_nodes(self) -> None:
        """The scheduler, then one kubelet per node; a bad registries file raises RegistriesFileError here."""
        registry_set = load_registries(self.registries)
        parts: list[Scheduler | Kubelet] = [Scheduler(self.store)]
        parts += [Kubelet(self.store, node_name=f"node-{index}", registries=registry_set, data_dir=self.data_dir)
                  for index in range(1, self.nodes + 1)]
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
