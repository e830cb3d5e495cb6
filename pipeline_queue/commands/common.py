"""Helpers shared by the subcommands: JSON lines, the secrets file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import yaml

from pipeline_queue.errors import SecretsFileError

MAX_SECRETS_FILE = 1 << 20


def echo_json(value: Any) -> None:
    """One JSON document on one line: the machine-readable contract."""
    click.echo(json.dumps(value, sort_keys=False, separators=(", ", ": ")))


def load_secrets_file(path: str | None) -> dict[str, str]:
    """Read `--secrets FILE`: a YAML mapping of secret name to string value.

    Scalars are taken as written (YAML's BaseLoader resolves nothing), so a token
    like `0123` keeps its leading zero. Errors name the file and key, never a value.
    """
    if path is None:
        return {}
    file = Path(path)
    try:
        raw = file.read_bytes()
    except OSError as error:
        raise SecretsFileError(f"{path}: cannot read secrets file ({error.strerror})") from None
    if len(raw) > MAX_SECRETS_FILE:
        raise SecretsFileError(f"{path}: secrets file is larger than 1 MiB")
    try:
        data = yaml.load(raw, Loader=yaml.BaseLoader)  # noqa: S506 - BaseLoader builds only str, list and dict
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        raise SecretsFileError(f"{path}{where}: secrets file is not valid YAML") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SecretsFileError(f"{path}: secrets file must be a mapping of secret name to value")
    secrets: dict[str, str] = {}
    for name, value in data.items():
        if not isinstance(value, str):
            raise SecretsFileError(f"{path}: secret {name!r} must be a string value")
        secrets[str(name)] = value
    return secrets
