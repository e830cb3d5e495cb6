"""Secret values are masked out of step logs."""

from __future__ import annotations

import base64
import json

from pipeline_queue.reconcile.masking import MASK, mask, secret_values


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_values_of_opaque_and_pull_secrets_are_found():
    opaque = {"data": {"token": b64("t0ken"), "empty": b64("  ")}}
    config = json.dumps({"auths": {"r.example.com": {"username": "bob", "password": "pw1", "auth": b64("bob:pw1")}}})
    pull = {"data": {".dockerconfigjson": b64(config)}}
    assert secret_values(opaque) == ["t0ken"]
    assert sorted(secret_values(pull)) == sorted(["pw1", b64("bob:pw1")])


def test_mask_replaces_longest_values_first_and_each_line_of_multiline_ones():
    assert mask("token=abc123 short=abc", ["abc", "abc123"]) == f"token={MASK} short={MASK}"
    assert mask("line one\nkey: -----BEGIN\n", ["-----BEGIN\nrest"]) == f"line one\nkey: {MASK}\n"
