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
    # Every contract of pyproject.toml was checked and kept, the UI-gateway one among them.
    for name in ("Widgets and screens never import docker or consul", "The UI asks the services, never a gateway",
                 "Only the UI imports textual", "The core is pure: no clients, no UI"):
        assert f"{name} KEPT" in proc.stdout, proc.stdout


def test_ui_modules_never_import_clients():
    """A second, plain check: no ``import docker`` / ``import consul`` / gateway import text under carina_tui/ui."""
    offenders = []
    for path in (ROOT / "carina_tui" / "ui").rglob("*.py"):
        for line in path.read_text().splitlines():
            stripped = line.strip()
            if stripped.startswith(("import docker", "from docker", "import consul", "from consul", "import requests",
                                    "from carina_tui.gateways", "import carina_tui.gateways")):
                offenders.append(f"{path.name}: {stripped}")
    assert offenders == []
