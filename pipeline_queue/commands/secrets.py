"""`secret add|list|remove|rotate-key`: repository secrets, sealed at rest; no command ever prints a value.

A value comes from a file (`--from-file`) or standard input, never from an argument, where shell history and the
process list would keep it. `rotate-key` seals every value again under a new key (see `pipeline_queue.vault.keys`).
"""

from __future__ import annotations

import sys

import click

from pipeline_queue.commands.common import print_listing, quiet_option
from pipeline_queue.commands.repos import MAX_VALUE, Place, read_limited
from pipeline_queue.errors import UsageError
from pipeline_queue.vocabulary import MIN_MASKED


@click.group("secret")
def secret_group() -> None:
    """Repository secrets: add, list, remove; rotate the key that seals them."""


@secret_group.command("add")
@click.argument("repo", metavar="OWNER/NAME")
@click.argument("name", metavar="SECRET")
@click.option("--from-file", "from_file", type=click.Path(dir_okay=False),
              help="Read the value from this file (as is). Default: standard input (one trailing newline dropped).")
@click.option("--allow-pull-request", is_flag=True, help="Pull-request builds get it too (by default they do not).")
@quiet_option("Print nothing (warnings still go to standard error).")
def add_command(repo: str, name: str, from_file: str | None, allow_pull_request: bool, quiet: bool) -> None:
    """Add SECRET to OWNER/NAME, or replace its value and flag; the value is read, never given as an argument."""
    from pipeline_queue.store import put_secret, validate_secret_name, validate_slug
    from pipeline_queue.vault.repository import seal_secret

    validate_slug(repo)
    validate_secret_name(name)
    value = read_value(from_file)
    if len(value) < MIN_MASKED:
        click.echo(f"warning: the value of secret {name!r} is shorter than {MIN_MASKED} characters: it is "
                   "stored, but it will not be masked in step logs", err=True)
    place = Place.resolve()
    sealed = seal_secret(place.keys(create=True).ring, repo, name, value)
    with place.transaction() as session:
        put = put_secret(session, repo, name, ciphertext=sealed, allow_pull_request=allow_pull_request)
    for_pull_requests = "; pull requests get it" if allow_pull_request else ""
    if not quiet:
        click.echo(f"secret {name!r} of {repo} {'added' if put.created else 'replaced'}{for_pull_requests}")


def read_value(path: str | None) -> str:
    """The value from file `path` as it is, else from standard input (a terminal is asked without echo)."""
    raw = read_limited(path, what="a secret value") if path is not None else _standard_input()
    try:
        value = raw.decode()
    except UnicodeDecodeError:
        raise UsageError("the secret value is not UTF-8 text") from None
    if not value:
        raise UsageError("the secret value is empty: nothing to store (give it on standard input, or with "
                         "--from-file FILE)")
    return value


def _standard_input() -> bytes:
    if sys.stdin.isatty():
        return str(click.prompt("value", hide_input=True, err=True)).encode()
    raw = sys.stdin.buffer.read(MAX_VALUE + 1)
    if len(raw) > MAX_VALUE:
        raise UsageError(f"standard input holds more than {MAX_VALUE // 1024} KiB: a secret value holds at most that")
    # `echo VALUE |` adds a newline nobody meant as part of the value.
    return raw.removesuffix(b"\r\n") if raw.endswith(b"\r\n") else raw.removesuffix(b"\n")


@secret_group.command("list")
@click.argument("repo", metavar="OWNER/NAME")
@click.option("--json", "as_json", is_flag=True, help="One JSON list.")
@quiet_option("Print only the names, one a line.")
def list_command(repo: str, as_json: bool, quiet: bool) -> None:
    """The secrets of OWNER/NAME: names, whether pull requests get them, dates; never a value."""
    from pipeline_queue.store import list_secrets

    with Place.resolve().transaction() as session:
        rows = [
            {"name": secret.name, "allow_pull_request": secret.allow_pull_request,
             "created": secret.created.isoformat(), "updated": secret.updated.isoformat()}
            for secret in list_secrets(session, repo)
        ]
    keys = ("name", "allow_pull_request", "created", "updated")
    print_listing(rows, as_json=as_json, quiet=quiet, columns=keys, cells=lambda row: [str(row[key]) for key in keys])


@secret_group.command("remove")
@click.argument("repo", metavar="OWNER/NAME")
@click.argument("name", metavar="SECRET")
@quiet_option("Print nothing.")
def remove_command(repo: str, name: str, quiet: bool) -> None:
    """Delete SECRET of OWNER/NAME."""
    from pipeline_queue.store import remove_secret

    with Place.resolve().transaction() as session:
        remove_secret(session, repo, name)
    if not quiet:
        click.echo(f"secret {name!r} of {repo} removed")


@secret_group.command("rotate-key")
def rotate_key_command() -> None:
    """Seal every secret and webhook secret again under a new key, in one transaction; old keys still open."""
    from pipeline_queue.vault import rotation_ring
    from pipeline_queue.vault.rotation import reseal_all

    place = Place.resolve()
    source = rotation_ring(place.settings.vault, data_dir=place.data_dir)
    with place.transaction() as session:
        resealed = reseal_all(session, source.ring)
    click.echo(f"sealed {resealed.secrets} secret(s) and {resealed.webhook_secrets} webhook secret(s) again "
               "under the new key")
    older = len(source.ring.keys) - 1
    if source.from_environment:
        click.echo("They open only with the first key of PQ_SECRET_KEY now; every process needs it. Drop the "
                   f"{older} older key(s) from PQ_SECRET_KEY once no process runs without the new one.")
    else:
        click.echo(f"{source.origin} holds the new key first and {older} older key(s) after it, which still open "
                   "values sealed before; back the file up with the database.")
