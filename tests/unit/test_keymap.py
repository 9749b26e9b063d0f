"""[keymap] and theme in clusters.toml: bad lines are sentences naming the line; the README lists every id."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from carina_tui.core.clusters import ClusterSpec
from carina_tui.core.config import parse_config
from carina_tui.core.errors import ConfigError
from carina_tui.services.session import Session
from carina_tui.ui.app import CarinaApp
from carina_tui.core.paths import theme_state_file
from carina_tui.ui.keymap import binding_ids, check_keymap, keep_theme, kept_theme

ROOT = Path(__file__).resolve().parents[2]
THEMES = {"textual-dark": None, "nord": None, "dracula": None}


def config(text: str):
    return parse_config(text, "/tmp/clusters.toml")


def app_with(text: str) -> CarinaApp:
    # No engine is asked: the app is only built, never run.
    return CarinaApp(Session(ClusterSpec("t", "cli", ("unix:///nonexistent.sock",))), config=config(text))


def test_a_keymap_line_becomes_the_apps_keymap():
    app = app_with('read_only = false\n[keymap]\n"app.quit" = "ctrl+x"\n"containers.run" = "f2, N"\n')
    assert app._keymap["app.quit"] == "ctrl+x"
    assert app._keymap["containers.run"] == "f2,N"


@pytest.mark.parametrize("text, line, words", [
    ('[keymap]\n"app.quitt" = "ctrl+x"\n', 2, 'keymap "app.quitt" is not a binding id of carina-tui; did you mean "app.quit"?'),
    ('# mine\n\n[keymap]\n"app.quit" = "ctrl+F-2"\n', 4, '"F-2" is not a key name'),
    ('[keymap]\n"app.quit" = "ctl+x"\n', 2, '"ctl" is not a modifier'),
    ('[keymap]\n"app.quit" = ""\n', 2, "must be keys in quotes"),
    ('theme = "nordd"\n', 1, 'theme "nordd" is not a theme; did you mean "nord"?'),
])
def test_a_bad_keymap_or_theme_line_is_a_sentence_naming_it(text, line, words):
    with pytest.raises(ConfigError) as caught:
        app_with(text)
    sentence = str(caught.value)
    assert f"/tmp/clusters.toml, line {line}" in sentence, sentence
    assert words in sentence, sentence
    assert "Traceback" not in sentence


def test_keymap_must_be_a_table():
    with pytest.raises(ConfigError, match=r"keymap must be a table written as \[keymap\]"):
        config("keymap = 3\n")


def test_the_readme_documents_every_binding_id():
    readme = (ROOT / "README.md").read_text()
    documented = set(re.findall(r"^\| `([a-z_]+\.[a-z_0-9]+)` \|", readme, re.M))
    assert documented == set(binding_ids())


def test_every_id_check_keymap_accepts_is_a_real_binding():
    keymap = check_keymap(config("[keymap]\n" + "".join(f'"{i}" = "f{n % 12 + 1}"\n' for n, i in enumerate(binding_ids()))))
    assert set(keymap) == set(binding_ids())


def test_the_palettes_theme_is_kept_until_the_config_changes_its_own():
    nord = config('theme = "nord"\n')
    assert kept_theme(nord, THEMES) == "nord"
    assert keep_theme(nord, "dracula") == ""
    assert json.loads(theme_state_file().read_text())["theme"] == "dracula"
    assert kept_theme(nord, THEMES) == "dracula"  # the palette's choice wins at the next start
    assert kept_theme(config('theme = "textual-dark"\n'), THEMES) == "textual-dark"  # the config changed since
    assert kept_theme(config(""), THEMES) == ""  # theme removed from the config: Textual's default


def test_a_theme_that_cannot_be_kept_is_a_sentence(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("XDG_STATE_HOME", str(blocker))  # the state dir would be under a file
    problem = keep_theme(config(""), "nord")
    assert problem.startswith("The theme nord is used now but could not be kept for the next start")
