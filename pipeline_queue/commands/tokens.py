"""`token create|list|revoke`: the bearer tokens of the HTTP API (`/api/...`).

The database is found and migrated as the repo commands find it (`Place`). A token is printed by `token create` and
nowhere else: the store keeps only its digest, so a lost token is revoked and made anew, never shown again.
"""

from __future__ import annotations

import click

from pipeline_queue.commands.common import print_listing, quiet_option, show_once
from pipeline_queue.commands.repos import Place
from pipeline_queue.errors import StoreError

LIST_KEYS = ("name", "read_only", "created", "last_used")
"""The keys of each token in `token list --json`, in order: a stable contract (there is none for the token)."""


@click.group("token")
def token_group() -> None:
    """Bearer tokens of the HTTP API: create, list, revoke."""


@token_group.command("create")
@click.argument("name")
@click.option("--read-only", is_flag=True, help="May read builds, logs and repositories, not cancel, approve "
              "or restart builds.")
@quiet_option("Print only the token.")
def create_command(name: str, read_only: bool, quiet: bool) -> None:
    """Make a token called NAME (letters, digits, '.', '_', '-') and print it this once."""
    from pipeline_queue.store.tokens import create_token, validate_token_name

    validate_token_name(name)
    with Place.resolve().transaction() as session:
        token = create_token(session, name, read_only=read_only)
    show_once(token, label="token", quiet=quiet, before=f"token {name} created{' (read-only)' if read_only else ''}",
              after="The token is shown only now (only its digest is kept): store it where your secrets live. "
                    "Send it with every API request as the header `Authorization: Bearer <token>`, or paste it into "
                    "the sign-in page of `pipeline-queue serve`.")


@token_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON list.")
@quiet_option("Print only the names, one a line.")
def list_command(as_json: bool, quiet: bool) -> None:
    """Every token by name, with when it was made and last used (never the token)."""
    from pipeline_queue.store.tokens import list_tokens

    with Place.resolve().transaction() as session:
        records = list_tokens(session)
    rows = [{"name": record.name, "read_only": record.read_only, "created": record.created.isoformat(),
             "last_used": record.last_used.isoformat() if record.last_used else None} for record in records]
    print_listing(rows, as_json=as_json, quiet=quiet, columns=("name", "read only", "created", "last used"),
                  cells=lambda row: [str(row[key] if row[key] is not None else "never") for key in LIST_KEYS])


@token_group.command("revoke")
@click.argument("name")
@quiet_option("Print nothing.")
def revoke_command(name: str, quiet: bool) -> None:
    """Delete the token called NAME: requests carrying it are refused (401) from now on."""
    from pipeline_queue.store.tokens import revoke_token

    with Place.resolve().transaction() as session:
        revoked = revoke_token(session, name)
    if not revoked:
        raise StoreError(f"there is no token named {name!r} (see `pipeline-queue token list`)")
    if not quiet:
        click.echo(f"token {name} revoked: requests carrying it now get 401")
