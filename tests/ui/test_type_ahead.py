"""Keys typed while a form opens go to it, in order: ``N``, a name and ``ctrl+s`` typed in one
go either run a container with exactly that name or leave the form open saying what is missing
(with the whole name in its field), never an empty or partial name."""

from __future__ import annotations

import re

import pytest

from pilot_helpers import SIZE, burst, error_text, make_app, notices, set_fields, started, submit, wait_for
from carina_tui.ui.forms import CreateNetworkScreen, FormScreen, RunScreen
from carina_tui.ui.panes.services import CreateServiceScreen


@pytest.mark.parametrize("typing", ["press", "burst"])
async def test_keys_typed_while_the_run_form_opens_reach_it_in_order(docker_host, test_engine, scratch, typing):
    name = scratch.name(f"typed-{typing}")
    scratch.containers.append(name)
    async with make_app(docker_host).run_test(size=SIZE) as pilot:
        app = await started(pilot)
        await pilot.press("3")
        keys = ("N", *name, "ctrl+s")
        if typing == "press":
            await pilot.press(*keys)
        else:
            await burst(pilot, *keys)
        screen = await wait_for(pilot, lambda: isinstance(app.screen, RunScreen) and not app.screen.busy
                                and error_text(app).strip() and app.screen, "the run form opens and answers ctrl+s")
        # No image was chosen: the form says so, and the name typed before ctrl+s is all there.
        assert "image" in error_text(app).lower(), error_text(app)
        assert screen.text("name") == name
        assert screen.focused is screen.query_one("#f-image"), "the field to fix has focus"
        set_fields(screen, image="busybox:latest", command="sleep 3600")
        assert await submit(pilot) == ""
    assert len(test_engine.ids(f"name=^/{name}$")) == 1, f"the engine holds a container named exactly {name}"


async def test_a_network_typed_in_one_go_is_made_with_exactly_that_name(docker_host, test_engine, scratch):
    name = scratch.name("typednet")
    scratch.networks.append(name)
    async with make_app(docker_host).run_test(size=SIZE) as pilot:
        app = await started(pilot)
        await pilot.press("2")
        await burst(pilot, "n", *name, "ctrl+s")
        await wait_for(pilot, lambda: f"Network {name} created (bridge)." in notices(app), "the network is made")
    assert test_engine.docker("network", "ls", "--quiet", "--filter", f"name=^{name}$").strip()


@pytest.mark.parametrize("typing", ["press", "burst"])
async def test_a_key_after_a_pane_key_goes_to_the_pane_it_shows(docker_host, typing):
    """``5`` then ``N`` in one go (a paste, a script): N is the Services pane's (New service),
    not the Containers pane's that had focus when both were typed (Run a container)."""
    async with make_app(docker_host).run_test(size=SIZE) as pilot:
        app = await started(pilot)
        assert app.focused_pane() is app.pane("containers")
        if typing == "press":
            await pilot.press("5", "N")
        else:
            await burst(pilot, "5", "N")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen), "N opens a form")
        assert isinstance(app.screen, CreateServiceScreen), f"{type(app.screen).__name__} opened, not New service"
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, FormScreen), "escape closes the form")
        assert app.focused_pane() is app.pane("services")
        # And back: 3 then N is the Containers pane's.
        await burst(pilot, "3", "N") if typing == "burst" else await pilot.press("3", "N")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen), "N opens a form")
        assert isinstance(app.screen, RunScreen), f"{type(app.screen).__name__} opened, not Run a container"


@pytest.mark.parametrize("opened", ["in the burst", "before"])
async def test_tab_typed_in_one_go_moves_to_the_next_field_in_order(docker_host, opened):
    """``n abc tab tab 10.1.2.0/24`` in one go: the name is abc and the subnet 10.1.2.0/24 (the QA
    run saw a name of abc10.1.2.0/24: the tab was honoured after the keys behind it)."""
    async with make_app(docker_host).run_test(size=SIZE) as pilot:
        app = await started(pilot)
        await pilot.press("2")
        typed = (*"abc", "tab", "tab", *"10.1.2.0/24")  # one engine: Name, Driver, Subnet
        if opened == "before":
            await pilot.press("n")
            await wait_for(pilot, lambda: isinstance(app.screen, CreateNetworkScreen), "n opens the form")
            await pilot.pause()
            await burst(pilot, *typed)
        else:
            await burst(pilot, "n", *typed)
        screen = await wait_for(pilot, lambda: isinstance(app.screen, CreateNetworkScreen) and app.screen,
                                "n opens the form")
        await wait_for(pilot, lambda: screen.text("subnet") == "10.1.2.0/24" or len(screen.text("name")) > 3,
                       "the keys reach the form")
        assert (screen.text("name"), screen.text("subnet")) == ("abc", "10.1.2.0/24")
        assert screen.focused is screen.query_one("#f-subnet")


