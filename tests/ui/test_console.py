"""The console on a real engine: panes, live events, filter, keys, unreachable engines."""

from __future__ import annotations

from pilot_helpers import make_app, names_shown, row_texts, wait_until

from carina_tui.ui.screens import HelpScreen

SIZE = (160, 50)


async def test_panes_show_what_the_engine_holds(docker_host, scratch):
    net = scratch.network("net")
    running = scratch.run("web", network=net)
    exited = scratch.exited("old", code=3)
    app = make_app(docker_host)
    async with app.run_test(size=SIZE) as pilot:
        containers = app.pane("containers")
        assert await wait_until(pilot, lambda: {running, exited} <= names_shown(containers))
        rows = {r[0]: r for r in row_texts(containers)}
        assert rows[running][1] == "running"
        assert rows[exited][1] == "exited"
        assert net in rows[running][4]
        networks = app.pane("networks")
        assert await wait_until(pilot, lambda: net in names_shown(networks))
        net_row = {r[0]: r for r in row_texts(networks)}[net]
        assert net_row[1] == "bridge" and net_row[2] == "local"
        assert net_row[4] == "1"  # one container attached
        assert node_row(app)[2] == "yes"


async def test_containers_appear_and_go_without_a_key(docker_host, scratch, test_engine):
    app = make_app(docker_host)
    async with app.run_test(size=SIZE) as pilot:
        containers = app.pane("containers")
        assert await wait_until(pilot, lambda: app.engines)  # first load done
        name = scratch.run("live")
        assert await wait_until(pilot, lambda: name in names_shown(containers), timeout=1.0), \
            "a container created outside the app must show up within one second"
        test_engine.docker("rm", "--force", name)
        assert await wait_until(pilot, lambda: name not in names_shown(containers), timeout=1.0)
        assert not any(c.name == name for c in containers.items.values())


async def test_filter_narrows_rows_and_escape_clears(docker_host, scratch):
    a = scratch.run("alpha")
    b = scratch.exited("beta")
    app = make_app(docker_host)
    async with app.run_test(size=SIZE) as pilot:
        containers = app.pane("containers")
        assert await wait_until(pilot, lambda: {a, b} <= names_shown(containers))
        await pilot.press("3", "slash")
        await pilot.press(*"alpha")
        assert await wait_until(pilot, lambda: names_shown(containers) == {a})
        assert "filter: alpha" in str(containers.border_title)
        await pilot.press("escape")
        assert await wait_until(pilot, lambda: {a, b} <= names_shown(containers))
        assert containers.filter_text == ""


async def test_question_mark_lists_the_focused_panes_bindings(docker_host):
    app = make_app(docker_host)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2", "question_mark")
        assert await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen))
        shown = {row[1] for row in row_texts_of(app.screen)}
        assert {"New network", "Remove", "Prune", "Filter", "Refresh", "Quit"} <= shown
        await pilot.press("escape")
        await pilot.press("3", "question_mark")
        assert await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen))
        shown = {row[1] for row in row_texts_of(app.screen)}
        assert {"Run container", "Logs", "Clean up exited", "Start/stop"} <= shown
        assert "New network" not in shown


def node_row(app) -> list[str]:
    """The Clusters pane's row for the (only) engine of the cluster in use."""
    rows = [r for r in row_texts(app.pane("clusters")) if r[0].startswith("  └")]
    assert len(rows) == 1, rows
    return rows[0]


def row_texts_of(screen) -> list[list[str]]:
    table = screen.query_one("#help-table")
    return [[getattr(c, "plain", str(c)) for c in table.get_row_at(i)] for i in range(table.row_count)]


async def test_number_keys_focus_panes(docker_host):
    app = make_app(docker_host)
    async with app.run_test(size=SIZE) as pilot:
        for key, pane in (("1", "clusters"), ("2", "networks"), ("4", "system"), ("3", "containers")):
            await pilot.press(key)
            assert app.focused_pane() is app.pane(pane)
        await pilot.press("tab")
        assert app.focused_pane() is app.pane("system")


async def test_unreachable_engine_gives_a_sentence_not_a_traceback(tmp_path):
    dead = f"unix://{tmp_path}/nothing.sock"
    app = make_app(dead)
    async with app.run_test(size=SIZE) as pilot:
        assert await wait_until(pilot, lambda: app.engines and not next(iter(app.engines.values())).reachable)
        messages = [n.message for n in app._notifications]
        assert any(f"No Docker engine answers at {dead}" in m for m in messages), messages
        assert not any("Traceback" in m for m in messages)
        assert node_row(app)[2] == "no"
        assert "No Docker engine answers" in str(app.pane("clusters").border_subtitle)


