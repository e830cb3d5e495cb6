"""The node cache index in Redis: node -> images and image -> nodes, kept current from every node's `status.images`.

A sweep writes only what changed: a fingerprint per node lets an unchanged node cost nothing but its share of one
read, and a changed node is diffed against what is stored. Key templates live in `pipeline_queue.keys`.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, Protocol

from pipeline_queue import keys
from pipeline_queue.broker import RedisClient as Redis
from pipeline_queue.broker import RedisError
from pipeline_queue.cache.rules import FirstPull, digest_of
from pipeline_queue.errors import ImageReferenceError
from pipeline_queue.images import parse_image

BATCH = 500
"""Nodes read and written per Redis round trip: bounds the memory of one pipeline on a large cluster."""

_BARE_DIGEST = re.compile(r"sha(?:256|384|512):[a-f0-9]+", re.ASCII)


@dataclass(frozen=True)
class SweepStats:
    """What one sweep saw and did: nodes and image entries listed, Redis write commands sent, nodes dropped."""

    nodes: int
    images: int
    writes: int
    removed_nodes: int
    changed_nodes: int = 0


@dataclass(frozen=True)
class NodeImage:
    """One name under which a node holds an image, with that image's manifest digest ("" if unknown) and size."""

    name: str
    digest: str
    size: int


@dataclass(frozen=True)
class _NodeState:
    """A node as listed: its name, the fingerprint of its raw image list, and that list in index form."""

    node: str
    fingerprint: str
    raw: tuple[dict[str, Any], ...]

    def images(self) -> dict[str, str]:
        """Image name -> stored value (`"<digest> <size>"`); parsed only for nodes that changed."""
        return _index_form(self.raw)


def sweep(
    nodes: Iterable[Mapping[str, Any]], *, redis: Redis, prefix: str = keys.DEFAULT_PREFIX, batch: int = BATCH
) -> SweepStats:
    """Bring the index in line with `nodes` (Node objects as JSON); every node not listed is dropped from it."""
    stored = _hash_text(redis.hgetall(keys.CACHE_FINGERPRINTS.format(prefix=prefix)))
    stats, seen = _index_nodes(nodes, stored, redis=redis, prefix=prefix, batch=batch)
    gone = sorted(set(stored) - seen)
    removed = _remove_nodes(redis, prefix, gone)
    return SweepStats(nodes=stats.nodes, images=stats.images, writes=stats.writes + removed, removed_nodes=len(gone),
                      changed_nodes=stats.changed_nodes)


def update_node(node: Mapping[str, Any], *, redis: Redis, prefix: str = keys.DEFAULT_PREFIX) -> SweepStats:
    """One node as a watch event shows it: written only when its images changed; other nodes are left alone."""
    name = str((node.get("metadata") or {}).get("name") or "")
    stored = redis.hget(keys.CACHE_FINGERPRINTS.format(prefix=prefix), name) if name else None
    known = {name: _text(stored)} if stored is not None else {}
    return _index_nodes([node], known, redis=redis, prefix=prefix, batch=1)[0]


def remove_node(name: str, *, redis: Redis, prefix: str = keys.DEFAULT_PREFIX) -> int:
    """A node deleted from the cluster leaves the index (its images, its memberships); the write commands sent."""
    return _remove_nodes(redis, prefix, [name]) if name else 0


def _index_nodes(
    nodes: Iterable[Mapping[str, Any]], stored: Mapping[str, str], *, redis: Redis, prefix: str, batch: int
) -> tuple[SweepStats, set[str]]:
    """Write the listed nodes whose fingerprint differs from `stored`; their figures and the names seen."""
    seen: set[str] = set()
    entries = writes = changed = 0
    for chunk in _batched(nodes, batch):
        states = [state for state in map(_node_state, chunk) if state.node and state.node not in seen]
        seen.update(state.node for state in states)
        entries += sum(len(state.raw) for state in states)
        stale = [state for state in states if stored.get(state.node) != state.fingerprint]
        if stale:
            written, moved = _write_nodes(redis, prefix, stale)
            writes, changed = writes + written, changed + moved
    return SweepStats(nodes=len(seen), images=entries, writes=writes, removed_nodes=0, changed_nodes=changed), seen


