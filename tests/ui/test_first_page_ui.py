"""A long list in the console (issue 14): the first page on screen, then the whole list, with the
garbage collector's freeze of start-up's objects undone once the whole list is shown."""

from __future__ import annotations

import gc

from carina_tui.gateways import head_start
from carina_tui.core.clusters import ClusterSpec
from carina_tui.services.session import Session
from carina_tui.ui.app import CarinaApp
from pilot_helpers import SIZE, find, started, wait_for


async def test_the_first_page_then_the_whole_list_and_the_collector_gets_everything_back(
        docker_host, scratch, monkeypatch, test_engine):
    running = scratch.run("up-first")
    made = [scratch.create(f"later{n}") for n in range(3)]
    held = len(test_engine.docker("ps", "--all", "--quiet").split())
    monkeypatch.setattr(head_start, "WHOLE_AT_ONCE", 2)
    monkeypatch.setattr(head_start, "FIRST_PAGE", 1)
    assert gc.get_freeze_count() == 0
    session = Session(ClusterSpec("t", "cli", (docker_host,)))
    session.prefetch()  # as the command line does, before the app exists
    assert session.wait_prefetch(timeout=20).partial
    app = CarinaApp(session)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await started(pilot)
            pane = app.pane("containers")
            await wait_for(pilot, lambda: len(pane.items) == held and all(find(app, "containers", n) for n in made),
                           "the whole list follows the first page")
            assert find(app, "containers", running).state == "running"
            await wait_for(pilot, lambda: gc.get_freeze_count() == 0,
                           "start-up's objects go back to the collector once the whole list is on screen")
            assert "loading" not in str(pane.border_title)
    finally:
        gc.unfreeze()  # whatever happened, the next tests run with a normal collector
        session.close()


async def test_the_rest_of_a_long_list_is_asked_for_as_the_first_frame_is_written(
        docker_host, scratch, monkeypatch, test_engine):
    """Textual writes the first frame as the console screen resumes; the engine is asked for the
    whole list right then, before the console takes it (``_load_rest``, after the footer's and
    the scroll bars' second layout): 0.05 s of the whole list's time at 5,000 containers."""
    from carina_tui.gateways.docker_gateway import DockerGateway
    from carina_tui.ui.console_screen import ConsoleScreen

    scratch.run("up-first")
    made = [scratch.create(f"rest{n}") for n in range(2)]
    monkeypatch.setattr(head_start, "WHOLE_AT_ONCE", 2)
    monkeypatch.setattr(head_start, "FIRST_PAGE", 1)
    happened: list[str] = []
    containers, load_rest, display = DockerGateway.containers, ConsoleScreen._load_rest, CarinaApp._display

    def noted(self, ids=None, *, running=False, limit=None):
        if ids is None and not running and limit is None:
            happened.append("the whole list is asked for")
        return containers(self, ids, running=running, limit=limit)

    def taking(screen):
        happened.append("the console takes the rest")
        return load_rest(screen)

    def shown(app, screen, update):
        if update is not None and "the first frame" not in happened:
            happened.append("the first frame")
        return display(app, screen, update)

    monkeypatch.setattr(DockerGateway, "containers", noted)
    monkeypatch.setattr(ConsoleScreen, "_load_rest", taking)
    monkeypatch.setattr(CarinaApp, "_display", shown)
    session = Session(ClusterSpec("t", "cli", (docker_host,)))
    session.prefetch()
    assert session.wait_prefetch(timeout=20).partial
    app = CarinaApp(session)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await started(pilot)
            await wait_for(pilot, lambda: all(find(app, "containers", n) for n in made), "the whole list follows")
    finally:
        gc.unfreeze()
        session.close()
    assert happened == ["the first frame", "the whole list is asked for", "the console takes the rest"]
