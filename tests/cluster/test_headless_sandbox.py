"""Headless output on a real cluster of several engines (issue 12): ``carina-tui status`` names a
node's own networks ``node/name`` as the console does, ``carina-tui sandbox status`` tells a
stopped Consul agent from a running one, and a create-network overlap names the node."""

from __future__ import annotations

import json
import os

import pytest

import harness
from harness import carina
from carina_tui.core import validate
from carina_tui.core.errors import ValidationError
from carina_tui.sandbox import cluster
from carina_tui.sandbox import engine as eng

pytestmark = pytest.mark.skipif(os.geteuid() != 0 and not harness.in_ci(), reason="the sandbox needs root")


def on_sandbox(state: cluster.SandboxState, *args: str):
    return carina(*args, "--config", state.config_file, "--cluster", state.name)


def networks_line(text: str) -> list[str]:
    (line,) = [l for l in text.splitlines() if l.strip().startswith("networks:")]
    return line.split(":", 1)[1].strip().split(", ")


def test_status_names_each_nodes_own_networks_by_node(sandbox_cluster):
    n1, n2 = (n.name for n in sandbox_cluster.nodes)
    out = on_sandbox(sandbox_cluster, "status")
    assert out.returncode == 0, out.stderr
    shown = networks_line(out.stdout)
    for local in ("bridge", "docker_gwbridge", "host", "none"):
        assert f"{n1}/{local}" in shown and f"{n2}/{local}" in shown, shown
        assert local not in shown, f"a bare {local} says nothing about its node: {shown}"
    assert "mynet" in shown and "ingress" in shown  # swarm networks: one network on every node, plain names
    assert len(shown) == len(set(shown)), f"every name once: {shown}"

    doc = json.loads(on_sandbox(sandbox_cluster, "status", "--json").stdout)
    by_key = {(n["node"], n["name"]): n for n in doc["networks"]}
    assert {(n1, "bridge"), (n2, "bridge"), ("", "mynet")} <= set(by_key)
    assert by_key[("", "mynet")]["scope"] == "swarm" and by_key[(n1, "bridge")]["scope"] == "local"


def agent_column(state: cluster.SandboxState) -> dict[str, str]:
    """The CONSUL column of ``carina-tui sandbox status`` for the test sandbox, by node."""
    out = carina("sandbox", "status", "--dir", state.base_dir)
    lines = out.stdout.splitlines()
    header = next(l for l in lines if l.startswith("NODE"))
    at = header.index("CONSUL")
    return {l.split()[0]: l[at:].split()[0] for l in lines if l.split() and l.split()[0] in
            {n.name for n in state.nodes}}


def test_sandbox_status_says_a_stopped_agent_is_stopped(sandbox_cluster):
    n1, n2 = sandbox_cluster.nodes
    assert agent_column(sandbox_cluster) == {n1.name: "ok", n2.name: "ok"}
    eng.docker(n2.url, "stop", "--time", "1", "carina-svcd")
    try:
        # The Consul API of node 2 still answers (the test double runs beside the agent), so the
        # API alone would say "ok": the agent's own state must show.
        assert cluster._consul_answers(n2, timeout=5)
        assert agent_column(sandbox_cluster) == {n1.name: "ok", n2.name: "exited"}
        status = cluster.sandbox_status(sandbox_cluster.base_dir)
        assert [(n.agent, n.consul_text) for n in status.nodes] == [("running", "ok"), ("exited", "exited")]
    finally:
        eng.docker(n2.url, "start", "carina-svcd")
    assert agent_column(sandbox_cluster) == {n1.name: "ok", n2.name: "ok"}


def test_an_overlap_with_a_nodes_own_network_names_the_node(sandbox_cluster):
    from carina_tui.core.config import load_config
    from carina_tui.gateways.docker_gateway import DockerGateway

    node = sandbox_cluster.nodes[0]
    entry = load_config(sandbox_cluster.config_file).cluster(sandbox_cluster.name)
    gateway = DockerGateway(node.endpoint, tls=entry.tls)
    try:
        gateway.info()  # the gateway learns the node's name, as the session's do
        networks = gateway.networks()
    finally:
        gateway.close()
    gwbridge = next(n for n in networks if n.name == "docker_gwbridge")
    with pytest.raises(ValidationError) as caught:
        validate.network_spec(name="fresh", subnet_text=gwbridge.ipam[0].subnet, existing=networks, qualify=True)
    assert f"of network {node.name}/docker_gwbridge;" in str(caught.value)
