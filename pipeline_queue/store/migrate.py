"""Bring a database's tables up to date: alembic's `upgrade head`, run from code (no alembic.ini)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from pipeline_queue.errors import StoreError
from pipeline_queue.store.engine import create_engine, redacted

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

# Any fixed number: PostgreSQL advisory lock that keeps two processes from migrating at once.
_MIGRATION_LOCK = 0x70715F6D6967


def alembic_config() -> Config:
    """Alembic's configuration for the migrations shipped inside this package."""
    config = Config()
    # ConfigParser would read a '%' in the path as interpolation.
    config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    return config


def migrate(url: str | Engine) -> None:
    """Create or upgrade every table at `url` (a URL from `database_url`, or an engine)."""
    engine = create_engine(url) if isinstance(url, str) else url
    config = alembic_config()
    try:
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK})")
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except SQLAlchemyError as error:
        raise StoreError(
            f"cannot migrate the database at {redacted(engine.url)}: {_reason(error)}"
        ) from error
    finally:
        if isinstance(url, str):
            engine.dispose()


def _reason(error: SQLAlchemyError) -> str:
    # The driver's first line says what went wrong (refused, no such database) without the URL.
    cause = getattr(error, "orig", None) or error
    lines = str(cause).strip().splitlines()
    return lines[0] if lines else type(cause).__name__
