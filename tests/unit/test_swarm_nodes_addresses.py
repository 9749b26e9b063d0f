"""Drain's refusals and the overlay address arithmetic (pure: no engine). The engine tests
(tests/cluster/test_swarm_nodes.py) check the same against a real 3-node swarm."""

from __future__ import annotations

import pytest

from carina_tui.core import validate
from carina_tui.core.errors import ValidationError
from carina_tui.core.models import NodeInfo
from carina_tui.core.overlay_addresses import (
    CONTAINER,
    LOAD_BALANCER,
    TASK,
    VIRTUAL_IP,
    AddressUse,
    Holder,
    may_run_on,
    shortfall,
    subnet_too_small,
    usable,
)
from carina_tui.core.rules import DEFAULT_RULES, Rule
from carina_tui.core.swarm_nodes import NodeTask, last_active_manager, protected_task


def _node(name, role="worker", availability="active", status="ready", reach=""):
    return NodeInfo(id=f"id-{name}", hostname=name, role=role, availability=availability, status=status,
                    manager_reachability=reach)


def test_the_last_active_manager_is_refused_and_only_it():
    m1, m2, w = _node("m1", "manager"), _node("m2", "manager"), _node("w")
    assert last_active_manager(m1, [m1, m2, w]) is None
    assert last_active_manager(w, [m1, w]) is None  # a worker is never the last manager
    why = last_active_manager(m1, [m1, w])
    assert why is not None and "m1 is the swarm's last active manager" in why
    # the other manager counts only when active, ready and reachable
    for other in (_node("m2", "manager", availability="drain"), _node("m2", "manager", status="down"),
                  _node("m2", "manager", reach="unreachable")):
        assert last_active_manager(m1, [m1, other, w]) is not None


def test_a_protected_running_task_is_found_by_its_container_or_its_service():
    plain = NodeTask("t1", "web", 1, "busybox:latest", "running", "running")
    labelled = NodeTask("t2", "db", 1, "busybox:latest", "running", "running", labels=(("carina.protected", "true"),))
    by_service = NodeTask("t3", "vault", 1, "busybox:latest", "running", "running",
                          service_labels=(("carina.protected", "true"),))
    agent_image = NodeTask("t4", "agents", 0, "carina/consul:latest", "running", "running", node="n1")
    stopping = NodeTask("t5", "db2", 1, "busybox:latest", "running", "shutdown", labels=(("carina.protected", "true"),))
    assert protected_task([plain, stopping], DEFAULT_RULES) is None
    assert protected_task([plain, labelled], DEFAULT_RULES)[0] is labelled
    assert protected_task([by_service], DEFAULT_RULES)[0] is by_service
    task, rule = protected_task([agent_image], DEFAULT_RULES)
    assert rule == Rule("image", "carina/consul") and task.container_name == "agents.n1.t4"
    assert protected_task([plain], (Rule("name_pattern", "web.*"),))[0] is plain  # the container's name
    assert protected_task([plain], (Rule("name", "web"),))[0] is plain  # the service's name


def _use(capacity, *kinds):
    holders = tuple(Holder(f"10.0.0.{i + 2}", kind) for i, kind in enumerate(kinds))
    return AddressUse("tiny", "nid", ("10.0.0.0/29",), capacity, holders)


def test_usable_addresses_leave_out_network_broadcast_and_gateway():
    assert usable("10.0.0.0/29") == 5
    assert usable("10.0.0.0/24") == 253
    assert usable("10.0.0.0/30") == 1
    assert usable("10.0.0.0/31") == 0
    assert usable("fd00::/64") == 0  # IPv6 is not counted


def test_the_warning_starts_at_80_percent():
    assert _use(5, TASK, TASK, LOAD_BALANCER).warning is None  # 60 %
    four = _use(5, TASK, TASK, LOAD_BALANCER, VIRTUAL_IP)
    assert four.text == "4/5 (80%)" and four.breakdown == "2 tasks, 1 load balancer, 1 virtual IP"
    assert "uses 4 of its 5 addresses (80%) and has 1 free address left" in four.warning
    full = _use(5, TASK, TASK, LOAD_BALANCER, VIRTUAL_IP, CONTAINER)
    assert "is full" in full.warning and full.free == 0


def test_a_change_that_would_not_fit_gets_a_sentence_before_swarm_fails():
    use = _use(5, TASK, TASK, LOAD_BALANCER, VIRTUAL_IP)
    assert shortfall(use, tasks=1) is None
    sentence = shortfall(use, tasks=1, new_nodes=1, what="scaling web to 3")
    assert sentence.startswith("Network tiny (10.0.0.0/29) has 1 free address of 5, and scaling web to 3 needs 2 ")
    assert "could not find an available IP" in sentence
    assert "a virtual IP" in shortfall(use, tasks=1, virtual_ip=True)


def test_an_overlay_subnet_too_small_for_one_service_is_refused_at_the_form():
    assert subnet_too_small("10.0.0.0/29") is None
    assert "needs at least 3" in subnet_too_small("10.0.0.0/30", "tiny")
    with pytest.raises(ValidationError) as err:
        validate.network_spec(name="tiny", driver="overlay", subnet_text="10.9.0.0/30")
    assert err.value.field == "subnet" and "Use /29 or larger" in str(err.value)
    validate.network_spec(name="small", driver="bridge", subnet_text="10.9.0.0/30")  # a bridge is not judged


def test_new_tasks_may_go_to_active_ready_nodes_that_meet_the_constraints():
    nodes = [_node("m1", "manager"), _node("w1"), _node("w2", availability="drain"), _node("w3", status="down")]
    assert may_run_on(nodes) == ("m1", "w1")
    assert may_run_on(nodes, ("node.hostname==w1",)) == ("w1",)
    assert may_run_on(nodes, ("node.role != manager",)) == ("w1",)
    assert may_run_on(nodes, ("node.id==id-m1",)) == ("m1",)
    # a constraint not judged here (node labels) leaves the nodes in: the check errs on the side of caution
    assert may_run_on(nodes, ("node.labels.zone==a",)) == ("m1", "w1")


def test_the_ingress_networks_endpoint_is_a_load_balancer_as_lb_endpoints_are():
    """QA: W and ``status --json`` counted the ingress network's endpoint (``ingress-sbox``, named
    ``ingress-endpoint``) as a container; on other overlay networks ``lb-<network>`` is a load balancer."""
    from carina_tui.core.models import IPAMConfig, NetworkInfo
    from carina_tui.core.overlay_addresses import is_load_balancer
    from carina_tui.gateways.swarm_nodes import address_use

    assert is_load_balancer("ingress-sbox", "ingress-endpoint")
    assert is_load_balancer("lb-mynet", "mynet-endpoint")
    assert not is_load_balancer("3f2a9c0e7d1b", "web.1.abc")

    class Engine:  # answers a verbose inspect of the ingress network as a node's engine does
        node = "n1"

        def _read(self, what, target, via_api):
            return {"Containers": {
                "ingress-sbox": {"Name": "ingress-endpoint", "IPv4Address": "10.0.0.2/24"},
                "5b0c": {"Name": "web.1.x7", "IPv4Address": "10.0.0.7/24"}}}

    network = NetworkInfo(id="in", name="ingress", driver="overlay", scope="swarm",
                          ipam=(IPAMConfig(subnet="10.0.0.0/24"),))
    use = address_use([Engine()], network)
    assert [(h.address, h.kind, h.node) for h in use.holders] == [
        ("10.0.0.2", LOAD_BALANCER, "n1"), ("10.0.0.7", CONTAINER, "n1")]
