"""The queue bench runs end to end: `bench/queue_bench.py --quick` exits 0 and prints its four figures.

Only that it ran is checked: the figures themselves depend on the machine and are never asserted.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ROOT

FIGURES = ("1. enqueue rate:", "2. first-pod latency", "3. running stages per worker:", "4. API requests per step:")


@pytest.mark.timeout(600)
def test_the_quick_queue_bench_exits_cleanly_and_prints_its_four_figures():
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "queue_bench.py"), "--quick"], cwd=ROOT,
                          capture_output=True, text=True, timeout=540, check=False)
    assert done.returncode == 0, done.stdout + done.stderr[-4000:]
    lines = done.stdout.splitlines()
    for figure in FIGURES:
        assert any(line.startswith(figure) for line in lines), f"no {figure!r} line in:\n{done.stdout}"
    assert "FAILED" not in done.stdout
