"""The host-label globs of the node's keyring, beyond Go's path/filepath match table.

That table (tests/kubelet_vectors.py GLOB_MATCHES, BAD_GLOBS) judges this glob and the product's alike:
tests/test_registry_kubelet_vectors.py (its `devcluster` cases).
"""

from __future__ import annotations

import pytest

from pipeline_queue.devcluster.node.globs import glob_match


@pytest.mark.parametrize(("pattern", "name"), [("*", ""), ("*-good", "prefix-good"), ("k*", "k"), ("[a-c]?", "bz")])
def test_labels_the_keyring_meets(pattern, name):
    assert glob_match(pattern, name)
