"""`pipeline-queue serve` as a process: it answers, and SIGTERM stops it cleanly (uvicorn's graceful shutdown)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx

from tests.conftest import ROOT
from tests.polling import wait_for


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def test_serve_answers_and_stops_on_sigterm(tmp_path: Path, redis_url: str) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PQ_") and k not in ("KUBECONFIG", "DATABASE_URL")}
    env.update(PQ_DATA_DIR=str(tmp_path / "data"), REDIS_URL=redis_url, PYTHONPATH=str(ROOT))
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "pipeline_queue", "serve", "--port", str(port)], env=env,
                                   stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for(lambda: _answers(f"http://127.0.0.1:{port}/healthz") or process.poll() is not None,
                 what="serve to answer", timeout=60)
        assert process.poll() is None, log.read_text()
        assert f"serving on http://127.0.0.1:{port}" in log.read_text()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0, log.read_text()
        assert "Finished server process" in log.read_text()
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
