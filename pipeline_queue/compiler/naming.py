"""Object names and labels: deterministic, valid DNS-1123 labels and label values.

A name that had to change to become valid (case, punctuation, unicode, length)
gets a short hash of the original, so two different names never collide.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

from pipeline_queue.errors import CompileError

DNS_LABEL_MAX = 63
HASH_LENGTH = 8
STAGE_PART_MAX = 20
STEP_PART_MAX = 32

PREFIX = "pq"
DOMAIN = "pipeline-queue.io"
LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
MANAGED_BY = "pipeline-queue"
LABEL_STAGE = f"{DOMAIN}/stage"
LABEL_BUILD = f"{DOMAIN}/build"
LABEL_STEP = f"{DOMAIN}/step"
LABEL_REPO = f"{DOMAIN}/repo"
LABEL_KIND = f"{DOMAIN}/kind"
ANNOTATION_STEP_NAME = f"{DOMAIN}/step-name"
ANNOTATION_STAGE_ID = f"{DOMAIN}/stage-id"
ANNOTATION_PIPELINE = f"{DOMAIN}/pipeline"

_DNS_LABEL_RE = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS_1035_RE = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
_LABEL_VALUE_RE = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?")
_SUBDOMAIN_RE = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_NOT_SLUG = re.compile(r"[^a-z0-9]+")
_NOT_LABEL_VALUE = re.compile(r"[^A-Za-z0-9_.-]+")
_NOT_SECRET_KEY = re.compile(r"[^-._a-zA-Z0-9]+")


def short_hash(text: str) -> str:
    """A stable, short digest of `text` (not a secret: names only)."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:HASH_LENGTH]


def slugify(text: str, *, max_length: int = DNS_LABEL_MAX) -> str:
    """`text` as a DNS-1123 label; a hash of `text` is appended when the slug lost anything."""
    slug = _NOT_SLUG.sub("-", text.lower()).strip("-")
    if slug == text and len(slug) <= max_length:
        return slug
    return _with_hash(slug, text, max_length=max_length)


def label_value(text: str) -> str:
    """`text` as a label value (`/` becomes `.`); a hash is appended when anything else was lost."""
    dotted = text.replace("/", ".")
    value = _NOT_LABEL_VALUE.sub("-", dotted).strip("-_.")
    if value == dotted and len(value) <= DNS_LABEL_MAX:
        return value
    head = value[: DNS_LABEL_MAX - HASH_LENGTH - 1].rstrip("-_.")
    return f"{head}-{short_hash(text)}" if head else short_hash(text)


def service_host(name: str) -> str:
    """The DNS-1035 label a service is reached at: its name lowercased, other characters as `-`.

    No hash here: the host must be guessable; two services that meet on one host are refused instead.
    """
    host = _NOT_SLUG.sub("-", name.lower()).strip("-")
    if not host:
        return f"svc-{short_hash(name)}"
    if not host[0].isalpha():
        host = f"svc-{host}"
    return host[:DNS_LABEL_MAX].rstrip("-")


def stage_part(stage_id: str) -> str:
    """The stage id as it appears in object names and the stage label."""
    return slugify(stage_id, max_length=STAGE_PART_MAX)


def step_part(step_name: str) -> str:
    """A step's slug: what follows the stage in its object names and its step label."""
    return slugify(step_name, max_length=STEP_PART_MAX)


def pod_name(stage: str, step: str) -> str:
    return f"{PREFIX}-{stage}-{step}"


def pull_secret_name(stage: str, step: str) -> str:
    return f"{PREFIX}-{stage}-{step}-pull"


def plugin_secret_name(stage: str, step: str) -> str:
    """The pull Secret of the credentials registry plugins gave a step when its stage started."""
    return f"{PREFIX}-{stage}-{step}-plugin"


def service_name(stage: str, step: str) -> str:
    """The Service of a service: named for its stage, so two builds of one pipeline never share one."""
    return f"{PREFIX}-{stage}-{step}"


def env_secret_name(stage: str) -> str:
    return f"{PREFIX}-{stage}-env"


def claim_name(stage: str) -> str:
    return f"{PREFIX}-{stage}-workspace"


def secret_key(secret_name: str) -> str:
    """A Secret data key (`[-._a-zA-Z0-9]+`) for a secret name; hashed when characters were replaced."""
    key = _NOT_SECRET_KEY.sub("_", secret_name)
    if key == secret_name and len(key) <= 200 and not key.startswith("..") and key != ".":
        return key
    # Kubernetes refuses keys that are `.` or start with `..` (they would escape a mounted directory).
    head = key.lstrip(".")[:190]
    return f"{head}_{short_hash(secret_name)}" if head else short_hash(secret_name)


def is_dns_label(text: str) -> bool:
    return len(text) <= DNS_LABEL_MAX and _DNS_LABEL_RE.fullmatch(text) is not None


def is_dns_1035_label(text: str) -> bool:
    return len(text) <= DNS_LABEL_MAX and _DNS_1035_RE.fullmatch(text) is not None


def is_label_value(text: str) -> bool:
    return len(text) <= DNS_LABEL_MAX and _LABEL_VALUE_RE.fullmatch(text) is not None


def is_qualified_name(key: str) -> bool:
    """A label or annotation key: an optional DNS subdomain prefix, `/`, and a name of 1-63 characters."""
    prefix, slash, name = key.rpartition("/")
    if slash and (len(prefix) > 253 or not _SUBDOMAIN_RE.fullmatch(prefix)):
        return False
    return bool(name) and is_label_value(name)


def check_metadata(labels: dict[str, str], annotations: dict[str, str]) -> None:
    """Raise CompileError for a pipeline label or annotation Kubernetes would reject."""
    for key, value in labels.items():
        if not is_qualified_name(key):
            raise CompileError(f"metadata.labels: {key!r} is not a valid label key")
        if not is_label_value(value):
            raise CompileError(
                f"metadata.labels.{key}: {value!r} is not a valid label value "
                "(at most 63 letters, digits, '-', '_' or '.', starting and ending alphanumeric)"
            )
    for key in annotations:
        if not is_qualified_name(key):
            raise CompileError(f"metadata.annotations: {key!r} is not a valid annotation key")


def _with_hash(slug: str, original: str, *, max_length: int) -> str:
    head = slug[: max_length - HASH_LENGTH - 1].rstrip("-")
    digest = short_hash(original)
    return f"{head}-{digest}" if head else digest


def stage_id_of(pod: Mapping[str, Any]) -> int | None:
    """The store's stage id a pod of ours belongs to; None for a pod that is not ours or not a stage's."""
    metadata = pod.get("metadata") or {}
    labels = metadata.get("labels") or {}
    if labels.get(LABEL_MANAGED_BY) != MANAGED_BY:
        return None
    annotations = metadata.get("annotations") or {}
    for candidate in (annotations.get(ANNOTATION_STAGE_ID), labels.get(LABEL_STAGE)):
        if isinstance(candidate, str) and candidate.isascii() and candidate.isdigit():
            return int(candidate)
    return None
