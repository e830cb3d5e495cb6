"""The Celery app's configuration, as the queue issue asks for it."""

from __future__ import annotations

import subprocess
import sys

from pipeline_queue.settings import Settings
from workers.app import VISIBILITY_TIMEOUT, make_app
from workers.tasks import MAX_COUNTDOWN, bounded_countdown

BROKER = "redis://broker.invalid:6379/3"


def app_for(**environ: str):
    return make_app(Settings.from_env(environ), broker_url=BROKER)


def test_json_only_and_no_results() -> None:
    conf = app_for().conf
    assert conf.task_serializer == "json"
    assert conf.result_serializer == "json"
    assert list(conf.accept_content) == ["json"]
    assert conf.task_ignore_result is True
    assert conf.result_backend is None


def test_a_killed_worker_gives_its_task_back() -> None:
    conf = app_for().conf
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1


def test_visibility_timeout_outlasts_every_countdown() -> None:
    conf = app_for().conf
    assert conf.broker_url == BROKER
    assert conf.broker_transport_options["visibility_timeout"] == VISIBILITY_TIMEOUT == 3600
    assert MAX_COUNTDOWN < VISIBILITY_TIMEOUT
    assert bounded_countdown(10_000) == MAX_COUNTDOWN
    assert bounded_countdown(-3) == 0.0
    assert bounded_countdown(2.5) == 2.5


def test_named_queues_and_routes() -> None:
    app = app_for()
    assert [queue.name for queue in app.conf.task_queues] == ["control", "default", "cache"]
    assert app.conf.task_default_queue == "default"
    router = app.amqp.router
    assert router.route({}, "pq.advance")["queue"].name == "control"
    assert router.route({}, "pq.resync")["queue"].name == "default"
    assert router.route({}, "pq.cache.sweep")["queue"].name == "cache"


def test_the_control_queue_takes_its_name_from_the_settings() -> None:
    app = app_for(PQ_CONTROL_QUEUE="ci-control")
    assert next(queue.name for queue in app.conf.task_queues) == "ci-control"
    assert app.amqp.router.route({}, "pq.advance")["queue"].name == "ci-control"


def test_beat_resyncs_every_minute() -> None:
    schedule = app_for().conf.beat_schedule
    assert schedule["resync"]["task"] == "pq.resync"
    assert schedule["resync"]["schedule"] == 60.0


def test_the_worker_app_has_the_tasks_under_their_names_and_a_sender_has_none() -> None:
    import workers.tasks  # noqa: F401 - defines the tasks on the worker app
    from workers.app import app

    assert {"pq.advance", "pq.resync", "pq.cache.sweep"} <= set(app.tasks)
    assert not {"pq.advance", "pq.resync", "pq.cache.sweep"} & set(app_for().tasks)


def test_overrides_merge_into_transport_options() -> None:
    app = make_app(Settings(), broker_url=BROKER, overrides={"broker_transport_options": {"visibility_timeout": 2}})
    assert app.conf.broker_transport_options == {"visibility_timeout": 2}
    assert app.conf.task_acks_late is True


def test_importing_the_app_module_starts_no_redis_and_imports_no_task(tmp_path) -> None:
    code = (
        "import sys, workers.app as m; "
        "assert 'workers.tasks' not in sys.modules; "
        "assert 'pipeline_queue.reconcile.service' not in sys.modules"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                            env={"PQ_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}, check=False)
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "redis.json").exists()
