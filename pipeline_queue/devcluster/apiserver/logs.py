"""The pods/log subresource: container output the kubelets write to `data_dir/logs/<ns>_<pod>_<uid>/<container>.log`.

The folder is named as the real kubelet names it under /var/log/pods: with the uid, so the output of a deleted
pod, removed once the object is gone, is never confused with that of a new pod of the same name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .conditions import TERMINAL_PHASES
from .errors import ApiError, bad_request
from .handlers import Reply
from .routes import Request
from .store import Store
from .watchhttp import Output

_POLL = 0.1
_CHUNK = 64 * 1024


def pod_log_folder(data_dir: Path, pod: dict[str, Any]) -> Path:
    """The folder of a pod's container output."""
    meta = pod["metadata"]
    return data_dir / "logs" / f"{meta['namespace']}_{meta['name']}_{meta['uid']}"


def log_path(data_dir: Path, pod: dict[str, Any], container: str) -> Path:
    """Where the kubelet of the development cluster writes a container's output."""
    return pod_log_folder(data_dir, pod) / f"{container}.log"


def _containers(pod: dict[str, Any]) -> list[str]:
    spec = pod.get("spec") or {}
    return [c["name"] for c in (spec.get("initContainers") or []) + (spec.get("containers") or [])]


def choose_container(pod: dict[str, Any], wanted: str) -> str:
    """The container a log request means; 400 when it names none of the pod's, or leaves it ambiguous."""
    name = pod["metadata"]["name"]
    if wanted:
        if wanted not in _containers(pod):
            raise bad_request(f"container {wanted} is not valid for pod {name}")
        return wanted
    main = [c["name"] for c in (pod.get("spec") or {}).get("containers") or []]
    if len(main) == 1:
        return main[0]
    raise bad_request(f"a container name must be specified for pod {name}, choose one of: [{' '.join(main)}]")


def _status(pod: dict[str, Any], container: str) -> dict[str, Any]:
    status = pod.get("status") or {}
    for entry in (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or []):
        if entry.get("name") == container:
            return entry
    return {}


def _finished(pod: dict[str, Any], container: str) -> bool:
    if (pod.get("status") or {}).get("phase") in TERMINAL_PHASES:
        return True
    return "terminated" in ((_status(pod, container).get("state")) or {})


def _tail(data: bytes, lines: int | None) -> bytes:
    if lines is None:
        return data
    if lines <= 0:
        return b""
    parts = data.splitlines(keepends=True)
    return b"".join(parts[-lines:])


class LogFollow:
    """`follow=true`: what the file holds, then new output until the container ends or the pod is gone."""

    content_type = "text/plain"

    def __init__(self, store: Store, pod: dict[str, Any], *, container: str, path: Path,
                 tail: int | None, limit: int | None) -> None:
        self.store, self.pod, self.container, self.path = store, pod, container, path
        self.tail, self.limit = tail, limit

    def close(self) -> None:
        """Nothing to release: the loop notices the server stopping on its own."""

    def _done(self) -> bool:
        meta = self.pod["metadata"]
        try:
            pod = self.store.get("pods", meta["namespace"], meta["name"])
        except ApiError:
            return True
        return pod["metadata"]["uid"] != meta["uid"] or _finished(pod, self.container)

    def run(self, out: Output) -> None:
        with self.path.open("rb") as handle:
            sent = self._send(out, _tail(handle.read(), self.tail))
            while not out.stopping.is_set() and (self.limit is None or sent < self.limit):
                finished = self._done()
                chunk = handle.read(_CHUNK)
                if chunk:
                    sent += self._send(out, chunk, already=sent)
                    continue
                if finished or not out.alive():
                    return
                out.stopping.wait(_POLL)

    def _send(self, out: Output, data: bytes, *, already: int = 0) -> int:
        if self.limit is not None:
            data = data[: max(self.limit - already, 0)]
        if data:
            out.write(data)
        return len(data)


def read_logs(store: Store, request: Request, *, data_dir: Path) -> Reply | LogFollow:
    """GET pods/NAME/log with container, follow, tailLines, limitBytes and previous."""
    route, query = request.route, request.query
    pod = store.get("pods", route.namespace, route.name or "")
    container = choose_container(pod, query.get("container", ""))
    name = pod["metadata"]["name"]
    if request.flag("previous"):
        raise bad_request(f'previous terminated container "{container}" in pod "{name}" not found')
    if not (pod.get("spec") or {}).get("nodeName"):
        return Reply(200, b"", content_type="text/plain")  # not scheduled yet: no node to ask, no output
    path = log_path(data_dir, pod, container)
    if not path.exists():
        waiting = (_status(pod, container).get("state") or {}).get("waiting") or {}
        reason = waiting.get("reason", "ContainerCreating")
        raise bad_request(f'container "{container}" in pod "{name}" is waiting to start: {reason}')
    tail, limit = request.number("tailLines"), request.number("limitBytes")
    if request.flag("follow"):
        return LogFollow(store, pod, container=container, path=path, tail=tail, limit=limit)
    data = _tail(path.read_bytes(), tail)
    return Reply(200, data[:limit] if limit is not None else data, content_type="text/plain")
