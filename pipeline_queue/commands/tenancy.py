"""`--repo OWNER/NAME` for the commands that look at or run a pipeline file: whose secrets and trust apply.

Without it a run is the operator's own (trusted, `--secrets FILE`); with a registered repository, the
repository's secrets (from the encrypted store) and its trust apply, and `--secrets` is refused.
"""

from __future__ import annotations

import click

from pipeline_queue.commands.common import load_secrets_file
from pipeline_queue.errors import UsageError
from pipeline_queue.producer.tenants import Tenant, local, registered
from pipeline_queue.settings import Settings

repo_option = click.option(
    "--repo", "repo", metavar="OWNER/NAME",
    help="A registered repository: its secrets and its trust apply. Default: the operator's own (trusted).")


def tenant_for(repo: str | None, secrets_path: str | None, *, settings: Settings, event: str = "push",
               required: bool = True, fork: bool = False) -> Tenant:
    """The tenant of `--repo` (a registered repository), else the operator's own with `--secrets`. With
    `required=False` an unregistered `--repo` is only a name: the operator's own run."""
    if repo is None:
        return local(load_secrets_file(secrets_path))
    from pipeline_queue.commands.builds import reading
    from pipeline_queue.store.repositories import get_repository

    with reading() as session:
        record = get_repository(session, repo)
        if (record is None or not record.registered) and not required:
            return local(load_secrets_file(secrets_path))
        if secrets_path:
            raise UsageError(f"--secrets is for local runs: {repo}'s secrets are its own (`pipeline-queue secret add`)")
        return registered(session, repo, vault=settings.vault, data_dir=settings.paths.data_dir, event=event,
                          fork=fork)
