"""The vault's store-backed tests run on the store's fixtures: SQLite, and PostgreSQL when one answers."""

from tests.store.conftest import db_url, engine, postgres_url, sessions

__all__ = ["db_url", "engine", "postgres_url", "sessions"]
