"""What the console says after a container action follows the engine's look after the call."""

from __future__ import annotations

import pytest

from carina_tui.core.models import ContainerDetail, ContainerInfo
from carina_tui.core.outcome import action_outcome


def look(state: str, code: int | None = 0) -> ContainerDetail:
    return ContainerDetail(ContainerInfo(id="0" * 64, name="web", state=state, image="busybox"), exit_code=code)


@pytest.mark.parametrize(
    "action, before, after, said, as_asked",
    [
        ("container.run", None, look("running"), "web runs (busybox).", True),
        ("container.run", None, look("exited", 3), "web exited at once with code 3; see its logs (l).", False),
        ("container.run", None, look("restarting", 1), "web exited with code 1 and is being restarted", False),
        ("container.start", "exited", look("running"), "web started.", True),
        ("container.start", "exited", look("exited", 1), "web exited at once with code 1; see its logs (l).", False),
        ("container.start", "running", look("running"), "web was running already.", True),
        ("container.restart", "running", look("running"), "web restarted.", True),
        ("container.restart", "running", look("exited", 2), "web exited at once with code 2", False),
        ("container.stop", "running", look("exited", 137), "web stopped.", True),
        ("container.stop", "exited", look("exited"), "web was not running.", True),
        ("container.stop", "running", look("paused"), "web is paused now.", False),
        ("container.stop", "running", None, "web is gone.", False),
        ("container.remove", "running", None, "web removed.", True),
    ],
)
def test_the_sentence_follows_the_look_after_the_call(action, before, after, said, as_asked):
    prior = ContainerInfo(id="0" * 64, name="web", state=before, image="busybox") if before else None
    sentence, ok = action_outcome(action, "web", prior, after, runs=" (busybox)" if action == "container.run" else "")
    assert sentence.startswith(said), sentence
    assert ok is as_asked
    if action != "container.stop":
        assert "stopped" not in sentence
    if action == "container.stop":
        assert "started" not in sentence
