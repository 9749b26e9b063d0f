"""The guard against the real engine: every mutation of a protected container is refused with
the rule named, the container is left as it was, and the audit log says so; starting it is
allowed. Cleanup's races between plan and execution; the audit log itself."""

from __future__ import annotations

import json
import os
import stat
import threading

import pytest

import harness
from carina_tui.services.runner import execute
from carina_tui.core.audit import AuditLog
from carina_tui.core.planner import ContainerFilter, plan_cleanup
from carina_tui.core.clusters import ClusterSpec
from carina_tui.core.errors import CarinaError, EngineRefused, Refused
from carina_tui.core.paths import audit_log_path
from carina_tui.core.permit import require
from carina_tui.gateways.docker_gateway import DockerGateway
from carina_tui.services.session import Session

AUDIT_KEYS = {"time", "cluster", "endpoint", "user", "action", "target_id", "target_name", "outcome"}


def session_for(host: str, **kwargs) -> Session:
    return Session(ClusterSpec("test", "cli", (host,)), **kwargs)


def doc(engine: harness.TestEngine, name: str) -> dict:
    return json.loads(engine.docker("inspect", name))[0]


def audit_lines() -> list[dict]:
    return AuditLog(audit_log_path()).read()


def mine(session: Session, tag: str) -> list:
    """This test's containers (their names carry the scratch tag), fresh from the engine."""
    return [c for c in next(iter(session.gateways.values())).containers() if tag in c.name]


REFUSED = [
    ("container.stop", lambda g, c: g.stop(c)),
    ("container.kill", lambda g, c: g.kill(c)),
    ("container.pause", lambda g, c: g.pause(c)),
    ("container.restart", lambda g, c: g.restart(c)),
    ("container.rename", lambda g, c: g.rename(c, "something-else")),
    ("container.update", lambda g, c: g.update(c, mem_limit="64m", memswap_limit="128m")),
    ("container.remove", lambda g, c: g.remove(c, force=True)),
]


@pytest.mark.parametrize("how", ["name", "image", "label"])
def test_every_mutation_of_a_protected_container_is_refused_and_audited(docker_host, test_engine, scratch, how):
    net = scratch.network("net")
    if how == "name":
        name = scratch.run("carina-svcd", network=net, exact_name=True)
        rule = 'name "carina-svcd" (default)'
    elif how == "image":
        name = scratch.run("agent", "sleep", "3600", image=harness.CONSUL_IMAGE, network=net)
        rule = 'image repository "carina/consul" (default)'
    else:
        name = scratch.run("keeper", network=net, labels={"carina.protected": "true"})
        rule = 'label "carina.protected=true" (default)'
    before = doc(test_engine, name)
    session = session_for(docker_host)
    guard = session.guard
    c = guard._gateway(docker_host).container(name)
    for action, call in REFUSED:
        with pytest.raises(Refused) as err:
            call(guard, c)
        assert rule in str(err.value) and name in str(err.value), str(err.value)
        assert err.value.rule == rule
    network = next(n for n in session.gateways[docker_host].networks() if n.name == net)
    with pytest.raises(Refused) as err:
        guard.disconnect(network, c, force=True)
    assert rule in str(err.value)
    with pytest.raises(Refused) as err:
        guard.remove_network(network)
    assert rule in str(err.value) and f"Network {net}" in str(err.value)
    pruned = guard.prune_networks([network])
    assert [o.result for o in pruned] == ["skipped"] and rule in pruned[0].reason

    after = doc(test_engine, name)
    assert after["Id"] == before["Id"] and after["Name"] == before["Name"]
    assert after["State"]["Status"] == "running" and after["State"]["StartedAt"] == before["State"]["StartedAt"]
    assert after["HostConfig"]["Memory"] == before["HostConfig"]["Memory"]
    assert set(after["NetworkSettings"]["Networks"]) == {net}
    assert test_engine.docker("network", "ls", "--quiet", "--filter", f"name=^{net}$").strip()

    lines = [line for line in audit_lines() if line["target_id"] in (c.id, network.id)]
    refused = [(line["action"], line["outcome"]) for line in lines]
    for action, _ in REFUSED:
        assert (action, "refused") in refused
    assert ("network.disconnect", "refused") in refused and ("network.remove", "refused") in refused
    for line in lines:
        assert AUDIT_KEYS <= set(line) and line["rule"] == rule and line["cluster"] == "test"
        assert line["endpoint"] == docker_host


