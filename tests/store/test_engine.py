"""Choosing the database from DATABASE_URL or the data directory, and SQLite set up for many writers."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline_queue.errors import StoreError, UsageError
from pipeline_queue.store import (
    NewBuild,
    create_build,
    create_engine,
    database_url,
    list_builds,
    migrate,
    redacted,
    session_factory,
)


def test_without_a_url_the_database_is_an_sqlite_file_in_the_data_directory(tmp_path):
    assert database_url(data_dir=tmp_path / "data", url=None) == f"sqlite:///{tmp_path}/data/pipeline-queue.db"
    assert database_url(data_dir=tmp_path, url="") == f"sqlite:///{tmp_path}/pipeline-queue.db"


def test_a_relative_data_directory_becomes_absolute_so_every_process_finds_the_same_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert database_url(data_dir=Path(".pipeline-queue"), url=None) == (
        f"sqlite:///{tmp_path}/.pipeline-queue/pipeline-queue.db"
    )


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("postgresql://ci:pw@db.example.com:5432/pq", "postgresql+psycopg://ci:pw@db.example.com:5432/pq"),
        ("postgres://ci@db/pq", "postgresql+psycopg://ci@db/pq"),
        ("postgresql+psycopg://ci@db/pq?sslmode=require", "postgresql+psycopg://ci@db/pq?sslmode=require"),
        ("sqlite:////var/lib/pq/pq.db", "sqlite:////var/lib/pq/pq.db"),
    ],
)
def test_database_url_is_used_with_the_psycopg_3_driver(given, used, tmp_path):
    assert database_url(data_dir=tmp_path, url=given) == used


@pytest.mark.parametrize("given", ["mysql://root@db/pq", "not a url"])
def test_an_unsupported_database_url_is_refused_with_what_to_use(given, tmp_path):
    with pytest.raises(UsageError, match="DATABASE_URL") as raised:
        database_url(data_dir=tmp_path, url=given)
    assert "postgresql://" in str(raised.value)


def test_redacted_urls_never_show_the_password():
    assert redacted("postgresql+psycopg://ci:hunter2@db/pq") == "postgresql+psycopg://ci:***@db/pq"


def test_an_unreachable_database_is_reported_without_its_password():
    with pytest.raises(StoreError) as raised:
        migrate("postgresql+psycopg://ci:hunter2@127.0.0.1:1/pq?connect_timeout=2")
    assert "127.0.0.1:1/pq" in str(raised.value)
    assert "hunter2" not in str(raised.value)


def test_sqlite_is_set_up_for_several_writing_processes(tmp_path):
    engine = create_engine(database_url(data_dir=tmp_path / "new" / "dir", url=None))
    with engine.connect() as connection:
        pragma = {name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
                  for name in ("journal_mode", "foreign_keys", "busy_timeout")}
    engine.dispose()
    assert pragma["journal_mode"] == "wal"
    assert pragma["foreign_keys"] == 1
    assert pragma["busy_timeout"] >= 5000
    assert (tmp_path / "new" / "dir" / "pipeline-queue.db").is_file()



def test_readers_are_not_held_up_by_a_writer_on_sqlite(tmp_path):
    url = database_url(data_dir=tmp_path, url=None)
    migrate(url)
    engine = create_engine(url)
    with session_factory(engine).begin() as writer:
        create_build(writer, NewBuild(repo="octo/hello", event="push"), stages=[])
        # The writer holds SQLite's write lock until it commits; a reader still sees the last commit.
        with session_factory(engine, read_only=True)() as reader:
            assert list_builds(reader) == []
    with session_factory(engine, read_only=True)() as reader:
        assert [build.number for build in list_builds(reader)] == [1]
    engine.dispose()
