"""The user's [keymap] and theme, in the running console on a real engine."""

from __future__ import annotations

from pilot_helpers import SIZE, make_app, settle_workers, started, wait_for

from carina_tui.core.config import parse_config
from carina_tui.ui.forms import RunScreen
from carina_tui.core.paths import theme_state_file


async def test_a_rebound_key_does_the_action_and_the_old_key_no_longer_does(docker_host):
    config = parse_config('[keymap]\n"containers.run" = "f2"\n"app.quit" = "ctrl+x"\n', "/tmp/clusters.toml")
    app = make_app(docker_host, config=config)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        await pilot.press("3", "N")
        await pilot.pause()
        assert not isinstance(app.screen, RunScreen), "N is no longer bound to run"
        await pilot.press("f2")
        await wait_for(pilot, lambda: isinstance(app.screen, RunScreen), "f2 opens the run form")
        await settle_workers(pilot, "form-load")
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, RunScreen), "escape closes the form")
        await pilot.press("q")
        await pilot.pause()
        assert app.is_running, "q no longer quits"
        await pilot.press("ctrl+x")
        await wait_for(pilot, lambda: not app.is_running, "ctrl+x quits")


async def test_the_configs_theme_is_used_and_the_palettes_choice_kept(docker_host):
    config = parse_config('theme = "nord"\n', "/tmp/clusters.toml")
    app = make_app(docker_host, config=config)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        assert app.theme == "nord"
        app.theme = "dracula"  # what the palette's "Change theme" does
        await pilot.pause()
    assert theme_state_file().exists()
    again = make_app(docker_host, config=config)
    async with again.run_test(size=SIZE) as pilot:
        await started(pilot)
        assert again.theme == "dracula"
