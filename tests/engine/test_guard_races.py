"""Races a bulk removal must win on the real engine (issue 13, holes 5 and 6).

* Each removal is decided on an inspect of that one container made just before it: one renamed
  to a protected name while the cleanup is under way survives, and the audit log says refused.
* A DELETE the engine took but did not answer (the engine frozen with SIGSTOP) is never sent
  again; the guard looks, and reports what really happened.
* A kept-alive connection the engine closed (the engine restarted) is noticed before sending.
"""

from __future__ import annotations

import os
import signal
import threading

import pytest

from carina_tui.services.runner import execute
from carina_tui.core.audit import AuditLog
from carina_tui.core.planner import plan_cleanup
from carina_tui.core.clusters import ClusterSpec
from carina_tui.core.errors import Unanswered
from carina_tui.core.paths import audit_log_path
from carina_tui.core.permit import require
from carina_tui.core.rules import DEFAULT_RULES, Rule
from carina_tui.gateways.docker_gateway import DockerGateway
from carina_tui.services.session import Session

KEEP = Rule("name_pattern", "keep-*", source="test")


def session_for(host: str) -> Session:
    return Session(ClusterSpec("test", "cli", (host,)), rules=DEFAULT_RULES + (KEEP,))


def mine(session: Session, tag: str) -> list:
    return [c for c in next(iter(session.gateways.values())).containers() if tag in c.name]


def audit_of(container_id: str) -> list[tuple[str, str]]:
    return [(line["outcome"], line.get("rule", "")) for line in AuditLog(audit_log_path()).read()
            if line["target_id"] == container_id]


def test_a_container_renamed_to_a_protected_name_during_the_cleanup_survives(docker_host, test_engine, scratch):
    names = [scratch.exited(f"bulk{i}") for i in range(8)]
    session = session_for(docker_host)
    plan = plan_cleanup(mine(session, scratch.tag), session.guard.rules)
    assert [c.name for c in plan.to_remove] == sorted(names)
    target = plan.to_remove[5]
    kept = f"keep-{scratch.tag}"
    scratch.containers.append(kept)

    def progress(done, total, outcome):
        if done == 1:  # the first is removed, the sixth not yet looked at: rename it now
            test_engine.docker("rename", target.id, kept)

    result = execute(session.guard, plan.to_remove, per_engine=1, progress=progress)
    session.close()
    assert [(o.name, o.reason) for o in result.skipped] == [
        (kept, f'it is protected now (renamed to {kept}) by the rule name pattern "keep-*" (test)')]
    assert len(result.removed) == 7 and result.failed == []
    assert test_engine.ids(f"name=^/{kept}$") == [target.id]
    assert audit_of(target.id) == [("refused", 'name pattern "keep-*" (test)')]


def test_the_cleanup_still_runs_several_removals_at_once_per_engine(docker_host, test_engine, scratch):
    names = [scratch.exited(f"par{i}") for i in range(12)]
    session = session_for(docker_host)
    plan = plan_cleanup(mine(session, scratch.tag), session.guard.rules)
    at_once, busy, lock = [], [0], threading.Lock()
    gateway = session.gateways[docker_host]
    real = gateway.remove_container

    def counting(*args, **kwargs):
        with lock:
            busy[0] += 1
            at_once.append(busy[0])
        try:
            return real(*args, **kwargs)
        finally:
            with lock:
                busy[0] -= 1

    gateway.remove_container = counting
    result = execute(session.guard, plan.to_remove, per_engine=4)
    session.close()
    assert sorted(o.name for o in result.removed) == sorted(names)
    assert 1 < max(at_once) <= 4


class FreezingGateway(DockerGateway):
    """Freezes the engine (SIGSTOP to dockerd) just before the DELETE goes out, so that it reaches an
    engine that cannot answer in time; SIGCONT after ``frozen`` seconds. The rest is the real thing."""

    def __init__(self, url: str, pid: int, frozen: float, **kwargs) -> None:
        super().__init__(url, **kwargs)
        self.pid, self.frozen, self.armed, self.timer = pid, frozen, True, None

    def remove_container(self, permit, container_id, *, force=False, volumes=False):
        require(permit, "container.remove", container_id)
        if self.armed:
            self.armed = False
            os.kill(self.pid, signal.SIGSTOP)
            self.timer = threading.Timer(self.frozen, os.kill, (self.pid, signal.SIGCONT))
            self.timer.start()
        return super().remove_container(permit, container_id, force=force, volumes=volumes)

    def thaw(self) -> None:
        if self.timer is not None:
            self.timer.join()
        os.kill(self.pid, signal.SIGCONT)


