"""Who a build runs for: the repository's trust, its namespace, and the secrets this very build may use.

A registered repository brings its own (from the encrypted store, narrowed for pull requests as Drone narrows
them); a local run without a registered repository is the operator's own: trusted, with `--secrets FILE`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline_queue.errors import UsageError
from pipeline_queue.spec.lint_trust import Trust

if TYPE_CHECKING:  # the store and the vault load only for a registered repository (the CLI starts without them)
    from sqlalchemy.orm import Session

    from pipeline_queue.settings import VaultConfig

PULL_REQUEST = "pull_request"


@dataclass(frozen=True)
class Tenant:
    """The repository a build runs for, as far as isolation goes."""

    trusted: bool = True
    namespace: str = ""
    """Where its builds run; "" is the operator's `PQ_NAMESPACE`."""
    secrets: Mapping[str, str] = field(default_factory=dict, repr=False)
    """Name to value: what this build may use (a pull request's are narrowed, a fork's are none)."""
    own_secrets: frozenset[str] = frozenset()
    """Every secret name of the repository: the only ones an untrusted pipeline may mount as a volume."""
    registered: bool = False

    def trust(self, default_namespace: str) -> Trust:
        return Trust(trusted=self.trusted, namespace=self.namespace or default_namespace, secrets=self.own_secrets)


def local(secrets: Mapping[str, str]) -> Tenant:
    """The operator's own run: trusted, with the secrets of its `--secrets FILE`."""
    return Tenant(trusted=True, secrets=dict(secrets), own_secrets=frozenset(secrets))


def registered(session: Session, slug: str, *, vault: VaultConfig, data_dir: Path, event: str = "",
               fork: bool = False) -> Tenant:
    """The tenant of registered repository `slug` for a build of `event`; UsageError when it is not registered.

    A pull request gets only the secrets added with `--allow-pull-request`, and one from a fork none at all.
    """
    from pipeline_queue.store import sealed_secrets
    from pipeline_queue.store.repositories import get_repository
    from pipeline_queue.vault.keys import load_key_ring
    from pipeline_queue.vault.repository import repository_secrets, secrets_for_build

    record = get_repository(session, slug)
    if record is None or not record.registered:
        raise UsageError(f"repository {slug!r} is not registered: add it with `pipeline-queue repo add {slug}`")
    sealed = sealed_secrets(session, slug)
    opened = ()
    if sealed and not fork:
        opened = repository_secrets(session, slug, ring=load_key_ring(vault, data_dir=data_dir).ring)
    return Tenant(trusted=record.trusted, namespace=record.namespace,
                  secrets=secrets_for_build(opened, pull_request=event == PULL_REQUEST),
                  own_secrets=frozenset(secret.name for secret in sealed), registered=True)
