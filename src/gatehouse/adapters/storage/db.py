"""Engines and sessions. SQLite gets WAL, foreign keys and a busy timeout on every connection."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def make_engine(url: str, **kwargs: Any) -> Engine:
    if is_sqlite(url):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # Let SQLAlchemy manage BEGIN itself so pysqlite's implicit transactions
            # do not fight SAVEPOINTs and BEGIN IMMEDIATE.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # A unit of work that reads and then writes must take the write lock up front:
            # in WAL mode a read snapshot that another connection has since written past
            # cannot be upgraded, and SQLite answers "database is locked" at once, whatever
            # the busy timeout. BEGIN IMMEDIATE waits (busy_timeout) instead.
            immediate = conn.get_execution_options().get(IMMEDIATE, False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return create_engine(url, pool_pre_ping=True, **kwargs)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


#: execution option: begin the SQLite transaction with BEGIN IMMEDIATE (see make_engine)
IMMEDIATE = "gatehouse_sqlite_immediate"


_open_units = threading.local()  # per thread: how many ``transaction`` units are open


@contextmanager
def transaction(
    factory: sessionmaker[Session], *, write_lock: bool | None = None
) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any exception.

    On SQLite the outermost unit of a thread holds the write lock from the start (``BEGIN
    IMMEDIATE``): in WAL mode a unit that reads and then writes (every audit append reads
    the chain head; a session check reads, then touches ``last_seen``) fails at once with
    "database is locked" if another connection wrote in between, whatever the busy timeout;
    with the lock taken first it waits its turn instead. A unit opened inside another one
    in the same thread begins deferred, so it can read beside its outer unit instead of
    waiting for that unit's own lock (decision 0013). ``write_lock`` forces either way."""
    depth = getattr(_open_units, "depth", 0)
    _open_units.depth = depth + 1
    try:
        with factory() as session, session.begin():
            immediate = depth == 0 if write_lock is None else write_lock
            if immediate and session.get_bind().dialect.name == "sqlite":
                session.connection(execution_options={IMMEDIATE: True})
            yield session
    finally:
        _open_units.depth = depth


@contextmanager
def sqlite_page_cache(session: Session, mib: int) -> Iterator[None]:
    """On SQLite, give this session's connection a page cache of ``mib`` MiB until the block
    ends (then the previous size again, as the connection goes back to the pool).

    For one long write transaction into randomly ordered indexes (a contact import: the
    contact ref and the number's HMAC): with the default 2 MiB cache, pages are spilled to
    the WAL and read back again and again, which at 1 M rows costs more than the rows.
    Elsewhere (PostgreSQL) this does nothing."""
    if session.get_bind().dialect.name != "sqlite":
        yield
        return
    conn = session.connection()
    previous = conn.exec_driver_sql("PRAGMA cache_size").scalar()
    conn.exec_driver_sql(f"PRAGMA cache_size=-{int(mib) * 1024}")
    try:
        yield
    finally:
        conn.exec_driver_sql(f"PRAGMA cache_size={int(previous or -2000)}")
