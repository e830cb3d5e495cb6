"""Store fixtures: every test runs on SQLite (a fresh file) and on PostgreSQL when one answers.

PostgreSQL tests live in a schema of their own (`pq_test_<random>`, through `search_path`),
created once per test session and dropped at its end; no other schema is touched.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from pipeline_queue.store import create_engine, database_url, migrate, session_factory
from pipeline_queue.store.models import Base

POSTGRES_CANDIDATES = ("postgresql://postgres@127.0.0.1:5432/test", "postgresql://root@127.0.0.1:5432/test")


def _postgres(url: str) -> str:
    return database_url(data_dir=Path(), url=url)  # the data directory only matters without a URL


def _answering_postgres() -> str | None:
    for candidate in POSTGRES_CANDIDATES:
        engine = sa.create_engine(
            _postgres(candidate),
            poolclass=sa.NullPool,
            connect_args={"connect_timeout": 3},
        )
        try:
            with engine.connect():
                return candidate
        except sa.exc.OperationalError:
            continue
        finally:
            engine.dispose()
    return None


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str | None]:
    """A URL whose connections use a fresh schema of their own, or None when PostgreSQL does not answer."""
    server = _answering_postgres()
    if server is None:
        yield None
        return
    schema = f"pq_test_{secrets.token_hex(6)}"
    admin = sa.create_engine(_postgres(server), poolclass=sa.NullPool)
    with admin.begin() as connection:
        connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
    url = _postgres(f"{server}?options={quote(f'-csearch_path={schema}')}")
    try:
        migrate(url)
        yield url
    finally:
        with admin.begin() as connection:
            connection.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path, postgres_url: str | None) -> str:
    """A migrated, empty database of each kind."""
    if request.param == "sqlite":
        url = database_url(data_dir=tmp_path / "data", url=None)
        migrate(url)
        return url
    if postgres_url is None:
        pytest.skip(f"PostgreSQL does not answer at {' or '.join(POSTGRES_CANDIDATES)}")
    engine = create_engine(postgres_url)
    tables = ", ".join(table.name for table in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    engine.dispose()
    return postgres_url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = create_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return session_factory(engine)
