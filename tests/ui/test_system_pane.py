"""The System pane on the real engine, with Consul answered by the test double."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from pilot_helpers import names_shown, row_texts, wait_until

from carina_tui.sandbox.consul_double import ConsulDouble
from carina_tui.core.clusters import ClusterSpec
from carina_tui.sandbox.images import CONSUL_IMAGE
from carina_tui.services.session import Session
from carina_tui.ui.app import CarinaApp
from carina_tui.ui.screens import TextScreen

SIZE = (160, 50)
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def consul():
    double = ConsulDouble(node_name="node-1").start()
    double.add_node("node-1", "10.0.0.11")
    double.add_node("node-2", "10.0.0.12", server=False)
    double.set_leader("10.0.0.11:8300")
    double.set_peers(["10.0.0.11:8300"])
    yield double
    double.stop()


def app_on(docker_host: str, consul_url: str = "") -> CarinaApp:
    app = CarinaApp(Session(ClusterSpec("test", "cli", (docker_host,), consul=consul_url)))
    app.discover = False
    return app


def warnings_text(app) -> str:
    found = app.query("#system .system-warnings")  # made when there is a first warning
    return str(found.first().render()) if found and found.first().display else ""


async def test_stopped_agent_warns_start_clears_it_and_remove_is_refused(docker_host, scratch, test_engine, consul):
    agent = scratch.run("carina-svcd", image=CONSUL_IMAGE, exact_name=True)
    test_engine.docker("stop", "--time", "0", agent)
    app = app_on(docker_host, consul.url)
    async with app.run_test(size=SIZE) as pilot:
        system = app.pane("system")
        assert await wait_until(pilot, lambda: "carina-svcd" in " ".join(names_shown(system)))
        assert await wait_until(pilot, lambda: "Consul agent is stopped" in warnings_text(app), timeout=5), \
            warnings_text(app)
        assert "start it (`s`)" in warnings_text(app)
        assert await wait_until(pilot, lambda: "leader 10.0.0.11:8300" in str(system.border_subtitle))

        await pilot.press("4", "d")
        assert await wait_until(pilot, lambda: any("is protected by the rule" in n.message for n in app._notifications))
        assert test_engine.ids(f"name=^/{agent}$") != []

        await pilot.press("s")
        assert await wait_until(
            pilot, lambda: test_engine.docker("inspect", "-f", "{{.State.Status}}", agent).strip() == "running", timeout=5)
        assert await wait_until(pilot, lambda: "Consul agent is stopped" not in warnings_text(app), timeout=5)
        row = [r for r in row_texts(system) if r[0].endswith("carina-svcd")][0]
        assert row[1] == "running"


async def test_consul_screen_shows_members_and_failures(docker_host, consul):
    consul.set_member_status("node-2", "failed")
    app = app_on(docker_host, consul.url)
    async with app.run_test(size=SIZE) as pilot:
        system = app.pane("system")
        assert await wait_until(pilot, lambda: getattr(system, "report", None) is not None)
        assert "1/2 members alive" in str(system.border_subtitle)
        assert "node-2" in warnings_text(app) and "has failed" in warnings_text(app)
        await pilot.press("4", "K")
        assert await wait_until(pilot, lambda: isinstance(app.screen, TextScreen))
        assert app.screen.title_text == f"Consul at {consul.url}"


async def test_consul_screen_says_none_and_why_for_empty_tables(docker_host, consul):
    """A KV without libnetwork keys: each table says "none" and why, instead of headers over nothing."""
    import io

    from rich.console import Console

    app = app_on(docker_host, consul.url)
    async with app.run_test(size=SIZE) as pilot:
        system = app.pane("system")
        assert await wait_until(pilot, lambda: getattr(system, "report", None) is not None)
        await pilot.press("4", "K")
        assert await wait_until(pilot, lambda: isinstance(app.screen, TextScreen))
        console = Console(width=160, record=True, file=io.StringIO(), color_system=None)
        console.print(app.screen.body)
        text = console.export_text()
        assert "node-1" in text  # the members table has rows and stays a table
        lines = [line.strip() for line in text.splitlines()]
        for table in ("Networks in the KV store", "Subnets", "Endpoints", "Keys"):
            at = next(i for i, line in enumerate(lines) if line.startswith(table))
            assert lines[at + 1].startswith("none: Consul's KV has no libnetwork keys"), lines[at:at + 3]


async def test_consul_down_is_a_sentence(docker_host, consul):
    consul.stop()
    app = app_on(docker_host, consul.url)
    async with app.run_test(size=SIZE) as pilot:
        system = app.pane("system")
        assert await wait_until(pilot, lambda: getattr(system, "report", None) is not None, timeout=10)
        assert system.border_subtitle == "consul: not answering"
        assert consul.url in warnings_text(app)
        assert "Traceback" not in warnings_text(app)


def test_status_json_has_consul_and_warnings(docker_host, scratch, test_engine, consul, tmp_path):
    agent = scratch.run("carina-svcd", image=CONSUL_IMAGE, exact_name=True)
    test_engine.docker("stop", "--time", "0", agent)
    config = tmp_path / "clusters.toml"
    config.write_text(f'[clusters.t]\nendpoints = ["{docker_host}"]\nconsul = "{consul.url}"\n')
    proc = subprocess.run([sys.executable, "-m", "carina_tui", "status", "--config", str(config), "--cluster", "t",
                           "--json"], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert {"nodes", "containers", "networks", "protected", "consul", "warnings"} <= set(doc)
    assert doc["consul"]["leader"] == "10.0.0.11:8300"
    assert {m["name"] for m in doc["consul"]["members"]} == {"node-1", "node-2"}
    assert any(p["name"].endswith("carina-svcd") and p["state"] == "exited" for p in doc["protected"])
    assert any("Consul agent is stopped" in w["sentence"] for w in doc["warnings"])
    assert doc["containers"]["exited"] >= 1
