"""The layering is checked, not hoped for: import-linter's contracts from pyproject.toml."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_import_linter_contracts_hold():
    proc = subprocess.run(
        [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())",
         "--no-cache"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 broken" in proc.stdout, proc.stdout


def test_ui_modules_never_import_clients():
    """A second, plain check: no ``import docker`` / ``import consul`` text under carina_tui/ui."""
    offenders = []
    for path in (ROOT / "carina_tui" / "ui").rglob("*.py"):
        for line in path.read_text().splitlines():
            stripped = line.strip()
            if stripped.startswith(("import docker", "from docker", "import consul", "from consul", "import requests")):
                offenders.append(f"{path.name}: {stripped}")
    assert offenders == []
