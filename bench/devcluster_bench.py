"""Benchmark of the development cluster, through the official client only.

Prints pod create-to-Succeeded round trips per second (one at a time and in
batches), and API requests per second for reads and creates, against a baseline
measured in the same run: a bare HTTP GET of /version on the same server.

    .venv/bin/python bench/devcluster_bench.py [--pods 100] [--seconds 5] [--nodes 2]
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlparse

from kubernetes import client, watch

from pipeline_queue.devcluster.cluster import DevCluster

NAMESPACE = "default"


def pod_body(name: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"bench": "1"}},
        "spec": {
            "restartPolicy": "Never",
            "containers": [{"name": "c", "image": "busybox:1.36", "command": ["true"]}],
        },
    }


def wait_succeeded(core: client.CoreV1Api, names: set[str], since: str, timeout: float = 300) -> None:
    """Watch until every named pod has phase Succeeded (bounded by timeout)."""
    left = set(names)
    deadline = time.monotonic() + timeout
    stream = watch.Watch()
    for event in stream.stream(
        core.list_namespaced_pod, NAMESPACE, label_selector="bench=1", resource_version=since, timeout_seconds=30
    ):
        pod = event["object"]
        if pod.metadata.name in left and pod.status.phase in ("Succeeded", "Failed"):
            left.discard(pod.metadata.name)
        if not left or time.monotonic() > deadline:
            stream.stop()
    if left:
        raise SystemExit(f"bench: {len(left)} pods did not finish")


def round_trips(core: client.CoreV1Api, *, count: int, batch: int, tag: str) -> float:
    """Pods per second from create to Succeeded, `batch` pods in flight at a time."""
    started = time.perf_counter()
    for first in range(0, count, batch):
        since = core.list_namespaced_pod(NAMESPACE, limit=1).metadata.resource_version
        names = {f"{tag}-{i}" for i in range(first, min(first + batch, count))}
        for name in names:
            core.create_namespaced_pod(NAMESPACE, pod_body(name))
        wait_succeeded(core, names, since)
    elapsed = time.perf_counter() - started
    core.delete_collection_namespaced_pod(NAMESPACE, label_selector="bench=1")
    return count / elapsed


def rate(call, *, seconds: float, threads: int) -> tuple[float, float]:
    """Requests per second of `call` over `seconds`, and the median latency in ms."""
    stop = time.monotonic() + seconds
    latencies: list[float] = []
    lock = threading.Lock()

    def loop() -> None:
        mine = []
        while time.monotonic() < stop:
            t0 = time.perf_counter()
            call()
            mine.append(time.perf_counter() - t0)
        with lock:
            latencies.extend(mine)

    with ThreadPoolExecutor(threads) as pool:
        for _ in range(threads):
            pool.submit(loop)
    return len(latencies) / seconds, statistics.median(latencies) * 1000


def bare_get(url: str, token: str) -> None:
    parsed = urlparse(url)
    connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=10)
    connection.request("GET", "/version", headers={"Authorization": f"Bearer {token}"})
    connection.getresponse().read()
    connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--nodes", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, DevCluster(
        nodes=args.nodes, data_dir=Path(folder), kubeconfig=Path(folder) / "kubeconfig"
    ) as cluster:
        core = client.CoreV1Api(cluster.api_client())
        core.create_namespaced_pod(NAMESPACE, {**pod_body("warm"), "metadata": {"name": "warm"}})
        serial = round_trips(core, count=max(10, args.pods // 5), batch=1, tag="serial")
        batched = round_trips(core, count=args.pods, batch=25, tag="batch")
        baseline, baseline_ms = rate(lambda: bare_get(cluster.url, cluster.token), seconds=args.seconds, threads=4)
        reads, reads_ms = rate(lambda: core.read_namespaced_pod("warm", NAMESPACE), seconds=args.seconds, threads=4)
        lists, lists_ms = rate(lambda: core.list_namespaced_pod(NAMESPACE, limit=50), seconds=args.seconds, threads=4)
        counter = iter(range(10**9))
        creates, creates_ms = rate(
            lambda: core.create_namespaced_secret(
                NAMESPACE, {"metadata": {"name": f"s-{next(counter)}"}, "stringData": {"k": "v"}}
            ),
            seconds=args.seconds,
            threads=4,
        )
    print(f"pod create->Succeeded, one at a time : {serial:8.1f} pods/s")
    print(f"pod create->Succeeded, 25 in flight  : {batched:8.1f} pods/s")
    print(f"baseline: bare HTTP GET /version     : {baseline:8.1f} req/s (median {baseline_ms:.2f} ms)")
    print(f"official client GET pod              : {reads:8.1f} req/s (median {reads_ms:.2f} ms, "
          f"{reads / baseline:.2f}x baseline)")
    print(f"official client LIST pods (limit 50) : {lists:8.1f} req/s (median {lists_ms:.2f} ms, "
          f"{lists / baseline:.2f}x baseline)")
    print(f"official client CREATE secret        : {creates:8.1f} req/s (median {creates_ms:.2f} ms, "
          f"{creates / baseline:.2f}x baseline)")


if __name__ == "__main__":
    main()
