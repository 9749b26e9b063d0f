"""``t`` (live stats) and what ``e`` (a shell) says instead of opening, in the real app (issue 16).

Stats: one stream for the selected container, on a ``carina-stats:`` thread; the view shows
CPU, memory, network and disk as sparklines; moving the cursor closes that stream and opens the
next container's; ``t`` again closes it, the thread ends and nothing more is read from the
engine; a container that stops meanwhile is said. The shell's round trip needs a terminal: it is
tested in tmux (tests/engine/test_exec_console.py); here, the refusals said where the key was typed.
"""

from __future__ import annotations

import asyncio
import re

import pytest

from pilot_helpers import (SIZE, TRAPPED, burst, find, loop_threads, make_app, notices, select_row, started, threads_end,
                           wait_for)
from textual.widgets import Sparkline, Static

from carina_tui.core.audit import AuditLog
from carina_tui.core.paths import audit_log_path
from carina_tui.ui.stats_view import StatsView


def view(app) -> StatsView | None:
    found = app.pane("containers").query(StatsView)
    return found.first() if found else None


def title(app) -> str:
    """The view's title and what it says instead of the sparklines, if anything."""
    v = view(app)
    if v is None:
        return ""
    say = v.query_one("#stats-say", Static)
    return " ".join([str(v.query_one("#stats-title", Static).render())] + ([str(say.render())] if say.display else []))


async def press_on(pilot, name: str, key: str) -> None:
    """Put the Containers cursor on ``name`` and press ``key``."""
    await select_row(pilot, "containers", name)
    await pilot.press(key)


def label(app, key: str) -> str:
    return str(view(app).query_one(f"#stats-{key}-label", Static).render())


async def test_t_streams_the_selected_container_only_and_closes_with_nothing_left(docker_host, scratch):
    busy = scratch.run("busy", "sh", "-c", "while true; do :; done")
    idle = scratch.run("idle", *TRAPPED)
    app = make_app(docker_host)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        await press_on(pilot, busy, "t")
        await wait_for(pilot, lambda: view(app) is not None and len(view(app)._history["cpu"]) >= 3,
                       "three readings of the busy container")
        busy_thread, idle_thread = (f"carina-stats:{find(app, 'containers', n).qualified_name}" for n in (busy, idle))
        assert loop_threads("carina-stats:") == [busy_thread]
        assert f"Stats of {busy_thread.split(':', 1)[1]}" in title(app)  # as the logs say it: node/name
        assert any(view(app)._history["cpu"]), "a spinning shell uses some CPU"
        assert label(app, "cpu").startswith("CPU ") and "%" in label(app, "cpu")
        assert re.fullmatch(r"mem [\d.]+[BKMG]/[\d.]+[BKMG]", label(app, "mem").strip()), label(app, "mem")  # usage/limit
        assert "/s" in label(app, "rx") and "/s" in label(app, "write")
        assert view(app).query_one("#stats-cpu", Sparkline).data

        first = view(app).follow
        stream = first.stream
        await select_row(pilot, "containers", idle)  # the selection moves: that stream closes, the next opens
        await wait_for(pilot, lambda: f"Stats of {idle_thread.split(':', 1)[1]}" in title(app) and view(app)._history["cpu"],
                       "the view follows the cursor to the idle container")
        await threads_end(pilot, busy_thread)
        assert stream.closed and loop_threads("carina-stats:") == [idle_thread]
        first_read = stream.received

        second = view(app).follow.stream
        await pilot.press("t")  # closes the view
        await wait_for(pilot, lambda: view(app) is None, "t closes the view")
        await threads_end(pilot, "carina-stats:")
        read = second.received
        await asyncio.sleep(2.5)  # the engine sends a reading a second while a stream is open
        assert second.closed and second.received == read and stream.received == first_read


async def test_stats_say_when_the_container_stops_meanwhile(docker_host, scratch, test_engine):
    name = scratch.run("short", *TRAPPED)
    app = make_app(docker_host)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        await press_on(pilot, name, "t")
        await wait_for(pilot, lambda: view(app) is not None and view(app)._history["cpu"], "a first reading")
        test_engine.docker("kill", name)
        await wait_for(pilot, lambda: "stopped (exited with code 137): its stats ended" in title(app),
                       "the view says the container stopped")
        await threads_end(pilot, "carina-stats:")


