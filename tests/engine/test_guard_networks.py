"""A network with a container attached, running or not, is never removed or pruned (issue 13, hole 4).

Docker's network inspect lists only running endpoints, so a stopped ``carina-svcd`` on a network
was stranded when the network went: it then failed to start with "network ... not found".
"""

from __future__ import annotations

import pytest

from carina_tui.core.audit import AuditLog
from carina_tui.core.clusters import ClusterSpec
from carina_tui.core.errors import Refused
from carina_tui.core.paths import audit_log_path
from carina_tui.session import Session

AGENT_RULE = 'name "carina-svcd" (default)'


def network_of(session: Session, name: str):
    return next(n for n in next(iter(session.gateways.values())).networks() if n.name == name)


def still_there(engine, net: str) -> bool:
    return bool(engine.docker("network", "ls", "--quiet", "--filter", f"name=^{net}$").strip())


@pytest.mark.parametrize("state", ["exited", "created"])
def test_a_stopped_agent_keeps_its_network(docker_host, test_engine, scratch, state):
    net = scratch.network("agents")
    scratch.containers.append("carina-svcd")
    test_engine.docker("create", "--name", "carina-svcd", "--network", net, "--label", "carina.test=1",
                       "busybox:latest", "sleep", "3600")
    if state == "exited":
        test_engine.docker("start", "carina-svcd")
        test_engine.docker("stop", "--time", "0", "carina-svcd")
    assert test_engine.docker("network", "inspect", "--format", "{{len .Containers}}", net).strip() == "0", \
        "the engine's network inspect does not list a stopped member: the hole this test is about"
    session = Session(ClusterSpec("test", "cli", (docker_host,)))
    network = network_of(session, net)

    with pytest.raises(Refused) as err:
        session.guard.remove_network(network)
    sentence = str(err.value)
    assert f"Network {net} is refused: the protected container carina-svcd ({state}) is attached" in sentence
    assert AGENT_RULE in sentence
    pruned = session.guard.prune_networks([network])
    assert [o.result for o in pruned] == ["skipped"] and "carina-svcd" in pruned[0].reason
    session.close()

    assert still_there(test_engine, net)
    test_engine.docker("start", "carina-svcd")
    assert test_engine.docker("inspect", "--format", "{{.State.Status}}", "carina-svcd").strip() == "running"
    lines = [line for line in AuditLog(audit_log_path()).read() if line["target_id"] == network.id]
    assert [(line["action"], line["outcome"], line.get("rule")) for line in lines] == \
        [("network.remove", "refused", AGENT_RULE)] * 2


def test_a_stopped_plain_container_is_not_stranded_either(docker_host, test_engine, scratch):
    net = scratch.network("jobs")
    name = scratch.name("job")
    scratch.containers.append(name)
    test_engine.docker("create", "--name", name, "--network", net, "--label", "carina.test=1", "busybox:latest",
                       "true")
    session = Session(ClusterSpec("test", "cli", (docker_host,)))
    with pytest.raises(Refused) as err:
        session.guard.remove_network(network_of(session, net))
    assert f"Network {net} still has containers attached ({name} (created)); disconnect them first." == \
        str(err.value)
    session.close()
    assert still_there(test_engine, net)


def test_an_unused_network_is_removed(docker_host, test_engine, scratch):
    net = scratch.network("empty")
    other = scratch.network("busy")
    scratch.exited("elsewhere")  # attached to the default bridge, not to these
    session = Session(ClusterSpec("test", "cli", (docker_host,)))
    scratch.run("member", network=other)
    outcomes = session.guard.prune_networks([network_of(session, net), network_of(session, other)])
    session.close()
    assert [(o.name, o.result) for o in outcomes] == [(net, "removed"), (other, "skipped")]
    assert not still_there(test_engine, net) and still_there(test_engine, other)
