"""Read-only mode in the real app: the READ-ONLY badge, mutating bindings shown disabled in ``?``,
keys that do nothing, and the guard refusing (and auditing) whatever reaches it anyway; from
--read-only and from ``read_only = true`` on a cluster in the config."""

from __future__ import annotations

import json
import os
from pathlib import Path

from pilot_helpers import SIZE, select_row, settle_workers, started, wait_for
from textual.widgets import DataTable, Static

from carina_tui.cli import build_parser
from carina_tui.core.audit import AuditLog
from carina_tui.core.clusters import ClusterSpec
from carina_tui.core.paths import audit_log_path
from carina_tui.services.session import Session
from carina_tui.services.targets import open_session
from carina_tui.ui.app import CarinaApp
from carina_tui.ui.panes import ContainersPane
from carina_tui.ui.screens import HelpScreen


def header(app) -> str:
    return str(app.query_one("#header", Static).render())


def help_rows(screen: HelpScreen) -> dict[str, str]:
    table = screen.query_one("#help-table", DataTable)
    out = {}
    for i in range(table.row_count):
        key, action = (getattr(v, "plain", str(v)) for v in table.get_row_at(i))
        out[key] = action
    return out


def notices(app) -> str:
    return "\n".join(n.message for n in app._notifications)


async def test_read_only_console_shows_the_badge_disables_mutating_keys_and_refuses(
        docker_host, test_engine, scratch):
    running = scratch.run("ro-web")
    stopped = scratch.exited("ro-job")
    app = CarinaApp(Session(ClusterSpec("test", "cli", (docker_host,)), read_only=True))
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        assert "READ-ONLY" in header(app)
        await select_row(pilot, "containers", running)
        await pilot.press("question_mark")
        screen = await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen) and app.screen, "? shows the keys")
        shown = help_rows(screen)
        descriptions = {b.description for b in ContainersPane.BINDINGS if b.action in ContainersPane.MUTATING}
        assert descriptions and all(f"{d} (disabled: read-only)" in shown.values() for d in descriptions), shown
        assert "Logs" in shown.values() and "Logs (disabled: read-only)" not in shown.values()
        await pilot.press("escape")

        for key in ("s", "R", "d", "x"):
            await pilot.press(key)
            await pilot.pause()
            assert app.screen is app.screen_stack[0], f"{key} opens nothing in read-only mode"
        # Whatever reaches the guard anyway is refused and audited.
        c = app.pane("containers").selected
        app.container_action("container.stop", c)
        await settle_workers(pilot, "mutate")
        await wait_for(pilot, lambda: "Cluster test is open read-only" in notices(app), "the refusal is shown")
    assert test_engine.docker("inspect", "--format", "{{.State.Status}}", running).strip() == "running"
    assert test_engine.ids(f"name=^/{stopped}$")
    lines = AuditLog(audit_log_path()).read()
    assert [(line["action"], line["outcome"], line["rule"]) for line in lines] == [
        ("container.stop", "refused", "read-only")]


async def test_read_only_from_the_config_file(docker_host, test_engine, scratch):
    folder = Path(os.environ["XDG_CONFIG_HOME"]) / "carina-tui"
    folder.mkdir(parents=True)
    (folder / "clusters.toml").write_text(f'[clusters.frozen]\nendpoints = ["{docker_host}"]\nread_only = true\n')
    running = scratch.run("cfg-web")
    session, _ = open_session(build_parser().parse_args(["--cluster", "frozen"]))
    assert session.read_only and session.guard.read_only
    app = CarinaApp(session)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        assert "READ-ONLY" in header(app)
        await select_row(pilot, "containers", running)
        await pilot.press("s")
        await pilot.pause()
        app.container_action("container.stop", app.pane("containers").selected)
        await settle_workers(pilot, "mutate")
        await wait_for(pilot, lambda: "Cluster frozen is open read-only" in notices(app), "the refusal is shown")
    state = json.loads(test_engine.docker("inspect", running))[0]["State"]["Status"]
    assert state == "running"
