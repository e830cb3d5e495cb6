"""`pipeline-queue registry match`: which config.json entries the kubelet would use for an image."""

from __future__ import annotations

import sys

import click

from pipeline_queue.commands.common import echo_json
from pipeline_queue.errors import ImageReferenceError, RegistryConfigError
from pipeline_queue.images import parse_image
from pipeline_queue.registry import Keyring, parse_docker_config
from pipeline_queue.spec.loader import FileTooLargeError, read_limited


@click.group("registry")
def registry_group() -> None:
    """Registry credentials."""


def match_record(keyring: Keyring, image: str) -> dict[str, object]:
    """Matches in the kubelet's order; usernames only, never a password."""
    try:
        ref = parse_image(image)
    except ImageReferenceError as error:
        return {"image": image, "error": str(error)}
    matches = keyring.lookup_ref(ref)
    return {
        "image": image,
        "registry": ref.registry,
        "matches": [{"key": match.key, "username": match.username} for match in matches],
    }


MAX_CONFIG_BYTES = 1 << 20
"""The largest config.json `registry match` reads (a real one is a few KiB)."""


@registry_group.command("match")
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False), help="A Docker config.json.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line per image.")
@click.argument("images", nargs=-1, required=True)
def match_command(config_path: str, as_json: bool, images: tuple[str, ...]) -> None:
    """Show which credentials of CONFIG match each IMAGE, as the kubelet matches them."""
    try:
        text = read_limited(config_path, limit=MAX_CONFIG_BYTES)  # its size checked before any of it is read
    except FileTooLargeError as error:
        raise RegistryConfigError(f"{config_path}: a Docker config.json of at most {MAX_CONFIG_BYTES} bytes; this "
                                  f"one {error}") from None
    except OSError as error:
        raise RegistryConfigError(f"{config_path}: cannot read ({error.strerror})") from None
    keyring = Keyring.from_configs([parse_docker_config(text, source=config_path)])
    records = [match_record(keyring, image) for image in images]
    for record in records:
        if as_json:
            echo_json(record)
        elif "error" in record:
            click.echo(f"{record['image']}: {record['error']}")
        else:
            keys = ", ".join(f"{m['key']} ({m['username']})" for m in record["matches"]) or "no credentials"
            click.echo(f"{record['image']} [{record['registry']}]: {keys}")
    if any("error" in record for record in records):
        sys.exit(2)
