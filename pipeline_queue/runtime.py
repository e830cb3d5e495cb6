"""Where the running parts are: the one place every command resolves Redis, kubeconfig and database.

An explicit variable (`REDIS_URL`, `KUBECONFIG`, `DATABASE_URL`) wins; else what a running `pipeline-queue up`
recorded in `<data_dir>/up.json`; else the one-machine defaults of the data directory.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pipeline_queue.errors import UsageError
from pipeline_queue.settings import Settings

UP_RECORD = "up.json"
"""In the data directory while `up` runs (mode 0600): its pid, Redis, kubeconfig and database URLs, children."""

UP_LOCK = "up.lock"
"""In the data directory: held (flock) by the running `up`, so a record left by a killed one is known stale."""

KUBECONFIG_FILE = "kubeconfig"
"""In the data directory: the development cluster's kubeconfig, used when `KUBECONFIG` is unset."""


@dataclass(frozen=True)
class Runtime:
    """The resolved addresses; URLs may carry passwords, so they stay out of the repr."""

    data_dir: Path
    redis_url: str = field(repr=False)
    """The broker URL; empty means the data directory's embedded Redis, started when first needed."""
    kubeconfig: Path | None
    """None means in-cluster (the process runs in a pod)."""
    database_url: str = field(repr=False)
    """A SQLAlchemy URL, always set."""
    up_pid: int | None = None
    """The `up` whose record was used, if any."""

    def broker_url(self) -> str:
        """The broker URL, starting the embedded Redis of the data directory when none is configured."""
        from pipeline_queue.broker import ensure_embedded

        return self.redis_url or ensure_embedded(self.data_dir)

    def environment(self) -> dict[str, str]:
        """The variables that point a child process at these addresses (no `REDIS_URL`: the embedded one)."""
        variables = {"PQ_DATA_DIR": str(self.data_dir), "DATABASE_URL": self.database_url}
        if self.redis_url:
            variables["REDIS_URL"] = self.redis_url
        if self.kubeconfig is not None:
            variables["KUBECONFIG"] = str(self.kubeconfig)
        return variables

    def applied(self, settings: Settings) -> Settings:
        """`settings` pointing at these addresses, for code that reads them from the settings (tasks)."""
        return replace(
            settings,
            paths=replace(settings.paths, data_dir=self.data_dir, kubeconfig=self.kubeconfig),
            queue=replace(settings.queue, redis_url=self.redis_url),
            store=replace(settings.store, database_url=self.database_url),
        )


def resolve(settings: Settings) -> Runtime:
    """Redis, kubeconfig and database for this process: variables, else a running `up`, else defaults."""
    from pipeline_queue.store.engine import database_url

    data_dir = settings.paths.data_dir.absolute()
    record = running_up(data_dir) or {}
    kubeconfig = settings.paths.kubeconfig
    if kubeconfig is None and record.get("kubeconfig"):
        kubeconfig = Path(record["kubeconfig"])
    if kubeconfig is None and (data_dir / KUBECONFIG_FILE).is_file():
        kubeconfig = data_dir / KUBECONFIG_FILE
    return Runtime(
        data_dir=data_dir,
        redis_url=settings.queue.redis_url or str(record.get("redis_url") or ""),
        kubeconfig=kubeconfig,
        database_url=database_url(
            data_dir=data_dir, url=settings.store.database_url or str(record.get("database_url") or "")
        ),
        up_pid=record.get("pid") if record else None,
    )


def running_up(data_dir: Path) -> dict[str, Any] | None:
    """The record of the `up` running in `data_dir`, or None (none ran, or it died without cleaning up)."""
    try:
        record = json.loads((data_dir / UP_RECORD).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or not _lock_held(data_dir):
        return None
    return record


def write_up_record(data_dir: Path, record: dict[str, Any]) -> Path:
    """Write `up.json` readable by its owner only: it may hold the URLs' passwords."""
    path = data_dir / UP_RECORD
    temporary = path.with_suffix(".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump(record, handle, indent=2)
    temporary.replace(path)  # readers never see half a record
    return path


@contextmanager
def holding_up_lock(data_dir: Path) -> Iterator[None]:
    """Held while `up` runs in `data_dir`; a second `up` there is refused rather than sharing its files."""
    data_dir.mkdir(parents=True, exist_ok=True)
    with (data_dir / UP_LOCK).open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UsageError(f"`pipeline-queue up` already runs in {data_dir}: stop it, or set PQ_DATA_DIR") from None
        (data_dir / UP_RECORD).unlink(missing_ok=True)  # left by an `up` that was killed
        try:
            yield
        finally:
            (data_dir / UP_RECORD).unlink(missing_ok=True)
            fcntl.flock(handle, fcntl.LOCK_UN)


def _lock_held(data_dir: Path) -> bool:
    try:
        handle = (data_dir / UP_LOCK).open("r")
    except OSError:
        return False
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False
