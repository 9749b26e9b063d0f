"""The multi-node sandbox (issue 7): a real 2-node swarm on this machine, then nothing left.

One sandbox for the module (about 5-10 s to build), with its own name, subnet,
state folder, credentials folder and config file, so it never meets a user's
sandbox. The last test takes it down and checks that nothing remains.
"""

from __future__ import annotations

import json
import os
import subprocess
import urllib.request
from pathlib import Path

import pytest

import harness
from carina_tui.sandbox import cluster
from carina_tui.sandbox import engine as eng

pytestmark = pytest.mark.skipif(os.geteuid() != 0 and not harness.in_ci(), reason="the sandbox needs root")


@pytest.fixture(scope="module")
def sandbox(sandbox_cluster):
    return sandbox_cluster


def _d(node: cluster.NodeState, *args: str, check: bool = True) -> str:
    return eng.docker(node.url, *args, check=check, timeout=60)


def _get(url: str) -> tuple[int, str]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=10) as answer:
        return answer.status, answer.read().decode()


def test_nodes_form_one_swarm_with_distinct_engines(sandbox: cluster.SandboxState):
    status = cluster.sandbox_status(sandbox.base_dir)
    assert status.up
    assert [n.swarm for n in status.nodes] == ["active", "active"]
    n1, n2 = sandbox.nodes
    assert (n1.manager, n2.manager) == (True, False)
    listing = _d(n1, "node", "ls", "--format", "{{.Hostname}} {{.Status}} {{.ManagerStatus}}").split("\n")
    assert sorted(filter(None, listing)) == [f"{n1.name} Ready Leader", f"{n2.name} Ready "]
    ids = {_d(n, "info", "--format", "{{.ID}}").strip() for n in sandbox.nodes}
    assert len(ids) == 2
    # every engine in a namespace of its own, never the host's
    host_ns = os.stat("/proc/self/ns/net").st_ino
    inodes = {os.stat(f"/proc/{n.pid}/ns/net").st_ino for n in sandbox.nodes}
    assert len(inodes) == 2 and host_ns not in inodes


def test_every_node_has_a_protected_agent_and_the_images(sandbox: cluster.SandboxState):
    for node in sandbox.nodes:
        fmt = '{{.Config.Image}} {{index .Config.Labels "carina.protected"}} {{.State.Status}} {{.HostConfig.NetworkMode}}'
        assert _d(node, "inspect", "--format", fmt, "carina-svcd").strip() == "carina/consul:latest true running host"
        tags = set(_d(node, "images", "--format", "{{.Repository}}:{{.Tag}}").split())
        assert {"busybox:latest", "carina/consul:latest"} <= tags
        status, body = _get(f"{node.consul}/v1/agent/members")
        assert status == 200
        assert sorted(m["Name"] for m in json.loads(body)) == sorted(n.name for n in sandbox.nodes)
    _, leader = _get(f"{sandbox.nodes[1].consul}/v1/status/leader")
    assert json.loads(leader) == f"{sandbox.nodes[0].address}:8300"


