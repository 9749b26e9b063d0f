"""A swarm-scoped network's row on a real 2-node sandbox (n1 manager, n2 worker): a container of the
worker joins an attachable overlay and leaves it again (QA report, defect 3). The network then exists
on the manager only; its row must still be inspected and removed, through a manager, without `r`.
What the engine then holds is checked with the docker CLI on the manager.
"""

from __future__ import annotations

import os
import secrets

import pytest

import harness
from carina_tui.core.audit import AuditLog
from carina_tui.sandbox import engine as eng
from carina_tui.sandbox.images import BUSYBOX_IMAGE

pytestmark = pytest.mark.skipif(os.geteuid() != 0 and not harness.in_ci(), reason="the sandbox needs root")

SIZE = (160, 40)
BOUND = 60.0


def network_names(node) -> set[str]:
    return set(eng.docker(node.url, "network", "ls", "--format", "{{.Name}}").split())


async def test_an_overlay_left_by_a_workers_container_is_inspected_and_removed(sandbox_cluster, tmp_path):
    from pilot_helpers import (find, notices, open_form, sandbox_app, select_row, set_fields, shown, started,
                               submit, type_text, wait_for)

    from carina_tui.ui.forms import ConnectScreen, DisconnectScreen
    from carina_tui.ui.screens import ConfirmScreen, TextScreen

    manager, worker = sandbox_cluster.nodes[0], sandbox_cluster.nodes[1]
    net, web = f"qanet-{secrets.token_hex(2)}", f"qaweb-{secrets.token_hex(2)}"
    eng.docker(manager.url, "network", "create", "--driver", "overlay", "--attachable", net)
    eng.docker(worker.url, "run", "-d", "--name", web, BUSYBOX_IMAGE, "sleep", "1d")
    app = sandbox_app(sandbox_cluster)
    app.session.guard.audit = AuditLog(tmp_path / "audit.log")
    try:
        async with app.run_test(size=SIZE) as pilot:
            await started(pilot)
            await shown(pilot, "containers", web, timeout=BOUND)
            await shown(pilot, "networks", net, timeout=BOUND)
            # c: connect the worker's container (the overlay now shows on the worker too)
            await select_row(pilot, "networks", net)
            await open_form(pilot, "c", ConnectScreen)
            await type_text(pilot, "filter", web)
            assert await submit(pilot) == ""
            await wait_for(pilot, lambda: net in find(app, "containers", web).networks_text, "connected", BOUND)
            assert net in network_names(worker), "the overlay is on the worker while its container uses it"
            # x: disconnect it; the worker lets go of the overlay
            await select_row(pilot, "networks", net)
            screen = await open_form(pilot, "x", DisconnectScreen)
            assert web in str(screen.query_one("#f-pick").get_option_at_index(0).prompt)
            set_fields(screen, force=False)
            assert await submit(pilot) == ""
            await wait_for(pilot, lambda: net not in find(app, "containers", web).networks_text, "disconnected",
                           BOUND)
            await wait_for(pilot, lambda: net not in network_names(worker), "the worker dropped the overlay", BOUND)
            await pilot.pause(1.0)  # the worker's network events arrive and are taken in
            row = find(app, "networks", net)
            assert row is not None, "the manager still has it: the row stays"
            assert row.endpoint == manager.endpoint, "the row is the manager's, not the worker's that went"
            # enter: inspect shows the network (read from a manager)
            await select_row(pilot, "networks", net)
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.screen, TextScreen) or "Could not" in notices(app),
                           "enter opens the network's details", BOUND)
            assert isinstance(app.screen, TextScreen), notices(app)
            assert net in str(app.screen.body) and "swarm" in str(app.screen.body)
            await pilot.press("escape")
            # d, y: removed (on a manager)
            await select_row(pilot, "networks", net)
            await pilot.press("d")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "d asks first", BOUND)
            await pilot.press("y")
            await wait_for(pilot, lambda: find(app, "networks", net) is None, "the network leaves the pane", BOUND)
            assert "not found" not in notices(app), notices(app)
        assert net not in network_names(manager), "the manager no longer has it"
    finally:
        eng.docker(worker.url, "rm", "-f", web, check=False)
        eng.docker(manager.url, "network", "rm", net, check=False)
