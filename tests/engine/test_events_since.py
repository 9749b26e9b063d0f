"""Nothing that happens between the first snapshot and the start of the engine's event stream goes
unseen: the stream starts where the snapshot began (``EngineInfo.clock``, ``Session.clocks``)."""

from __future__ import annotations

import threading

from carina_tui.core.clusters import ClusterSpec
from carina_tui.gateways.docker_gateway import engine_clock
from carina_tui.services.session import Session


def test_a_container_made_after_the_snapshot_and_before_the_events_are_followed_shows(docker_host, scratch):
    session = Session(ClusterSpec("t", "cli", (docker_host,)))
    seen: set[str] = set()
    arrived = threading.Event()
    try:
        session.prefetch()
        snapshot = session.snapshot()
        assert snapshot.engines[0].info.clock == session.clocks[docker_host] != ""
        name = scratch.create("in-between")  # the console is still drawing its first frame
        assert name not in {c.name for c in snapshot.containers}

        def on_containers(key, found, gone):
            seen.update(c.name for c in found)
            if name in seen:
                arrived.set()

        session.follow_events(on_containers=on_containers, on_networks=lambda key: None,
                              on_down=lambda key, why: None, on_up=lambda key: None)
        assert arrived.wait(15), f"{name} never reached the console; it saw {sorted(seen)}"
    finally:
        session.close()


def test_the_engines_time_is_read_with_its_nanoseconds_and_its_offset():
    assert engine_clock("2026-12-03T20:17:21.123456789Z") == "1796329041.123456789"
    assert engine_clock("2026-12-03T21:17:21.5+01:00") == "1796329041.500000000"
    assert engine_clock("2026-12-03T20:17:21Z") == "1796329041.000000000"
    assert engine_clock("yesterday") == engine_clock(None) == ""
