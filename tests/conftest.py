"""Shared fixtures.

Database: ``GATEHOUSE_TEST_DATABASE_URL`` empty or unset means SQLite; a PostgreSQL URL
means PostgreSQL (the test command runs the suite once on each). ``db_url`` gives every
test its own freshly migrated database: on SQLite a copy of a migrated template file, on
PostgreSQL ``CREATE DATABASE ... TEMPLATE`` of a migrated template database.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from gatehouse.adapters.storage import migrate
from gatehouse.adapters.storage.db import make_engine, make_session_factory

PG_URL = os.environ.get("GATEHOUSE_TEST_DATABASE_URL", "")
ON_POSTGRES = PG_URL.startswith("postgresql")


def _pg_admin_engine() -> Engine:
    url = (
        PG_URL if "+psycopg" in PG_URL else PG_URL.replace("postgresql://", "postgresql+psycopg://")
    )
    return create_engine(url, isolation_level="AUTOCOMMIT")


def _pg_url_for(database: str) -> str:
    base = (
        PG_URL if "+psycopg" in PG_URL else PG_URL.replace("postgresql://", "postgresql+psycopg://")
    )
    return base.rsplit("/", 1)[0] + "/" + database


@pytest.fixture(scope="session")
def _template_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated template database, built once per test session."""
    if ON_POSTGRES:
        name = f"gh_tmpl_{uuid.uuid4().hex[:10]}"
        admin = _pg_admin_engine()
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        migrate.upgrade(_pg_url_for(name))
        yield name
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    else:
        path = tmp_path_factory.mktemp("template") / "template.db"
        migrate.upgrade(f"sqlite:///{path}")
        yield str(path)


@pytest.fixture
def db_url(_template_db: str, tmp_path: Path) -> Iterator[str]:
    """URL of a fresh, fully migrated database for this test alone."""
    if ON_POSTGRES:
        name = f"gh_t_{uuid.uuid4().hex[:12]}"
        admin = _pg_admin_engine()
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{_template_db}"'))
        yield _pg_url_for(name)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    else:
        path = tmp_path / "gatehouse.db"
        shutil.copyfile(_template_db, path)
        yield f"sqlite:///{path}"


@pytest.fixture
def db_engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session_factory(db_engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(db_engine)


@pytest.fixture
def empty_db_url(tmp_path: Path) -> Iterator[str]:
    """URL of an empty (unmigrated) database, for migration tests."""
    if ON_POSTGRES:
        name = f"gh_e_{uuid.uuid4().hex[:12]}"
        admin = _pg_admin_engine()
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield _pg_url_for(name)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    else:
        yield f"sqlite:///{tmp_path / 'empty.db'}"


@pytest.fixture
def artifacts_dir() -> Path:
    """Where tests leave things a person should look at (screenshots, plots, reports)."""
    path = Path(os.environ.get("GATEHOUSE_TEST_ARTIFACTS", "artifacts"))
    path.mkdir(parents=True, exist_ok=True)
    return path
