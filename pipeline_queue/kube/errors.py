"""Kubernetes API errors as our own types, chosen by HTTP status, with the client's error chained as the cause."""

from __future__ import annotations

import json
from typing import Any

from kubernetes.client.exceptions import ApiException

from pipeline_queue.errors import PipelineQueueError


class KubeError(PipelineQueueError):
    """The Kubernetes API refused or failed a request; `status` is the HTTP status (0: no answer)."""

    exit_code = 1

    def __init__(self, message: str, *, status: int = 0, reason: str = "") -> None:
        super().__init__(message)
        self.status, self.reason = status, reason


class NotFoundError(KubeError):
    """404: the object (or its namespace) does not exist."""


class ConflictError(KubeError):
    """409: the object changed since it was read, or another writer holds it."""


class AlreadyExistsError(ConflictError):
    """409 AlreadyExists: an object of that name is there already; for our deterministic names, success."""


class ForeignObjectError(ConflictError):
    """An object of the name a stage wanted exists already and belongs to another stage: never adopted."""


class InvalidError(KubeError):
    """422: the object breaks the API's rules; the message says which field."""


class ForbiddenError(KubeError):
    """403: the account lacks the permission (RBAC) or an admission rule refused the object."""


class TransientKubeError(KubeError):
    """429, a 5xx or no answer at all: worth trying again after a pause."""


def is_transient_status(status: int) -> bool:
    return status == 429 or status >= 500 or status == 0


def from_api_exception(error: ApiException, *, action: str) -> KubeError:
    """Our error for a failed call; `action` says what was attempted (`creating Pod ns/name`)."""
    status = int(error.status or 0)
    body = _status_body(error.body)
    reason = str(body.get("reason") or error.reason or "")
    detail = str(body.get("message") or error.reason or "no details")
    message = f"Kubernetes API: {action}: {detail} (HTTP {status})" if status else f"Kubernetes API: {action}: {detail}"
    kind = _kind(status, reason)
    failure = kind(message, status=status, reason=reason)
    failure.__cause__ = error
    return failure


def from_connection_error(error: Exception, *, action: str) -> TransientKubeError:
    """No answer: the API server could not be reached or the connection broke."""
    failure = TransientKubeError(f"Kubernetes API: {action}: cannot reach the API server ({type(error).__name__})")
    failure.__cause__ = error
    return failure


def _kind(status: int, reason: str) -> type[KubeError]:
    if is_transient_status(status):
        return TransientKubeError
    if status == 409:
        return AlreadyExistsError if reason == "AlreadyExists" else ConflictError
    return {404: NotFoundError, 422: InvalidError, 403: ForbiddenError}.get(status, KubeError)


def _status_body(body: Any) -> dict[str, Any]:
    """The Status object the API server answers errors with; {} when the body is something else."""
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if not isinstance(body, str) or not body:
        return {}
    try:
        parsed = json.loads(body)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}