def test_starting_a_stopped_protected_container_is_allowed(docker_host, test_engine, scratch):
    name = scratch.create("agent", "sleep", "3600", labels={"carina.protected": "true"})
    session = session_for(docker_host)
    c = session.guard._gateway(docker_host).container(name)
    session.guard.start(c)
    assert doc(test_engine, name)["State"]["Status"] == "running"
    assert [(line["action"], line["outcome"]) for line in audit_lines() if line["target_id"] == c.id] == [
        ("container.start", "done")]


def test_an_unprotected_container_is_changed_and_audited_as_done(docker_host, test_engine, scratch):
    name = scratch.run("plain")
    session = session_for(docker_host)
    c = session.guard._gateway(docker_host).container(name)
    session.guard.stop(c)
    assert doc(test_engine, name)["State"]["Status"] == "exited"
    line = audit_lines()[-1]
    assert (line["action"], line["outcome"], line["target_name"]) == ("container.stop", "done", name)
    assert "rule" not in line and "error" not in line


def test_races_between_plan_and_execution_never_remove_a_protected_container(docker_host, test_engine, scratch):
    renamed = scratch.exited("renamed")
    started_meanwhile = scratch.create("started", "sleep", "3600")
    gone = scratch.exited("gone")
    plain = [scratch.exited(f"plain{i}") for i in range(3)]
    session = session_for(docker_host)
    plan = plan_cleanup(mine(session, scratch.tag), session.guard.rules)
    assert {c.name for c in plan.to_remove} == {renamed, started_meanwhile, gone, *plain}

    # Between plan and execution: a protected container is created, a planned one is renamed to
    # the agent's name, one is started, one is removed by someone else.
    new_agent = scratch.exited("new-agent", labels={"carina.protected": "true"})
    assert not test_engine.ids("name=^/carina-svcd$")
    scratch.containers.append("carina-svcd")
    test_engine.docker("rename", renamed, "carina-svcd")
    test_engine.docker("start", started_meanwhile)
    test_engine.docker("rm", gone)

    result = execute(session.guard, plan.to_remove)
    reasons = {o.name: o.reason for o in result.skipped}
    assert sorted(o.name for o in result.removed) == sorted(plain)
    assert result.failed == []
    assert reasons == {
        "carina-svcd": 'it is protected now (renamed to carina-svcd) by the rule name "carina-svcd" (default)',
        started_meanwhile: "it is running now",
        gone: "it no longer exists",
    }
    assert test_engine.ids("name=^/carina-svcd$"), "the renamed one is kept"
    assert test_engine.ids(f"name=^/{new_agent}$"), "the one created after the plan is not touched"
    assert doc(test_engine, started_meanwhile)["State"]["Status"] == "running"
    assert all(test_engine.ids(f"name=^/{p}$") == [] for p in plain)
    outcomes = {(line["target_name"], line["outcome"]) for line in audit_lines()}
    assert {("carina-svcd", "refused"), (started_meanwhile, "skipped"), (gone, "skipped")} <= outcomes
    assert {(p, "done") for p in plain} <= outcomes


def test_a_container_started_after_the_plan_is_skipped_not_killed(docker_host, test_engine, scratch):
    name = scratch.create("later", "sleep", "3600")
    session = session_for(docker_host)
    plan = plan_cleanup(mine(session, scratch.tag), session.guard.rules)
    assert [c.name for c in plan.to_remove] == [name]
    test_engine.docker("start", name)
    result = execute(session.guard, plan.to_remove)
    assert [(o.name, o.reason) for o in result.skipped] == [(name, "it is running now")]
    assert doc(test_engine, name)["State"]["Status"] == "running"


