"""The event follower's answer to an engine whose list lags its events.

The real engine sends a container's "die" before its list stops saying "running" (seen in
tests/ui/test_action_feedback.py, about one run in three under load: a list 40 ms after the event
said running, and no event followed). That lag cannot be produced on demand, so these tests hand
the follower a session stand-in whose list answers "running" a set number of times after the death.
"""

from __future__ import annotations

import threading
import time

from carina_tui.core.models import ContainerInfo, EngineEvent
from carina_tui.services.session import DIED_RELISTS, EventFollower

KEY = "unix:///lagging.sock"
CID = "c" * 64


class LaggingList:
    """Lists CID as running for ``lag`` calls after its death, then as exited."""

    def __init__(self, lag: int) -> None:
        self.gateways = {KEY: object()}
        self.lag = lag
        self.calls = 0

    def containers_on(self, key, ids):
        self.calls += 1
        state = "running" if self.calls <= self.lag else "exited"
        return [ContainerInfo(id=CID, name="quits", state=state, image="busybox", endpoint=key)], set()


def follow(session: LaggingList, events: list[str], until) -> list[str]:
    """Run the follower's sync loop on ``events`` until ``until(states)``; the states it posted."""
    states: list[str] = []
    done = threading.Event()

    def on_containers(key, found, gone):
        states.extend(c.state for c in found)
        if until(states):
            done.set()

    follower = EventFollower(session, KEY, on_containers=on_containers, on_networks=lambda k: None,
                             on_down=lambda k, e: None, on_up=lambda k: None, window=0.01)
    thread = threading.Thread(target=follower.sync, daemon=True)
    thread.start()
    for action in events:
        follower._note(EngineEvent(KEY, "container", action, CID))
    done.wait(10)
    time.sleep(0.1)  # any further round would show here
    follower.stop()
    thread.join(5)
    return states


def test_a_death_the_list_has_not_caught_up_with_is_listed_again_until_it_has():
    session = LaggingList(lag=3)
    states = follow(session, ["start", "die"], lambda s: "exited" in s)
    assert states == ["running", "running", "running", "exited"]
    assert session.calls == 4  # and not once more: the list agreed


def test_a_list_that_never_catches_up_is_asked_a_bounded_number_of_times():
    session = LaggingList(lag=10_000)
    states = follow(session, ["die"], lambda s: len(s) > DIED_RELISTS)
    assert states == ["running"] * (DIED_RELISTS + 1)


def test_a_running_container_with_no_death_is_listed_once():
    session = LaggingList(lag=10_000)
    states = follow(session, ["start"], lambda s: bool(s))
    assert states == ["running"]
    assert session.calls == 1


def test_a_start_after_the_death_means_running_is_the_truth():
    session = LaggingList(lag=10_000)
    states = follow(session, ["die", "start"], lambda s: bool(s))
    assert states == ["running"]
    assert session.calls == 1


def test_image_and_volume_news_reach_on_storage_once_a_round_and_mounts_do_not():
    """Panes 6 and 7 follow the events: a commit, a tag, a volume made or removed each say which
    list changed; a volume mounted by a container start, an image pushed, say nothing."""
    told: list[tuple[str, str]] = []
    got = threading.Event()

    def on_storage(key, kind):
        told.append((key, kind))
        got.set()

    follower = EventFollower(LaggingList(lag=0), KEY, on_containers=lambda *a: None, on_networks=lambda k: None,
                             on_down=lambda k, e: None, on_up=lambda k: None, on_storage=on_storage, window=0.05)
    thread = threading.Thread(target=follower.sync, daemon=True)
    thread.start()
    try:
        for etype, action in (("volume", "mount"), ("volume", "unmount"), ("image", "push"), ("image", "save")):
            follower._note(EngineEvent(KEY, etype, action, "x"))
        time.sleep(0.3)
        assert told == []
        for etype, action in (("container", "commit"), ("image", "tag"), ("image", "delete"),
                              ("volume", "create"), ("volume", "destroy")):
            follower._note(EngineEvent(KEY, etype, action, "x"))
        got.wait(5)
        time.sleep(0.2)
        assert sorted(told) == [(KEY, "images"), (KEY, "volumes")]
    finally:
        follower.stop()
        thread.join(5)
