"""``gatehouse recordings``: list, play and export call recordings, always as a named user.

``--as USERNAME`` names a user in the database; their roles (not a role typed on the command
line) decide whether they may open recordings. Every ``play`` and ``export`` states a reason
and is written to the audit log before any audio is decrypted; refusals and damaged files
are audited too (``services.recordings``). Exit codes: 0 done, 1 the recording is damaged,
2 bad input (reason, unknown recording, --out exists), 3 refused (permission).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from gatehouse.adapters.crypto.keys import KeyRing
from gatehouse.adapters.crypto.recording import RecordingDamaged
from gatehouse.adapters.storage.db import make_engine, make_session_factory
from gatehouse.cli.operator import AsUser, acting_account
from gatehouse.config import get_settings
from gatehouse.domain.errors import GatehouseError, PermissionDenied
from gatehouse.domain.recordings import REFUSED
from gatehouse.services import recordings as svc
from gatehouse.services.recordings import AccessPurpose, RecordingAudio

app = typer.Typer(help="Call recordings: list, play, export (audited).", no_args_is_help=True)
console = Console()

Reason = Annotated[
    str, typer.Option(help="Why you need this recording (case or complaint reference).")
]


def _exit_for(error: GatehouseError) -> NoReturn:
    console.print(f"[red]{error.message}[/red]")
    if isinstance(error, PermissionDenied):
        raise typer.Exit(3)
    if isinstance(error, RecordingDamaged):
        raise typer.Exit(1)
    raise typer.Exit(2)


def _open() -> tuple[Engine, sessionmaker[Session], KeyRing]:
    settings = get_settings()
    engine = make_engine(settings.resolved_database_url())
    keyring = KeyRing.from_file(settings.resolved_master_key_file())
    return engine, make_session_factory(engine), keyring


def _fetch(username: str, recording_id: str, reason: str, purpose: AccessPurpose) -> RecordingAudio:
    engine, factory, keyring = _open()
    try:
        account = acting_account(factory, username, recording_id, refused_action=REFUSED)
        return svc.open_recording(
            factory,
            keyring,
            account.id,
            account.roles,
            recording_id,
            reason,
            purpose=purpose,
            via="cli",
        )
    except GatehouseError as exc:
        _exit_for(exc)
    finally:
        engine.dispose()


def _when(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)


@app.command("list")
def list_(
    as_user: AsUser,
    campaign: Annotated[str | None, typer.Option(help="Only this campaign.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 100,
) -> None:
    """The catalogue, newest first (no audio; nothing is decrypted)."""
    engine, factory, _keyring = _open()
    try:
        account = acting_account(factory, as_user, "recordings", refused_action=REFUSED)
        with factory() as session:
            rows = svc.list_recordings(session, account.roles, campaign_id=campaign, limit=limit)
    except GatehouseError as exc:
        _exit_for(exc)
    finally:
        engine.dispose()
    table = Table()
    for name in ("recording", "campaign", "attempt / call"):
        table.add_column(name, no_wrap=True)
    for name in ("kind", "started (UTC)", "seconds", "bytes"):
        table.add_column(name)
    for row in rows:
        table.add_row(
            row.recording_id,
            row.campaign_id or "",
            row.attempt_id or row.call_id or "",
            row.kind,
            _when(row.started_at),
            f"{row.duration_s:.1f}",
            str(row.size_bytes),
        )
    console.print(table)


@app.command("export")
def export(
    recording_id: str,
    reason: Reason,
    as_user: AsUser,
    out: Annotated[Path, typer.Option(help="Where to write the WAV (must not exist).")],
) -> None:
    """Write the decrypted recording to --out as a WAV file (audited with the reason)."""
    if out.exists():
        console.print(f"[red]{out} exists; choose a new file name[/red]")
        raise typer.Exit(2)
    audio = _fetch(as_user, recording_id, reason, AccessPurpose.EXPORT)
    _write_private(out, audio.wav)
    _report(audio, out)


@app.command("play")
def play(
    recording_id: str,
    reason: Reason,
    as_user: AsUser,
    to_file: Annotated[
        bool, typer.Option(help="Write a temporary WAV even if aplay is available.")
    ] = False,
) -> None:
    """Play through aplay if present; otherwise write a private temporary WAV and print it."""
    audio = _fetch(as_user, recording_id, reason, AccessPurpose.PLAY)
    player = None if to_file else shutil.which("aplay")
    if player is not None:
        with contextlib.suppress(OSError):
            played = subprocess.run([player, "-q", "-"], input=audio.wav, check=False)
            if played.returncode == 0:
                _report(audio, None)
                return
        # No sound device (a headless server): fall through to a file.
    folder = Path(tempfile.mkdtemp(prefix="gatehouse-recording-"))  # mode 0700
    path = folder / f"{recording_id}.wav"
    _write_private(path, audio.wav)
    _report(audio, path)


def _report(audio: RecordingAudio, path: Path | None) -> None:
    where = " written to the file below" if path is not None else " played through aplay"
    note = "" if audio.complete else " [yellow](ends early: the recorder was stopped)[/yellow]"
    console.print(
        f"[green]{audio.recording.recording_id}[/green]{where}: {audio.duration_s:.1f} s, "
        f"audit entry #{audio.audit_seq}{note}"
    )
    if path is not None:
        typer.echo(str(path))
