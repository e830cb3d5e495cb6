"""`GET /metrics` over a real Redis and a real SQLite store: counts from separate processes add up in one scrape, the
database's gauges, queue depths of messages a real Celery app sent, step durations observed once however often a
stage is advanced, and a Redis that does not answer.

Redis is 127.0.0.1:6379 database 14 when it answers, else an embedded one. Each test counts under label values, a
queue name or a key prefix of its own, and deletes only what it wrote: never FLUSHALL or FLUSHDB.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from pipeline_queue import broker, keys, metrics
from pipeline_queue.compiler import StagePlan
from pipeline_queue.producer.submit import BuildEvent, submit_text
from pipeline_queue.reconcile.apply import Applier, StageContext
from pipeline_queue.reconcile.service import advance_stage
from pipeline_queue.reconcile.state import Decision, RecordStep
from pipeline_queue.server.app import create_app
from pipeline_queue.server.services import Services
from pipeline_queue.settings import PathsConfig, RunConfig, Settings
from pipeline_queue.store import get_build, get_stage
from pipeline_queue.store.counts import StatusCounts
from pipeline_queue.vocabulary import Status
from tests.conftest import ROOT
from tests.kube import conftest as development_cluster
from workers.app import make_app
from workers.enqueue import enqueue_advance
from workers.routing import ADVANCE_TASK

UNREACHABLE = "redis://10.255.255.1:6379/0"
"""A non-routed address: a connection there either fails at once or waits out the client's timeout."""
REFUSED = "redis://127.0.0.1:1/0"
KOMBU_PRIORITY_SEPARATOR = "\x06\x16"
"""How kombu's Redis transport names a queue's list of priority N: `<queue>\\x06\\x16<N>` (written out here, apart
from the product, as the oracle)."""


cluster, kube, namespace = development_cluster.cluster, development_cluster.kube, development_cluster.namespace
"""The development cluster's fixtures of tests/kube (one node, a namespace per test), shared, not written again."""


def pipeline(*commands: str) -> str:
    """A pipeline of one step per command (`step-1`, `step-2`, ...), each in alpine."""
    steps = "".join(f"- name: step-{number}\n  image: alpine:3.19\n  commands: [{command}]\n"
                    for number, command in enumerate(commands, start=1))
    return f"kind: pipeline\ntype: kubernetes\nname: default\nsteps:\n{steps}"


@pytest.fixture
def client(redis_url: str) -> Iterator[broker.RedisClient]:
    redis = broker.redis_client(redis_url)
    yield redis
    redis.close()


@pytest.fixture
def unique() -> str:
    return f"pq-test-{uuid.uuid4().hex[:12]}"


@pytest.fixture(autouse=True)
def no_sink() -> Iterator[None]:
    """This process counts nowhere unless a test configures it, and nowhere again afterwards."""
    metrics.configure(None)
    yield
    metrics.configure(None)


@pytest.fixture
def settings(tmp_path: Path, unique: str) -> Settings:
    """A control queue of the test's own, so that depths count only its messages."""
    return Settings.from_env({"PQ_DATA_DIR": str(tmp_path / "data"), "PQ_CONTROL_QUEUE": unique})


def scrape(settings: Settings, sessions, url: str) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """GET /metrics of the real app, parsed: sample name -> sorted labels -> value."""
    services = Services(settings=settings, sessions=sessions, send=list().extend, broker_url=url)
    with TestClient(create_app(services)) as http:
        response = http.get("/metrics")
    assert response.status_code == 200
    content_type = response.headers["content-type"]
    assert content_type.startswith("text/plain; version=") and content_type.endswith("charset=utf-8")
    samples: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return samples


def count_in_a_process(url: str, *lines: str) -> subprocess.Popen[str]:
    """A separate Python process that configures metrics to `url` and runs `lines`."""
    code = "from pipeline_queue import metrics\n" + f"metrics.configure({url!r})\n" + "\n".join(lines)
    return subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)


def forget_fields(client, name: str, marker: str, *, prefix: str = keys.DEFAULT_PREFIX) -> None:
    key = metrics.METRIC_KEY.format(prefix=prefix, name=name)
    fields = [field for field in client.hkeys(key) if marker in field.decode()]
    if fields:
        client.hdel(key, *fields)


