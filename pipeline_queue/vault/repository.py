"""A repository's secrets as the worker, the producer and the command line use them: opened or sealed with a key ring.

The worker publishes a stage's Secrets from `repository_secrets` at stage start, narrowed by `secrets_for_build`
(a pull-request build gets only the secrets that allow it, as in Drone); the producer checks webhook signatures with
`webhook_secret`. Values exist in the clear only in what these functions return, and never in a `repr`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from pipeline_queue.errors import VaultError
from pipeline_queue.store import SealedSecret, sealed_secrets, sealed_webhook_secret
from pipeline_queue.vault.cipher import KeyRing, decrypt, encrypt, secret_binding, webhook_binding


@dataclass(frozen=True)
class OpenedSecret:
    """One repository secret in the clear, with Drone's pull-request flag."""

    name: str
    value: str = field(repr=False)
    allow_pull_request: bool


def repository_secrets(session: Session, repo: str, *, ring: KeyRing) -> tuple[OpenedSecret, ...]:
    """Every secret of `repo` opened, by name; none for a repository nobody registered. VaultError if one does not
    open (a wrong key, a value moved to another row): a build must not run with a secret silently missing."""
    return tuple(_opened(ring, sealed) for sealed in sealed_secrets(session, repo))


def secrets_for_build(secrets: Iterable[OpenedSecret], *, pull_request: bool) -> dict[str, str]:
    """Name to value, as the compiler's `BuildContext.secrets` takes them; a pull request gets only those that allow
    it."""
    return {secret.name: secret.value for secret in secrets if secret.allow_pull_request or not pull_request}


def webhook_secret(session: Session, repo: str, *, ring: KeyRing) -> str | None:
    """The webhook secret of a registered repository in the clear; None if it has none."""
    sealed = sealed_webhook_secret(session, repo)
    if sealed is None:
        return None
    return _text(decrypt(ring, sealed.ciphertext, webhook_binding(sealed.repo)))


def seal_secret(ring: KeyRing, repo: str, name: str, value: str) -> bytes:
    """The ciphertext of secret `name` of `repo` to store (`store.put_secret`)."""
    return encrypt(ring, value.encode(), secret_binding(repo, name))


def seal_webhook_secret(ring: KeyRing, repo: str, value: str) -> bytes:
    """The ciphertext of the webhook secret of `repo` to store (`store.add_repository`, `update_repository`)."""
    return encrypt(ring, value.encode(), webhook_binding(repo))


def _opened(ring: KeyRing, sealed: SealedSecret) -> OpenedSecret:
    plaintext = decrypt(ring, sealed.ciphertext, secret_binding(sealed.repo, sealed.name))
    return OpenedSecret(name=sealed.name, value=_text(plaintext), allow_pull_request=sealed.allow_pull_request)


def _text(plaintext: bytes) -> str:
    try:
        return plaintext.decode()
    except UnicodeDecodeError:
        # Only values sealed by this module are stored, and they are UTF-8: this one was not written by it.
        raise VaultError("a stored secret is not UTF-8 text: it was not written by pipeline-queue") from None
