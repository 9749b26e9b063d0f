"""Actions say at once that they started ("stopping…" in the row until the engine's event), and what
the console says after is what the engine holds: a container that exits at once is reported with
its exit code, a start of a running agent never says "started", a failed call puts the row back."""

from __future__ import annotations

import threading

from pilot_helpers import (
    SIZE,
    TRAPPED,
    cell,
    find,
    make_app,
    notices,
    open_form,
    raised,
    select_row,
    set_fields,
    started,
    submit,
    wait_for,
)
from carina_tui import guard as guard_module
from carina_tui.core.errors import EngineRefused
from carina_tui.sandbox.images import CONSUL_IMAGE
from carina_tui.ui.messages import ContainersChanged
from carina_tui.ui.forms import RunScreen


def state_of(test_engine, name: str) -> str:
    return test_engine.docker("inspect", "--format", "{{.State.Status}}", name).strip()


async def test_s_shows_stopping_until_the_engine_says_exited(docker_host, test_engine, scratch):
    name = scratch.run("stoppable", *TRAPPED)
    app = make_app(docker_host)
    pressed = threading.Event()
    seen: list[str] = []  # what the row's state cell showed when each event about it arrived

    def hook(message) -> None:
        if pressed.is_set() and isinstance(message, ContainersChanged):
            row = find(app, "containers", name)
            if row is not None and (any(c.id == row.id for c in message.found) or row.id in message.gone):
                seen.append(cell(app, "containers", row.key, "state"))

    async with app.run_test(size=SIZE, message_hook=hook) as pilot:
        await started(pilot)
        await select_row(pilot, "containers", name)
        row = find(app, "containers", name)
        pressed.set()
        await pilot.press("s")
        await wait_for(pilot, lambda: seen, "the engine's event about the stop arrives")
        assert seen[0] == "stopping…", f"before the event the row said {seen[0]!r}"
        await wait_for(pilot, lambda: cell(app, "containers", row.key, "state") == "exited",
                       "the event's state replaces stopping…")
        await wait_for(pilot, lambda: f"{name} stopped." in notices(app), "the console says stopped")
        assert "started" not in notices(app)
        assert state_of(test_engine, name) == "exited"

        # d then y: removing… until the engine's event takes the row away. (An event of the stop can
        # still come in before the removal is confirmed, with the row saying exited: a CI run under
        # load saw ['exited', 'removing…']; from the first removing… on, nothing else may show.)
        seen.clear()
        await pilot.press("d", "y")
        await wait_for(pilot, lambda: not find(app, "containers", name), "the row goes")
        assert "removing…" in seen and set(seen[seen.index("removing…"):]) == {"removing…"}, seen
        await wait_for(pilot, lambda: f"{name} removed." in notices(app), "the console says removed")
    assert test_engine.ids(f"name=^/{name}$") == []


async def test_a_failed_stop_puts_the_row_back_and_says_why(docker_host, test_engine, scratch, monkeypatch):
    # The engine cannot be made to refuse a stop on demand: the call is replaced by one that waits
    # for the test to look at the row, then fails as the gateway does.
    name = scratch.run("unstoppable", *TRAPPED)
    looked = threading.Event()

    def refusing_stop(gateway, permit, container_id, **kwargs):
        looked.wait(30)
        raise EngineRefused(f"Could not stop container {container_id[:12]}: the engine said 'no'.")

    monkeypatch.setitem(guard_module.CONTAINER_ACTIONS, "container.stop", ("stop", refusing_stop))
    async with make_app(docker_host).run_test(size=SIZE) as pilot:
        app = await started(pilot)
        await select_row(pilot, "containers", name)
        row = find(app, "containers", name)
        try:
            await pilot.press("s")
            assert cell(app, "containers", row.key, "state") == "stopping…"
        finally:
            looked.set()
        await wait_for(pilot, lambda: "the engine said 'no'" in notices(app), "the error is said")
        assert cell(app, "containers", row.key, "state") == "running", "the row is as it was"
        assert "stopped" not in notices(app)
    assert state_of(test_engine, name) == "running"


async def test_a_container_that_exits_at_once_is_said_to_have_exited_with_its_code(docker_host, test_engine,
                                                                                   scratch):
    name = scratch.name("quits")
    scratch.containers.append(name)
    async with make_app(docker_host).run_test(size=SIZE) as pilot:
        app = await started(pilot)
        await pilot.press("3")
        screen = await open_form(pilot, "N", RunScreen)
        set_fields(screen, name=name, image="busybox:latest", command="sh -c 'exit 3'")
        assert await submit(pilot) == ""
        said = f"{name} exited at once with code 3; see its logs (l)."
        await wait_for(pilot, lambda: said in notices(app), "the console says it exited, with its code")
        assert f"{name} runs" not in notices(app)
        assert test_engine.docker("inspect", "--format", "{{.State.ExitCode}}", name).strip() == "3"

        # s starts it again: the row says starting…, then the same truth.
        await wait_for(pilot, lambda: (c := find(app, "containers", name)) and c.state == "exited",
                       "the row shows it exited")
        await select_row(pilot, "containers", name)
        row = find(app, "containers", name)
        first = raised(app, said)
        await pilot.press("s")
        assert cell(app, "containers", row.key, "state") in ("starting…", "running", "exited")
        # Said again: the toast still showing it is raised again, not stacked (one per sentence).
        await wait_for(pilot, lambda: raised(app, said) > first, "s says it exited at once too")
        assert notices(app).count(said) == 1
        assert f"{name} started." not in notices(app)
        await wait_for(pilot, lambda: cell(app, "containers", row.key, "state") == "exited", "the row says exited")


async def test_s_on_a_running_agent_never_says_started(docker_host, test_engine, scratch):
    agent = scratch.run("carina-svcd", image=CONSUL_IMAGE, exact_name=True)
    async with make_app(docker_host).run_test(size=SIZE) as pilot:
        app = await started(pilot)
        # The Containers pane: s would stop it, and the guard refuses.
        await select_row(pilot, "containers", agent)
        await pilot.press("s")
        await wait_for(pilot, lambda: "is protected by the rule" in notices(app), "the stop is refused")
        # The System pane: s starts a stopped agent; this one runs, and the console says so.
        row = find(app, "containers", agent)
        system = app.pane("system")
        await wait_for(pilot, lambda: row.key in system.items, "the agent shows in the System pane")
        system.table.focus()
        system.table.move_cursor(row=system.table.get_row_index(row.key))
        await pilot.pause()
        assert system.selected.container.name == agent
        await pilot.press("s")
        await wait_for(pilot, lambda: "carina-svcd was running already." in notices(app), "s says it runs already")
        assert "started" not in notices(app) and "stopped" not in notices(app)
        await wait_for(pilot, lambda: cell(app, "system", row.key, "state") == "running", "the row says running")
    assert state_of(test_engine, agent) == "running"
