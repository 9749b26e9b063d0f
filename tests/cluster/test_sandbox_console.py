"""The console on the multi-node sandbox (issue 7): every node at once, and a node that dies."""

from __future__ import annotations

import os

import pytest
from pilot_helpers import row_texts, wait_until

import harness
from carina_tui.core.config import load_config
from carina_tui.gateways import discovery
from carina_tui.sandbox import cluster
from carina_tui.services.targets import session_for
from carina_tui.ui.app import CarinaApp

pytestmark = pytest.mark.skipif(os.geteuid() != 0 and not harness.in_ci(), reason="the sandbox needs root")

SIZE = (200, 50)


def console_on(state: cluster.SandboxState) -> CarinaApp:
    config = load_config(state.config_file)
    spec = discovery.find(state.name, config)
    return CarinaApp(session_for(spec, config), config=config, discover=False)


def node_rows(app) -> dict[str, list[str]]:
    return {r[0].replace("└", "").strip(): r for r in row_texts(app.pane("clusters")) if r[0].startswith("  └")}


async def test_every_node_shown_together(sandbox_cluster):
    state = sandbox_cluster
    node_names = {n.name for n in state.nodes}
    app = console_on(state)
    async with app.run_test(size=SIZE) as pilot:
        assert await wait_until(pilot, lambda: len(node_rows(app)) == 2 and all(
            r[2] == "yes" for r in node_rows(app).values()), timeout=15), node_rows(app)
        cluster_row = [r for r in row_texts(app.pane("clusters")) if r[0].startswith("●")][0]
        assert cluster_row[2] == "yes" and cluster_row[4] == "2" and cluster_row[7] == "on"  # 2 swarm nodes, TLS
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


async def test_a_dead_node_is_marked_and_comes_back(sandbox_cluster):
    state = sandbox_cluster
    victim = state.nodes[1]
    app = console_on(state)
    async with app.run_test(size=SIZE) as pilot:
        assert await wait_until(pilot, lambda: len(node_rows(app)) == 2 and all(
            r[2] == "yes" for r in node_rows(app).values()), timeout=15)
        cluster.kill_node(state, 2)
        try:
            assert await wait_until(pilot, lambda: node_rows(app).get(victim.name, ["", "", ""])[2] == "no",
                                    timeout=15), node_rows(app)
            survivor = node_rows(app)[state.nodes[0].name]
            assert survivor[2] == "yes"
            # the rest keeps working: a container made on node 1 now shows up
            from carina_tui.sandbox import engine as eng

            eng.docker(state.nodes[0].url, "create", "--name", "while-down", "busybox:latest", "true")
            assert await wait_until(pilot, lambda: any(c.name == "while-down"
                                                       for c in app.pane("containers").items.values()), timeout=5)
        finally:
            new_state = cluster.restart_node(state, 2)
        assert await wait_until(pilot, lambda: node_rows(app)[victim.name][2] == "yes", timeout=30), node_rows(app)
        eng.docker(new_state.nodes[0].url, "rm", "-f", "while-down", check=False)
