"""Helpers shared by the subcommands: JSON lines, the secrets file."""

from __future__ import annotations

import json
from typing import Any

import click
from yaml.nodes import MappingNode, ScalarNode

from pipeline_queue.errors import SecretsFileError, SpecError
from pipeline_queue.spec.loader import FileTooLargeError, read_limited
from pipeline_queue.spec.yamlbuild import AnyNode, alias_target, mark_position
from pipeline_queue.spec.yamlsafe import MAX_BYTES, ComposedNode, compose_documents, decode

MAX_SECRETS_FILE = MAX_BYTES
"""Largest `--secrets` file, in bytes (1 MiB): the pipeline file's limit, which the YAML reader also holds."""


def echo_json(value: Any) -> None:
    """One JSON document on one line: the machine-readable contract."""
    click.echo(json.dumps(value, sort_keys=False, separators=(", ", ": ")))


def load_secrets_file(path: str | None) -> dict[str, str]:
    """Read `--secrets FILE`: a YAML mapping of secret name to string value.

    Scalars are taken as written (nothing is resolved), so a token like `0123`
    keeps its leading zero and `null` is the text null. The file is read as
    pipeline files are (size checked first, nesting bounded); a name written
    twice is an error. Errors name the file, line and key, never a value.
    """
    if path is None:
        return {}
    try:
        raw = read_limited(path, limit=MAX_SECRETS_FILE)
    except OSError as error:
        raise SecretsFileError(f"{path}: cannot read secrets file ({error.strerror})") from None
    except FileTooLargeError as error:
        raise SecretsFileError(f"{path}: secrets file {error}; it may be at most 1 MiB") from None
    roots = _documents(raw, path=path)
    if not roots:
        return {}
    if len(roots) > 1:
        raise _placed(path, roots[1], "secrets file must be one YAML document, found a second")
    if not isinstance(roots[0], MappingNode):
        raise _placed(path, roots[0], "secrets file must be a mapping of secret name to value")
    return _secrets(path, roots[0])


def _documents(raw: bytes, *, path: str) -> list[ComposedNode]:
    try:
        return [root for root in compose_documents(decode(raw, filename=path), filename=path, reveal=False)
                if root is not None]
    except SpecError as error:
        failure = error
    # Raised here, outside the handler, so that no YAML error (its text may quote the file) is chained to it.
    raise SecretsFileError(f"{path}:{failure.line}:{failure.col}: secrets file: {failure.reason}")


def _secrets(path: str, root: MappingNode) -> dict[str, str]:
    secrets: dict[str, str] = {}
    first_line: dict[str, int] = {}
    for key_node, value_node in root.value:
        key, value = alias_target(key_node), alias_target(value_node)
        if not isinstance(key, ScalarNode):
            raise _placed(path, key_node, "a secret name must be text, not a list or mapping")
        name, line = str(key.value), mark_position(key_node).line
        if name in first_line:
            raise _placed(path, key_node, f"secret {name!r} is written twice (lines {first_line[name]} and {line})")
        if not isinstance(value, ScalarNode):
            raise _placed(path, value_node, f"secret {name!r} must be a string value")
        first_line[name] = line
        secrets[name] = str(value.value)
    return secrets


def _placed(path: str, node: AnyNode, message: str) -> SecretsFileError:
    where = mark_position(node)
    return SecretsFileError(f"{path}:{where.line}:{where.col}: {message}")
