"""Repository secrets at rest: sealed with AES-256-GCM, bound to their row, under keys that can be rotated.

`cipher` is the pure crypto (no I/O), `keys` where the keys come from (`PQ_SECRET_KEY` or the data directory's key
file); `repository` (what the worker, the producer and the command line read and write) and `rotation` (re-sealing
every value under a new key) work on the store and are imported from their modules, so that importing the cipher
loads no database library.
"""

from pipeline_queue.vault.cipher import Binding, KeyRing, decrypt, encrypt, secret_binding, webhook_binding
from pipeline_queue.vault.keys import KEY_FILE, KeySource, load_key_ring, rotation_ring

__all__ = [
    "KEY_FILE",
    "Binding",
    "KeyRing",
    "KeySource",
    "decrypt",
    "encrypt",
    "load_key_ring",
    "rotation_ring",
    "secret_binding",
    "webhook_binding",
]
