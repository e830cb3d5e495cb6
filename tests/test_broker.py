"""Which Redis the queue uses: REDIS_URL as given, else one embedded server per data directory."""

from __future__ import annotations

import json
from pathlib import Path

import redis

from pipeline_queue import broker
from pipeline_queue.settings import Settings


def test_redis_url_is_used_as_given_and_nothing_starts(tmp_path: Path) -> None:
    settings = Settings.from_env({"REDIS_URL": "redis://cache.internal:6380/2"})
    assert broker.redis_url_for(settings, data_dir=tmp_path) == "redis://cache.internal:6380/2"
    assert not (tmp_path / broker.RECORD_FILE).exists()


def test_embedded_redis_starts_once_per_data_dir_and_stops(tmp_path: Path) -> None:
    try:
        url = broker.redis_url_for(Settings(), data_dir=tmp_path)
        record = json.loads((tmp_path / broker.RECORD_FILE).read_text())
        assert url == record["url"] == f"redis+socket://{record['socket']}"
        assert (Path(record["socket"]).stat().st_mode & 0o777) == 0o700
        client = redis.Redis(unix_socket_path=record["socket"])
        client.set("pq-test:kept", "1")
        assert broker.redis_url_for(Settings(), data_dir=tmp_path) == url  # found, not started again
        assert client.info("server")["process_id"] == record["pid"]
        client.close()
    finally:
        stopped = broker.stop(data_dir=tmp_path)
    assert stopped
    assert not (tmp_path / broker.RECORD_FILE).exists()
    assert broker.stop(data_dir=tmp_path) is False