def test_anonymous_volumes_are_kept_unless_asked(docker_host, test_engine, scratch):
    keep, drop = scratch.name("keepvol"), scratch.name("dropvol")
    for name in (keep, drop):
        scratch.containers.append(name)
        test_engine.docker("create", "--name", name, "--label", harness.TEST_LABEL, "-v", "/data",
                           harness.BUSYBOX_IMAGE, "true")
    volume = {n: doc(test_engine, n)["Mounts"][0]["Name"] for n in (keep, drop)}
    session = session_for(docker_host)
    containers = {c.name: c for c in mine(session, scratch.tag)}
    assert len(execute(session.guard, [containers[keep]]).removed) == 1
    assert len(execute(session.guard, [containers[drop]], volumes=True).removed) == 1
    volumes = test_engine.docker("volume", "ls", "--quiet").split()
    assert volume[keep] in volumes and volume[drop] not in volumes
    test_engine.docker("volume", "rm", volume[keep])


class RefusingGateway(DockerGateway):
    """The engine cannot be made to refuse a removal on demand: this one does, to test the failed path."""

    def remove_container(self, permit, container_id, *, force=False, volumes=False):
        require(permit, "container.remove", container_id)
        raise EngineRefused(f"Could not remove container {container_id[:12]}: the engine said 'disk on fire'.")


def test_a_failed_removal_is_reported_with_the_engines_words(docker_host, scratch):
    name = scratch.exited("doomed")
    session = session_for(docker_host)
    session.guard._gateways[docker_host] = RefusingGateway(docker_host)
    result = execute(session.guard, mine(session, scratch.tag))
    assert [(o.name, o.result) for o in result.failed] == [(name, "failed")]
    assert "disk on fire" in result.failed[0].reason and not result.ok
    line = audit_lines()[-1]
    assert line["outcome"] == "failed" and "disk on fire" in line["error"]


def test_read_only_refuses_every_mutation_and_cleanup(docker_host, test_engine, scratch):
    running = scratch.run("ro")
    stopped = scratch.exited("ro-exited")
    session = session_for(docker_host, read_only=True)
    guard = session.guard
    c = guard._gateway(docker_host).container(running)
    for action, call in REFUSED + [("container.start", lambda g, c: g.start(c))]:
        with pytest.raises(Refused) as err:
            call(guard, c)
        assert "read-only" in str(err.value) and err.value.rule == "read-only"
    plan = plan_cleanup(mine(session, scratch.tag), guard.rules)
    result = execute(guard, plan.to_remove)
    assert [o.name for o in result.skipped] == [stopped] and "read-only" in result.skipped[0].reason
    assert doc(test_engine, running)["State"]["Status"] == "running"
    assert test_engine.ids(f"name=^/{stopped}$")
    assert {line["outcome"] for line in audit_lines()} == {"refused"}
    assert guard.would_refuse("container.start") and "read_only = true" in guard.would_refuse("container.stop")


def test_audit_log_is_one_json_line_per_attempt_and_private(docker_host, scratch):
    name = scratch.exited("audited")
    session = session_for(docker_host)
    path = audit_log_path()
    assert not path.exists()
    execute(session.guard, mine(session, scratch.tag))
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert str(path).startswith(os.environ["XDG_STATE_HOME"])
    raw = path.read_text().splitlines()
    assert len(raw) == 1
    line = json.loads(raw[0])
    assert AUDIT_KEYS <= set(line)
    assert (line["action"], line["target_name"], line["outcome"]) == ("container.remove", name, "done")
    assert line["user"] and line["time"].endswith("+00:00")


def test_audit_log_stays_private_under_a_loose_umask(docker_host, scratch):
    old = os.umask(0)
    try:
        scratch.exited("umask")
        session = session_for(docker_host)
        execute(session.guard, mine(session, scratch.tag))
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(audit_log_path()).st_mode) == 0o600


