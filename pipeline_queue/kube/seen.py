"""What the pod watch has seen, kept in Redis for every worker: the pods of each stage, its claim, its cleanup.

The pod watcher writes each event's pod before it sends `advance`, so the worker that runs that `advance` reads
at least what caused it, from Redis instead of listing pods. A worker adds the pods it creates (only where the
watch has not written them yet). Workers trust these hashes only while the watcher's sync mark lives: the mark is
set after a full list and renewed while the watch runs, and a Redis that lost its keys loses the mark too, so a
worker then lists pods as before. The client is any redis-py client (this module imports no Redis library).
"""

from __future__ import annotations

import functools
import json
import logging
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

from pipeline_queue import keys
from pipeline_queue.compiler.naming import stage_id_of

log = logging.getLogger(__name__)
P = ParamSpec("P")
R = TypeVar("R")
D = TypeVar("D")

_KEPT_METADATA = ("name", "namespace", "uid", "resourceVersion", "creationTimestamp", "deletionTimestamp", "labels",
                  "annotations")
_KEPT_CONTAINER = ("name", "image", "imagePullPolicy")


class RedisLike(Protocol):
    def pipeline(self, transaction: bool = ...) -> Any: ...
    def hgetall(self, name: str) -> Any: ...
    def get(self, name: str) -> Any: ...
    def smembers(self, name: str) -> Any: ...
    def expire(self, name: str, time: int) -> Any: ...
    def set(self, name: str, value: str, ex: int | None = ...) -> Any: ...
    def delete(self, *names: str) -> Any: ...


def trimmed(pod: Mapping[str, Any]) -> dict[str, Any]:
    """The pod as workers read it: identity, labels, node, containers' images and pull policies, and its status."""
    metadata = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    return {
        "metadata": {key: metadata[key] for key in _KEPT_METADATA if key in metadata},
        "spec": {"nodeName": spec.get("nodeName") or "",
                 "containers": [{key: c[key] for key in _KEPT_CONTAINER if key in c} for c in spec.get("containers")
                                or []]},
        "status": pod.get("status") or {},
    }


def _or(default: D) -> Callable[[Callable[Concatenate[SeenPods, P], R]], Callable[Concatenate[SeenPods, P], R | D]]:
    """A Redis failure makes the call answer `default` (unknown, not synced, nothing stored): the view only saves
    requests, so without it a worker asks the Kubernetes API and the watcher lists again, never failing a stage."""

    def wrap(method: Callable[Concatenate[SeenPods, P], R]) -> Callable[Concatenate[SeenPods, P], R | D]:
        def call(self: SeenPods, /, *args: P.args, **options: P.kwargs) -> R | D:
            try:
                return method(self, *args, **options)
            except Exception as error:  # the Redis client's errors: this module imports no Redis library
                log.warning("the shared view of pods is unavailable (%s); the Kubernetes API is asked instead",
                            type(error).__name__)
                return default

        functools.update_wrapper(call, method)
        return call

    return wrap


