"""The console on the multi-node sandbox (issue 7): every node at once, and a node that dies."""

from __future__ import annotations

import os
import sys

import pytest
from pilot_helpers import all_nodes_up, cell, node_rows, row_texts, sandbox_app as console_on, wait_until
from pty_console import console_env, early_frame, first_frame_out, lines_of, run_on_pty

import harness
from carina_tui.sandbox import cluster
from carina_tui.ui import early

pytestmark = pytest.mark.skipif(os.geteuid() != 0 and not harness.in_ci(), reason="the sandbox needs root")

SIZE = (200, 50)


async def test_every_node_shown_together(sandbox_cluster):
    state = sandbox_cluster
    node_names = {n.name for n in state.nodes}
    app = console_on(state)
    async with app.run_test(size=SIZE) as pilot:
        assert await wait_until(pilot, lambda: len(node_rows(app)) == 2 and all(
            r[2] == "yes" for r in node_rows(app).values()), timeout=15), node_rows(app)
        clusters = app.pane("clusters")
        cluster_key = next(k for k, item in clusters.items.items() if item.kind == "cluster" and item.name == state.name)
        cluster_row = [r for r in row_texts(clusters) if r[0].startswith("●")][0]
        assert cluster_row[2] == "yes" and cluster_row[4] == "2"  # 2 swarm nodes
        assert cell(app, "clusters", cluster_key, "tls") == "on"
        assert cell(app, "clusters", cluster_key, "api") == "1.41"
        containers = app.pane("containers")
        assert await wait_until(pilot, lambda: {c.node for c in containers.items.values()} >= node_names, timeout=10)
        by_name = {c.name: c for c in containers.items.values()}
        assert by_name["mysql"].node != by_name["wordpress"].node
        rows = {r[0]: r for r in row_texts(containers)}
        wp = by_name["wordpress"]
        assert rows[f"{wp.node}/wordpress"][2] == wp.node and "8080->80/tcp" in rows[f"{wp.node}/wordpress"][3]
        system = app.pane("system")
        assert await wait_until(pilot, lambda: {r.container.node for r in system.items.values()
                                                if r.container.name == "carina-svcd"} == node_names, timeout=10)
        assert all("carina-svcd" in r.rule.describe() or "carina/consul" in r.rule.describe()
                   for r in system.items.values())


def test_the_early_frame_shows_every_node_as_textual_does(sandbox_cluster):
    """The frame drawn before Textual loads (``ui/early.py``), on every node over TLS: node/name
    names, the Node column, each node's agent; cell for cell what Textual's first frame shows."""
    state = sandbox_cluster
    size = (160, 40)
    argv = [sys.executable, "-m", "carina_tui", "--config", state.config_file, "--cluster", state.name]
    data = run_on_pty(argv, console_env(None), size, first_frame_out)
    lines = lines_of(early_frame(data, size))
    x, y, w, h = early.containers_box(size)
    assert lines[0].startswith(f" carina-tui   {state.name}  ")
    rows = [line[x + 1:x + w - 1] for line in lines[y + 2:y + h - 1]]
    for node in state.nodes:
        assert any(row.split()[:3] == [f"{node.name}/carina-svcd", "running", node.name] for row in rows if row.strip()), rows


def stale_rows(app, pane: str) -> list[list[str]]:
    return [r for r in row_texts(app.pane(pane)) if any("stale since" in c for c in r)]


def system_warnings(app) -> str:
    found = app.pane("system").query(".system-warnings")  # made when there is a first warning
    return str(found.first().render()) if found and found.first().display else ""


async def test_a_dead_node_is_marked_and_comes_back(sandbox_cluster):
    """Its rows stay, dimmed and marked stale; the System pane says it is unreachable (not that its
    agent is missing); Consul's counts are marked stale; no bug toast; all comes back by itself."""
    state = sandbox_cluster
    victim = state.nodes[1]
    app = console_on(state)
    async with app.run_test(size=SIZE) as pilot:
        assert await wait_until(pilot, lambda: all_nodes_up(app, 2), timeout=15)
        assert await wait_until(pilot, lambda: "members alive" in str(app.pane("system").border_subtitle), timeout=15)
        victims = {c.key for c in app.pane("containers").items.values() if c.node == victim.name}
        assert victims
        cluster.kill_node(state, 2)
        try:
            assert await wait_until(pilot, lambda: node_rows(app).get(victim.name, ["", "", ""])[2].startswith(
                "unreachable since "), timeout=15), node_rows(app)
            survivor = node_rows(app)[state.nodes[0].name]
            assert survivor[2] == "yes"
            # its rows stay, marked stale (containers, its own networks, its agent in the System pane)
            marked = stale_rows(app, "containers")
            assert len(marked) == len(victims) and all(r[2] == victim.name for r in marked), marked
            assert all(r[0].startswith(f"{victim.name}/") for r in stale_rows(app, "networks"))
            assert stale_rows(app, "networks")
            assert [r[2] for r in stale_rows(app, "system")] == [victim.name]
            assert await wait_until(pilot, lambda: f"{victim.name} unreachable since" in system_warnings(app),
                                    timeout=15), system_warnings(app)
            assert "no Consul agent" not in system_warnings(app) and "rebuild" not in system_warnings(app)
            assert f"(stale: {victim.name} unreachable)" in str(app.pane("system").border_subtitle)
            # the rest keeps working: a container made on node 1 now shows up
            from carina_tui.sandbox import engine as eng

            eng.docker(state.nodes[0].url, "create", "--name", "while-down", "busybox:latest", "true")
            assert await wait_until(pilot, lambda: any(c.name == "while-down"
                                                       for c in app.pane("containers").items.values()), timeout=5)
        finally:
            new_state = cluster.restart_node(state, 2)
        # it answers again: everything refreshes by itself
        assert await wait_until(pilot, lambda: node_rows(app)[victim.name][2] == "yes", timeout=30), node_rows(app)
        assert await wait_until(pilot, lambda: not stale_rows(app, "containers") and not stale_rows(app, "networks")
                                and not stale_rows(app, "system"), timeout=15)
        assert await wait_until(pilot, lambda: "unreachable" not in system_warnings(app)
                                and "stale" not in str(app.pane("system").border_subtitle), timeout=15)
        assert not [n.message for n in app._notifications if "This is a bug" in n.message]
        eng.docker(new_state.nodes[0].url, "rm", "-f", "while-down", check=False)
