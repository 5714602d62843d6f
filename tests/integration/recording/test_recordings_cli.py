"""``gatehouse recordings``: export and play as a named user, audited; refusals audited."""

from __future__ import annotations

import io
import os
import wave
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from gatehouse.adapters.crypto.keys import KeyRing
from gatehouse.adapters.storage.audit import iter_entries, verify_chain
from gatehouse.cli import recordings as recordings_cli
from gatehouse.cli.main import app
from gatehouse.domain.permissions import Role
from tests.integration.recording.helpers import add_user, write_and_register

REASON = "investigation INV-77: threats reported by the called person"


@pytest.fixture
def site(
    tmp_path: Path,
    db_url: str,
    session_factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[KeyRing, dict[str, str]]:
    key_file = tmp_path / "keys" / "master.key"
    key_file.parent.mkdir()
    master = bytes(range(32))
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(master)
    monkeypatch.setenv("GATEHOUSE_DATABASE_URL", db_url)
    monkeypatch.setenv("GATEHOUSE_MASTER_KEY_FILE", str(key_file))
    keyring = KeyRing(master)
    users = {
        "officer": add_user(session_factory, "officer", Role.SECURITY_OFFICER),
        "agent": add_user(session_factory, "agent", Role.AGENT),
        "admin": add_user(session_factory, "admin", Role.ADMIN),
    }
    (tmp_path / "rec").mkdir()
    write_and_register(session_factory, keyring, tmp_path / "rec")
    return keyring, users


def _export(user: str, reason: str, out: Path) -> list[str]:
    return ["recordings", "export", "rec-0001", "--reason", reason, "--as", user, "--out", str(out)]


def _audit(factory: sessionmaker[Session]) -> list[tuple[str, str, str, dict[str, object]]]:
    with factory() as session:
        return [(e.actor, e.action, e.target, e.details) for e in iter_entries(session)]


def test_cli_export_writes_a_wav_and_audits_the_reason(
    site: tuple[KeyRing, dict[str, str]], session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    _keyring, users = site
    runner = CliRunner()
    listed = runner.invoke(app, ["recordings", "list", "--as", "officer"])
    assert listed.exit_code == 0, listed.output
    assert "rec-0001" in listed.output and "northfield-2024" in listed.output

    out = tmp_path / "out.wav"
    args = ["recordings", "export", "rec-0001", "--reason", REASON, "--as", "officer"]
    result = runner.invoke(app, [*args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "2.5 s" in result.output
    with wave.open(str(out)) as wav:
        assert (wav.getnchannels(), wav.getframerate(), wav.getnframes()) == (2, 8000, 20000)
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    actor, action, target, details = _audit(session_factory)[-1]
    assert (actor, action, target) == (users["officer"], "recording.export", "rec-0001")
    assert details["reason"] == REASON and details["via"] == "cli"

    again = runner.invoke(app, [*args, "--out", str(out)])
    assert again.exit_code == 2 and "exists" in again.output
    assert _audit(session_factory)[-1][1] == "recording.export"  # nothing opened, no entry
    with session_factory() as session:
        assert verify_chain(session).ok


def test_cli_play_on_a_headless_box_writes_a_private_temp_wav(
    site: tuple[KeyRing, dict[str, str]],
    session_factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(recordings_cli.shutil, "which", lambda _name: None)  # no aplay
    result = CliRunner().invoke(
        app, ["recordings", "play", "rec-0001", "--reason", REASON, "--as", "officer"]
    )
    assert result.exit_code == 0, result.output
    path = Path(result.output.strip().splitlines()[-1])
    try:
        assert path.name == "rec-0001.wav" and oct(path.stat().st_mode & 0o777) == "0o600"
        with wave.open(io.BytesIO(path.read_bytes())) as wav:
            assert wav.getnframes() / wav.getframerate() == pytest.approx(2.5)
        assert "2.5 s" in result.output
    finally:
        path.unlink()
        path.parent.rmdir()
    assert _audit(session_factory)[-1][1:3] == ("recording.play", "rec-0001")


@pytest.mark.parametrize("user", ["agent", "admin"])
def test_cli_refuses_agent_and_admin_and_audits_the_refusal(
    site: tuple[KeyRing, dict[str, str]],
    session_factory: sessionmaker[Session],
    tmp_path: Path,
    user: str,
) -> None:
    _keyring, users = site
    out = tmp_path / f"{user}.wav"
    result = CliRunner().invoke(
        app,
        ["recordings", "export", "rec-0001", "--reason", REASON, "--as", user, "--out", str(out)],
    )
    assert result.exit_code == 3, result.output
    assert "not allowed: recording.access" in result.output
    assert not out.exists()
    actor, action, target, details = _audit(session_factory)[-1]
    assert (actor, action, target) == (users[user], "recording.refused", "rec-0001")
    assert details["reason"] == REASON
    listed = CliRunner().invoke(app, ["recordings", "list", "--as", user])
    assert listed.exit_code == 3 and "rec-0001" not in listed.output


def test_cli_refuses_a_short_reason_and_an_unknown_user(
    site: tuple[KeyRing, dict[str, str]], session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    runner = CliRunner()
    out = tmp_path / "x.wav"
    short = runner.invoke(app, _export("officer", "curious", out))
    assert short.exit_code == 2 and "too short" in short.output
    assert _audit(session_factory)[-1][1] == "recording.refused"
    nobody = runner.invoke(app, _export("mallory", REASON, out))
    assert nobody.exit_code == 3 and "no active user 'mallory'" in nobody.output
    actor, action, _target, details = _audit(session_factory)[-1]
    assert action == "recording.refused" and actor.startswith("cli:")
    assert details["as"] == "mallory"
    assert not out.exists()


def test_cli_names_the_damaged_chunk(
    site: tuple[KeyRing, dict[str, str]], session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    path = tmp_path / "rec" / "rec-0001.ghrec"
    data = bytearray(path.read_bytes())
    data[-40] ^= 0xFF  # in chunk 4, the last with audio (2.5 s in 0.5 s chunks; 5 is the end)
    path.write_bytes(bytes(data))
    result = CliRunner().invoke(app, _export("officer", REASON, tmp_path / "bad.wav"))
    assert result.exit_code == 1
    assert "recording rec-0001: chunk 4 fails authentication" in result.output
    assert not (tmp_path / "bad.wav").exists()
    assert _audit(session_factory)[-1][1] == "recording.access_failed"