def test_filter_narrows_a_real_plan(docker_host, scratch):
    a = scratch.exited("alpha", labels={"tier": "web"})
    scratch.exited("beta")
    session = session_for(docker_host)
    plan = plan_cleanup(mine(session, scratch.tag), session.guard.rules, ContainerFilter(labels=(("tier", "web"),)))
    assert [c.name for c in plan.to_remove] == [a] and plan.hidden_by_filter == 1


def test_a_stopped_cleanup_leaves_the_rest_as_it_was(docker_host, test_engine, scratch):
    names = [scratch.exited(f"left{i}") for i in range(3)]
    session = session_for(docker_host)
    cancel = threading.Event()
    cancel.set()
    result = execute(session.guard, mine(session, scratch.tag), cancel=cancel)
    assert sorted(o.name for o in result.skipped) == sorted(names) and not result.removed
    assert {o.reason for o in result.skipped} == {"the cleanup was stopped before it got to it"}
    assert all(test_engine.ids(f"name=^/{n}$") for n in names)


def test_would_refuse_says_no_at_once_with_the_rule(docker_host, scratch):
    from carina_tui.core.models import ContainerInfo, NetworkInfo

    session = session_for(docker_host)
    guard = session.guard
    agent = ContainerInfo(id="a" * 64, name="carina-svcd", state="exited", image="busybox", node="n1")
    plain = ContainerInfo(id="b" * 64, name="web", state="exited", image="busybox")
    net = NetworkInfo(id="c" * 64, name="mynet", driver="bridge", scope="local")
    assert 'name "carina-svcd" (default)' in guard.would_refuse("container.remove", agent)
    assert guard.would_refuse("container.start", agent) is None
    assert guard.would_refuse("container.remove", plain) is None
    assert "n1/carina-svcd" in guard.would_refuse_network("network.remove", net, [plain, agent])
    assert guard.would_refuse_network("network.remove", net, [plain]) is None
    bridge = NetworkInfo(id="d" * 64, name="bridge", driver="bridge", scope="local")
    assert "predefined" in guard.would_refuse_network("network.remove", bridge)
    assert "read-only" in session_for(docker_host, read_only=True).guard.would_refuse_network("network.remove", net)


def test_the_gateways_removal_says_what_the_engine_said(docker_host, test_engine, scratch):
    from carina_tui.core.errors import Conflict, NotFound
    from carina_tui.core.permit import issue

    gateway = DockerGateway(docker_host)
    running = test_engine.ids(f"name=^/{scratch.run('busy')}$")[0]
    with pytest.raises(Conflict) as err:
        gateway.remove_container(issue("container.remove", running), running)
    assert "cannot remove a running container" in str(err.value).lower()
    missing = "f" * 64
    with pytest.raises(NotFound) as err:
        gateway.remove_container(issue("container.remove", missing), missing)
    assert str(err.value).startswith(f"Could not remove container {missing[:12]}: ")
    stopped = test_engine.ids(f"name=^/{scratch.exited('idle')}$")[0]
    for _ in range(2):  # the second call goes over the kept-alive connection
        gateway.remove_container(issue("container.remove", stopped), stopped)
        with pytest.raises(NotFound):
            gateway.remove_container(issue("container.remove", stopped), stopped)
        stopped = test_engine.ids(f"name=^/{scratch.exited('idle2')}$")[0]
    gateway.close()
    gateway.remove_container(issue("container.remove", stopped), stopped)  # reconnects after close
    assert test_engine.ids(f"id={stopped}") == []
    gone = DockerGateway(f"unix://{test_engine.url[len('unix://'):]}.nowhere")
    with pytest.raises(CarinaError) as err:
        gone.remove_container(issue("container.remove", missing), missing)
    assert "Traceback" not in str(err.value) and str(err.value).endswith(".")
