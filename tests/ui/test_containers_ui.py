"""The Containers pane on a real engine, driven with Pilot: the run form (and what the engine still
refuses), start/stop, restart, remove, logs and inspect."""

from __future__ import annotations

import json

from pilot_helpers import (
    SIZE,
    TRAPPED,
    cell,
    find,
    inspect_doc,
    make_app,
    notices,
    open_form,
    select_row,
    set_fields,
    shown,
    started,
    submit,
    threads_end,
    type_text,
    wait_for,
)
from carina_tui.ui.forms import RunScreen
from carina_tui.ui import logs
from carina_tui.ui.logs import LogScreen, SearchLog
from carina_tui.ui.screens import ConfirmScreen, TextScreen


async def test_run_form_runs_what_it_says(docker_host, test_engine, scratch):
    front, back = scratch.network("front"), scratch.network("back")
    name = scratch.name("web")
    scratch.containers.append(name)
    async with make_app(docker_host).run_test(size=SIZE) as pilot:
        app = await started(pilot)
        await shown(pilot, "networks", back)
        await pilot.press("3")
        screen = await open_form(pilot, "N", RunScreen)
        set_fields(screen, image="busybox:latest", networks=[front, back], restart="unless-stopped")
        await type_text(pilot, "name", name)
        await type_text(pilot, "ports", "8081:80")
        set_fields(screen, env='GREETING="hello world" TIER=web', command="httpd -f -p 80",
                   labels="carina.test=1 tier=web", aliases="www")
        assert await submit(pilot) == ""
        await wait_for(pilot, lambda: f"{name} runs (busybox:latest, publishing 8081->80/tcp)." in notices(app),
                       "the console says it runs")
        row = await wait_for(pilot, lambda: (c := find(app, "containers", name)) and c.state == "running"
                             and len(c.networks) == 2 and c, "the container runs on both networks")
        assert cell(app, "containers", row.key, "ports") == "8081->80/tcp"
        assert cell(app, "containers", row.key, "networks") == ", ".join(sorted([front, back]))
    doc = inspect_doc(test_engine, name)
    assert doc["Config"]["Cmd"] == ["httpd", "-f", "-p", "80"]
    assert {"GREETING=hello world", "TIER=web"} <= set(doc["Config"]["Env"])
    assert doc["Config"]["Labels"] == {"carina.test": "1", "tier": "web"}
    assert doc["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"
    assert doc["HostConfig"]["PortBindings"] == {"80/tcp": [{"HostIp": "", "HostPort": "8081"}]}
    nets = doc["NetworkSettings"]["Networks"]
    assert set(nets) == {front, back}
    assert "www" in nets[front]["Aliases"], "the aliases go to the first network chosen"


async def test_a_failed_start_leaves_nothing_and_says_why_on_the_form(docker_host, test_engine, scratch):
    name = scratch.name("broken")
    scratch.containers.append(name)
    before = set(test_engine.ids())
    async with make_app(docker_host).run_test(size=SIZE) as pilot:
        app = await started(pilot)
        await pilot.press("3")
        screen = await open_form(pilot, "N", RunScreen)
        set_fields(screen, image="busybox:latest", name=name, command="no-such-program --flag")
        sentence = await submit(pilot)
        assert f"Could not start container {name}" in sentence and "no-such-program" in sentence, sentence
        assert app.screen is screen and screen.text("command") == "no-such-program --flag"
    assert set(test_engine.ids()) == before, "the half-made container was removed"


async def test_stop_start_restart_and_remove(docker_host, test_engine, scratch):
    name = scratch.run("life", *TRAPPED)
    async with make_app(docker_host).run_test(size=SIZE) as pilot:
        app = await started(pilot)

        def state():
            c = find(app, "containers", name)
            return c.state if c else "gone"

        await select_row(pilot, "containers", name)
        await pilot.press("s")
        await wait_for(pilot, lambda: state() == "exited", "s stops a running container")
        assert inspect_doc(test_engine, name)["State"]["Status"] == "exited"
        await pilot.press("s")
        await wait_for(pilot, lambda: state() == "running", "s starts it again")
        started_at = inspect_doc(test_engine, name)["State"]["StartedAt"]
        await pilot.press("R")
        await wait_for(pilot, lambda: inspect_doc(test_engine, name)["State"]["StartedAt"] != started_at,
                       "R restarts it")
        await wait_for(pilot, lambda: f"{name} restarted." in notices(app), "R says so")
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "d asks first")
        await pilot.press("escape")
        await pilot.pause()
        assert test_engine.ids(f"name=^/{name}$"), "escape keeps it"
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "d asks again")
        await pilot.press("y")
        await wait_for(pilot, lambda: state() == "gone", "the container leaves the pane")
    assert test_engine.ids(f"name=^/{name}$") == []


async def test_logs_show_the_last_500_lines_then_follow_search_and_stay_bounded(docker_host, test_engine, scratch,
                                                                                  monkeypatch):
    monkeypatch.setattr(logs, "MAX_LINES", 1000)  # the bound, made small enough to cross quickly
    script = ("i=0; while [ $i -lt 600 ]; do echo line$i; i=$((i+1)); done; "
              "while [ ! -f /tmp/go ]; do sleep 0.1; done; "
              "i=0; while [ $i -lt 1500 ]; do echo more$i; i=$((i+1)); done; sleep 3600")
    name = scratch.run("chatty", "sh", "-c", script)
    async with make_app(docker_host).run_test(size=SIZE) as pilot:
        app = await started(pilot)
        await select_row(pilot, "containers", name)
        await pilot.press("l")
        await wait_for(pilot, lambda: isinstance(app.screen, LogScreen), "l opens the logs")
        screen = app.screen
        view = screen.query_one(SearchLog)
        await wait_for(pilot, lambda: len(view.lines) >= 500 and view.lines[-1] == "line599",
                       "the last 500 lines show")
        assert list(view.lines) == [f"line{i}" for i in range(100, 600)]

        await pilot.press("slash")
        await pilot.press(*"line123")
        status = str(screen.query_one("#log-status").render())
        assert "1 line holds 'line123'" in status, status
        assert view.lines[screen.matches[screen.current]] == "line123"
        assert view.scroll_y <= 23 <= view.scroll_y + view.size.height, "the view shows the match"
        await pilot.press("enter")

        test_engine.docker("exec", name, "touch", "/tmp/go")
        await wait_for(pilot, lambda: view.lines[-1] == "more1499", "new lines follow")
        assert len(view.lines) == 1000, "memory stays bounded: the oldest lines went"
        assert view.lines[0] == "more500"

        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, LogScreen), "escape closes the logs")
        await threads_end(pilot, "carina-logs:")  # closing the screen closed the stream: the reader ended


async def test_inspect_shows_the_engine_document(docker_host, test_engine, scratch):
    name = scratch.run("looked-at")
    full_id = test_engine.ids(f"name=^/{name}$")[0]
    async with make_app(docker_host).run_test(size=SIZE) as pilot:
        app = await started(pilot)
        await select_row(pilot, "containers", name)
        await pilot.press("i")
        await wait_for(pilot, lambda: isinstance(app.screen, TextScreen), "i opens the inspect data")
        text = app.screen.body.code
        assert json.loads(text)["Id"] == full_id
        await pilot.press("escape")
