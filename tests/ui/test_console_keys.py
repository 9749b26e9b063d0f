"""z zooms, ? orders keys by where they act, the palette runs pane actions, forms fit 80x24: on a real engine."""

from __future__ import annotations

from pilot_helpers import SIZE, make_app, open_form, settle_workers, shown, started, submit, type_text, wait_for

from carina_tui.ui.forms import CreateNetworkScreen, RunScreen
from carina_tui.ui.screens import HelpScreen


async def test_z_zooms_the_focused_pane_and_z_again_restores_it(docker_host):
    app = make_app(docker_host)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        await pilot.press("2", "z")
        networks = app.pane("networks")
        assert app.screen.maximized is networks
        assert networks.region.height > SIZE[1] - 5, "the zoomed pane takes the screen"
        assert not app.pane("containers").region.area, "the other panes are hidden"
        await pilot.press("z")
        assert app.screen.maximized is None
        assert app.pane("containers").region.area


async def test_help_lists_the_focused_panes_keys_first_then_the_consoles_then_the_tables(docker_host):
    app = make_app(docker_host)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        await pilot.press("2", "question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), "? opens the help")
        rows = app.screen.rows
        headings = [description for key, description, _ in rows if not key]
        assert headings == ["Networks", "Console", "Tables"]
        order = [description for _, description, _ in rows]
        console, tables = order.index("Console"), order.index("Tables")
        assert rows[0] == ("", "Networks", True)
        assert 0 < order.index("New network") < console and 0 < order.index("Prune") < console
        assert console < order.index("Zoom") < tables and console < order.index("Keys") < tables
        assert tables < order.index("Down")  # j, a generic table key, last


async def test_a_palette_command_performs_the_panes_action(docker_host, test_engine, scratch):
    name = scratch.name("palette")
    scratch.networks.append(name)
    app = make_app(docker_host)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        await pilot.press("3", "ctrl+p")  # from the Containers pane: the palette reaches every pane
        await pilot.press(*"networks: new network")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, CreateNetworkScreen), "the palette opens the form")
        await settle_workers(pilot, "form-load")
        await type_text(pilot, "name", name)
        assert await submit(pilot) == ""
        await shown(pilot, "networks", name)
    assert test_engine.docker("network", "inspect", "--format", "{{.Name}}", name).strip() == name


async def test_the_run_form_can_be_completed_at_80x24(docker_host, test_engine, scratch):
    app = make_app(docker_host)
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot)
        await pilot.press("3")
        screen = await open_form(pilot, "N", RunScreen)
        hint = screen.query_one(".modal-hint")
        assert "ctrl+s" in str(hint.render())
        screen_area = app.screen.region
        for _ in range(12):  # every field, down to the last, is on screen when it has focus
            await pilot.press("tab")
            await pilot.pause()
            focused = screen.focused
            assert focused is not None and focused.region.area and focused.region in screen_area, focused
            assert hint.region in screen_area, "the ctrl+s hint stays on screen"
            if focused.id == "f-aliases":
                break
        assert focused.id == "f-aliases", "tab reaches the last field"
        assert "image" in (await submit(pilot)).lower()  # no image chosen: the sentence shows
        error = screen.query_one("#form-error")
        assert error.region.area and error.region in screen_area, "the error line is on screen"
        assert hint.region in screen_area


async def test_the_footer_keeps_help_and_quit_at_80_columns(docker_host):
    from textual.widgets._footer import FooterKey

    app = make_app(docker_host)
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot)
        for pane in "1234":
            await pilot.press(pane)
            await pilot.pause()
            shown_keys = {k.action for k in app.screen.query(FooterKey)
                          if k.region.area and k.region.right <= 80}
            assert {"help", "quit"} <= shown_keys, (pane, shown_keys)
