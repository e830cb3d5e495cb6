"""Helpers shared by the subcommands: how they print (consoles, tables, JSON lines, `-q`), the secrets file.

Output follows what a terminal or a script wants: on a terminal, colour (unless NO_COLOR says otherwise) and tables
that fit its width, or one record per line when they cannot; through a pipe or into a file, whole lines that are
never wrapped, and no escape codes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text
from yaml.nodes import MappingNode, ScalarNode

from pipeline_queue.errors import SecretsFileError, SpecError
from pipeline_queue.spec.loader import FileTooLargeError, read_limited
from pipeline_queue.spec.yamlbuild import AnyNode, alias_target, mark_position
from pipeline_queue.spec.yamlsafe import MAX_BYTES, ComposedNode, compose_documents, decode

MAX_SECRETS_FILE = MAX_BYTES
"""Largest `--secrets` file, in bytes (1 MiB): the pipeline file's limit, which the YAML reader also holds."""


PIPE_WIDTH = 10_000
"""Columns a console writes into a pipe or a file: wide enough that no line is ever wrapped."""

F = TypeVar("F", bound=Callable[..., Any])

STATUS_STYLES = {"success": "green", "failure": "red", "error": "red", "killed": "red", "running": "cyan",
                 "skipped": "dim", "pending": "yellow", "blocked": "yellow"}
"""The colour of each build, stage or step status on a terminal."""


def echo_json(value: Any) -> None:
    """One JSON document on one line: the machine-readable contract."""
    click.echo(json.dumps(value, sort_keys=False, separators=(", ", ": ")))


def console(*, stderr: bool = False) -> Console:
    """The console commands print with: text as written (no markup guessing, no highlighting), never wrapped off a
    terminal, and without any escape code when NO_COLOR is set (rich itself would still print bold)."""
    probe = Console(stderr=stderr)
    options: dict[str, Any] = {"stderr": stderr, "highlight": False, "soft_wrap": not probe.is_terminal}
    if not probe.is_terminal:
        options["width"] = PIPE_WIDTH
    if probe.no_color:
        options["color_system"] = None
    return Console(**options)


def print_table(out: Console, columns: Sequence[str], rows: Sequence[Sequence[str]], *, title: str = "") -> None:
    """A table of whole values: drawn when it fits the terminal (or off a terminal, where nothing is wrapped), else
    one record per line, its values apart by two spaces, under a line naming the columns."""
    table = Table(*columns, title=Text(title) if title else None, title_justify="left")
    for row in rows:
        table.add_row(*(Text(cell) for cell in row))  # Text: a value prints as written, never as markup
    if not out.is_terminal or Measurement.get(out, out.options.update_width(PIPE_WIDTH), table).maximum <= out.width:
        out.print(table)
        return
    if title:
        out.print(Text(title, style="bold"))
    out.print(Text("  ".join(columns), style="bold"), soft_wrap=True)
    for row in rows:
        out.print(Text("  ".join(cell or "-" for cell in row)), soft_wrap=True)


def print_listing(rows: Sequence[dict[str, Any]], *, as_json: bool, quiet: bool, columns: Sequence[str],
                  cells: Callable[[dict[str, Any]], Sequence[str]]) -> None:
    """What a `list` command prints: its JSON list; with `-q`, each row's first value (its name) a line; else a
    table of `cells(row)` under `columns`."""
    if as_json:
        echo_json(list(rows))
    elif quiet:
        for row in rows:
            click.echo(next(iter(row.values())))
    else:
        print_table(console(), columns, [cells(row) for row in rows])


def show_once(value: str, *, label: str, quiet: bool, before: str, after: str) -> None:
    """A value shown this once (a token, a webhook secret): alone with `-q`, for a script to keep; else under `before`
    and above `after`, which says where it goes."""
    if quiet:
        click.echo(value)
        return
    click.echo(before)
    click.echo(f"{label}: {value}")
    click.echo(after)


def quiet_option(help_text: str) -> Callable[[F], F]:
    """`-q/--quiet`, for scripts: the command prints only what `help_text` says (or nothing), errors still go to
    standard error."""
    return click.option("-q", "--quiet", "quiet", is_flag=True, help=help_text)


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
