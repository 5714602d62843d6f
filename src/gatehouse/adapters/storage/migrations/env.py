"""Alembic environment: migrations are hand-written per area, numbered 0001, 0002, ..."""

from __future__ import annotations

from alembic import context

from gatehouse.adapters.storage.db import make_engine
from gatehouse.adapters.storage.tables import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    url = config.get_main_option("sqlalchemy.url")
    assert url
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations_online()