def test_carina_demo_workloads_sit_on_different_nodes(sandbox: cluster.SandboxState):
    n1, n2 = sandbox.nodes
    net = json.loads(_d(n1, "network", "inspect", "mynet"))[0]
    assert (net["Driver"], net["Scope"], net["Attachable"]) == ("overlay", "swarm", True)
    mysql = json.loads(_d(n1, "inspect", "mysql"))[0]
    assert "MYSQL_ROOT_PASSWORD=sandbox" in mysql["Config"]["Env"]
    assert mysql["HostConfig"]["PortBindings"] in (None, {})
    wordpress = json.loads(_d(n2, "inspect", "wordpress"))[0]
    assert "WORDPRESS_DB_HOST=mysql" in wordpress["Config"]["Env"]
    assert wordpress["HostConfig"]["PortBindings"] == {"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}
    assert _d(n1, "ps", "--all", "--quiet", "--filter", "name=^wordpress$").strip() == ""
    status, page = _get(f"http://{n2.address}:8080/")  # published, reached from the host
    assert status == 200 and "WordPress" in page
    exited = {}
    for node in sandbox.nodes:
        out = _d(node, "ps", "--all", "--filter", "status=exited", "--format", "{{.Names}}")
        for name in out.split():
            exited[name] = _d(node, "inspect", "--format", "{{.State.ExitCode}}", name).strip()
    assert exited == {"wp-setup": "0", "db-backup": "1"}


def test_node1_resolves_and_reaches_node2_over_mynet(sandbox: cluster.SandboxState):
    n1, n2 = sandbox.nodes
    wordpress_ip = _d(n2, "inspect", "--format", '{{(index .NetworkSettings.Networks "mynet").IPAddress}}',
                      "wordpress").strip()
    out = _d(n1, "run", "--rm", "--network", "mynet", "--label", harness.TEST_LABEL, "busybox:latest", "sh", "-c",
             "nslookup wordpress 2>&1; timeout 10 wget -q -O - http://wordpress/ 2>&1")
    assert f"Address: {wordpress_ip}" in out
    assert "WordPress (carina-tui sandbox stand-in)" in out
    # and back: node 2 reaches mysql (node 1) by name on its unpublished port
    back = _d(n2, "run", "--rm", "--network", "mynet", "--label", harness.TEST_LABEL, "busybox:latest", "sh", "-c",
              "timeout 10 wget -q -O - http://mysql:3306/ 2>&1")
    assert "mysql stand-in" in back


def test_tls_endpoints_bundle_and_cluster_entry(sandbox: cluster.SandboxState):
    bundle = Path(sandbox.bundle_dir)
    assert bundle.parts[-2:] == (os.environ.get("USER") or __import__("getpass").getuser(), sandbox.name)
    assert sorted(p.name for p in bundle.iterdir()) == ["ca.pem", "cert.pem", "docker.env", "key.pem"]
    env = (bundle / "docker.env").read_text()
    assert f"export DOCKER_HOST=tcp://{sandbox.nodes[0].address}:2376\n" in env
    assert "export DOCKER_TLS_VERIFY=1\n" in env and f"export CARINA_CLUSTER_NAME={sandbox.name}\n" in env
    tls = ["--tlsverify", "--tlscacert", str(bundle / "ca.pem"), "--tlscert", str(bundle / "cert.pem"),
           "--tlskey", str(bundle / "key.pem")]
    for node in sandbox.nodes:
        name = eng.run(["docker", "-H", node.endpoint, *tls, "info", "--format", "{{.Name}}"]).stdout.decode().strip()
        assert name == node.name
    # without a client certificate the engine refuses
    refused = eng.run(["docker", "-H", sandbox.nodes[0].endpoint, "--tlsverify", "--tlscacert",
                       str(bundle / "ca.pem"), "version"], check=False)
    assert refused.returncode != 0
    from carina_tui.core.config import load_config

    entry = load_config(sandbox.config_file).cluster(sandbox.name)
    assert entry is not None
    assert entry.endpoints == sandbox.endpoints
    assert entry.tls is not None and Path(entry.tls.ca) == bundle / "ca.pem"
    assert entry.consul == f"http://{sandbox.nodes[0].address}:8500"
    # and our own gateway gets in with the entry's files, REQUESTS_CA_BUNDLE or not
    from carina_tui.gateways.docker_gateway import DockerGateway

    for node in sandbox.nodes:
        gateway = DockerGateway(node.endpoint, tls=entry.tls, node=node.name)
        try:
            info = gateway.info()
            names = {c.name for c in gateway.containers()}
        finally:
            gateway.close()
        assert (info.name, info.swarm_state) == (node.name, "active")
        assert "carina-svcd" in names


def test_up_again_is_a_no_op(sandbox: cluster.SandboxState):
    again = cluster.sandbox_up(nodes=2, managers=1, base_dir=sandbox.base_dir)
    assert [n.pid for n in again.nodes] == [n.pid for n in sandbox.nodes]
    assert again.created == sandbox.created
    with pytest.raises(cluster.SandboxError, match="already up"):
        cluster.sandbox_up(nodes=3, managers=1, base_dir=sandbox.base_dir)


def test_a_killed_node_comes_back_into_the_swarm(sandbox: cluster.SandboxState):
    n1, n2 = sandbox.nodes
    cluster.kill_node(sandbox, 2)
    status = cluster.sandbox_status(sandbox.base_dir)
    assert [n.engine for n in status.nodes] == [True, False]
    assert not status.up
    assert _d(n1, "info", "--format", "{{.Swarm.LocalNodeState}}").strip() == "active"  # the rest works
    state = cluster.restart_node(cluster.load_state(sandbox.base_dir), 2)
    assert state.nodes[1].pid != n2.pid
    status = cluster.sandbox_status(sandbox.base_dir)
    assert status.up and [n.swarm for n in status.nodes] == ["active", "active"]
    assert "carina-svcd" in _d(n2, "ps", "--all", "--format", "{{.Names}}").split()


def test_down_leaves_nothing_behind(sandbox: cluster.SandboxState):
    engines = [eng.load_engine(Path(n.engine_dir)) for n in sandbox.nodes]
    assert all(engines)
    assert cluster.sandbox_down(sandbox.base_dir) == [n.name for n in sandbox.nodes]
    assert cluster.leftovers(sandbox) == []
    for engine in engines:
        assert eng.leftovers(engine) == []
    # checked again from the outside, by the names and paths the sandbox used
    netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert f"carina-{sandbox.name}-" not in netns
    assert not Path("/sys/class/net", sandbox.host_link).exists()
    mounts = Path("/proc/self/mountinfo").read_text()
    assert sandbox.base_dir not in mounts
    ps = subprocess.run(["ps", "-eo", "stat=,args="], capture_output=True, text=True).stdout
    live = [line for line in ps.splitlines() if not line.lstrip().startswith("Z")]
    assert [line for line in live if sandbox.base_dir in line or f"--node {sandbox.name}-" in line] == []
    routes = subprocess.run(["ip", "-4", "route"], capture_output=True, text=True).stdout
    assert sandbox.subnet not in routes
    assert not Path(sandbox.bundle_dir).exists()
    config = Path(sandbox.config_file)
    assert not config.exists() or f"[clusters.{sandbox.name}]" not in config.read_text()
    # and down again finds nothing to do
    assert cluster.sandbox_down(sandbox.base_dir) == []


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"nodes": 0}, "1 to 5 nodes"),
        ({"nodes": 6}, "1 to 5 nodes"),
        ({"nodes": 2, "managers": 3}, "1 to 2 managers"),
        ({"subnet": "10.1.2.0/29"}, "at least 32 addresses"),
        ({"subnet": "8.8.8.0/24"}, "private IPv4"),
        ({"subnet": "nonsense"}, "is not an IPv4 network"),
        ({"name": "Bad Name"}, "is not usable"),
    ],
)
def test_bad_input_is_a_sentence(tmp_path, kwargs, words):
    args = {"nodes": 2, "managers": 1, "base_dir": tmp_path / "sb"} | kwargs
    with pytest.raises(cluster.SandboxError) as caught:
        cluster.sandbox_up(**args)
    assert words in str(caught.value)
    assert str(caught.value).endswith(".")
    assert not (tmp_path / "sb").exists()


def test_the_cluster_entry_keeps_the_rest_of_the_config(tmp_path):
    config = tmp_path / "clusters.toml"
    mine = '[clusters.prod]\nendpoints = ["tcp://203.0.113.10:2376"]\n\n[[protect]]\nname = "keep-me"\n'
    config.write_text(mine)
    state = cluster.plan("sbx", 2, 1, tmp_path / "sb", "10.213.7.0/24", "double", tmp_path / "carina", config)
    assert cluster.write_config_entry(state) is False
    from carina_tui.core.config import load_config

    loaded = load_config(config)
    assert [c.name for c in loaded.clusters] == ["prod", "sbx"]
    assert loaded.cluster("sbx").endpoints == ("tcp://10.213.7.11:2376", "tcp://10.213.7.12:2376")
    cluster.write_config_entry(state)  # again: replaced, not repeated
    assert config.read_text().count("[clusters.sbx]") == 1
    cluster.remove_config_entry(state)
    assert config.read_text() == mine
