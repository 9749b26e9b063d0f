"""The sandbox tries a container on the overlay again when the engine could not attach it in time.

A node that has just joined the swarm asks the manager for the attachment; under load that request
times out, and a whole test module failed to bring its sandbox up (CI, session 6). The engine cannot
be made to time out on demand, so the docker CLI calls are stood in for here, and only here.
"""

from __future__ import annotations

import pytest

from carina_tui.sandbox import cluster
from carina_tui.sandbox.engine import EngineError

TIMED_OUT = ("`docker -H unix:///n2.sock run --detach` failed: docker: Error response from daemon: attaching to "
             "network failed, make sure your network options are correct and check manager logs: context deadline "
             "exceeded")


@pytest.fixture
def calls(monkeypatch):
    made: list[tuple[str, ...]] = []
    answers: list[Exception | None] = []

    def docker(url, *args, check=True, timeout=60, **_):
        made.append(args[:2])
        if args[0] == "run" and answers:
            answer = answers.pop(0)
            if answer is not None:
                raise answer
        return ""

    monkeypatch.setattr(cluster, "docker", docker)
    monkeypatch.setattr(cluster.time, "sleep", lambda s: None)
    return made, answers


def test_a_timed_out_attachment_is_tried_again_after_the_half_made_container_is_removed(calls):
    made, answers = calls
    answers.extend([EngineError(TIMED_OUT), None])
    cluster._run_on_mynet("unix:///n2.sock", "wordpress", "busybox", timeout=90)
    assert made == [("run", "--detach"), ("rm", "--force"), ("run", "--detach")]


def test_it_gives_up_after_the_last_try_with_the_engine_s_reason(calls):
    made, answers = calls
    answers.extend([EngineError(TIMED_OUT)] * cluster.ATTACH_TRIES)
    with pytest.raises(EngineError, match="context deadline exceeded"):
        cluster._run_on_mynet("unix:///n2.sock", "wordpress", "busybox", timeout=90)
    assert [c for c in made if c[0] == "run"] == [("run", "--detach")] * cluster.ATTACH_TRIES


def test_another_failure_is_not_tried_again(calls):
    made, answers = calls
    answers.append(EngineError("`docker run` failed: Conflict. The container name \"/wordpress\" is already in use"))
    with pytest.raises(EngineError, match="already in use"):
        cluster._run_on_mynet("unix:///n2.sock", "wordpress", "busybox", timeout=90)
    assert made == [("run", "--detach")]
