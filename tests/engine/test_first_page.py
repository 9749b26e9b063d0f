"""The console's first request (issue 14): plain HTTP on a unix socket, a long list's first page
first, and no docker-py until a call needs it; on a real engine."""

from __future__ import annotations

import subprocess
import sys
import time

from carina_tui.gateways import head_start
from carina_tui.core.clusters import ClusterSpec
from carina_tui.gateways.docker_gateway import DockerGateway
from carina_tui.services.session import Session


def test_a_long_list_comes_as_a_first_page_then_whole(docker_host, scratch, monkeypatch, test_engine):
    running = scratch.run("old-but-running")
    time.sleep(1.1)  # the engine's creation times are in seconds
    made = [scratch.create(f"c{n}") for n in range(3)]
    time.sleep(1.1)
    newest = scratch.create("newest")
    held = len(test_engine.docker("ps", "--all", "--quiet").split())
    monkeypatch.setattr(head_start, "WHOLE_AT_ONCE", 2)
    monkeypatch.setattr(head_start, "FIRST_PAGE", 1)
    asked: list[str] = []  # what was asked of the engine, in order (the calls go through)
    containers = DockerGateway.containers

    def noted(self, ids=None, *, running=False, limit=None):
        if ids is None and not running and limit is None:
            asked.append("the whole list")
        return containers(self, ids, running=running, limit=limit)

    monkeypatch.setattr(DockerGateway, "containers", noted)
    session = Session(ClusterSpec("t", "cli", (docker_host,)))
    try:
        session.prefetch()
        first = session.wait_prefetch(timeout=20)
        page = session.take_prefetched()
        asked.append("the console asks for the rest")  # after its first frame
        whole = session.snapshot()
    finally:
        session.close()
    assert asked == ["the console asks for the rest", "the whole list"], \
        "the whole list waits until the console has drawn the first page"
    assert first is not None and first.partial
    assert page is first, "the console takes the first page while the rest is on its way"
    # The newest running one: the top of the default order.
    assert [c.name for c in page.containers] == [running]
    assert page.expected == held
    assert not whole.partial and whole.expected == held
    assert {running, newest, *made} <= {c.name for c in whole.containers}
    assert len(whole.containers) == held


def test_a_short_list_comes_whole_at_once(docker_host, scratch):
    name = scratch.create("few")
    session = Session(ClusterSpec("t", "cli", (docker_host,)))
    try:
        session.prefetch()
        first = session.wait_prefetch(timeout=20)
        taken = session.take_prefetched()
    finally:
        session.close()
    assert first is taken and not taken.partial
    assert name in {c.name for c in taken.containers}


def test_the_first_snapshot_and_the_events_do_without_docker_py(docker_host, scratch):
    """On a unix socket docker-py (and requests) load only when a call needs them: not for the
    console's first frame, nor for following events. In a fresh interpreter."""
    name = scratch.name("evented")
    code = f"""
import sys, threading
from carina_tui.core.clusters import ClusterSpec
from carina_tui.services.session import Session
session = Session(ClusterSpec("t", "cli", ({docker_host!r},)))
session.prefetch()
assert session.snapshot().engines[0].reachable
seen, streams = [], []
def follow():
    for event in session.gateways[{docker_host!r}].events(on_stream=streams.append):
        seen.append(event.name)
        if event.name == {name!r}:
            return
thread = threading.Thread(target=follow, daemon=True)
thread.start()
print("following", flush=True)
thread.join(20)
streams[0].close()
print("seen" if {name!r} in seen else "not seen", "docker-py loaded" if "docker" in sys.modules else "no docker-py",
      "requests loaded" if "requests" in sys.modules else "no requests")
"""
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "following"
        scratch.create("evented")
        out, err = child.communicate(timeout=30)
    finally:
        child.kill()
    assert out.strip() == "seen no docker-py no requests", err