class NodeLister(Protocol):
    """What a sweep needs of the Kubernetes client: `pipeline_queue.kube.Kube` is one."""

    def list_nodes(self) -> list[dict[str, Any]]: ...


def sweep_cluster(kube: NodeLister, *, redis: Redis, prefix: str = keys.DEFAULT_PREFIX) -> SweepStats | None:
    """List every node and sweep it into the index, unless another sweep holds the lock (then None)."""
    lock = redis.lock(keys.CACHE_SWEEP_LOCK.format(prefix=prefix), timeout=keys.CACHE_SWEEP_LOCK_TTL, blocking=False)
    if not lock.acquire():
        return None
    try:
        return sweep(kube.list_nodes(), redis=redis, prefix=prefix)
    finally:
        with contextlib.suppress(RedisError):  # held past its expiry (LockError): the lock is already gone
            lock.release()


def _write_nodes(redis: Redis, prefix: str, states: list[_NodeState]) -> tuple[int, int]:
    """Diff each node against what is stored and send the difference; (write commands, nodes whose images moved)."""
    plan = _Plan(prefix)
    olds = _read_nodes(redis, prefix, [state.node for state in states])
    changed = sum(plan.node(state.node, old=old, new=state.images()) for state, old in zip(states, olds, strict=True))
    pipe = redis.pipeline(transaction=False)
    writes = plan.send(pipe)
    # Last, so a sweep that dies half way leaves these nodes unfingerprinted and the next one diffs them again.
    pipe.hset(keys.CACHE_FINGERPRINTS.format(prefix=prefix), mapping={s.node: s.fingerprint for s in states})
    pipe.execute()
    return writes + 1, changed


def _remove_nodes(redis: Redis, prefix: str, gone: list[str]) -> int:
    writes = 0
    for start in range(0, len(gone), BATCH):
        names = gone[start : start + BATCH]
        plan = _Plan(prefix)
        for node, old in zip(names, _read_nodes(redis, prefix, names), strict=True):
            plan.node(node, old=old, new={})
        pipe = redis.pipeline(transaction=False)
        writes += plan.send(pipe) + 1
        pipe.hdel(keys.CACHE_FINGERPRINTS.format(prefix=prefix), *names)
        pipe.execute()
    return writes


@dataclass
class _Plan:
    """The writes one batch of nodes needs: each node's hash edits, and set memberships grouped by set, so a
    hundred nodes pulling the same image cost one SADD, not a hundred."""

    prefix: str
    edits: list[tuple[str, set[str], dict[str, str]]] = field(default_factory=list)
    adds: defaultdict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    removes: defaultdict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    digest_adds: defaultdict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    digest_removes: defaultdict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    def node(self, node: str, *, old: dict[str, str], new: dict[str, str]) -> bool:
        """Plan the turn of `node`'s stored images from `old` into `new`, both directions; whether any."""
        removed = old.keys() - new.keys()
        updated = {name: value for name, value in new.items() if old.get(name) != value}
        if removed or updated:
            self.edits.append((keys.CACHE_NODE.format(prefix=self.prefix, node=node), removed, updated))
        # Grouped by name first: the keys are spelled once per batch, not once per node.
        for name in new.keys() - old.keys():
            self.adds[name].append(node)
        for name in removed:
            self.removes[name].append(node)
        old_digests, new_digests = _digests(old), _digests(new)
        for digest in new_digests - old_digests:
            self.digest_adds[digest].append(node)
        for digest in old_digests - new_digests:
            self.digest_removes[digest].append(node)
        return bool(removed or updated or old_digests != new_digests)

    def send(self, pipe: Any) -> int:
        """Queue the planned writes on `pipe`; how many commands."""
        commands = 0
        for node_key, removed, updated in self.edits:
            if removed:
                pipe.hdel(node_key, *removed)  # Redis deletes the hash with its last field
            if updated:
                pipe.hset(node_key, mapping=updated)
            commands += bool(removed) + bool(updated)
        image, digest = keys.CACHE_IMAGE, keys.CACHE_DIGEST
        for name, nodes in self.adds.items():
            pipe.sadd(image.format(prefix=self.prefix, name=name), *nodes)
        for name, nodes in self.removes.items():
            pipe.srem(image.format(prefix=self.prefix, name=name), *nodes)  # Redis drops a set with its last member
        for found, nodes in self.digest_adds.items():
            pipe.sadd(digest.format(prefix=self.prefix, digest=found), *nodes)
        for found, nodes in self.digest_removes.items():
            pipe.srem(digest.format(prefix=self.prefix, digest=found), *nodes)
        sets = (self.adds, self.removes, self.digest_adds, self.digest_removes)
        return commands + sum(len(changes) for changes in sets)


