"""Contact imports: encodings, bad rows, hostile files, encryption at rest, kill -9 safety."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from gatehouse.adapters.crypto.keys import KeyRing
from gatehouse.adapters.importing.reader import BadFile
from gatehouse.adapters.storage.db import make_engine, make_session_factory
from gatehouse.adapters.storage.tables.vault import Contact
from gatehouse.adapters.storage.vault import resolve_destination
from gatehouse.services import vault

HEADER = "first_name;surname;phone;address;postcode\n"


@pytest.fixture
def keyring(tmp_path: Path) -> KeyRing:
    return KeyRing.from_file(tmp_path / "keys" / "master.key")


@pytest.fixture
def campaign(session_factory: sessionmaker[Session]) -> str:
    with session_factory() as session, session.begin():
        vault.create_campaign(
            session,
            slug="ins-1",
            name="Insurance",
            tenant="acme",
            display_fields=["first_name"],
            export_fields=["surname"],
        )
    return "ins-1"


def _count(factory: sessionmaker[Session]) -> int:
    with factory() as session:
        return int(session.scalar(select(func.count()).select_from(Contact)) or 0)


def test_import_csv_with_bom_semicolons_and_bad_rows(
    session_factory: sessionmaker[Session], keyring: KeyRing, campaign: str, tmp_path: Path
) -> None:
    path = tmp_path / "list.csv"
    path.write_bytes(
        (
            "\ufeff"
            + HEADER
            + "Ann;Lee;07911 123123;1 High St;SW1A 1AA\n"
            + "Bob;Ray;+44 20 7946 0958;2 Low Rd;M1 1AE\n"
            + "Cy;Oops;not a number;3 Mid Way;B1 1AA\n"
            + "Di;Dup;07911123123;4 Top Ln;E1 6AN\n"
            + "ragged;row\n"
            + '=HYPERLINK("http://x");Evil;0161 496 0000;5 Bad St;L1 1AA\n'
        ).encode("utf-8")
    )
    report = vault.import_contacts(session_factory, keyring, path, campaign)
    assert report.imported == 3 and len(report.rejected) == 3
    reasons = {r.row: r.reason for r in report.rejected}
    assert "not a phone number" in reasons[4] or "not a valid" in reasons[4]
    assert reasons[5] == "duplicate of row 2"
    assert "cells, expected 5" in reasons[6]
    assert report.error_report and report.error_report.read_text().startswith("row,column,reason")


def test_latin1_and_tabs_are_detected(
    session_factory: sessionmaker[Session], keyring: KeyRing, campaign: str, tmp_path: Path
) -> None:
    path = tmp_path / "latin1.tsv"
    path.write_bytes("first_name\tphone\nZoë\t07911 123456\nRené\t07911 123457\n".encode("latin-1"))
    report = vault.import_contacts(session_factory, keyring, path, campaign)
    assert report.imported == 2
    with session_factory() as session:
        refs = [r for r, _ in vault.dialable(session, campaign)]
        names = {vault.contact_view(session, keyring, r).fields["first_name"] for r in refs}
    assert names == {"Zoë", "René"}


def test_pii_is_encrypted_at_rest_and_agents_see_only_approved_fields(
    session_factory: sessionmaker[Session],
    keyring: KeyRing,
    campaign: str,
    tmp_path: Path,
    db_engine: object,
) -> None:
    path = tmp_path / "list.csv"
    path.write_text(HEADER + "Ann;Canarysurname;07911 123789;77 Canary Wharf;E14 5AB\n")
    vault.import_contacts(session_factory, keyring, path, campaign)
    with session_factory() as session:
        ref, tz = vault.dialable(session, campaign)[0]
        raw = session.execute(text("SELECT pii, phone_hmac FROM contacts")).one()
        view = vault.contact_view(session, keyring, ref)
        assert resolve_destination(session, keyring, ref) == "+447911123789"
        assert vault.export_values(session, keyring, ref) == {"surname": "Canarysurname"}
    blob = bytes(raw[0])
    for canary in (b"Canarysurname", b"7911123789", b"Canary Wharf", b"E14 5AB"):
        assert canary not in blob
    assert "7911123789" not in raw[1]
    assert view.fields == {"first_name": "Ann"}
    assert tz == "Europe/London"


def test_suppressed_numbers_are_not_imported(
    session_factory: sessionmaker[Session], keyring: KeyRing, campaign: str, tmp_path: Path
) -> None:
    tps = tmp_path / "tps.csv"
    tps.write_text("phone\n07911 123123\n")
    added, _ = vault.import_suppressions(session_factory, keyring, tps, tenant="acme", source="TPS")
    assert added == 1
    path = tmp_path / "list.csv"
    path.write_text(HEADER + "Ann;Lee;07911 123123;x;y\nBob;Ray;07911 123124;x;y\n")
    report = vault.import_contacts(session_factory, keyring, path, campaign)
    assert report.imported == 1
    assert report.rejected[0].reason == "on a do-not-call list"


def test_a_second_import_rejects_numbers_already_in_the_campaign(
    session_factory: sessionmaker[Session], keyring: KeyRing, campaign: str, tmp_path: Path
) -> None:
    first = tmp_path / "first.csv"
    first.write_text(HEADER + "Ann;Lee;07911 123123;x;y\nBob;Ray;07911 123124;x;y\n")
    assert vault.import_contacts(session_factory, keyring, first, campaign).imported == 2
    second = tmp_path / "second.csv"
    second.write_text(HEADER + "Bob;Ray;+447911123124;x;y\nCy;Fox;07911 123125;x;y\n")
    report = vault.import_contacts(session_factory, keyring, second, campaign)
    assert report.imported == 1
    assert [(r.row, r.column, r.reason) for r in report.rejected] == [
        (2, "phone", "already in this campaign")
    ]
    assert _count(session_factory) == 3


def test_xlsx_imports(
    session_factory: sessionmaker[Session], keyring: KeyRing, campaign: str, tmp_path: Path
) -> None:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["First Name", "Phone"])
    sheet.append(["Ann", "07911 123321"])
    sheet.append(["Bob", 7911123322])
    path = tmp_path / "list.xlsx"
    book.save(path)
    assert vault.import_contacts(session_factory, keyring, path, campaign).imported == 2


def _zip_bomb(path: Path) -> None:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", "0" * (600 * 1024 * 1024))


@pytest.mark.parametrize(
    ("name", "make", "message"),
    [
        ("empty.csv", lambda p: p.write_text(""), "empty"),
        ("nophone.csv", lambda p: p.write_text("name,email\nAnn,a@b.c\n"), "no phone column"),
        ("dups.csv", lambda p: p.write_text("phone,Phone\n1,2\n"), "duplicate column"),
        (
            "huge.csv",
            lambda p: p.write_text("phone,notes\n07911 123111," + "x" * (50 * 1024 * 1024) + "\n"),
            "nothing was imported",
        ),
        ("bomb.xlsx", _zip_bomb, "zip bomb"),
        ("fake.xlsx", lambda p: p.write_text("phone\n07700900111\n"), "not a valid XLSX"),
    ],
)
def test_hostile_files_get_a_clear_error_and_import_nothing(
    session_factory: sessionmaker[Session],
    keyring: KeyRing,
    campaign: str,
    tmp_path: Path,
    name: str,
    make: object,
    message: str,
) -> None:
    path = tmp_path / name
    make(path)  # type: ignore[operator]
    started = time.perf_counter()
    with pytest.raises(BadFile, match=message):
        vault.import_contacts(session_factory, keyring, path, campaign)
    assert time.perf_counter() - started < 30
    assert _count(session_factory) == 0


def test_a_killed_import_leaves_nothing_and_a_rerun_imports_every_row_once(
    db_url: str, session_factory: sessionmaker[Session], campaign: str, tmp_path: Path
) -> None:
    rows = 200_000  # enough that the import is still running when it is killed
    path = tmp_path / "big.csv"
    with path.open("w") as f:
        f.write("first_name,phone\n")
        for i in range(rows):
            f.write(f"P{i},0161 4{i:06d}\n")
    env = {
        **os.environ,
        "GATEHOUSE_DATABASE_URL": db_url,
        "GATEHOUSE_MASTER_KEY_FILE": str(tmp_path / "keys" / "master.key"),
        "COLUMNS": "100",
    }
    KeyRing.from_file(tmp_path / "keys" / "master.key")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gatehouse.cli.main",
            "contacts",
            "import",
            str(path),
            "--campaign",
            campaign,
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    time.sleep(3.0)  # part-way through (the whole import takes far longer)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert _count(session_factory) == 0, "a killed import left rows behind"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "gatehouse.cli.main",
            "contacts",
            "import",
            str(path),
            "--campaign",
            campaign,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    engine = make_engine(db_url)
    try:
        factory = make_session_factory(engine)
        with factory() as session:
            total = session.scalar(select(func.count()).select_from(Contact))
            distinct = session.scalar(select(func.count(func.distinct(Contact.phone_hmac))))
    finally:
        engine.dispose()
    assert total == distinct == rows
