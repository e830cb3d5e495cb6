"""`pipeline-queue image inspect`: how a reference parses under Docker's grammar."""

from __future__ import annotations

import sys

import click

from pipeline_queue.commands.common import console, echo_json, print_table
from pipeline_queue.errors import ImageReferenceError
from pipeline_queue.images import parse_image


@click.group("image")
def image_group() -> None:
    """Container image references."""


def inspect_record(text: str) -> dict[str, object]:
    """The JSON contract of one reference: its parts, or why it is invalid."""
    try:
        return parse_image(text).to_json(text)
    except ImageReferenceError as error:
        return {"input": text, "valid": False, "error": str(error)}


@image_group.command("inspect")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line per reference.")
@click.argument("refs", nargs=-1, required=True)
def inspect_command(as_json: bool, refs: tuple[str, ...]) -> None:
    """Parse REF... as Docker does; exit 2 when any is invalid."""
    records = [inspect_record(ref) for ref in refs]
    if as_json:
        for record in records:
            echo_json(record)
    else:
        rows = [[str(record[key] or "") for key in table_keys()] if record["valid"]
                else [str(record["input"]), f"invalid: {record['error']}", *[""] * (len(table_keys()) - 2)]
                for record in records]
        print_table(console(), table_keys(), rows)
    if not all(record["valid"] for record in records):
        sys.exit(2)


def table_keys() -> tuple[str, ...]:
    return ("input", "domain", "path", "tag", "digest", "reference", "familiar")
