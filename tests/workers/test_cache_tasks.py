"""The node-cache task's wiring: registered, scheduled every 30 s, routed to the cache queue, given its Redis."""

from __future__ import annotations

from pathlib import Path

from pipeline_queue.broker import socket_url
from pipeline_queue.settings import Settings
from workers.app import make_app
from workers.cache_tasks import cache_redis, redis_client

BROKER = "redis://broker.invalid:6379/3"


def test_the_sweep_is_registered_scheduled_and_routed_to_the_cache_queue() -> None:
    app = make_app(Settings(), broker_url=BROKER)
    assert "pq.cache.sweep" in app.tasks
    entry = app.conf.beat_schedule["cache-sweep"]
    assert (entry["task"], entry["schedule"], entry["options"]) == ("pq.cache.sweep", 30.0, {"expires": 30.0})
    assert app.amqp.router.route({}, entry["task"])["queue"].name == "cache"


def test_the_sweep_uses_the_redis_of_redis_url() -> None:
    client = cache_redis(Settings.from_env({"REDIS_URL": "redis://cache.invalid:6380/4"}))
    options = client.connection_pool.connection_kwargs
    assert (options["host"], options["port"], options["db"]) == ("cache.invalid", 6380, 4)
    client.close()


def test_the_embedded_redis_socket_url_is_read_as_a_unix_socket(tmp_path: Path) -> None:
    socket = tmp_path / "redis.sock"
    client = redis_client(socket_url(socket))
    assert client.connection_pool.connection_kwargs["path"] == str(socket)
    client.close()
