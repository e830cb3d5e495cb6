"""The node-cache task's wiring: defined on the worker app, scheduled every 30 s, routed to the cache queue, given
the Redis of the broker."""

from __future__ import annotations

from pathlib import Path

from pipeline_queue.broker import redis_client, socket_url
from pipeline_queue.settings import Settings
from workers.app import make_app
from workers.resources import WorkerResources, cache_prefix

BROKER = "redis://broker.invalid:6379/3"


def test_the_sweep_is_defined_scheduled_and_routed_to_the_cache_queue() -> None:
    import workers.tasks  # noqa: F401 - defines the tasks on the worker app
    from workers.app import app as worker_app

    assert "pq.cache.sweep" in worker_app.tasks
    app = make_app(Settings(), broker_url=BROKER)
    assert "pq.cache.sweep" not in app.tasks  # a sender sends it by name
    entry = app.conf.beat_schedule["cache-sweep"]
    assert (entry["task"], entry["schedule"], entry["options"]) == ("pq.cache.sweep", 30.0, {"expires": 30.0})
    assert app.amqp.router.route({}, entry["task"])["queue"].name == "cache"


def test_the_sweep_uses_the_redis_of_redis_url() -> None:
    app = make_app(Settings.from_env({"REDIS_URL": "redis://cache.invalid:6380/4"}))
    resources = WorkerResources(app.settings, broker_url=str(app.conf.broker_url), prefix=cache_prefix(app))
    options = resources.redis().connection_pool.connection_kwargs
    assert (options["host"], options["port"], options["db"]) == ("cache.invalid", 6380, 4)
    assert resources.prefix == "pq:"
    resources.close()


def test_the_index_keys_follow_the_broker_key_prefix() -> None:
    app = make_app(Settings(), broker_url=BROKER, overrides={"broker_transport_options": {"global_keyprefix": "t1:"}})
    assert cache_prefix(app) == "t1:pq:"


def test_the_embedded_redis_socket_url_is_read_as_a_unix_socket(tmp_path: Path) -> None:
    socket = tmp_path / "redis.sock"
    client = redis_client(socket_url(socket))
    assert client.connection_pool.connection_kwargs["path"] == str(socket)
    client.close()
