"""The architecture is enforced, not drawn: import-linter contracts and a domain purity scan."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = ROOT / "src" / "gatehouse" / "domain"

# The domain may use the standard library and a few pure, I/O-free libraries.
ALLOWED_THIRD_PARTY = {"phonenumbers", "pydantic", "lark", "numpy", "yaml"}
FORBIDDEN_STDLIB = {"socket", "sqlite3", "subprocess", "urllib", "http", "asyncio", "shutil"}


def test_import_linter_contracts_hold() -> None:
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize(
    "module", sorted(DOMAIN.rglob("*.py")), ids=lambda p: str(p.relative_to(DOMAIN))
)
def test_domain_module_does_no_io(module: Path) -> None:
    roots = _imported_roots(module)
    stdlib = set(sys.stdlib_module_names)
    third_party = {r for r in roots if r not in stdlib and r not in {"gatehouse", "__future__"}}
    unexpected = third_party - ALLOWED_THIRD_PARTY
    assert not unexpected, f"{module.name} imports {unexpected}"
    io_modules = roots & FORBIDDEN_STDLIB
    assert not io_modules, f"{module.name} imports I/O modules {io_modules}"


def test_every_test_directory_is_a_package() -> None:
    # Test modules are imported as tests.<area>.<dir>.<module>; a directory without
    # __init__.py would make same-named modules in different areas collide.
    tests = ROOT / "tests"
    missing = [
        str(d.relative_to(ROOT))
        for d in [tests, *tests.rglob("*")]
        if d.is_dir()
        and d.name != "__pycache__"
        and any(d.glob("*.py"))
        and not (d / "__init__.py").exists()
    ]
    assert not missing, f"add __init__.py to: {missing}"
