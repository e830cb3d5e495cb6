"""The compose topology as local processes: each service of docker-compose.yml runs its own `command` on this
machine, with the environment compose gives it pointed at local parts: Redis started with compose's own
arguments, the machine's PostgreSQL (a schema of its own), and the development cluster, reached by each component
through a recording proxy of its own, as each would use its own ServiceAccount."""

from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import kubernetes
import sqlalchemy as sa

from pipeline_queue.broker import redis_client
from tests.conftest import ROOT
from tests.deploy.kube_proxy import RecordingProxy
from tests.deploy.manifests import compose, compose_app_services
from tests.integration.faults_support import free_port, redis_binary
from tests.polling import wait_for
from tests.store.conftest import _answering_postgres, _postgres

LOCAL_SERVICES = ("serve", "worker-control", "worker-default", "worker-cache", "beat", "watch")
"""The compose services started here; flower is left out (tests/integration/test_flower.py runs it)."""
ACCOUNTS = {"serve": "pq-serve", "worker-control": "pq-worker-control", "worker-default": "pq-worker-default",
            "worker-cache": "pq-worker-cache", "beat": "pq-beat", "watch": "pq-watch"}
"""The ServiceAccount each service runs as in k8s/."""
START_TIMEOUT = 60.0


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def signal(self, number: int, *, group: bool = False) -> None:
        """Signal the process (`group`: all its processes, as `docker kill` does a container's)."""
        if group:
            os.killpg(self.popen.pid, number)
        else:
            self.popen.send_signal(number)


@dataclass
class Topology:
    folder: Path
    env: dict[str, str]
    """What every service's environment has in common (compose's, pointed at the local parts)."""
    url: str
    """serve's address."""
    kubeconfig: Path
    redis_url: str
    processes: dict[str, Process] = field(default_factory=dict)
    proxies: dict[str, RecordingProxy] = field(default_factory=dict)

    def cli(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        """A `pipeline-queue` command an operator runs beside the services, with their environment."""
        return subprocess.run([sys.executable, "-m", "pipeline_queue", *args], cwd=self.folder, env=self.env,
                              input=stdin, capture_output=True, text=True, timeout=120, check=False)

    def logs(self) -> str:
        return "\n".join(f"--- {name}\n{process.output()[-3000:]}" for name, process in self.processes.items())

    def core(self) -> kubernetes.client.CoreV1Api:
        return kubernetes.client.CoreV1Api(kubernetes.config.new_client_from_config(config_file=str(self.kubeconfig)))

    def redis(self) -> Any:
        return redis_client(self.redis_url)


def interpolated(value: str) -> str:
    """A compose value with `${NAME:-default}` (and `${NAME}`) read as the defaults an unset environment gives."""
    return re.sub(r"\$\{(\w+)(?::?-([^}]*))?\}", lambda match: match[2] or "", value)


def _compose_environment() -> dict[str, str]:
    return {name: interpolated(str(value)) for name, value in compose()["x-pipeline-queue"]["environment"].items()}


@contextmanager
def _redis(folder: Path) -> Iterator[str]:
    """Redis with compose's arguments (AOF, noeviction), its data folder and a free port on loopback."""
    folder.mkdir(parents=True, exist_ok=True)
    arguments = [str(a) for a in compose()["services"]["redis"]["command"]][1:]
    arguments = [str(folder) if argument == "/data" else argument for argument in arguments]
    port = free_port()
    with (folder / "redis.log").open("wb") as log:
        process = subprocess.Popen([redis_binary(), *arguments, "--port", str(port), "--bind", "127.0.0.1",
                                    "--save", ""], stdout=log, stderr=subprocess.STDOUT)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        wait_for(lambda: _pings(url), what="Redis to answer", timeout=20,
                 explain=lambda: (folder / "redis.log").read_text(errors="replace"))
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)


def _pings(url: str) -> bool:
    try:
        return bool(redis_client(url, quick=True).ping())
    except Exception:
        return False


@contextmanager
def _database(folder: Path) -> Iterator[str]:
    """A schema of its own on the machine's PostgreSQL (as compose's), else SQLite when none answers."""
    server = _answering_postgres()
    if server is None:
        yield f"sqlite:///{folder / 'pq.db'}"
        return
    schema = f"pq_deploy_{secrets.token_hex(4)}"
    admin = sa.create_engine(_postgres(server), poolclass=sa.NullPool)
    with admin.begin() as connection:
        connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
    try:
        yield f"{server}?options={quote(f'-csearch_path={schema}')}"
    finally:
        with admin.begin() as connection:
            connection.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


