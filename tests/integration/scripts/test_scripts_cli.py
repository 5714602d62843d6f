"""``gatehouse scripts``: file checks with line numbers, and the lifecycle on a database."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gatehouse.cli.main import app

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "insurance-survey.yaml"


def test_validate_and_lint_files(tmp_path: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(app, ["scripts", "validate", str(EXAMPLE)])
    assert ok.exit_code == 0 and "valid" in ok.output
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        EXAMPLE.read_text(encoding="utf-8").replace("goto: recommend", "goto: nowhere")
    )
    bad = runner.invoke(app, ["scripts", "validate", str(broken)])
    assert bad.exit_code == 2 and "nowhere" in bad.output and "line" in bad.output
    hostile = tmp_path / "hostile.yaml"
    hostile.write_text(
        EXAMPLE.read_text(encoding="utf-8").replace(
            "Which part of the UK do you live in?", "What is your postcode?"
        )
    )
    found = runner.invoke(app, ["scripts", "lint", str(hostile)])
    assert found.exit_code == 1 and "nation" in found.output and "address" in found.output
    assert runner.invoke(app, ["scripts", "lint", str(EXAMPLE)]).exit_code == 0


def _add_user(runner: CliRunner, tmp_path: Path, username: str, role: str) -> None:
    secret = tmp_path / f"{username}.pw"
    secret.write_text("a long enough passphrase\n", encoding="utf-8")
    added = runner.invoke(
        app, ["users", "add", username, "--role", role, "--password-file", str(secret)]
    )
    assert added.exit_code == 0, added.output


def test_lifecycle_from_the_command_line(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GATEHOUSE_DATABASE_URL", db_url)
    runner = CliRunner()
    _add_user(runner, tmp_path, "mgr", "campaign_manager")
    _add_user(runner, tmp_path, "sec", "security_officer")
    submitted = runner.invoke(app, ["scripts", "submit", str(EXAMPLE), "--as", "mgr"])
    assert submitted.exit_code == 0, submitted.output
    version = re.findall(r"[0-9a-f-]{36}", submitted.output)[-1]
    # The manager holds no approval right, and a role cannot be claimed on the command line.
    refused = runner.invoke(app, ["scripts", "approve", version, "--as", "mgr"])
    assert refused.exit_code == 3, refused.output
    claimed = runner.invoke(
        app, ["scripts", "approve", version, "--as", "mgr", "--role", "security_officer"]
    )
    assert claimed.exit_code == 2  # no such option
    stranger = runner.invoke(app, ["scripts", "approve", version, "--as", "nobody"])
    assert stranger.exit_code == 3 and "no active user" in stranger.output
    approved = runner.invoke(app, ["scripts", "approve", version, "--as", "sec", "--note", "ok"])
    assert approved.exit_code == 0 and "approved" in approved.output
    assert runner.invoke(app, ["scripts", "live", version, "--user", "mgr"]).exit_code == 0
    shown = runner.invoke(app, ["scripts", "show", version])
    assert shown.exit_code == 0
    assert "live" in shown.output and "script.approve" in shown.output
    listing = runner.invoke(app, ["scripts", "show"])
    assert listing.exit_code == 0 and "insurance" in listing.output
    assert runner.invoke(app, ["scripts", "diff", version]).exit_code == 0
