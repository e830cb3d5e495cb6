"""Benchmark of the webhook receiver: `pipeline-queue serve` as a process, GitHub push deliveries signed and sent
over HTTP, each read from a local bare repository with git, stored and enqueued (no worker consumes them).

Prints the answer latency (p50, p99) of deliveries sent at a steady `--rate` per second for `--seconds`, the most
deliveries per second `--clients` concurrent senders get answered, and, measured in the same run as baselines,
the latency of `GET /healthz` (the HTTP stack alone) and of a signed `ping` (signature and database lookup, no
git, no build). Redis is `--redis-url`, else 127.0.0.1:6379 database 12 when it answers, else an embedded one;
the database is SQLite in a temporary directory.

    .venv/bin/python bench/webhook_bench.py [--rate 20] [--seconds 10] [--clients 8] [--redis-url URL]
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline_queue import broker  # noqa: E402
from pipeline_queue.vocabulary import QUEUE_NAMES  # noqa: E402
from tests.scm.local_git import make_repository  # noqa: E402
from tests.server.hook_support import headers, payload  # noqa: E402

SHARED = "redis://127.0.0.1:6379/12"
PIPELINE = ("kind: pipeline\ntype: kubernetes\nname: ci\nsteps:\n"
            "- name: test\n  image: alpine:3.19\n  commands: [true]\n")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def redis_url(given: str, folder: Path) -> str:
    if given:
        return given
    try:
        broker.redis_client(SHARED, quick=True).ping()
        return SHARED
    except Exception:  # not answering: use an embedded one
        return broker.ensure_embedded(folder / "redis")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "pipeline_queue", *args], env=env, capture_output=True, text=True,
                          check=True, timeout=120)
    return done.stdout


def timed(client: httpx.Client, method: str, url: str, **options: object) -> tuple[float, int]:
    started = time.perf_counter()
    answer = client.request(method, url, **options)  # type: ignore[arg-type]
    return (time.perf_counter() - started) * 1000, answer.status_code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--redis-url", default="")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        run(options, Path(folder))


def run(options: argparse.Namespace, folder: Path) -> None:
    url_of_redis = redis_url(options.redis_url, folder)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PQ_") and k not in ("KUBECONFIG", "DATABASE_URL")}
    env.update(PQ_DATA_DIR=str(folder / "data"), REDIS_URL=url_of_redis, PYTHONPATH=str(ROOT),
               DATABASE_URL=f"sqlite:///{folder / 'data' / 'bench.db'}")
    (folder / "data").mkdir()
    subprocess.run([sys.executable, "-c", "import sys; from pipeline_queue import store; store.migrate(sys.argv[1])",
                    env["DATABASE_URL"]], env=env, check=True)
    repository = make_repository(folder / "repo")
    commit = repository.commit({".drone.yml": PIPELINE})
    added = cli(env, "repo", "add", "bench/app", "--clone-url", repository.url)
    found = re.search(r"webhook secret: (\S+)", added)
    assert found is not None, added
    secret = found.group(1)
    server = subprocess.Popen([sys.executable, "-m", "pipeline_queue", "serve", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=(folder / "serve.log").open("w"),
                              start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(timeout=30, limits=httpx.Limits(max_connections=64)) as client:
            wait_until_serving(client, base, server)
            report(client, base, secret=secret, commit=commit, options=options)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
        if url_of_redis == SHARED:  # the bench's database: drop the messages no worker took
            shared = broker.redis_client(SHARED)
            shared.delete(*QUEUE_NAMES, *shared.keys("_kombu.binding.*"))


def wait_until_serving(client: httpx.Client, base: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("serve exited before it answered")
        try:
            if client.get(f"{base}/healthz").status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise SystemExit("serve did not answer within 60 s")


def delivery(secret: str, commit: str, kind: str = "push") -> tuple[bytes, dict[str, str]]:
    body = payload("github", kind, repo="bench/app", commit=commit,
                   changes={"ref": "refs/heads/main"} if kind == "push" else None)
    return body, headers("github", kind, body, secret=secret, delivery=str(uuid.uuid4()))


def report(client: httpx.Client, base: str, *, secret: str, commit: str, options: argparse.Namespace) -> None:
    health = [timed(client, "GET", f"{base}/healthz")[0] for _ in range(200)]
    pings = []
    for _ in range(100):
        body, sent = delivery(secret, commit, "ping")
        pings.append(timed(client, "POST", f"{base}/hook", content=body, headers=sent)[0])
    steady, failures = paced(client, base, secret=secret, commit=commit, rate=options.rate, seconds=options.seconds)
    count, elapsed, busy_failures = flooded(client, base, secret=secret, commit=commit, clients=options.clients,
                                            seconds=options.seconds)
    print(f"baseline GET /healthz        p50 {statistics.median(health):7.1f} ms  "
          f"p99 {percentile(health, .99):7.1f} ms")
    print(f"baseline signed ping         p50 {statistics.median(pings):7.1f} ms  p99 {percentile(pings, .99):7.1f} ms")
    print(f"push at {options.rate:g}/s for {options.seconds:g} s     p50 {statistics.median(steady):7.1f} ms  "
          f"p99 {percentile(steady, .99):7.1f} ms  ({len(steady)} deliveries, {failures} not 200; "
          f"p50 {statistics.median(steady) / statistics.median(pings):.1f}x the ping's)")
    print(f"most deliveries per second   {count / elapsed:7.1f}/s with {options.clients} clients "
          f"({count} in {elapsed:.1f} s, {busy_failures} not 200); each reads the file with git, stores, enqueues")


def paced(client: httpx.Client, base: str, *, secret: str, commit: str, rate: float,
          seconds: float) -> tuple[list[float], int]:
    total = int(rate * seconds)
    start = time.perf_counter()

    def send(number: int) -> tuple[float, int]:
        delay = start + number / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        body, sent = delivery(secret, commit)
        return timed(client, "POST", f"{base}/hook", content=body, headers=sent)

    with ThreadPoolExecutor(max_workers=64) as pool:
        results = list(pool.map(send, range(total)))
    return [latency for latency, _ in results], sum(1 for _, status in results if status != 200)


def flooded(client: httpx.Client, base: str, *, secret: str, commit: str, clients: int,
            seconds: float) -> tuple[int, float, int]:
    deadline = time.perf_counter() + seconds

    def sender(_: int) -> tuple[int, int]:
        sent_count = failed = 0
        while time.perf_counter() < deadline:
            body, sent = delivery(secret, commit)
            status = timed(client, "POST", f"{base}/hook", content=body, headers=sent)[1]
            sent_count += 1
            failed += status != 200
        return sent_count, failed

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        results = list(pool.map(sender, range(clients)))
    elapsed = time.perf_counter() - started
    return sum(count for count, _ in results), elapsed, sum(failed for _, failed in results)


if __name__ == "__main__":
    main()