async def test_stats_of_a_stopped_container_say_why_there_are_none(docker_host, scratch):
    name = scratch.exited("done")
    app = make_app(docker_host)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        await press_on(pilot, name, "t")
        await wait_for(pilot, lambda: "is exited: stats exist only while a container runs" in title(app),
                       "t on an exited container says why there are no stats")
        assert loop_threads("carina-stats:") == []


async def test_e_says_why_when_it_opens_nothing(docker_host, scratch):
    running = scratch.run("web")
    stopped = scratch.exited("job")
    app = make_app(docker_host)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        await press_on(pilot, stopped, "e")
        await wait_for(pilot, lambda: "a shell runs only in a running container" in notices(app),
                       "e on an exited container says why")
        await press_on(pilot, running, "e")  # Pilot's terminal is headless: no shell can take it over
        await wait_for(pilot, lambda: "needs the console to run in a terminal" in notices(app),
                       "e without a terminal says so")
    assert [line for line in AuditLog(audit_log_path()).read() if line["action"] == "container.exec"] == []


async def test_e_in_read_only_mode_is_refused_with_the_sentence(docker_host, scratch):
    name = scratch.run("agent", labels={"carina.protected": "true"})
    app = make_app(docker_host, read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        await press_on(pilot, name, "e")
        await wait_for(pilot, lambda: "open read-only" in notices(app), "e says read-only refuses it")
        assert app.screen is app.screen_stack[0], "nothing is asked in read-only mode"
    assert [line for line in AuditLog(audit_log_path()).read() if line["action"] == "container.exec"] == []


@pytest.mark.parametrize("typing", ["burst", "press", "paused"])
async def test_t_held_down_toggles_the_view_and_leaves_nothing_behind(docker_host, scratch, typing):
    """``t`` held down (the QA run: 10-20 presses ~20 ms apart): the view opens and closes with
    each press, never an error; after an even count it is closed and no stream is left."""
    name = scratch.run("held", *TRAPPED)
    app = make_app(docker_host)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        await select_row(pilot, "containers", name)
        total = 0
        for presses in (20, 11, 1):  # 20: closed; 31: open; 32: closed again
            total += presses
            if typing == "burst":  # all in the app's queue at once, as a paste or a held key over ssh
                await burst(pilot, *"t" * presses)
            elif typing == "press":
                await pilot.press(*"t" * presses)
            else:
                for _ in range(presses):
                    await pilot.press("t")
                    await pilot.pause(0.005)
            await pilot.pause(0.3)
            assert app.is_running and app.return_code is None
            views = app.pane("containers").query(StatsView)
            want_open = total % 2 == 1
            assert len(views) == (1 if want_open else 0), f"{total} presses of t leave the view {'open' if want_open else 'closed'}"
            if want_open:
                await wait_for(pilot, lambda: view(app) is not None and view(app)._history["cpu"], "a reading in the open view")
                assert loop_threads("carina-stats:") == [f"carina-stats:{find(app, 'containers', name).qualified_name}"]
            else:
                await threads_end(pilot, "carina-stats:")


def drawn(app) -> list[str]:
    """The stats view's lines as the screen shows them."""
    region = view(app).region
    strips = app.screen._compositor.render_strips()
    return [strip.text[region.x:region.right] for strip in strips[region.y:region.bottom]]


async def test_the_first_reading_draws_no_full_bars(docker_host, scratch):
    """CPU % needs two readings: until the second, the view says it waits for it, and no
    sparkline is drawn full height (one value is drawn as a full bar, which reads as 100 %)."""
    name = scratch.run("first", *TRAPPED)
    app = make_app(docker_host)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        await press_on(pilot, name, "t")
        frames = []
        while len(frames) < 200 and not (view(app) is not None and len(view(app)._history["cpu"]) >= 2):
            if view(app) is not None and view(app)._last is not None:
                frames.append("\n".join(drawn(app)))  # a reading is in: what does the view draw?
            await pilot.pause(0.02)
        assert frames, "the view drew a frame between the first and the third reading"
        first = frames[0]
        assert "█" not in first, first
        assert "waiting for the second reading" in first, first
        assert all("█" not in frame for frame in frames), "\n\n".join(frames)
