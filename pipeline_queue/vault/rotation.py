"""Key rotation: every stored value opened with any key of the ring and sealed again with its first.

Run in one transaction after the new key is in place (the key file holds it first and the old keys after it, or
`PQ_SECRET_KEY` lists it first), so every value opens before, during and after the rotation.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from pipeline_queue.store import (
    all_sealed_secrets,
    all_sealed_webhook_secrets,
    reseal_secret,
    reseal_webhook_secret,
)
from pipeline_queue.vault.cipher import KeyRing, reseal, secret_binding, webhook_binding


@dataclass(frozen=True)
class Resealed:
    """How many values `reseal_all` sealed again under the new key."""

    secrets: int
    webhook_secrets: int


def reseal_all(session: Session, ring: KeyRing) -> Resealed:
    """Seal every secret and webhook secret again under the ring's first key, in the caller's transaction.

    A value that does not open raises VaultError naming its row, and the caller's rollback leaves every value as it
    was. A value replaced meanwhile by another writer is left as that writer sealed it (with a key of the ring).
    """
    secrets = sum(
        reseal_secret(session, sealed, reseal(ring, sealed.ciphertext, secret_binding(sealed.repo, sealed.name)))
        for sealed in all_sealed_secrets(session)
    )
    webhooks = sum(
        reseal_webhook_secret(session, sealed, reseal(ring, sealed.ciphertext, webhook_binding(sealed.repo)))
        for sealed in all_sealed_webhook_secrets(session)
    )
    return Resealed(secrets=secrets, webhook_secrets=webhooks)
