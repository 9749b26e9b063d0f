"""Where carina-tui keeps its files, all under the one app name ``carina-tui``.

platformdirs follows the XDG variables on Linux, so ``$XDG_CONFIG_HOME`` moves
the config dir and ``$XDG_STATE_HOME`` moves the log dir. Nothing here creates
a directory: callers that write (the audit log) create what they need.

The config file is chosen in this order: ``--config PATH`` (passed in as
``override``), then ``$CARINA_TUI_CONFIG``, then ``clusters.toml`` in the
config dir.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

from carina_tui import APP_NAME

CONFIG_FILENAME = "clusters.toml"
AUDIT_LOG_FILENAME = "audit.log"
CONFIG_ENV = "CARINA_TUI_CONFIG"


def config_dir() -> Path:
    """``$XDG_CONFIG_HOME/carina-tui``, by default ``~/.config/carina-tui``."""
    return platformdirs.user_config_path(APP_NAME, appauthor=False)


def log_dir() -> Path:
    """The platformdirs user log dir (``~/.local/state/carina-tui/log`` on Linux)."""
    return platformdirs.user_log_path(APP_NAME, appauthor=False)


def state_dir() -> Path:
    return platformdirs.user_state_path(APP_NAME, appauthor=False)


def theme_state_file() -> Path:
    """The palette's last choice of theme (written by ``ui/keymap.py``)."""
    return state_dir() / "theme.json"


def palette_theme(configured: str) -> str:
    """The theme last chosen in the palette, while the config's ``theme`` is still ``configured``
    (what it was then); "" when none. Read by ``ui.keymap.kept_theme`` and, before Textual loads,
    by ``ui/early.py``."""
    import json

    try:
        state = json.loads(theme_state_file().read_text())
    except (OSError, ValueError):
        return ""
    if isinstance(state, dict) and state.get("config_theme", "") == configured and isinstance(state.get("theme"), str):
        return state["theme"]
    return ""


def audit_log_path() -> Path:
    return log_dir() / AUDIT_LOG_FILENAME


def config_file(override: str | os.PathLike[str] | None = None) -> Path:
    """The config file to read: ``override`` (``--config``), ``$CARINA_TUI_CONFIG``, or the default."""
    chosen = override or os.environ.get(CONFIG_ENV) or ""
    if chosen:
        return Path(os.path.expanduser(os.fspath(chosen)))
    return config_dir() / CONFIG_FILENAME


def config_file_is_explicit(override: str | os.PathLike[str] | None = None) -> bool:
    """True when the user named the file (``--config`` or the variable): then it must exist."""
    return bool(override or os.environ.get(CONFIG_ENV))
