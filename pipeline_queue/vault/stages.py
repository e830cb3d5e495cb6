"""A stage's Secrets, sealed by the producer with its plan and opened by the worker that starts the stage.

The Secrets are the compiler's (`CompiledStage.secrets`: the stage's env Secret and its pull Secrets), as JSON,
bound to the stage's key: a row copied to another stage does not open.
"""

from __future__ import annotations

import json
from typing import Any

from pipeline_queue.errors import VaultError
from pipeline_queue.vault.cipher import KeyRing, decrypt, encrypt, stage_binding


def seal_stage(ring: KeyRing, stage_key: str, secrets: tuple[dict[str, Any], ...]) -> bytes:
    """The ciphertext of the stage's Secrets (Kubernetes objects with their values)."""
    return encrypt(ring, json.dumps(list(secrets), separators=(",", ":")).encode(), stage_binding(stage_key))


def open_stage(ring: KeyRing, stage_key: str, sealed: bytes) -> tuple[dict[str, Any], ...]:
    """The stage's Secrets from what `seal_stage` sealed; VaultError if they do not open."""
    plaintext = decrypt(ring, sealed, stage_binding(stage_key))
    try:
        objects = json.loads(plaintext)
    except ValueError:
        raise VaultError(f"the Secrets of stage {stage_key} are not what pipeline-queue seals") from None
    if not isinstance(objects, list) or not all(isinstance(obj, dict) for obj in objects):
        raise VaultError(f"the Secrets of stage {stage_key} are not what pipeline-queue seals")
    return tuple(objects)
