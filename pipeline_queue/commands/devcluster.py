"""`pipeline-queue devcluster`: run the development cluster in the foreground until interrupted."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import click

from pipeline_queue.errors import UsageError

if TYPE_CHECKING:
    from pipeline_queue.devcluster.cluster import DevCluster

DEFAULT_KUBECONFIG = Path(".pipeline-queue") / "kubeconfig"


@click.command("devcluster")
@click.option(
    "--nodes", default=2, show_default=True, type=click.IntRange(1, 500), help="Simulated nodes node-1 ... node-N."
)
@click.option("--registries", type=click.Path(dir_okay=False, exists=True), help="YAML file of simulated registries.")
@click.option("--kubeconfig", type=click.Path(dir_okay=False), default=str(DEFAULT_KUBECONFIG), show_default=True)
@click.option("--port", default=0, show_default=True, type=click.IntRange(0, 65535), help="0 picks a free port.")
@click.option("--data-dir", type=click.Path(file_okay=False), help="Where containers' workspaces and logs go.")
def devcluster_command(nodes: int, registries: str | None, kubeconfig: str, port: int, data_dir: str | None) -> None:
    """A small Kubernetes API with simulated nodes that cache images and check registry credentials."""
    # Imported when the command runs, so the CLI starts without loading the cluster and its schema validator.
    try:
        from pipeline_queue.devcluster.cluster import DevCluster
        from pipeline_queue.devcluster.errors import DevClusterError
    except ModuleNotFoundError as error:
        raise UsageError(f"the development cluster needs the `devcluster` extra ({error.name} is missing): "
                         "pip install 'pipeline-queue[devcluster]', or set KUBECONFIG to a real cluster") from None

    kubeconfig_path = Path(kubeconfig)
    folder = Path(data_dir) if data_dir else kubeconfig_path.parent / "devcluster"
    stop = threading.Event()
    for number in (signal.SIGINT, signal.SIGTERM):
        # Installed, not inherited: a shell starting the command in the background leaves SIGINT ignored.
        signal.signal(number, lambda *_: stop.set())
    cluster = DevCluster(nodes=nodes, registries=registries, port=port, data_dir=folder, kubeconfig=kubeconfig_path)
    try:
        with cluster:
            _serve(cluster, nodes=nodes, stop=stop)
    except DevClusterError as error:
        # The cluster has its own error tree; at the command line it is a usage error like any other.
        raise UsageError(error.message) from error


def _serve(cluster: DevCluster, *, nodes: int, stop: threading.Event) -> None:
    """Say where the cluster is, then wait for Ctrl-C or SIGTERM."""
    click.echo(f"development cluster at {cluster.url} with {nodes} node(s)")
    click.echo(f"kubeconfig written to {cluster.kubeconfig_path}; export KUBECONFIG={cluster.kubeconfig_path}")
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    click.echo("stopping")