def test_counts_made_in_two_processes_add_up_in_one_scrape(settings, sessions, redis_url, client, unique):
    try:
        first = count_in_a_process(
            redis_url,
            f"metrics.count_delivery(provider={unique!r}, result='accepted')",
            f"metrics.count_delivery(provider={unique!r}, result='accepted')",
            f"metrics.count_finding(kind='risk', action={unique!r})",
        )
        second = count_in_a_process(
            redis_url,
            f"metrics.count_delivery(provider={unique!r}, result='accepted')",
            f"metrics.count_delivery(provider={unique!r}, result='bad_signature')",
            f"metrics.count_finding(kind='risk', action={unique!r})",
        )
        for process in (first, second):
            output, _ = process.communicate(timeout=30)
            assert process.returncode == 0, output
        samples = scrape(settings, sessions, redis_url)
    finally:
        forget_fields(client, metrics.WEBHOOK_DELIVERIES.name, unique)
        forget_fields(client, metrics.CACHE_FINDINGS.name, unique)
    deliveries = samples["pq_webhook_deliveries_total"]
    assert deliveries[(("provider", unique), ("result", "accepted"))] == 3
    assert deliveries[(("provider", unique), ("result", "bad_signature"))] == 1
    assert samples["pq_cache_findings_total"][(("action", unique), ("kind", "risk"))] == 2
    assert samples["pq_metrics_redis_up"] == {(): 1}


def test_build_and_step_gauges_count_what_the_producer_stored(settings, sessions, redis_url):
    for commit in ("a" * 40, "b" * 40):
        submit_text(pipeline("echo building", "echo testing"), filename=".drone.yml",
                    event=BuildEvent(repo="octo/app", branch="main", commit=commit), settings=settings,
                    sessions=sessions, send=list().extend)
    samples = scrape(settings, sessions, redis_url)
    builds = {dict(labels)["status"]: value for labels, value in samples["pq_builds"].items()}
    steps = {dict(labels)["status"]: value for labels, value in samples["pq_steps"].items()}
    assert builds == {status.value: 2 if status is Status.PENDING else 0 for status in Status}
    assert steps == {status.value: 4 if status is Status.PENDING else 0 for status in Status}


def test_queue_depth_counts_what_waits_in_each_queue_and_its_priority_lists(settings, sessions, redis_url, client,
                                                                            unique):
    sender = make_app(settings, broker_url=redis_url)
    before = set(client.scan_iter())
    try:
        assert enqueue_advance(sender, [1, 2]) == 2
        with sender.producer_or_acquire() as producer:
            sender.send_task(ADVANCE_TASK, args=(3,), priority=9, producer=producer)
        # What kombu wrote, read without the product: two messages in the queue's list, one in its priority-9 list.
        assert (client.llen(unique), client.llen(f"{unique}{KOMBU_PRIORITY_SEPARATOR}9")) == (2, 1)
        samples = scrape(settings, sessions, redis_url)
    finally:
        sender.close()
        # The queue's lists and the bindings kombu declared on the way (only those this test created).
        created = [key for key in set(client.scan_iter()) - before
                   if unique in key.decode() or key.startswith(b"_kombu.binding")]
        if created:
            client.delete(*created)
    depths = {dict(labels)["queue"]: value for labels, value in samples["pq_queue_depth"].items()}
    assert set(depths) == {unique, "default", "cache"}
    assert depths[unique] == 3