@pytest.fixture
def engine_pid(test_engine):
    if not test_engine.private:
        pytest.skip("freezing the engine needs the private test engine (CARINA_TEST_DOCKER_HOST is set)")
    return test_engine.engine.pid


def frozen_session(docker_host: str, pid: int, frozen: float, timeout: int) -> tuple[Session, FreezingGateway]:
    session = session_for(docker_host)
    gateway = FreezingGateway(docker_host, pid, frozen, key=docker_host, timeout=timeout)
    session.gateways[docker_host] = gateway  # the guard's own map of engines
    return session, gateway


@pytest.mark.parametrize("how", ["cleanup", "d"])
def test_a_removal_the_engine_did_not_answer_in_time_is_looked_at_not_resent(docker_host, test_engine, scratch,
                                                                           engine_pid, how):
    name = scratch.exited("frozen")
    session, gateway = frozen_session(docker_host, engine_pid, frozen=3.0, timeout=2)
    c = mine(session, scratch.tag)[0]
    try:
        if how == "cleanup":
            result = execute(session.guard, [c])
            assert [(o.name, o.result, o.reason) for o in result.removed] == [(name, "removed", "")], result
        else:
            session.guard.remove(c)  # raises if it were not removed
    finally:
        gateway.thaw()
        session.close()
    assert test_engine.ids(f"name=^/{name}$") == []
    assert audit_of(c.id) == [("done", "")]


def test_when_the_engine_stays_silent_the_outcome_says_it_is_not_known(docker_host, test_engine, scratch, engine_pid):
    name = scratch.exited("silent")
    session, gateway = frozen_session(docker_host, engine_pid, frozen=5.0, timeout=1)
    c = mine(session, scratch.tag)[0]
    try:
        result = execute(session.guard, [c])
    finally:
        gateway.thaw()
        session.close()
    assert result.removed == [] and result.skipped == [] and [o.name for o in result.failed] == [name]
    reason = result.failed[0].reason
    assert "gave no answer within 1 s" in reason and f"whether {c.qualified_name} was removed is not known" in reason
    assert audit_of(c.id) == [("failed", "")]


class TakenButNotDoneGateway(DockerGateway):
    """An engine that took the DELETE and neither answered nor acted: it cannot be made on demand."""

    def remove_container(self, permit, container_id, *, force=False, volumes=False):
        require(permit, "container.remove", container_id)
        raise Unanswered(f"Could not remove container {container_id[:12]}: the engine at {self.url} took the "
                         f"request but gave no answer within {self.timeout} s.")


def test_a_container_still_there_after_an_unanswered_removal_is_reported_failed(docker_host, test_engine, scratch):
    name = scratch.exited("there")
    session = session_for(docker_host)
    session.gateways[docker_host] = TakenButNotDoneGateway(docker_host, key=docker_host)
    c = mine(session, scratch.tag)[0]
    result = execute(session.guard, [c])
    session.close()
    assert [o.name for o in result.failed] == [name]
    assert result.failed[0].reason.endswith(f"Looked at again, {c.qualified_name} is still there (exited): "
                                            "it was not removed.")
    assert test_engine.ids(f"name=^/{name}$")
    assert audit_of(c.id) == [("failed", "")]


def test_a_kept_alive_connection_the_engine_closed_is_noticed_before_sending(engine_to_kill):
    test_engine, scratch = engine_to_kill
    first, second = scratch.exited("first"), scratch.exited("second")
    session = session_for(test_engine.url)
    c1, c2 = sorted(mine(session, scratch.tag), key=lambda c: c.name)
    assert session.guard.remove_if_still_stopped(c1).result == "removed"  # leaves a kept-alive connection
    test_engine.kill()
    test_engine.restart()
    outcome = session.guard.remove_if_still_stopped(c2)
    session.close()
    assert (outcome.name, outcome.result, outcome.reason) == (second, "removed", "")
    assert not test_engine.ids(f"name=^/{first}$") and not test_engine.ids(f"name=^/{second}$")
