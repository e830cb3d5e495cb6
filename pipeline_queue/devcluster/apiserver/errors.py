"""Errors of the API server, each one a Kubernetes v1 `Status` with code and reason (under `DevClusterError`).

Messages follow the real API server word for word where clients may match them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pipeline_queue.devcluster.errors import DevClusterError

_CAUSE_TITLES = {
    "FieldValueRequired": "Required value",
    "FieldValueForbidden": "Forbidden",
    "FieldValueInvalid": "Invalid value",
    "FieldValueNotSupported": "Unsupported value",
    "FieldValueDuplicate": "Duplicate value",
    "FieldValueNotFound": "Not found",
    "FieldValueTooLong": "Too long",
    "FieldValueTypeInvalid": "Invalid value",
}
# Field errors that show the offending value, as apimachinery's field.Error does.
_SHOWS_VALUE = {"FieldValueInvalid", "FieldValueNotSupported", "FieldValueDuplicate",
                "FieldValueNotFound", "FieldValueTypeInvalid"}
_REDACTED = "<secret contents redacted>"


@dataclass(frozen=True)
class FieldError:
    """One cause of a 422: a field path, a cause type (`FieldValueRequired`...) and the value at fault."""

    reason: str
    field: str
    detail: str = ""
    value: Any = None

    def body(self) -> str:
        """The text after the field path, like `Invalid value: "x": must be ...`."""
        text = _CAUSE_TITLES.get(self.reason, "Invalid value")
        if self.reason in _SHOWS_VALUE:
            text += f": {_render(self.value)}"
        return f"{text}: {self.detail}" if self.detail else text

    def __str__(self) -> str:
        return f"{self.field}: {self.body()}"


def _render(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if value == _REDACTED:
        return value
    return json.dumps(value, separators=(",", ":"))


def redacted() -> str:
    """The placeholder the real server shows instead of a secret's content."""
    return _REDACTED


class ApiError(DevClusterError):
    """A request the API server refuses: `status()` is the v1 Status object sent to the client."""

    def __init__(
        self, code: int, reason: str, *, message: str,
        details: dict[str, Any] | None = None, metadata: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.details = details
        self.metadata = metadata or {}

    def status(self) -> dict[str, Any]:
        """The error as the `Status` object the real server sends."""
        body: dict[str, Any] = {
            "kind": "Status", "apiVersion": "v1", "metadata": dict(self.metadata), "status": "Failure",
            "message": self.message, "reason": self.reason, "code": self.code,
        }
        if self.details:
            body["details"] = self.details
        return body


def not_found(resource: str, name: str) -> ApiError:
    return ApiError(404, "NotFound", message=f'{resource} "{name}" not found', details={"name": name, "kind": resource})


def already_exists(resource: str, name: str) -> ApiError:
    return ApiError(409, "AlreadyExists", message=f'{resource} "{name}" already exists',
                    details={"name": name, "kind": resource})


def conflict(resource: str, name: str, *, why: str) -> ApiError:
    return ApiError(409, "Conflict", message=f'Operation cannot be fulfilled on {resource} "{name}": {why}',
                    details={"name": name, "kind": resource})


def stale(resource: str, name: str) -> ApiError:
    """The optimistic-concurrency failure every controller retries on."""
    return conflict(resource, name, why="the object has been modified; please apply your changes to the "
                                        "latest version and try again")


def invalid(kind: str, name: str, *, errors: list[FieldError]) -> ApiError:
    """422 Invalid; one error reads `Kind "name" is invalid: field: ...`, several are bracketed."""
    listed = str(errors[0]) if len(errors) == 1 else "[" + ", ".join(str(e) for e in errors) + "]"
    causes = [{"reason": e.reason, "message": e.body(), "field": e.field} for e in errors]
    return ApiError(422, "Invalid", message=f'{kind} "{name}" is invalid: {listed}',
                    details={"name": name, "kind": kind, "causes": causes})


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message=message)


def forbidden(resource: str, name: str, *, why: str) -> ApiError:
    return ApiError(403, "Forbidden", message=f'{resource} "{name}" is forbidden: {why}',
                    details={"name": name, "kind": resource})


def expired(message: str, *, continue_token: str = "") -> ApiError:
    """410 Gone: a watch or continue token older than the history kept."""
    return ApiError(410, "Expired", message=message, metadata={"continue": continue_token} if continue_token else None)


def method_not_supported() -> ApiError:
    return ApiError(405, "MethodNotAllowed", message="the server does not allow this method on the requested resource")


def unsupported_media_type(accepted: list[str]) -> ApiError:
    """415: a body in a media type this server does not decode (apimachinery's errUnsupportedMediaType)."""
    return ApiError(415, "UnsupportedMediaType", message=(
                    "the body of the request was in an unknown format - accepted media types include: "
                    + ", ".join(accepted)))


def too_large(limit: int) -> ApiError:
    """413: a request body over the limit, refused before more than the limit is read."""
    return ApiError(413, "RequestEntityTooLarge", message=f"Request entity too large: limit is {limit}")


def unauthorized() -> ApiError:
    """401: no bearer token, or not the cluster's; the real server says no more than this."""
    return ApiError(401, "Unauthorized", message="Unauthorized")


def host_not_allowed(host: str, *, allowed: list[str]) -> ApiError:
    """403: a Host header naming something other than this server on loopback (a DNS-rebinding page)."""
    return ApiError(403, "Forbidden", message=(
                    f"host {json.dumps(host)} is not allowed: the development cluster answers only to "
                    f"{', '.join(allowed)}"))


def not_supported(resource: str, subresource: str, *, instead: str) -> ApiError:
    """400 for what a real cluster streams through a kubelet and this one cannot (exec, port-forward...)."""
    return ApiError(400, "BadRequest", message=f"{resource}/{subresource} is not supported by the development "
                    f"cluster: {instead}")


def page_not_found() -> ApiError:
    return ApiError(404, "NotFound", message="the server could not find the requested resource",
                    details={"causes": [{"reason": "UnexpectedServerResponse", "message": "404 page not found"}]})
