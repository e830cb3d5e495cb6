"""Alembic migrations of the store, shipped inside the package so that `migrate()` finds them."""
