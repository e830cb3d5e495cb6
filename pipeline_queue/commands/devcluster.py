"""`pipeline-queue devcluster`: run the development cluster in the foreground until interrupted."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import click

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
    from pipeline_queue.devcluster.cluster import DevCluster

    kubeconfig_path = Path(kubeconfig)
    folder = Path(data_dir) if data_dir else kubeconfig_path.parent / "devcluster"
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    cluster = DevCluster(nodes=nodes, registries=registries, port=port, data_dir=folder, kubeconfig=kubeconfig_path)
    with cluster:
        click.echo(f"development cluster at {cluster.url} with {nodes} node(s)")
        click.echo(f"kubeconfig written to {cluster.kubeconfig_path}; export KUBECONFIG={cluster.kubeconfig_path}")
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        click.echo("stopping")
