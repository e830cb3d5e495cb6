"""The development cluster stands alone: importing all of it loads nothing of the product but the image grammar."""

from __future__ import annotations

import json
import subprocess
import sys

ALLOWED = {"pipeline_queue", "pipeline_queue.images", "pipeline_queue.errors"}
"""The package itself, the image grammar, and the error tree the grammar raises from."""


def test_importing_the_whole_cluster_loads_only_the_image_grammar_of_the_product():
    code = (
        "import json, sys, pkgutil, importlib\n"
        "import pipeline_queue.devcluster as root\n"
        "for module in pkgutil.walk_packages(root.__path__, root.__name__ + '.'):\n"
        "    importlib.import_module(module.name)\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('pipeline_queue'))))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(json.loads(done.stdout))
    assert {name for name in loaded if not name.startswith("pipeline_queue.devcluster")} <= ALLOWED
    assert "pipeline_queue.devcluster.node.keyring" in loaded