@pytest.mark.parametrize("opened", ["first time", "again"])
async def test_a_filter_typed_in_one_go_goes_to_the_filter_box_not_to_the_table(docker_host, test_engine, scratch,
                                                                               opened):
    """``/`` and the words in one burst (a paste, a fast typist over SSH): every key lands in the
    filter box, in order. Before, the keys behind ``/`` were handed to the table and came back
    to the app as the table's keys: lost, or worse, run as its bindings (``s`` start/stop,
    ``d`` remove, ``c`` connect) on the selected row."""
    keep = scratch.run("scdrun")
    other = scratch.run("other")
    async with make_app(docker_host).run_test(size=SIZE) as pilot:
        app = await started(pilot)
        await pilot.press("3")
        pane = app.pane("containers")
        await wait_for(pilot, lambda: {keep, other} <= {c.name for c in pane.items.values()}, "both rows show")
        if opened == "again":
            await pilot.press("slash", "x", "escape")
            await wait_for(pilot, lambda: pane.filter_text == "" and app.focused is pane.table, "escape clears")
        await burst(pilot, "/", *"scdrun", "enter", "j")
        await wait_for(pilot, lambda: pane.filter_text == "scdrun", "the filter holds every key typed")
        await pilot.pause(0.3)
        assert pane.filter_text == "scdrun", "the key after enter is the table's again"
        assert app.focused is pane.table
        assert "filter: scdrun" in str(pane.border_title)
        assert not isinstance(app.screen, FormScreen) and app.screen is app.console_screen, \
            f"a key of the burst ran a binding: {type(app.screen).__name__} is open"
        assert not re.search(r"stop|remov|restart|connect", notices(app), re.I), notices(app)
        # q (Quit, for the table) typed into the filter, then escape: the filter is cleared, the
        # console still runs, and the key behind escape is the table's.
        await burst(pilot, "/", "q", "escape", "j")
        await wait_for(pilot, lambda: pane.filter_text == "" and app.focused is pane.table, "escape clears")
        assert app.is_running and app.screen is app.console_screen
        # Typed with the box already focused: enter, then a key for the table, in one go.
        await pilot.press("slash", *"scdrun")
        await wait_for(pilot, lambda: pane.filter_text == "scdrun", "the filter is typed")
        await burst(pilot, "enter", "j")
        await pilot.pause(0.3)
        assert pane.filter_text == "scdrun" and app.focused is pane.table
        assert app.screen is app.console_screen, f"enter opened {type(app.screen).__name__}"
    assert test_engine.docker("inspect", "--format", "{{.State.Status}}", keep).strip() == "running"


async def test_editing_keys_typed_in_one_go_apply_in_their_turn(docker_host, test_engine, scratch):
    """``abc backspace d`` read in one go (a fast typist over SSH, a paste) is ``abd``: an Input's
    backspace or arrow is a binding, acted on when the key came back up to the app, after the
    letters behind it were inserted (it gave ``ab``, and the filter ``/ backspace w p`` gave ``w``)."""
    async with make_app(docker_host).run_test(size=SIZE) as pilot:
        app = await started(pilot)
        await pilot.press("3")
        pane = app.pane("containers")
        await burst(pilot, "/", "backspace", "w", "p")
        await wait_for(pilot, lambda: pane.filter_text == "wp", "the filter is wp")
        await burst(pilot, "left", "X", "end", "backspace", "q")
        await wait_for(pilot, lambda: pane.filter_text == "wXq", "the edits apply in order")
        await pilot.press("escape")
        await wait_for(pilot, lambda: pane.filter_text == "" and app.focused is pane.table, "escape clears")
        await burst(pilot, "N", *"abc", "backspace", "d", "home", "x", "delete")
        screen = await wait_for(pilot, lambda: isinstance(app.screen, RunScreen) and app.screen, "the run form opens")
        await wait_for(pilot, lambda: screen.text("name") == "xbd", f"the name reads xbd ({screen.text('name')!r})")
