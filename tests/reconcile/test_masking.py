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
    assert mask("token=abcd1234 short=abcd", ["abcd", "abcd1234"]) == f"token={MASK} short={MASK}"
    assert mask("line one\nkey: -----BEGIN\n", ["-----BEGIN\nrest"]) == f"line one\nkey: {MASK}\n"


def test_values_shorter_than_four_characters_are_not_masked():
    assert mask("the cat sat", ["cat", "at"]) == "the cat sat"
    assert mask("pin 1234", ["1234"]) == f"pin {MASK}"


def test_a_value_is_masked_base64_encoded_and_json_escaped_too():
    value = 'pa"ss\\wörd\nline-two'
    text = "\n".join([value, b64(value), json.dumps({"v": value}), json.dumps({"v": value}, ensure_ascii=False)])
    masked = mask(text, [value])
    for form in (value, b64(value), json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1]):
        assert form not in masked
    assert "line-two" not in masked
