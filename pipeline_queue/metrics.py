"""pipeline-queue's Prometheus metrics. What a process counts goes to a few Redis hashes, so that the counts of every
worker process add up and outlive a restart; a scrape reads them back with the queue depths and the database's
status counts (`read`), and turns that reading into the text format (`exposition`).

A process sends its counts once `configure`d (a worker pool process after its fork, the server as it starts); one
that never was drops them silently, and one whose Redis does not answer drops them with one warning per outage.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from prometheus_client.exposition import generate_latest
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import CollectorRegistry
from prometheus_client.utils import floatToGoString

from pipeline_queue import keys
from pipeline_queue.broker import RedisClient, RedisError, add_to_hashes, counting_client, list_lengths, read_hashes
from pipeline_queue.store.counts import StatusCounts, status_counts
from pipeline_queue.vocabulary import Status

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

METRIC_KEY = "{prefix}metrics:{name}"
"""HASH, no expiry: one counter or histogram summed over every process. A counter's field is its label values as a
JSON array -> the count; a histogram's fields are that array followed by `|sum` (-> the seconds) or `|le=<bound>`
(-> the observations in that bucket alone; a scrape adds them up into Prometheus's cumulative buckets)."""

TIMEOUT = 0.5
"""Seconds a count waits on Redis before it is dropped: a webhook or an `advance` is never held up longer."""

PAUSE = 30.0
"""Seconds counts are dropped without asking after Redis failed one: an outage costs one TIMEOUT per pause."""


@dataclass(frozen=True)
class Counted:
    """A counter kept in Redis."""

    name: str
    help: str
    labels: tuple[str, ...]


@dataclass(frozen=True)
class Timed:
    """A histogram kept in Redis; `buckets` are its upper bounds, +Inf left out."""

    name: str
    help: str
    labels: tuple[str, ...]
    buckets: tuple[float, ...]


CACHE_FINDINGS = Counted("pq_cache_findings_total", "Cache guard findings recorded, by kind (risk, leak) and action "
                         "(warn, enforce, block; recorded for leaks).", ("kind", "action"))
"""Counted once per finding recorded (a finding seen again by a repeated `advance` is not counted twice)."""

WEBHOOK_DELIVERIES = Counted("pq_webhook_deliveries_total", "Webhook deliveries received, by provider and result.",
                             ("provider", "result"))

STEP_DURATION = Timed("pq_step_duration_seconds", "Seconds from a step's start to its end, by the status it ended "
                      "with.", ("status",), (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600))
"""Observed once per step, when the store records it finished; a step that never started has no duration."""

STORED: tuple[Counted | Timed, ...] = (CACHE_FINDINGS, WEBHOOK_DELIVERIES, STEP_DURATION)


# -- counting, in any process ------------------------------------------------------------------------------


class _Sink:
    """Where this process's counts go: one Redis, left alone for PAUSE seconds each time it fails."""

    def __init__(self, client: RedisClient, *, prefix: str) -> None:
        self.client, self.prefix = client, prefix
        self.paused_until = 0.0
        self.warned = False

    def add(self, name: str, amounts: Iterable[tuple[str, int | float]]) -> None:
        if time.monotonic() < self.paused_until:
            return
        key = METRIC_KEY.format(prefix=self.prefix, name=name)
        try:
            add_to_hashes(self.client, [(key, field, amount) for field, amount in amounts])
        except (RedisError, OSError) as error:
            self.paused_until = time.monotonic() + PAUSE
            if not self.warned:
                log.warning("metrics: Redis does not answer (%s); counts are dropped until it does",
                            type(error).__name__)
            self.warned = True
            return
        self.warned = False


_sink: _Sink | None = None


def configure(redis_url: str | None, *, prefix: str = keys.DEFAULT_PREFIX) -> None:
    """Send this process's counts to the Redis at `redis_url` (the broker's), under `prefix`; None drops them.
    Connects only when the first count is sent."""
    global _sink
    _sink = None if redis_url is None else _Sink(counting_client(redis_url, timeout=TIMEOUT), prefix=prefix)


def count_finding(*, kind: str, action: str) -> None:
    """One more finding of `kind` on which the guard took `action`."""
    _count(CACHE_FINDINGS, kind, action)


def count_delivery(*, provider: str, result: str) -> None:
    """One more webhook delivery from `provider`, answered with `result`."""
    _count(WEBHOOK_DELIVERIES, provider, result)


def observe_step(*, status: str, started: datetime | None, finished: datetime | None) -> None:
    """A step ended with `status`: its duration goes to the histogram (nothing when it never started)."""
    if _sink is None or started is None or finished is None:
        return
    seconds = max((finished - started).total_seconds(), 0.0)
    bound = next((bound for bound in STEP_DURATION.buckets if seconds <= bound), math.inf)
    series = _field([status])
    _sink.add(STEP_DURATION.name, [(f"{series}|sum", seconds), (f"{series}|le={_go(bound)}", 1)])


def _count(counter: Counted, *values: str) -> None:
    if _sink is not None:
        _sink.add(counter.name, [(_field(values), 1)])


def _field(values: Sequence[str]) -> str:
    return json.dumps([str(value) for value in values], separators=(",", ":"))


# -- reading, at scrape time -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reading:
    """What one scrape read, as plain values."""

    counts: StatusCounts
    stored: Mapping[str, Mapping[str, str]] | None
    """Metric name -> its hash in Redis; None when Redis did not answer (then there are no depths either)."""
    depths: Mapping[str, int]
    """Celery queue -> messages waiting in it."""


def read(*, redis: RedisClient, session: Session, queues: Mapping[str, Sequence[str]],
         prefix: str = keys.DEFAULT_PREFIX) -> Reading:
    """Everything a scrape shows; `queues` maps each Celery queue to the Redis lists that hold its messages."""
    counts = status_counts(session)
    lists = [name for names in queues.values() for name in names]
    try:
        hashes = read_hashes(redis, [METRIC_KEY.format(prefix=prefix, name=metric.name) for metric in STORED])
        lengths = dict(zip(lists, list_lengths(redis, lists), strict=True))
    except (RedisError, OSError) as error:
        log.warning("metrics: Redis does not answer (%s); the scrape shows the database's gauges only",
                    type(error).__name__)
        return Reading(counts=counts, stored=None, depths={})
    stored = {metric.name: found for metric, found in zip(STORED, hashes, strict=True)}
    depths = {queue: sum(lengths[name] for name in names) for queue, names in queues.items()}
    return Reading(counts=counts, stored=stored, depths=depths)


def families(reading: Reading) -> list[Metric]:
    """The metric families of a reading: the database's gauges always, what Redis holds when it answered."""
    found: list[Metric] = [
        _by_status("pq_builds", "Builds in each status, as the database holds them.", reading.counts.builds),
        _by_status("pq_steps", "Steps in each status, as the database holds them.", reading.counts.steps),
        GaugeMetricFamily("pq_metrics_redis_up", "Whether Redis answered this scrape; without it the counters and "
                          "queue depths are left out.", value=0 if reading.stored is None else 1),
    ]
    if reading.stored is None:
        return found
    depth = GaugeMetricFamily("pq_queue_depth", "Messages waiting in each Celery queue.", labels=["queue"])
    for queue, waiting in reading.depths.items():
        depth.add_metric([queue], waiting)
    found.append(depth)
    found += [_counter(metric, reading.stored.get(metric.name, {})) for metric in (CACHE_FINDINGS, WEBHOOK_DELIVERIES)]
    found.append(_histogram(STEP_DURATION, reading.stored.get(STEP_DURATION.name, {})))
    return found


def exposition(reading: Reading) -> bytes:
    """The reading in Prometheus's text format, from a registry of its own (nothing of this process's default one)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Families(families(reading)))
    return generate_latest(registry)


class _Families:
    """A collector that hands out metric families already read."""

    def __init__(self, found: list[Metric]) -> None:
        self.found = found

    def collect(self) -> Iterator[Metric]:
        return iter(self.found)


def _by_status(name: str, documentation: str, counts: Mapping[Status, int]) -> GaugeMetricFamily:
    gauge = GaugeMetricFamily(name, documentation, labels=["status"])
    for status in Status:
        gauge.add_metric([status.value], counts.get(status, 0))
    return gauge


def _counter(metric: Counted, fields: Mapping[str, str]) -> CounterMetricFamily:
    counter = CounterMetricFamily(metric.name, metric.help, labels=metric.labels)
    for field, value in sorted(fields.items()):
        labels = _labels(field, metric.labels)
        if labels is not None:
            counter.add_metric(labels, float(value))
    return counter


def _histogram(metric: Timed, fields: Mapping[str, str]) -> HistogramMetricFamily:
    series: dict[tuple[str, ...], dict[str, float]] = {}
    for field, value in fields.items():
        head, _, part = field.rpartition("|")
        values = _labels(head, metric.labels)
        if values is not None:
            series.setdefault(tuple(values), {})[part] = float(value)
    histogram = HistogramMetricFamily(metric.name, metric.help, labels=metric.labels)
    for labels, parts in sorted(series.items()):
        histogram.add_metric(list(labels), _cumulative(metric.buckets, parts), parts.get("sum", 0.0))
    return histogram


def _cumulative(bounds: Sequence[float], parts: Mapping[str, float]) -> list[tuple[str, float]]:
    """Prometheus's buckets from stored ones: each counts what fell at or under its bound (a bound stored by another
    version of the buckets counts where it is sure to belong)."""
    stored = [(_bound(part), count) for part, count in parts.items() if part.startswith("le=")]
    known = [(bound, count) for bound, count in stored if bound is not None]
    return [(_go(upper), sum(count for bound, count in known if bound <= upper))
            for upper in (*bounds, math.inf)]


def _go(bound: float) -> str:
    """A bound as Prometheus spells `le` (`5.0`, `+Inf`)."""
    return str(floatToGoString(bound))  # type: ignore[no-untyped-call]


def _bound(part: str) -> float | None:
    try:
        return float(part.removeprefix("le="))
    except ValueError:
        return None


def _labels(field: str, names: Sequence[str]) -> list[str] | None:
    """The label values a field encodes; None for a field of another shape (left by another version)."""
    try:
        values = json.loads(field)
    except ValueError:
        return None
    if not isinstance(values, list) or len(values) != len(names) or not all(isinstance(v, str) for v in values):
        return None
    return values
