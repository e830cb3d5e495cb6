"""Which database to use and how to connect: PostgreSQL (psycopg 3) when a URL is given, else SQLite.

SQLite is shared by several processes (producer, workers, beat): WAL lets readers run beside the
one writer, a busy timeout makes writers wait instead of failing, and write transactions start
with BEGIN IMMEDIATE so that two of them never both read and then race to write.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker

from pipeline_queue.errors import UsageError

DATABASE_FILE = "pipeline-queue.db"
"""The SQLite file inside the data directory, used when no `DATABASE_URL` is given."""

BUSY_TIMEOUT_SECONDS = 30
"""How long an SQLite writer waits for another process's write transaction before giving up."""

_BEGIN_OPTION = "pq_sqlite_begin"
_POSTGRES_SCHEMES = ("postgres", "postgresql")


def database_url(*, data_dir: Path, url: str | None = None) -> str:
    """`url` (a `DATABASE_URL`) made ready for SQLAlchemy, or the SQLite file in `data_dir`."""
    if not url:
        return f"sqlite:///{(data_dir / DATABASE_FILE).absolute()}"
    parsed = _parse(url)
    if parsed.drivername in _POSTGRES_SCHEMES:
        parsed = parsed.set(drivername="postgresql+psycopg")
    elif parsed.get_backend_name() not in ("postgresql", "sqlite"):
        raise UsageError(
            f"DATABASE_URL: unsupported database {parsed.drivername!r}; "
            "use postgresql://USER@HOST/DB or sqlite:///PATH"
        )
    return parsed.render_as_string(hide_password=False)


def redacted(url: str | URL) -> str:
    """The URL as it may be shown to a user: any password replaced by `***`."""
    parsed = url if isinstance(url, URL) else _parse(url)
    return parsed.render_as_string(hide_password=True)


def create_engine(url: str) -> Engine:
    """An engine for a URL from `database_url`, set up for many processes writing at once."""
    parsed = _parse(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed)
    # Workers live long and databases restart: test each pooled connection before using it.
    return sa.create_engine(parsed, pool_pre_ping=True)


def session_factory(engine: Engine, *, read_only: bool = False) -> sessionmaker[Session]:
    """Sessions for the store's functions; `read_only` ones do not take SQLite's write lock."""
    if read_only and engine.dialect.name == "sqlite":
        engine = engine.execution_options(**{_BEGIN_OPTION: "DEFERRED"})
    return sessionmaker(engine, expire_on_commit=False)


def _parse(url: str) -> URL:
    try:
        return make_url(url)
    except ArgumentError as error:
        raise UsageError("DATABASE_URL: not a database URL (expected postgresql://USER@HOST/DB)") from error


def _sqlite_engine(url: URL) -> Engine:
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(
        url, connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_SECONDS}
    )
    sa.event.listen(engine, "connect", _configure_sqlite)
    sa.event.listen(engine, "begin", _begin_sqlite)
    return engine


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # The driver's own transaction handling would issue a deferred BEGIN behind our back; turn
    # it off so that `_begin_sqlite` decides how each transaction starts.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_SECONDS * 1000}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def _begin_sqlite(connection: sa.Connection) -> None:
    mode = connection.get_execution_options().get(_BEGIN_OPTION, "IMMEDIATE")
    connection.exec_driver_sql(f"BEGIN {mode}")
