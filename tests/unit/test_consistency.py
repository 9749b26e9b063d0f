"""Consistency warnings (agents per node, leader, reachability, Docker vs the KV store), and where an agent answers."""

from __future__ import annotations

from carina_tui.core.consistency import check_consistency
from carina_tui.core.consul_models import AgentSelf, ConsulMember, ConsulSnapshot, KVDecoded, KVNetwork
from carina_tui.core.consul_where import consul_address
from carina_tui.core.errors import ConsulProblem
from carina_tui.core.models import ContainerInfo, NetworkAttachment, NetworkInfo, PortBinding

NODES = ["carina-n1", "carina-n2", "carina-n3"]
STOPPED = (
    "this node's Consul agent is stopped: overlay network changes on this node will fail; "
    "start it (`s`) or rebuild the node"
)


def agent(node: str, state: str = "running", cid: str | None = None) -> ContainerInfo:
    return ContainerInfo(
        id=cid or f"id-{node}-{state}",
        name=f"{node}/carina-svcd",
        state=state,
        image="carina/consul:0.6.4",
        node=node,
    )


def snapshot(leader: str = "10.0.0.11:8300", members=(), problems=()) -> ConsulSnapshot:
    return ConsulSnapshot(
        address="http://10.0.0.11:8500",
        agent=AgentSelf("carina-n1", "dc1", "0.6.4", True, "10.0.0.11"),
        members=tuple(members),
        leader=leader,
        problems=tuple(problems),
    )


def healthy_agents():
    return [agent(n) for n in NODES]


def codes(warnings):
    return [w.code for w in warnings]


def test_a_healthy_cluster_has_no_warnings():
    nets = [NetworkInfo(id="n" * 64, name="web", driver="overlay", scope="global")]
    kv = [KVNetwork(id="n" * 64, name="web", driver="overlay")]
    assert check_consistency(healthy_agents(), NODES, snapshot(), nets, kv) == ()


def test_an_exited_agent_names_its_node_and_says_what_to_do():
    agents = [agent("carina-n1"), agent("carina-n2", "exited", cid="abc123"), agent("carina-n3")]
    (warning,) = check_consistency(agents, NODES, snapshot())
    assert warning.sentence == f"Node carina-n2: {STOPPED}."
    assert (warning.severity, warning.code, warning.node, warning.container) == (
        "error", "agent-stopped", "carina-n2", "abc123"
    )


def test_created_and_dead_agents_count_as_stopped():
    agents = [agent("carina-n1", "created"), agent("carina-n2", "dead"), agent("carina-n3")]
    warnings = check_consistency(agents, NODES, None)
    assert [(w.code, w.node) for w in warnings] == [("agent-stopped", "carina-n1"), ("agent-stopped", "carina-n2")]


def test_a_node_without_any_agent_container():
    agents = [agent("carina-n1"), agent("carina-n2")]
    (warning,) = check_consistency(agents, NODES, snapshot())
    assert warning.code == "agent-missing"
    assert warning.sentence == (
        "Node carina-n3: this node has no Consul agent container: overlay network changes on this node will "
        "fail; rebuild the node."
    )
    assert warning.container == ""


def test_a_paused_agent():
    agents = [agent("carina-n1", "paused"), agent("carina-n2"), agent("carina-n3")]
    (warning,) = check_consistency(agents, NODES, snapshot())
    assert warning.code == "agent-paused"
    assert warning.sentence.startswith("Node carina-n1: this node's Consul agent is paused")


def test_one_running_agent_on_a_node_is_enough():
    agents = healthy_agents() + [agent("carina-n2", "exited", cid="old")]
    assert check_consistency(agents, NODES, snapshot()) == ()


def test_no_consul_at_all_means_no_agent_warnings():
    assert check_consistency([], NODES, None) == ()


def test_single_engine_without_node_names():
    warnings = check_consistency([agent("", "exited")], [], None)
    assert [w.sentence for w in warnings] == [f"This engine: {STOPPED}."]


def test_consul_unreachable_carries_the_gateways_sentence():
    err = ConsulProblem("Cannot reach Consul at http://10.0.0.11:8500: the connection was refused.")
    warnings = check_consistency(healthy_agents(), NODES, err)
    assert [(w.code, w.severity, w.sentence) for w in warnings] == [
        ("consul-unreachable", "error", "Cannot reach Consul at http://10.0.0.11:8500: the connection was refused.")
    ]


def test_unreachable_consul_skips_the_network_comparison():
    nets = [NetworkInfo(id="n" * 64, name="web", driver="overlay", scope="global")]
    warnings = check_consistency(healthy_agents(), NODES, ConsulProblem("Cannot reach Consul."), nets, [])
    assert codes(warnings) == ["consul-unreachable"]


def test_no_leader():
    (warning,) = check_consistency(healthy_agents(), NODES, snapshot(leader=""))
    assert warning.code == "no-leader"
    assert warning.sentence == (
        "Consul has no leader: its KV store takes no writes, so creating, removing or joining overlay networks "
        "fails on every node; start the stopped Consul agents so that the servers can elect one."
    )


def test_docker_has_a_global_network_the_kv_lacks():
    nets = [
        NetworkInfo(id="a" * 64, name="web", driver="overlay", scope="global"),
        NetworkInfo(id="b" * 64, name="mynet", driver="bridge", scope="local"),  # local: not compared
        NetworkInfo(id="c" * 64, name="ingress", driver="overlay", scope="swarm"),  # swarm mode: not in KV
    ]
    (warning,) = check_consistency(healthy_agents(), NODES, snapshot(), nets, KVDecoded())
    assert warning.code == "network-missing-in-kv"
    assert warning.network == "web"
    assert warning.sentence == (
        "Network web (aaaaaaaaaaaa) is in Docker but not in Consul's KV store: the cluster store has lost it, "
        "so containers on other nodes cannot join it; remove the network and create it again."
    )