def _read_nodes(redis: Redis, prefix: str, nodes: list[str]) -> list[dict[str, str]]:
    pipe = redis.pipeline(transaction=False)
    for node in nodes:
        pipe.hgetall(keys.CACHE_NODE.format(prefix=prefix, node=node))
    return [_hash_text(stored) for stored in pipe.execute()]


# --- reading nodes as the API server lists them ----------------------------------------------------------


def _node_state(node: Mapping[str, Any]) -> _NodeState:
    name = str((node.get("metadata") or {}).get("name") or "")
    raw = tuple((node.get("status") or {}).get("images") or ())
    # The order of status.images is the kubelet's (size, or recency) and means nothing here.
    canonical = sorted(f"{entry.get('sizeBytes') or 0} {' '.join(sorted(entry.get('names') or ()))}" for entry in raw)
    fingerprint = hashlib.blake2b("\n".join(canonical).encode(), digest_size=16).hexdigest()
    return _NodeState(node=name, fingerprint=fingerprint, raw=raw)


def _index_form(raw: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """`status.images` entries as name -> `"<digest> <size>"`, names normalized (`golang:1.21` is
    `docker.io/library/golang:1.21`), names no reference grammar accepts (`<none>:<none>`) left out."""
    images: dict[str, str] = {}
    for entry in raw:
        images.update(_entry_values(tuple(entry.get("names") or ()), int(entry.get("sizeBytes") or 0)))
    return images


@functools.lru_cache(maxsize=65536)
def _entry_values(names: tuple[str, ...], size: int) -> tuple[tuple[str, str], ...]:
    """One entry's names in full, each with `"<digest> <size>"` (a tag takes the entry's first repo digest).
    The same few thousand images recur on every node of a fleet, hence the cache."""
    full = [canonical for canonical in map(_canonical, names) if canonical]
    digest = next((name.rpartition("@")[2] for name in full if "@" in name), "")
    return tuple((name, f"{name.rpartition('@')[2] if '@' in name else digest} {size}") for name in full)


def _canonical(name: str) -> str:
    """A reference in full (`docker.io/library/golang:1.21`), or "" when it is no reference."""
    try:
        return parse_image(name).reference
    except ImageReferenceError:
        return ""


def _digests(images: Mapping[str, str]) -> set[str]:
    return {digest for digest, _, _ in (value.partition(" ") for value in images.values()) if digest}


# --- queries ---------------------------------------------------------------------------------------------


def nodes_with(redis: Redis, image: str, *, prefix: str = keys.DEFAULT_PREFIX) -> tuple[str, ...]:
    """The nodes that hold `image`: a reference by tag or digest (`golang:1.21`, `x@sha256:...`) or a bare digest."""
    if _BARE_DIGEST.fullmatch(image):
        key = keys.CACHE_DIGEST.format(prefix=prefix, digest=image)
    else:
        key = keys.CACHE_IMAGE.format(prefix=prefix, name=parse_image(image).reference)
    return tuple(sorted(_text(member) for member in redis.smembers(key)))


def images_on(redis: Redis, node: str, *, prefix: str = keys.DEFAULT_PREFIX) -> tuple[NodeImage, ...]:
    """Every name under which `node` holds an image, sorted by name."""
    stored = _hash_text(redis.hgetall(keys.CACHE_NODE.format(prefix=prefix, node=node)))
    images = []
    for name, value in sorted(stored.items()):
        digest, _, size = value.partition(" ")
        images.append(NodeImage(name=name, digest=digest, size=int(size or 0)))
    return tuple(images)


def all_nodes(redis: Redis, *, prefix: str = keys.DEFAULT_PREFIX) -> tuple[str, ...]:
    """Every node the last sweep saw, sorted."""
    return tuple(sorted(_text(node) for node in redis.hkeys(keys.CACHE_FINGERPRINTS.format(prefix=prefix))))


# --- credentialed pulls ---------------------------------------------------------------------------------


def record_pull(
    redis: Redis,
    *,
    image_name: str,
    digest: str,
    build: int | str,
    repo: str,
    credentialed: bool,
    registry_key: str,
    prefix: str = keys.DEFAULT_PREFIX,
) -> bool:
    """Note a step's pull: a credentialed one marks the image private and, the first time, names the build that
    pulled it (under its digest and its repository name). `registry_key` is the docker config key that matched, never a
    secret. True when this pull is the first credentialed one of the image's digest (or, without one, its name)."""
    if not credentialed:
        return False  # only pulls that prove privacy belong in the fast path; the database keeps them all
    ref = parse_image(image_name)
    found = digest_of(digest) or ref.digest or ""
    identities = [found, ref.name] if found else [ref.name]
    record = json.dumps({"build": str(build), "repo": repo, "registry_key": registry_key})
    pipe = redis.pipeline(transaction=False)
    for identity in identities:
        pipe.set(keys.CACHE_FIRST_PULL.format(prefix=prefix, image=identity), record, nx=True)
    pipe.sadd(keys.CACHE_CREDENTIALED.format(prefix=prefix), ref.name)
    return bool(pipe.execute()[0])


def first_pull(redis: Redis, image: str, *, prefix: str = keys.DEFAULT_PREFIX) -> FirstPull | None:
    """The first credentialed pull of `image`: a bare digest, or a reference (its digest first, then its name)."""
    for identity in _identities(image):
        stored = redis.get(keys.CACHE_FIRST_PULL.format(prefix=prefix, image=identity))
        if stored is not None:
            record = json.loads(stored)
            return FirstPull(build=record["build"], repo=record["repo"], registry_key=record["registry_key"])
    return None


def credentialed_repositories(redis: Redis, *, prefix: str = keys.DEFAULT_PREFIX) -> frozenset[str]:
    """Every image repository (`registry/path`) some pipeline pulled with credentials: `is_private`'s input."""
    return frozenset(_text(name) for name in redis.smembers(keys.CACHE_CREDENTIALED.format(prefix=prefix)))


def credentialed_among(redis: Redis, names: Iterable[str], *, prefix: str = keys.DEFAULT_PREFIX) -> frozenset[str]:
    """Which of the image repositories `names` some pipeline pulled with credentials: one round trip."""
    wanted = sorted(set(names))
    if not wanted:
        return frozenset()
    found = redis.smismember(keys.CACHE_CREDENTIALED.format(prefix=prefix), wanted)
    return frozenset(name for name, member in zip(wanted, found, strict=True) if member)


def _identities(image: str) -> list[str]:
    if _BARE_DIGEST.fullmatch(image):
        return [image]
    ref = parse_image(image)
    return [ref.digest, ref.name] if ref.digest else [ref.name]


# --- helpers ---------------------------------------------------------------------------------------------


def _batched(items: Iterable[Mapping[str, Any]], size: int) -> Iterator[list[Mapping[str, Any]]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _hash_text(stored: Mapping[Any, Any]) -> dict[str, str]:
    return {_text(field): _text(value) for field, value in stored.items()}
