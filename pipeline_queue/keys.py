"""Every Redis key pipeline-queue writes, as a template with its type and expiry, in one place.

Templates take `prefix` (DEFAULT_PREFIX in production; tests use their own) and are filled with `str.format`.
"""

from __future__ import annotations

DEFAULT_PREFIX = "pq:"
"""What every key starts with, so pipeline-queue shares a Redis database with Celery's own keys safely."""

# --- the node cache index (pipeline_queue.cache.index) ---------------------------------------------------

CACHE_NODE = "{prefix}cache:node:{node}"
"""HASH, no expiry: image name (`registry/path:tag` or `registry/path@digest`) -> `"<digest> <size in bytes>"`
for every image the node reports in `status.images`; deleted when the node disappears or reports none."""

CACHE_IMAGE = "{prefix}cache:image:{name}"
"""SET, no expiry: the nodes holding image `name` (either form above); Redis drops it with its last member."""

CACHE_DIGEST = "{prefix}cache:digest:{digest}"
"""SET, no expiry: the nodes holding an image of manifest digest `digest` (`sha256:...`), under any name."""

CACHE_FINGERPRINTS = "{prefix}cache:fingerprints"
"""HASH, no expiry: node -> fingerprint of the `status.images` last written; the list of indexed nodes."""

CACHE_SWEEP_LOCK = "{prefix}cache:sweep-lock"
"""STRING (redis-py lock), expires after CACHE_SWEEP_LOCK_TTL: held by the one sweep running."""

CACHE_SWEEP_LOCK_TTL = 300
"""Seconds a sweep's lock lives if its holder dies; longer than a sweep of the largest cluster takes."""

# --- credentialed pulls (pipeline_queue.cache.index.record_pull) -----------------------------------------

CACHE_FIRST_PULL = "{prefix}cache:first-pull:{image}"
"""STRING (JSON `{"build", "repo", "registry_key"}`), no expiry: the first credentialed pull of `image`,
a repository name or a digest; written once (SET NX). The database keeps the durable record."""

CACHE_CREDENTIALED = "{prefix}cache:credentialed"
"""SET, no expiry: every image repository name some pipeline pulled with credentials (private by that fact)."""

# --- the anonymous registry probe (pipeline_queue.cache.probe, with PQ_CACHE_PROBE_ANONYMOUS on) ---------

CACHE_PROBE = "{prefix}cache:probe:{name}"
"""STRING (`denied`, `served` or `unknown`), expires after CACHE_PROBE_TTL (CACHE_PROBE_UNKNOWN_TTL for
`unknown`): what image repository `name`'s registry answered an anonymous manifest request."""

CACHE_PROBE_TTL = 3600
"""Seconds a probe's answer is trusted; a repository made private or public is seen within the hour."""

CACHE_PROBE_UNKNOWN_TTL = 60
"""Seconds an unreachable or unclear registry is left alone before it is asked again."""

# --- what the pod watch has seen (pipeline_queue.kube.seen) ------------------------------------------------

SEEN_PODS = "{prefix}pods:stage:{stage}"
"""HASH, expires SEEN_TTL after its last write: pod name -> the pod as last seen (JSON, trimmed to what the workers
read); written by the pod watcher on every event, and by the worker that created the pod."""

SEEN_STAGES = "{prefix}pods:stages"
"""SET, no expiry: the stage ids with a SEEN_PODS hash, so that a relist can drop the hashes of pods gone meanwhile."""

SEEN_SYNCED = "{prefix}pods:synced"
"""STRING (the watcher's session token), expires after SEEN_SYNCED_TTL unless the watcher renews it: while it exists
the SEEN_PODS hashes are what the cluster holds, and workers read pods from them instead of listing."""

SEEN_SYNCED_TTL = 15
"""Seconds the watcher's sync mark lives unrenewed (it renews it every few seconds while its watch runs)."""

SEEN_TTL = 86_400
"""Seconds a stage's seen pods, owner and cleanup mark outlive their last write: a day, far past any stage."""

STAGE_OWNER = "{prefix}pods:owner:{stage}"
"""STRING (JSON ownerReference), expires after SEEN_TTL: the stage's workspace claim, owner of its other objects."""

STAGE_CLEANED = "{prefix}pods:cleaned:{stage}"
"""STRING `1`, expires after SEEN_TTL: the stage's claim was deleted (its owned objects go with it)."""

# --- stages to look at again later (workers.rechecks) ------------------------------------------------------

RECHECKS = "{prefix}rechecks"
"""ZSET, no expiry: stage id -> the Unix time to send its `advance` again (a timeout may strike then); one entry
per stage, the latest decision's, read every second by the `pq.rechecks` task that beat sends."""
