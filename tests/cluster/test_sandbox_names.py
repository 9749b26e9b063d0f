"""Two sandboxes on one machine: a namespace another sandbox of the same name is using is never
called stale (its advice would break that sandbox), and --name makes a second one possible."""

from __future__ import annotations

import secrets
import subprocess

import pytest

from carina_tui.sandbox import cluster
from carina_tui.sandbox import engine as eng


@pytest.fixture
def taken_namespace():
    """``carina-<name>-n1`` as another sandbox of that name holds it: a process runs in it."""
    name = f"tq{secrets.token_hex(3)}"
    netns = f"carina-{name}-n1"
    subprocess.run(["ip", "netns", "add", netns], check=True)
    holder = subprocess.Popen(["ip", "netns", "exec", netns, "sleep", "120"])
    try:
        yield name, netns, holder
    finally:
        holder.kill()
        holder.wait()
        subprocess.run(["ip", "netns", "del", netns], check=False)


def test_a_namespace_in_use_is_named_as_such_and_left_alone(taken_namespace, tmp_path):
    name, netns, holder = taken_namespace
    for _ in range(50):  # `ip netns exec` enters the namespace a moment after it starts
        if eng.netns_pids(netns):
            break
        subprocess.run(["sleep", "0.05"])
    with pytest.raises(cluster.SandboxError) as err:
        cluster.sandbox_up(nodes=1, base_dir=tmp_path / "other", name=name, subnet="10.213.99.0/24")
    said = str(err.value)
    assert f"The network namespace {netns} is in use" in said and "--name" in said
    assert "ip netns del" not in said, "never advise removing what another sandbox runs in"
    assert eng.netns_exists(netns) and holder.poll() is None, "the other sandbox's namespace is untouched"
    assert not (tmp_path / "other" / "state.json").exists()


def test_an_empty_leftover_namespace_may_be_removed(tmp_path):
    name = f"tq{secrets.token_hex(3)}"
    netns = f"carina-{name}-n1"
    subprocess.run(["ip", "netns", "add", netns], check=True)
    try:
        with pytest.raises(cluster.SandboxError) as err:
            cluster.sandbox_up(nodes=1, base_dir=tmp_path / "s", name=name, subnet="10.213.98.0/24")
        assert f"(ip netns del {netns})" in str(err.value) and "nothing running in it" in str(err.value)
    finally:
        subprocess.run(["ip", "netns", "del", netns], check=False)