def test_counting_into_a_redis_that_does_not_answer_neither_raises_nor_holds_the_caller(caplog):
    metrics.configure(UNREACHABLE)
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="pipeline_queue.metrics"):
        for _ in range(50):
            metrics.count_delivery(provider="github", result="accepted")
            metrics.count_finding(kind="leak", action="recorded")
    assert time.monotonic() - started < metrics.TIMEOUT * 3  # one attempt, then a pause: never 100 timeouts
    warnings = [record for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 1 and "counts are dropped" in warnings[0].getMessage()


def test_a_scrape_without_redis_still_shows_the_database(settings, sessions):
    samples = scrape(settings, sessions, REFUSED)
    assert samples["pq_metrics_redis_up"] == {(): 0}
    assert samples["pq_builds"][(("status", "pending"),)] == 0
    assert "pq_queue_depth" not in samples and "pq_webhook_deliveries_total" not in samples


# -- step durations, through the real reconcile on the development cluster ------------------------------------


@pytest.fixture
def run_settings(namespace: str, tmp_path: Path) -> Settings:
    """The stage's pods in a namespace of the test's own."""
    return Settings(run=RunConfig(namespace=namespace), paths=PathsConfig(data_dir=tmp_path / "data"))


def test_a_step_s_duration_is_observed_once_however_often_its_stage_is_advanced(kube, run_settings, sessions,
                                                                                redis_url, client, unique):
    prefix = f"{unique}:"
    metrics.configure(redis_url, prefix=prefix)
    stage_ids: list[int] = []
    submit_text(pipeline("echo building", "exit 3"), filename=".drone.yml",
                event=BuildEvent(repo="octo/app", branch="main", commit="c" * 40), settings=run_settings,
                sessions=sessions, send=stage_ids.extend)

    def advance_until_finished() -> None:
        deadline = time.monotonic() + 30
        while not advance_stage(stage_ids[0], sessions=sessions, kube=kube, settings=run_settings).finished:
            assert time.monotonic() < deadline, "the stage did not finish in 30s"
            time.sleep(0.05)
        advance_stage(stage_ids[0], sessions=sessions, kube=kube, settings=run_settings)  # a late, repeated one

    try:
        with ThreadPoolExecutor(max_workers=2) as pool:  # two workers racing on one stage
            for advancing in [pool.submit(advance_until_finished) for _ in range(2)]:
                advancing.result(timeout=60)
        with sessions() as session:
            reading = metrics.read(redis=client, session=session, queues={}, prefix=prefix)
    finally:
        client.delete(metrics.METRIC_KEY.format(prefix=prefix, name=metrics.STEP_DURATION.name))
    samples = {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
               for family in text_string_to_metric_families(metrics.exposition(reading).decode())
               for sample in family.samples}
    for status in ("success", "failure"):
        assert samples[("pq_step_duration_seconds_count", (("status", status),))] == 1
        assert samples[("pq_step_duration_seconds_bucket", (("le", "+Inf"), ("status", status)))] == 1
        assert 0 <= samples[("pq_step_duration_seconds_sum", (("status", status),))] < 30
    assert samples[("pq_steps", (("status", "success"),))] == 1
    assert samples[("pq_steps", (("status", "failure"),))] == 1


def test_one_decision_applied_twice_observes_its_step_once_with_its_duration(kube, run_settings, sessions,
                                                                               redis_url, client, unique):
    """Two workers that read the stage alike apply the same decision: only the one whose update moved the step
    observes it."""
    prefix = f"{unique}:"
    metrics.configure(redis_url, prefix=prefix)
    stage_ids: list[int] = []
    submit_text(pipeline("echo building"), filename=".drone.yml", event=BuildEvent(repo="octo/app", commit="d" * 40),
                settings=run_settings, sessions=sessions, send=stage_ids.extend)
    with sessions.begin() as session:
        stage = get_stage(session, stage_ids[0])
        build = get_build(session, stage.build_id).build
    context = StageContext(stage_id=stage.id, build_id=build.id, repo=build.repo,
                           step_ids={step.name: step.id for step in stage.steps})
    start = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)

    def apply(action: RecordStep, *, at: datetime) -> None:
        Applier(context, plan=StagePlan.from_json(stage.plan), sessions=sessions, kube=kube,
                now=lambda: at).apply(Decision((action,)))

    key = metrics.METRIC_KEY.format(prefix=prefix, name=metrics.STEP_DURATION.name)
    try:
        apply(RecordStep("step-1", Status.RUNNING), at=start)
        for _ in range(2):
            apply(RecordStep("step-1", Status.SUCCESS, exit_code=0), at=start + timedelta(seconds=42))
        stored = {name.decode(): value.decode() for name, value in client.hgetall(key).items()}
    finally:
        client.delete(key)
    assert stored == {'["success"]|sum': "42", '["success"]|le=60.0': "1"}


def test_a_histogram_s_buckets_add_up_what_fell_at_or_under_each_bound(redis_url, client, unique):
    prefix = f"{unique}:"
    metrics.configure(redis_url, prefix=prefix)
    key = metrics.METRIC_KEY.format(prefix=prefix, name=metrics.STEP_DURATION.name)
    start = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    try:
        for seconds in (0.5, 4, 4, 3600, 7200):
            metrics.observe_step(status="success", started=start, finished=start + timedelta(seconds=seconds))
        metrics.observe_step(status="error", started=None, finished=start)  # never started: no duration
        stored = {name.decode(): value.decode() for name, value in client.hgetall(key).items()}
    finally:
        client.delete(key)
    reading = metrics.Reading(counts=StatusCounts(builds={}, steps={}), stored={metrics.STEP_DURATION.name: stored},
                              depths={})
    (family,) = [family for family in metrics.families(reading) if family.name == metrics.STEP_DURATION.name]
    buckets = {sample.labels["le"]: sample.value for sample in family.samples if sample.name.endswith("_bucket")}
    assert buckets == {"1.0": 1, "5.0": 3, "15.0": 3, "30.0": 3, "60.0": 3, "120.0": 3, "300.0": 3, "600.0": 3,
                       "1800.0": 3, "3600.0": 4, "+Inf": 5}
    assert {sample.labels["status"] for sample in family.samples} == {"success"}
    assert next(sample.value for sample in family.samples if sample.name.endswith("_sum")) == 10808.5