async def test_engine_that_goes_away_is_marked_and_comes_back(engine_to_kill):
    test_engine, scratch = engine_to_kill
    before = scratch.create("before")
    app = make_app(test_engine.url)
    async with app.run_test(size=SIZE) as pilot:
        assert await wait_until(pilot, lambda: node_row(app)[2] == "yes" and before in names_shown(app.pane("containers")))
        test_engine.kill()
        try:
            # it answered before: the row says since when it does not
            assert await wait_until(pilot, lambda: node_row(app)[2].startswith("unreachable since "), timeout=10)
            stale = [r for r in row_texts(app.pane("containers")) if "stale since" in r[1]]
            assert stale and len(stale) == len(app.pane("containers").items), "its rows stay, marked stale"
        finally:
            test_engine.restart()
        assert await wait_until(pilot, lambda: node_row(app)[2] == "yes", timeout=15)
        assert not [r for r in row_texts(app.pane("containers")) if "stale since" in r[1]], "the marks went"
        name = scratch.run("after")
        assert await wait_until(pilot, lambda: name in names_shown(app.pane("containers")), timeout=3)


async def test_enter_shows_details_and_i_the_inspect_document(docker_host, scratch):
    from carina_tui.ui.screens import TextScreen

    name = scratch.run("detail", labels={"tier": "web"})
    app = make_app(docker_host)
    async with app.run_test(size=SIZE) as pilot:
        containers = app.pane("containers")
        await pilot.press("3", "slash", *name, "enter")
        assert await wait_until(pilot, lambda: names_shown(containers) == {name})
        await pilot.press("enter")
        assert await wait_until(pilot, lambda: isinstance(app.screen, TextScreen))
        body = str(app.screen.body)
        assert app.screen.title_text == f"Container {app.pane('containers').selected.qualified_name}"
        assert "running" in body and "tier=web" in body and "Protected" in body
        await pilot.press("escape", "i")
        assert await wait_until(pilot, lambda: isinstance(app.screen, TextScreen) and "Inspect" in app.screen.title_text)
        assert '"Labels"' in app.screen.body.code


async def test_the_header_names_a_cluster_of_one_url_once(docker_host):
    """``--host URL`` names the cluster by its URL: the header says it once, not twice."""
    app = make_app(docker_host, name=docker_host)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        header = str(app.query_one("#header").render())
        assert header.count(docker_host) == 1, header
    named = make_app(docker_host)
    async with named.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        header = str(named.query_one("#header").render())
        assert "test" in header and docker_host in header, header


def footer_keys(app) -> list[str]:
    from textual.widgets._footer import FooterKey

    return [key.description for key in app.console_screen.query(FooterKey)]


async def test_the_footer_is_made_again_only_when_its_keys_change(docker_host, scratch):
    """Textual makes the footer again on every bindings signal, each time a layout of the whole
    screen; the console's footer only when the keys it shows change (a pane with other keys)."""
    from carina_tui.ui.console_screen import ConsoleFooter

    scratch.run("footer")
    app = make_app(docker_host)
    async with app.run_test(size=(160, 50)) as pilot:
        assert await wait_until(pilot, lambda: "Run container" in footer_keys(app), timeout=10)
        await pilot.pause(0.3)
        footer = app.console_screen.query_one(ConsoleFooter)
        made, shown = footer.composed, footer_keys(app)
        for _ in range(3):
            app.console_screen.refresh_bindings()  # the signal, with the same keys
            await pilot.pause()
        await pilot.pause(0.2)
        assert (footer.composed, footer_keys(app)) == (made, shown)
        await pilot.press("2")
        assert await wait_until(pilot, lambda: "New network" in footer_keys(app))
        assert "Run container" not in footer_keys(app) and footer.composed > made
        await pilot.press("3")
        assert await wait_until(pilot, lambda: "Run container" in footer_keys(app))
        assert footer_keys(app)[:2] == ["Keys", "Quit"]


async def test_a_resize_to_the_same_size_does_not_lay_the_screen_out_again(docker_host, scratch):
    """Textual sends the screen a Resize for its own first layout and one for the terminal's size at
    start; each laid out and wrote the whole screen again. A real change of size still does."""
    from textual import events

    name = scratch.run("resize")
    app = make_app(docker_host)
    async with app.run_test(size=(160, 50)) as pilot:
        containers = app.pane("containers")
        assert await wait_until(pilot, lambda: name in names_shown(containers), timeout=10)
        screen = app.console_screen
        layouts = []  # the sizes Textual lays the screen out again at, for a Resize
        original = screen._screen_resized
        screen._screen_resized = lambda size: (layouts.append(size), original(size))[1]
        for _ in range(3):
            screen.post_message(events.Resize(app.size, app.size))
            await pilot.pause()
        await pilot.pause(0.2)
        assert layouts == []
        await pilot.resize_terminal(120, 40)
        assert await wait_until(pilot, lambda: containers.size.width < 100)
        assert layouts and layouts[-1] == (120, 40)
        assert name in names_shown(containers)