def test_the_kv_has_a_network_docker_lacks():
    kv = [KVNetwork(id="d" * 64, name="old-net", driver="overlay", in_delete=True)]
    (warning,) = check_consistency(healthy_agents(), NODES, snapshot(), [], kv)
    assert warning.code == "network-missing-in-docker"
    assert warning.sentence == (
        "Network old-net (dddddddddddd) is in Consul's KV store (marked for deletion) but Docker does not list "
        "it: it is probably left over from a failed removal and can block a new network on the same subnet; if "
        f"no engine lists it, delete its keys under docker/network/v1.0/ (network/{'d' * 64}/ and "
        f"endpoint/{'d' * 64}/)."
    )


def test_same_network_seen_by_several_engines_is_one_network():
    nid = "e" * 64
    nets = [
        NetworkInfo(id=nid, name="web", driver="overlay", scope="global", endpoint="tcp://n1:2376"),
        NetworkInfo(id=nid, name="web", driver="overlay", scope="global", endpoint="tcp://n2:2376"),
    ]
    assert check_consistency(healthy_agents(), NODES, snapshot(), nets, [KVNetwork(id=nid, name="web", driver="overlay")]) == ()


def test_networks_are_not_compared_when_the_kv_listing_failed():
    nets = [NetworkInfo(id="a" * 64, name="web", driver="overlay", scope="global")]
    snap = snapshot(problems=[("kv", "Consul at http://x:8500 refused the request for the KV store under docker/.")])
    warnings = check_consistency(healthy_agents(), NODES, snap, nets, KVDecoded())
    assert codes(warnings) == ["consul-partial"]
    assert warnings[0].sentence.startswith("Consul at http://x:8500 refused")


def test_networks_are_not_compared_when_either_side_is_unknown():
    nets = [NetworkInfo(id="a" * 64, name="web", driver="overlay", scope="global")]
    assert check_consistency(healthy_agents(), NODES, snapshot(), nets, None) == ()
    assert check_consistency(healthy_agents(), NODES, snapshot(), None, [KVNetwork(id="x", name="x", driver="overlay")]) == ()


def test_failed_member_is_reported_once():
    members = [
        ConsulMember("carina-n1", "10.0.0.11", 8301, "alive"),
        ConsulMember("carina-n2", "10.0.0.12", 8301, "failed"),
        ConsulMember("carina-n3", "10.0.0.13", 8301, "failed"),
        ConsulMember("old-node", "10.0.0.99", 8301, "left"),
    ]
    agents = [agent("carina-n1"), agent("carina-n2"), agent("carina-n3", "exited")]
    warnings = check_consistency(agents, NODES, snapshot(members=members))
    # carina-n3 already has its "agent stopped" warning; a member that left is normal.
    assert [(w.code, w.node) for w in warnings] == [("agent-stopped", "carina-n3"), ("member-failed", "carina-n2")]
    assert warnings[1].sentence == (
        "Consul member carina-n2 (10.0.0.12) has failed: its agent stopped answering the others; start that "
        "node's agent, or remove the node with `consul force-leave` if it is gone for good."
    )


def test_most_serious_first_and_json():
    agents = [agent("carina-n1"), agent("carina-n2", "exited")]
    kv = [KVNetwork(id="f" * 64, name="stale", driver="overlay")]
    warnings = check_consistency(agents, NODES, snapshot(leader=""), [], kv)
    assert codes(warnings) == ["no-leader", "agent-missing", "agent-stopped", "network-missing-in-docker"]
    assert warnings[0].as_json()["severity"] == "error"
    assert set(warnings[2].as_json()) == {"severity", "code", "sentence", "node", "network", "container"}


# --- where an agent answers ---------------------------------------------------------------

def svcd(endpoint="tcp://10.0.0.12:2376", ports=(), networks=()) -> ContainerInfo:
    return ContainerInfo(id="c1", name="carina-svcd", state="running", image="carina/consul", endpoint=endpoint,
                         ports=tuple(ports), networks=tuple(networks))


def test_configured_address_wins():
    assert consul_address(" http://consul.example:8500 ", svcd()) == "http://consul.example:8500"


def test_published_port_on_all_interfaces_uses_the_engine_host():
    agent = svcd(ports=[PortBinding(8500, "tcp", "0.0.0.0", 18500), PortBinding(8301, "tcp", "0.0.0.0", 8301)])
    assert consul_address("", agent) == "http://10.0.0.12:18500"


def test_published_port_on_one_address():
    agent = svcd(ports=[PortBinding(8500, "tcp", "192.0.2.7", 8500)])
    assert consul_address("", agent) == "http://192.0.2.7:8500"


def test_host_network_agent_answers_on_the_engine_host():
    agent = svcd(networks=[NetworkAttachment("host")])
    assert consul_address("", agent) == "http://10.0.0.12:8500"
    assert consul_address("", svcd(endpoint="unix:///var/run/docker.sock", networks=[NetworkAttachment("host")])) == (
        "http://127.0.0.1:8500"
    )


def test_container_address_last():
    agent = svcd(networks=[NetworkAttachment("bridge", ipv4="172.17.0.5")])
    assert consul_address("", agent) == "http://172.17.0.5:8500"


def test_nothing_says_where():
    assert consul_address("", None) is None
    assert consul_address("", svcd(networks=[NetworkAttachment("none")])) is None
