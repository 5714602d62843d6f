"""SQLite: a unit of work that reads and then writes must not fail because another
connection wrote in between (WAL cannot upgrade a stale read snapshot: "database is locked"
at once, whatever the busy timeout). ``transaction(write_lock=True)`` takes the write lock up
front; the web export uses it."""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy import text

from gatehouse.adapters.storage.db import make_engine, make_session_factory, transaction


def test_read_then_write_survives_a_concurrent_writer(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'lock.db'}")
    factory = make_session_factory(engine)
    with transaction(factory) as s:
        s.execute(text("CREATE TABLE t (n INTEGER)"))
    has_read = threading.Event()
    errors: list[BaseException] = []

    def reader_then_writer() -> None:  # like an export: read the data, then audit it
        try:
            with transaction(factory, write_lock=True) as s:
                s.execute(text("SELECT count(*) FROM t")).scalar()
                has_read.set()
                threading.Event().wait(0.3)  # the other writer tries meanwhile
                s.execute(text("INSERT INTO t VALUES (1)"))
        except BaseException as exc:
            errors.append(exc)
            has_read.set()

    def other_writer() -> None:  # like the dialler runtime writing an attempt
        has_read.wait(5)
        try:
            with transaction(factory) as s:
                s.execute(text("INSERT INTO t VALUES (2)"))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=reader_then_writer), threading.Thread(target=other_writer)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    with factory() as s:
        assert sorted(s.execute(text("SELECT n FROM t")).scalars()) == [1, 2]
    engine.dispose()
