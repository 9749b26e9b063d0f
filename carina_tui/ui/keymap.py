"""The user's keys and theme: ``[keymap]`` and ``theme`` of ``clusters.toml``, checked against Textual.

``[keymap]`` rebinds by binding id (``"app.quit" = "ctrl+x"``), applied with ``App.set_keymap``
as posting does. ``core.config`` checks the lines' shape; here each id must be one of ours
(``binding_ids``) and each key a name Textual knows, or the config is refused with a sentence
naming the line, before the console starts.

The theme: ``theme = "NAME"`` (one of Textual's themes) is the default; a theme chosen in the
command palette is kept in a small state file (``theme.json`` in the user state dir, never a
rewrite of the user's ``clusters.toml``) and wins at the next start, until ``theme`` in the
config is changed: then the config's is the newer choice.
"""

from __future__ import annotations

import difflib
import json
import os
import unicodedata

from textual.binding import Binding
from textual.dom import DOMNode
from textual.keys import Keys

from carina_tui.core import paths
from carina_tui.core.config import Config
from carina_tui.core.errors import ConfigError, clip


def binding_ids() -> dict[str, Binding]:
    """Every binding id of the console's widgets and screens, with its binding."""
    # Import every module with bindings, so that their classes exist.
    from carina_tui.ui import app, cleanup_screen, forms, logs, screens, service_screens, swarm_screen, tables  # noqa: F401
    from carina_tui.ui.panes import PANES

    for entry in PANES.values():
        entry.pane_class()  # a pane registered to load when first needed: its class now
    found: dict[str, Binding] = {}
    todo = [DOMNode]
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if not cls.__module__.startswith("carina_tui.ui"):
            continue
        for binding in cls.__dict__.get("BINDINGS", ()):
            if isinstance(binding, Binding) and binding.id:
                found.setdefault(binding.id, binding)
    for entry in PANES.values():  # the keys that show the panes (one registered late too)
        binding = entry.binding()
        found.setdefault(binding.id, binding)
    return dict(sorted(found.items()))


def _known_key(name: str) -> bool:
    if len(name) == 1 or name in {k.value for k in Keys}:
        return True
    try:
        unicodedata.lookup(name.replace("_", " ").upper())  # question_mark, full_stop, ...
    except KeyError:
        return False
    return True


def check_keymap(config: Config) -> dict[str, str]:
    """The keymap for ``App.set_keymap``; a ConfigError naming the line for an id or key we do not know."""
    if not config.keymap:
        return {}  # nothing to check: the screens with bindings (cleanup, swarm, forms) load when first used
    ids = binding_ids()
    keymap: dict[str, str] = {}
    for choice in config.keymap:
        if choice.binding_id not in ids:
            close = difflib.get_close_matches(choice.binding_id, list(ids), n=1)
            hint = f'did you mean "{close[0]}"?' if close else "the README lists every binding id."
            raise ConfigError(f'In {choice.where}, keymap "{clip(choice.binding_id)}" is not a binding id of '
                              f"carina-tui; {hint}")
        for part in choice.keys.split(","):
            name = part.split("+")[-1]
            if not _known_key(name):
                raise ConfigError(f'In {choice.where}, keymap "{choice.binding_id}" = "{clip(choice.keys)}": '
                                  f'"{clip(name)}" is not a key name; use a character or a name such as f2, '
                                  "escape, tab, up, space, question_mark.")
        keymap[choice.binding_id] = choice.keys
    return keymap


def check_theme(config: Config, available: dict) -> str:
    """The config's theme if Textual has it ("" when none is set); a ConfigError naming the line otherwise."""
    if config.theme and config.theme not in available:
        close = difflib.get_close_matches(config.theme, list(available), n=1)
        hint = f'did you mean "{close[0]}"?' if close else "the themes are " + ", ".join(sorted(available))
        raise ConfigError(f'In {config.theme_where}, theme "{clip(config.theme)}" is not a theme; {hint}')
    return config.theme


def kept_theme(config: Config, available: dict) -> str:
    """The theme to start with: the palette's last choice while the config's ``theme`` is what it
    was then; else the config's (``""``: Textual's default)."""
    configured = check_theme(config, available)
    chosen = paths.palette_theme(configured)
    return chosen if chosen in available else configured


def keep_theme(config: Config, theme: str) -> str:
    """Write the palette's choice to the state file; returns a sentence when it cannot be written."""
    file = paths.theme_state_file()
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        tmp = file.with_suffix(".tmp")
        tmp.write_text(json.dumps({"theme": theme, "config_theme": config.theme}))
        os.replace(tmp, file)
    except OSError as exc:
        return f"The theme {theme} is used now but could not be kept for the next start ({file}: {exc.strerror or exc})."
    return ""
