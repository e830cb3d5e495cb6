"""Fixtures of the server's tests: a Redis of their own database (or an embedded one)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pipeline_queue import broker

SHARED = "redis://127.0.0.1:6379/14"
"""The shared server's database for these tests, when it answers; tests delete only the keys they wrote."""


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    probe = broker.counting_client(SHARED, timeout=0.5)
    try:
        shared = bool(probe.ping())
    except broker.RedisError:
        shared = False
    probe.close()
    if shared:
        yield SHARED
        return
    folder = tmp_path_factory.mktemp("metrics-redis")
    yield broker.ensure_embedded(folder)
    broker.stop(data_dir=folder)
