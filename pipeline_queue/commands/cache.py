"""`cache report`: what every node has cached (the Redis index) and the cache guard's findings (the store).

Redis and the database are found as every command finds them (`runtime.resolve`); nothing here writes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click
from rich.text import Text

from pipeline_queue import keys
from pipeline_queue.commands.builds import reading
from pipeline_queue.commands.common import console as output_console
from pipeline_queue.commands.common import echo_json
from pipeline_queue.errors import UsageError
from pipeline_queue.settings import Settings

if TYPE_CHECKING:
    from pipeline_queue.store import FindingRecord
    from pipeline_queue.store.documents import FindingPlace

FINDING_KEYS = ("kind", "image", "digest", "node", "build", "repo", "step", "mode", "action")
"""The keys of a finding in `cache report --json`, in order."""


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
        raise UsageError(f"cannot read the node cache index from Redis: {type(error).__name__}: {error} (is it "
                         "running? check REDIS_URL, or start it with: pipeline-queue up)") from None
    finally:
        client.close()


def stored_findings() -> tuple[list[FindingRecord], FindingPlace]:
    """Every finding in the store, oldest first, and where each was made."""
    from pipeline_queue.cache.rules import digest_of
    from pipeline_queue.store.documents import finding_places
    from pipeline_queue.store.findings import list_findings

    with reading() as session:
        findings = list(list_findings(session))
        return findings, finding_places(session, findings, digest_of=digest_of)


@click.group("cache")
def cache_group() -> None:
    """The node image cache and the cache guard."""


@cache_group.command("report")
@click.option("--json", "as_json", is_flag=True, help="One JSON document.")
def report_command(as_json: bool) -> None:
    """Which node has cached which image, and every risk or leak the cache guard found."""
    from pipeline_queue.runtime import resolve
    from pipeline_queue.store.documents import report_document

    runtime = resolve(Settings.from_env())
    if not runtime.redis_url:
        click.echo("no Redis to read the node cache index from: start it with: pipeline-queue up (or set REDIS_URL)",
                   err=True)
    findings, places = stored_findings()
    document = report_document(indexed_nodes(runtime.redis_url), findings, places=places)
    if as_json:
        echo_json(document)
    else:
        print_report(document)


def print_report(document: dict[str, Any]) -> None:
    """Text, never markup: node, image and step names print as written."""
    console = output_console()
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
