"""The audit log is append-only and tamper-evident, on SQLite and PostgreSQL.

The tamper tests act as an attacker with database access: they drop the triggers first,
then edit, delete, reorder or insert rows directly, and the verifier must name the entry.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import Session, sessionmaker

from gatehouse.adapters.storage.audit import append_audit, verify_chain
from gatehouse.domain import audit as chain


def _fill(factory: sessionmaker[Session], n: int = 6) -> None:
    for i in range(1, n + 1):
        with factory() as session, session.begin():
            append_audit(
                session,
                actor=f"user{i}",
                action="script.approve",
                target=f"script_version:{i}",
                details={"note": f"ok {i}", "n": i},
            )


def _drop_triggers(engine: Engine) -> None:
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("DROP TRIGGER audit_log_no_update_delete ON audit_log"))
            conn.execute(text("DROP TRIGGER audit_log_no_truncate ON audit_log"))
        else:
            conn.execute(text("DROP TRIGGER audit_log_no_update"))
            conn.execute(text("DROP TRIGGER audit_log_no_delete"))


def _verify(
    factory: sessionmaker[Session], anchors: list[tuple[int, str]] | None = None
) -> chain.ChainReport:
    with factory() as session:
        return verify_chain(session, anchors or [])


def test_an_intact_chain_verifies(session_factory: sessionmaker[Session]) -> None:
    _fill(session_factory)
    report = _verify(session_factory)
    assert report.ok and report.entries == 6 and report.head_seq == 6


def test_audit_entry_commits_and_rolls_back_with_the_change(
    session_factory: sessionmaker[Session],
) -> None:
    with pytest.raises(RuntimeError), session_factory() as session, session.begin():
        append_audit(session, actor="a", action="x", target="t")
        raise RuntimeError("the change failed")
    assert _verify(session_factory).entries == 0


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_log SET actor = 'someone else' WHERE seq = 2",
        "DELETE FROM audit_log WHERE seq = 2",
    ],
)
def test_update_and_delete_are_refused_by_the_database(
    session_factory: sessionmaker[Session], db_engine: Engine, statement: str
) -> None:
    _fill(session_factory)
    with pytest.raises(DatabaseError, match="append-only"), db_engine.begin() as conn:
        conn.execute(text(statement))
    assert _verify(session_factory).ok


def test_truncate_is_refused_on_postgresql(
    session_factory: sessionmaker[Session], db_engine: Engine
) -> None:
    if db_engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no TRUNCATE")
    _fill(session_factory)
    with pytest.raises(DatabaseError, match="append-only"), db_engine.begin() as conn:
        conn.execute(text("TRUNCATE audit_log"))


def test_an_edited_entry_is_named(
    session_factory: sessionmaker[Session], db_engine: Engine
) -> None:
    _fill(session_factory)
    _drop_triggers(db_engine)
    with db_engine.begin() as conn:
        conn.execute(
            text("UPDATE audit_log SET details = :d WHERE seq = 3"),
            {"d": '{"n":3,"note":"nothing to see"}'},
        )
    report = _verify(session_factory)
    assert not report.ok and report.first_bad == 3 and report.problem == "edited"


def test_a_removed_entry_is_named(
    session_factory: sessionmaker[Session], db_engine: Engine
) -> None:
    _fill(session_factory)
    _drop_triggers(db_engine)
    with db_engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE seq = 4"))
    report = _verify(session_factory)
    assert not report.ok and report.first_bad == 5 and report.problem == "removed"
    assert "4..4" in report.message


def test_reordered_entries_are_named(
    session_factory: sessionmaker[Session], db_engine: Engine
) -> None:
    _fill(session_factory)
    _drop_triggers(db_engine)
    with db_engine.begin() as conn:  # swap the positions of entries 2 and 3
        conn.execute(text("UPDATE audit_log SET seq = -2 WHERE seq = 2"))
        conn.execute(text("UPDATE audit_log SET seq = 2 WHERE seq = 3"))
        conn.execute(text("UPDATE audit_log SET seq = 3 WHERE seq = -2"))
    report = _verify(session_factory)
    assert not report.ok and report.first_bad == 2 and report.problem == "reordered"


def test_an_inserted_entry_is_named(
    session_factory: sessionmaker[Session], db_engine: Engine
) -> None:
    _fill(session_factory)
    _drop_triggers(db_engine)
    # The attacker forges a consistent-looking entry 4 and renumbers the rest after it.
    with session_factory() as session:
        rows = session.execute(text("SELECT seq, entry_hash FROM audit_log ORDER BY seq")).all()
    prev = rows[2][1]
    forged_at = "2026-01-01T00:00:00+00:00"
    forged = chain.entry_hash(prev, 4, forged_at, "intruder", "recording.play", "recording:9", {})
    with db_engine.begin() as conn:
        for seq in (6, 5, 4):
            conn.execute(
                text("UPDATE audit_log SET seq = :new WHERE seq = :old"),
                {"new": seq + 1, "old": seq},
            )
        conn.execute(
            text(
                "INSERT INTO audit_log (seq, at, actor, action, target, details, prev_hash, "
                "entry_hash) "
                "VALUES (4, :at, 'intruder', 'recording.play', 'recording:9', '{}', :prev, :hash)"
            ),
            {"at": forged_at, "prev": prev, "hash": forged},
        )
    report = _verify(session_factory)
    assert not report.ok and report.first_bad == 5
    assert report.problem in ("reordered", "inserted")


def test_a_fully_rewritten_chain_is_caught_by_an_anchor(
    session_factory: sessionmaker[Session], db_engine: Engine
) -> None:
    _fill(session_factory)
    anchor = (_verify(session_factory).head_seq, _verify(session_factory).head_hash)
    _drop_triggers(db_engine)
    # Rewrite everything consistently (the attacker knows the algorithm).
    with session_factory() as session:
        rows = session.execute(
            text("SELECT seq, at, actor, action, target FROM audit_log ORDER BY seq")
        ).all()
    prev = chain.GENESIS
    with db_engine.begin() as conn:
        for seq, at, actor, action, target in rows:
            digest = chain.entry_hash(prev, seq, at, actor, action, target, {})
            conn.execute(
                text(
                    "UPDATE audit_log SET details = '{}', prev_hash = :p, entry_hash = :h "
                    "WHERE seq = :s"
                ),
                {"p": prev, "h": digest, "s": seq},
            )
            prev = digest
    assert _verify(session_factory).ok  # self-consistent...
    report = _verify(session_factory, [anchor])
    assert not report.ok and report.problem == "anchor"  # ...but not what was anchored


def test_cli_verify_exit_codes(
    session_factory: sessionmaker[Session], db_engine: Engine, db_url: str
) -> None:
    _fill(session_factory, 3)
    env = {**os.environ, "GATEHOUSE_DATABASE_URL": db_url}
    ok = subprocess.run(
        [sys.executable, "-m", "gatehouse.cli.main", "audit", "verify"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    head = subprocess.run(
        [sys.executable, "-m", "gatehouse.cli.main", "audit", "head"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert head.stdout.startswith("3:")
    _drop_triggers(db_engine)
    with db_engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET actor = 'x' WHERE seq = 2"))
    broken = subprocess.run(
        [
            sys.executable,
            "-m",
            "gatehouse.cli.main",
            "audit",
            "verify",
            "--anchor",
            head.stdout.strip(),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert broken.returncode == 1
    assert "entry 2" in broken.stdout
