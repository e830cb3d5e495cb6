"""`cache report`: what every node has cached (the Redis index) and the cache guard's findings (the store).

Redis and the database are found as every command finds them (`runtime.resolve`); nothing here writes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.text import Text

from pipeline_queue import keys
from pipeline_queue.commands.builds import reading
from pipeline_queue.commands.common import echo_json
from pipeline_queue.errors import UsageError
from pipeline_queue.settings import Settings

if TYPE_CHECKING:
    from pipeline_queue.store import FindingRecord

FINDING_KEYS = ("kind", "image", "digest", "node", "build", "repo", "step", "mode", "action")
"""The keys of a finding in `cache report --json`, in order."""


@dataclass(frozen=True)
class FindingPlace:
    """Where a finding was made: the repository of its build, and for its step the name and the digest it ran."""

    repos: Mapping[int, str] = field(default_factory=dict)
    """Build id -> the build's repository."""
    steps: Mapping[int, tuple[str, str]] = field(default_factory=dict)
    """Step id -> (`stage/step`, the manifest digest its container ran, "" before it ran)."""


def report_document(
    nodes: Mapping[str, Sequence[str]], findings: Iterable[FindingRecord], *, places: FindingPlace
) -> dict[str, Any]:
    """The JSON of `cache report`: node -> image names, and each finding with its node, image, digest, build and
    repository."""
    def step(finding: FindingRecord) -> tuple[str | None, str]:
        return places.steps.get(finding.step_id, (None, "")) if finding.step_id is not None else (None, "")

    return {
        "nodes": {node: list(images) for node, images in sorted(nodes.items())},
        "findings": [
            {
                "kind": finding.kind.value,
                "image": finding.image,
                "digest": step(finding)[1],
                "node": finding.node,
                "build": finding.build_id,
                "repo": places.repos.get(finding.build_id, ""),
                "step": step(finding)[0],
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


def stored_findings() -> tuple[list[FindingRecord], FindingPlace]:
    """Every finding in the store, oldest first, and where each was made."""
    from pipeline_queue.cache.rules import digest_of
    from pipeline_queue.store import get_build
    from pipeline_queue.store.findings import list_findings

    with reading() as session:
        findings = list(list_findings(session))
        repos: dict[int, str] = {}
        steps: dict[int, tuple[str, str]] = {}
        for build_id in sorted({finding.build_id for finding in findings}):
            detail = get_build(session, build_id)
            if detail is None:
                continue
            repos[build_id] = detail.build.repo
            steps.update({step.id: (f"{stage.name}/{step.name}", digest_of(step.image_id))
                          for stage in detail.stages for step in stage.steps})
    return findings, FindingPlace(repos=repos, steps=steps)


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
    findings, places = stored_findings()
    document = report_document(indexed_nodes(runtime.redis_url), findings, places=places)
    if as_json:
        echo_json(document)
    else:
        print_report(document)


def print_report(document: dict[str, Any]) -> None:
    """Text, never markup: node, image and step names print as written."""
    console = Console(soft_wrap=True, highlight=False)
    for node, images in document["nodes"].items():
        console.print(Text.assemble((node, "bold"), f" ({len(images)} images)"))
        for image in images:
            console.print(Text(f"  {image}"))
    if not document["nodes"]:
        console.print("no node in the cache index yet (beat sweeps every node every 30 s under `pipeline-queue up`)")
    for finding in document["findings"]:
        console.print(Text.assemble(
            (finding["kind"], "yellow"),
            f" build {finding['build']} of {finding['repo'] or '-'} {finding['step'] or '-'}: {finding['image']}"
            f"{' (' + finding['digest'] + ')' if finding['digest'] else ''} on {finding['node'] or '-'} "
            f"({finding['mode']}, {finding['action']})",
        ))
    if not document["findings"]:
        console.print("no cache guard findings")