def _start(name: str, argv: list[str], *, env: dict[str, str], folder: Path) -> Process:
    log = folder / f"{name}.log"
    with log.open("wb") as output:
        popen = subprocess.Popen(argv, cwd=folder, env=env, stdin=subprocess.DEVNULL, stdout=output,
                                 stderr=subprocess.STDOUT, start_new_session=True)
    return Process(name=name, popen=popen, log=log)


def _stop(*processes: Process) -> None:
    """SIGTERM all at once, wait for each (30 s at most), then SIGKILL whatever is left in their groups."""
    for process in processes:
        if process.popen.poll() is None:
            process.signal(signal.SIGTERM)
    for process in processes:
        with suppress(subprocess.TimeoutExpired):
            process.popen.wait(timeout=30)
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(process.popen.pid, signal.SIGKILL)
        process.popen.wait(timeout=10)


@contextmanager
def _cluster(folder: Path, env: dict[str, str]) -> Iterator[tuple[Process, Path]]:
    """The development cluster, starting (it boots while the caller migrates the database); stopped at the end."""
    kubeconfig = folder / "cluster.kubeconfig"
    cluster = _start("devcluster", [sys.executable, "-m", "pipeline_queue", "devcluster", "--nodes", "2",
                                    "--kubeconfig", str(kubeconfig), "--data-dir", str(folder / "devcluster")],
                     env=env, folder=folder)
    try:
        yield cluster, kubeconfig
    finally:
        _stop(cluster)


def _answering(cluster: Process, kubeconfig: Path) -> None:
    wait_for(lambda: kubeconfig.exists() or cluster.popen.poll() is not None, what="the cluster's kubeconfig",
             timeout=START_TIMEOUT)
    assert cluster.popen.poll() is None, cluster.output()


@contextmanager
def topology(folder: Path) -> Iterator[Topology]:
    """Every local service running, serve ready; all stopped (SIGTERM, then SIGKILL) at the end."""
    base = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "KUBECONFIG", "DATABASE_URL")
            and not k.startswith("PQ_")}
    base.update(PYTHONPATH=str(ROOT))
    with ExitStack() as stack:
        redis_url = stack.enter_context(_redis(folder / "redis"))
        database_url = stack.enter_context(_database(folder))
        cluster, kubeconfig = stack.enter_context(_cluster(folder, base))
        # What compose's `environment` says, pointed at the parts on this machine.
        environment = {**_compose_environment(), "REDIS_URL": redis_url, "DATABASE_URL": database_url,
                       "KUBECONFIG": str(kubeconfig), "PQ_SECRET_KEY": secrets.token_hex(32),
                       "PQ_HTTP_HOST": "127.0.0.1", "PQ_HTTP_PORT": str(free_port()),
                       "PQ_DATA_DIR": str(folder / "cli-data")}
        env = {**base, **environment}
        found = Topology(folder=folder, env=env, url=f"http://127.0.0.1:{environment['PQ_HTTP_PORT']}",
                         kubeconfig=kubeconfig, redis_url=redis_url)
        migrated = found.cli(*compose_app_services()["migrate"]["command"])  # compose runs it before the rest
        assert migrated.returncode == 0, migrated.stderr
        _answering(cluster, kubeconfig)
        found.core().create_namespace({"metadata": {"name": env["PQ_NAMESPACE"]}})  # k8s/ creates it there
        for name in LOCAL_SERVICES:
            proxy = found.proxies[name] = stack.enter_context(RecordingProxy(_server(kubeconfig)))
            own = {**env, "KUBECONFIG": str(proxy.kubeconfig(kubeconfig, folder / f"{name}.kubeconfig")),
                   "PQ_DATA_DIR": str(folder / f"data-{name}")}  # each container has its own tmpfs
            argv = [sys.executable, "-m", "pipeline_queue", *compose_app_services()[name]["command"]]
            found.processes[name] = _start(name, argv, env=own, folder=folder)
        stack.callback(lambda: _stop(*(found.processes[name] for name in LOCAL_SERVICES)))
        wait_for(lambda: _ready(found.url), what="serve's /readyz", timeout=START_TIMEOUT, explain=found.logs)
        found.processes["devcluster"] = cluster
        yield found


def _server(kubeconfig: Path) -> str:
    import yaml

    return str(yaml.safe_load(kubeconfig.read_text())["clusters"][0]["cluster"]["server"])


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False