class SeenPods:
    """The stages' pods as the watch saw them, in Redis under `prefix`."""

    def __init__(self, redis: RedisLike, *, prefix: str = keys.DEFAULT_PREFIX) -> None:
        self.redis, self.prefix = redis, prefix

    # -- the watcher's side --------------------------------------------------------------------------

    @_or(None)
    def record(self, event_type: str, pod: Mapping[str, Any]) -> None:
        """One watch event's pod: written (ADDED, MODIFIED) or dropped (DELETED)."""
        stage = stage_id_of(pod)
        if stage is None:
            return
        name = str((pod.get("metadata") or {}).get("name") or "")
        key = self._pods(stage)
        with self.redis.pipeline(transaction=False) as batch:
            if event_type == "DELETED":
                batch.hdel(key, name)
            else:
                batch.hset(key, name, _encoded(pod))
                batch.sadd(self._stages(), stage)
            batch.expire(key, keys.SEEN_TTL)
            batch.execute()

    @_or("")
    def replace_all(self, pods: Iterable[Mapping[str, Any]]) -> str:
        """A full list: every stage's hash becomes exactly its listed pods; the new sync mark's token."""
        by_stage: dict[int, dict[str, str]] = {}
        for pod in pods:
            stage = stage_id_of(pod)
            if stage is not None:
                name = str((pod.get("metadata") or {}).get("name") or "")
                by_stage.setdefault(stage, {})[name] = _encoded(pod)
        known = {int(member) for member in self.redis.smembers(self._stages())}
        token = uuid.uuid4().hex
        with self.redis.pipeline(transaction=True) as batch:
            for stage in known - set(by_stage):
                batch.delete(self._pods(stage))
                batch.srem(self._stages(), stage)
            for stage, seen in by_stage.items():
                batch.delete(self._pods(stage))
                batch.hset(self._pods(stage), mapping=seen)
                batch.expire(self._pods(stage), keys.SEEN_TTL)
                batch.sadd(self._stages(), stage)
            batch.set(self._synced(), token, ex=keys.SEEN_SYNCED_TTL)
            batch.execute()
        return token

    @_or(False)
    def renew(self, token: str) -> bool:
        """Keep the sync mark alive; False when it is gone or another watcher's (then list again)."""
        if _text(self.redis.get(self._synced())) != token:
            return False
        return bool(self.redis.expire(self._synced(), keys.SEEN_SYNCED_TTL))

    @_or(None)
    def forget_sync(self) -> None:
        """Drop the sync mark (the watcher stops): workers list pods until a watcher lists and marks again."""
        self.redis.delete(self._synced())

    # -- the workers' side ---------------------------------------------------------------------------

    @_or(False)
    def synced(self) -> bool:
        """Whether a watcher keeps the hashes true to the cluster right now."""
        return bool(self.redis.get(self._synced()))

    @_or(None)
    def pods(self, stage: int) -> dict[str, dict[str, Any]]:
        """Stage `stage`'s pods by name, as last seen (None when Redis does not answer)."""
        return {_text(name): json.loads(raw) for name, raw in self.redis.hgetall(self._pods(stage)).items()}

    @_or(None)
    def created(self, stage: int, pod: Mapping[str, Any]) -> None:
        """A pod this worker just created, unless the watch wrote it first (its copy is as new or newer)."""
        name = str((pod.get("metadata") or {}).get("name") or "")
        with self.redis.pipeline(transaction=False) as batch:
            batch.hsetnx(self._pods(stage), name, _encoded(pod))
            batch.sadd(self._stages(), stage)
            batch.expire(self._pods(stage), keys.SEEN_TTL)
            batch.execute()

    @_or(None)
    def owner(self, stage: int) -> dict[str, Any] | None:
        """The stage's claim's ownerReference, when a worker stored it."""
        raw = self.redis.get(keys.STAGE_OWNER.format(prefix=self.prefix, stage=stage))
        return json.loads(raw) if raw else None

    @_or(None)
    def set_owner(self, stage: int, reference: Mapping[str, Any]) -> None:
        self.redis.set(keys.STAGE_OWNER.format(prefix=self.prefix, stage=stage), json.dumps(dict(reference)),
                       ex=keys.SEEN_TTL)

    @_or(False)
    def cleaned(self, stage: int) -> bool:
        """Whether the stage's claim (and with it everything it owns) was deleted."""
        return bool(self.redis.get(keys.STAGE_CLEANED.format(prefix=self.prefix, stage=stage)))

    @_or(None)
    def set_cleaned(self, stage: int) -> None:
        self.redis.set(keys.STAGE_CLEANED.format(prefix=self.prefix, stage=stage), "1", ex=keys.SEEN_TTL)

    def _pods(self, stage: int) -> str:
        return keys.SEEN_PODS.format(prefix=self.prefix, stage=stage)

    def _stages(self) -> str:
        return keys.SEEN_STAGES.format(prefix=self.prefix)

    def _synced(self) -> str:
        return keys.SEEN_SYNCED.format(prefix=self.prefix)


def _encoded(pod: Mapping[str, Any]) -> str:
    return json.dumps(trimmed(pod), separators=(",", ":"))


def _text(value: bytes | str | None) -> str:
    if value is None:
        return ""
    return value.decode() if isinstance(value, bytes) else value
