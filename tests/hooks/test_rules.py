"""The rules every host shares: refs, all-zeros ids and Drone's skip directives."""

from __future__ import annotations

import pytest

from pipeline_queue.hooks import EventKind
from pipeline_queue.hooks.rules import is_word, is_zero, ref_kind, skip_directive, trim_ref, word


@pytest.mark.parametrize(("sha", "zero"), [
    ("0" * 40, True), ("0" * 64, True), ("", False), ("0" * 39 + "1", False), ("199eddf4", False),
])
def test_is_zero(sha: str, zero: bool):
    assert is_zero(sha) is zero


@pytest.mark.parametrize(("ref", "kind"), [
    ("refs/heads/main", EventKind.PUSH), ("refs/heads/feature/x", EventKind.PUSH), ("refs/tags/v1", EventKind.TAG),
    ("refs/heads/", None), ("refs/tags/", None), ("refs/notes/commits", None), ("refs/pull/1/head", None),
    ("main", None),
])
def test_ref_kind(ref: str, kind: EventKind | None):
    assert ref_kind(ref) == kind


def test_trim_ref():
    assert [trim_ref(ref) for ref in ("refs/heads/feature/x", "refs/tags/v1", "main")] == ["feature/x", "v1", "main"]


@pytest.mark.parametrize(("texts", "directive"), [
    (("fix [skip ci]",), "[skip ci]"), (("[CI SKIP] docs",), "[ci skip]"), (("***NO_CI***",), "***no_ci***"),
    (("Skip CI please",), ""), (("[skip-ci]",), ""), (("title", "body [Skip Ci]"), "[skip ci]"), ((), ""),
])
def test_skip_directive_follows_drone(texts: tuple[str, ...], directive: str):
    assert skip_directive(*texts) == directive


@pytest.mark.parametrize(("text", "plain"), [
    ("push", True), ("Merge Request Hook", True), ("pull_request_review", True), ("", False), ("<b>", False),
    ("a" * 41, False), ("x\ny", False),
])
def test_only_plain_words_are_repeated(text: str, plain: bool):
    assert is_word(text) is plain
    assert word(text) == (f" '{text}'" if plain else "")
