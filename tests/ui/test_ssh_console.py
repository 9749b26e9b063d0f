"""The console on an engine behind ssh:// (a real sshd on loopback, ``ssh_lab``), driven with Pilot."""

from __future__ import annotations

import os
import re

from pilot_helpers import SIZE, find, loop_threads, make_app, select_row, shown, started, threads_end, wait_for
from carina_tui.gateways import ssh
from carina_tui.ui.logs import LogScreen, SearchLog
from ssh_lab import ALIAS, cut_sessions, ssh_home, ssh_lab  # noqa: F401 - fixtures
from test_exec_stats_ui import label, press_on, title, view

URL = f"ssh://{ALIAS}"


async def test_the_console_over_ssh_shows_follows_and_reads_logs_on_one_connection(ssh_lab, ssh_home, scratch,
                                                                                   test_engine):
    there = scratch.run("there")
    async with make_app(URL).run_test(size=SIZE) as pilot:
        app = await started(pilot)
        await shown(pilot, "containers", there, "a container of the engine behind ssh shows")
        await wait_for(pilot, lambda: loop_threads("carina-events:"), "the event follower runs")
        late = scratch.run("late", "sh", "-c", "echo hello over ssh; sleep 3600")
        await wait_for(pilot, lambda: (c := find(app, "containers", late)) and c.state == "running",
                       "a container started afterwards arrives, running, by the event stream")

        await select_row(pilot, "containers", late)
        await pilot.press("l")
        await wait_for(pilot, lambda: isinstance(app.screen, LogScreen), "l opens the logs")
        view = app.screen.query_one(SearchLog)
        await wait_for(pilot, lambda: "hello over ssh" in list(view.lines), "the logs come over ssh")
        assert ssh_lab.established(os.getpid()) == 1, "events, lists and logs share one SSH connection"
        await pilot.press("escape")
        await threads_end(pilot, "carina-logs:")  # closing the screen closed the stream's channel

        test_engine.docker("rm", "--force", late)
        await wait_for(pilot, lambda: find(app, "containers", late) is None, "a removed container goes")


async def test_the_console_connects_again_after_the_ssh_connection_drops(ssh_lab, ssh_home, scratch):
    before = scratch.run("before")
    async with make_app(URL).run_test(size=SIZE) as pilot:
        await started(pilot)
        await shown(pilot, "containers", before)
        await wait_for(pilot, lambda: loop_threads("carina-events:"), "the event follower runs")
        await pilot.pause(0.5)
        cut_sessions(ssh_lab)  # the host's side ends the connection, as when a link goes
        after = scratch.run("after")
        await shown(pilot, "containers", after, "the console follows the engine again on a new SSH connection",
                    timeout=30)
        await wait_for(pilot, lambda: ssh_lab.established(os.getpid()) == 1, "one SSH connection again")


async def test_t_shows_the_stats_of_a_container_over_ssh_and_closing_ends_its_channel(ssh_lab, ssh_home, scratch):
    busy = scratch.run("busy", "sh", "-c", "while true; do :; done")
    app = make_app(URL)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        await shown(pilot, "containers", busy)
        await press_on(pilot, busy, "t")
        await wait_for(pilot, lambda: view(app) is not None and len(view(app)._history["cpu"]) >= 3,
                       "three readings of the busy container over ssh")
        assert f"Stats of {find(app, 'containers', busy).qualified_name}" in title(app)
        assert any(view(app)._history["cpu"]), "a spinning shell uses some CPU"
        assert re.fullmatch(r"CPU +[\d.]+%", label(app, "cpu").strip()), label(app, "cpu")
        assert re.fullmatch(r"mem [\d.]+[BKMG]/[\d.]+[BKMG]", label(app, "mem").strip()), label(app, "mem")
        stream = view(app).follow.stream
        link = ssh.link_of(app.session.gateways[URL].api)
        assert stream._sock.chan.get_transport() is link._clients[-1].get_transport(), \
            "the stats stream is a channel of the engine's one SSH connection"
        await pilot.press("t")  # closes the view, its stream and so its channel
        await wait_for(pilot, lambda: view(app) is None, "t closes the view")
        await threads_end(pilot, "carina-stats:")
        assert stream.closed and stream._sock.chan.closed
