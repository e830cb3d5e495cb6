"""`cache report`: what every node has cached (the Redis index) and the cache guard's findings (the store).

Redis and the database are found as every command finds them (`runtime.resolve`); nothing here writes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console

from pipeline_queue import keys
from pipeline_queue.commands.builds import reading
from pipeline_queue.commands.common import echo_json
from pipeline_queue.errors import UsageError
from pipeline_queue.settings import Settings

if TYPE_CHECKING:
    from pipeline_queue.store import FindingRecord

FINDING_KEYS = ("kind", "image", "node", "build", "step", "mode", "action")
"""The keys of a finding in `cache report --json`, in order."""


def report_document(
    nodes: Mapping[str, Sequence[str]], findings: Iterable[FindingRecord], *, step_names: Mapping[int, str]
) -> dict[str, Any]:
    """The JSON of `cache report`: node -> image names, and each finding; `step_names` maps step ids to
    `stage/step`."""
    return {
        "nodes": {node: list(images) for node, images in sorted(nodes.items())},
        "findings": [
            {
                "kind": finding.kind.value,
                "image": finding.image,
                "node": finding.node,
                "build": finding.build_id,
                "step": step_names.get(finding.step_id) if finding.step_id is not None else None,
                "mode": finding.mode,
                "action": finding.action,
            }
            for finding in findings
        ],
    }


def indexed_nodes(redis_url: str, *, prefix: str = keys.DEFAULT_PREFIX) -> dict[str, list[str]]:
    """Every node of the index with the names of the images it holds; empty without a Redis to ask."""
    if not redis_url:
        return {}
    from pipeline_queue.broker import RedisError, redis_client
    from pipeline_queue.cache.index import all_nodes, images_on

    client = redis_client(redis_url)
    try:
        return {node: [image.name for image in images_on(client, node, prefix=prefix)]
                for node in all_nodes(client, prefix=prefix)}
    except RedisError as error:
        raise UsageError(f"cannot read the node cache index from Redis: {type(error).__name__}: {error}") from None
    finally:
        client.close()


def stored_findings() -> tuple[list[FindingRecord], dict[int, str]]:
    """Every finding in the store, oldest first, and the `stage/step` name of each step they name."""
    from pipeline_queue.store import get_build
    from pipeline_queue.store.findings import list_findings

    with reading() as session:
        findings = list(list_findings(session))
        names: dict[int, str] = {}
        for build_id in sorted({finding.build_id for finding in findings}):
            detail = get_build(session, build_id)
            stages = detail.stages if detail is not None else ()
            names.update({step.id: f"{stage.name}/{step.name}" for stage in stages for step in stage.steps})
    return findings, names


@click.group("cache")
def cache_group() -> None:
    """The node image cache and the cache guard."""


@cache_group.command("report")
@click.option("--json", "as_json", is_flag=True, help="One JSON document.")
def report_command(as_json: bool) -> None:
    """Which node has cached which image, and every risk or leak the cache guard found."""
    from pipeline_queue.runtime import resolve

    runtime = resolve(Settings.from_env())
    if not runtime.redis_url:
        click.echo("no Redis to read the node cache index from: run `pipeline-queue up` or set REDIS_URL", err=True)
    findings, names = stored_findings()
    document = report_document(indexed_nodes(runtime.redis_url), findings, step_names=names)
    if as_json:
        echo_json(document)
    else:
        print_report(document)


def print_report(document: dict[str, Any]) -> None:
    console = Console(soft_wrap=True, highlight=False)
    for node, images in document["nodes"].items():
        console.print(f"[bold]{node}[/bold] ({len(images)} images)")
        for image in images:
            console.print(f"  {image}")
    if not document["nodes"]:
        console.print("no node in the cache index yet (beat sweeps every node every 30 s under `pipeline-queue up`)")
    for finding in document["findings"]:
        console.print(f"[yellow]{finding['kind']}[/yellow] build {finding['build']} {finding['step'] or '-'}: "
                      f"{finding['image']} on {finding['node'] or '-'} ({finding['mode']}, {finding['action']})")
    if not document["findings"]:
        console.print("no cache guard findings")
