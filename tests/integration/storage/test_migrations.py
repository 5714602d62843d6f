"""Migrations apply from empty to head and back to base on both databases."""

from __future__ import annotations

from sqlalchemy import inspect

from gatehouse.adapters.storage import migrate
from gatehouse.adapters.storage.db import make_engine


def test_upgrade_to_head_then_downgrade_to_base(empty_db_url: str) -> None:
    migrate.upgrade(empty_db_url)
    engine = make_engine(empty_db_url)
    try:
        tables = set(inspect(engine).get_table_names())
        assert "alembic_version" in tables
    finally:
        engine.dispose()
    migrate.downgrade(empty_db_url, "base")
    engine = make_engine(empty_db_url)
    try:
        leftover = set(inspect(engine).get_table_names()) - {"alembic_version"}
        assert leftover == set()
    finally:
        engine.dispose()
