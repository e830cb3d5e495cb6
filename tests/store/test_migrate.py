"""The migration creates exactly the models' tables, ships inside the package, and runs twice safely."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from pipeline_queue.store import migrate
from pipeline_queue.store.migrate import MIGRATIONS, alembic_config
from pipeline_queue.store.models import Base


def _differences(engine: sa.Engine, metadata: sa.MetaData) -> list:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, metadata)


def test_migrated_schema_matches_the_models(engine):
    assert _differences(engine, Base.metadata) == []


def test_the_comparison_notices_a_column_the_migration_lacks(engine):
    metadata = sa.MetaData()
    for table in Base.metadata.sorted_tables:
        table.to_metadata(metadata)
    metadata.tables["steps"].append_column(sa.Column("extra", sa.Integer(), nullable=True))
    differences = _differences(engine, metadata)
    assert [(kind, column.name) for kind, _schema, _table, column in differences] == [("add_column", "extra")]


def _indexes(engine: sa.Engine, table: str) -> dict[str, list[str]]:
    return {index["name"]: index["column_names"] for index in sa.inspect(engine).get_indexes(table)}


def test_indexes_for_listing_and_resync_exist(engine):
    assert _indexes(engine, "builds")["ix_builds_created"] == ["created"]
    assert _indexes(engine, "stages")["ix_stages_status"] == ["status"]
    assert _indexes(engine, "steps")["ix_steps_stage_id"] == ["stage_id"]


def test_builds_are_indexed_newest_first(engine):
    if engine.dialect.name == "sqlite":
        with engine.connect() as connection:
            sql = connection.exec_driver_sql("SELECT sql FROM sqlite_master WHERE name = 'ix_builds_created'").scalar()
        assert "created DESC" in sql
    else:
        (index,) = [i for i in sa.inspect(engine).get_indexes("builds") if i["name"] == "ix_builds_created"]
        assert index["column_sorting"] == {"created": ("desc",)}


def test_migrating_again_changes_nothing(engine):
    migrate(engine)
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all() == ["0005"]
    assert _differences(engine, Base.metadata) == []


def test_migrations_live_inside_the_package_with_a_single_head():
    assert MIGRATIONS.parent.name == "store"
    assert (MIGRATIONS / "env.py").is_file()
    assert ScriptDirectory.from_config(alembic_config()).get_heads() == ["0005"]
