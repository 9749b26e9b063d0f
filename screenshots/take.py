#!/usr/bin/env python3
"""Take the README's screenshots from the sandbox (``make screenshots``; root, Linux).

Brings a 2-node sandbox up if none is up (and takes it down again afterwards), opens
the console on it with Pilot, and saves SVGs of every pane and of the create-network,
connect, swarm (W) and cleanup screens into this folder. Re-run it whenever a pane changes.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from carina_tui.core.config import load_config  # noqa: E402
from carina_tui.gateways import discovery  # noqa: E402
from carina_tui.sandbox import cluster  # noqa: E402
from carina_tui.sandbox import engine as eng  # noqa: E402
from carina_tui.services.targets import session_for  # noqa: E402
from carina_tui.ui.app import CarinaApp  # noqa: E402

SIZE = (140, 40)


async def until(pilot, condition, timeout: float = 15.0) -> None:
    for _ in range(int(timeout / 0.05)):
        if condition():
            return
        await pilot.pause(0.05)
    raise SystemExit("the console did not reach the state to photograph; nothing more was taken")


async def shoot(state: cluster.SandboxState) -> list[str]:
    config = load_config(state.config_file)
    spec = discovery.find(state.name, config)
    app = CarinaApp(session_for(spec, config), config=config, discover=False)
    taken = []

    def save(name: str) -> None:
        app.save_screenshot(str(HERE / f"{name}.svg"))
        taken.append(f"{name}.svg")

    # A stopped agent, as Carina users met it: the System pane warns, cleanup keeps it.
    last = state.nodes[-1]
    eng.docker(last.url, "stop", "--time", "1", "carina-svcd")
    # A service for the Services pane: busybox is on every node (no registry), dnsrr (no IPVS here).
    eng.docker(state.nodes[0].url, "service", "create", "--detach", "--no-resolve-image", "--name", "web",
               "--replicas", "2", "--endpoint-mode", "dnsrr", "--network", "mynet", "--stop-grace-period", "1s",
               "busybox:latest", "sleep", "1d")
    eng.docker(state.nodes[0].url, "volume", "create", "wp-data")
    async with app.run_test(size=SIZE) as pilot:
        containers = app.pane("containers")
        await until(pilot, lambda: len({c.node for c in containers.items.values()}) >= 2)
        await until(pilot, lambda: getattr(app.pane("system"), "report", None) is not None
                    and app.pane("system").report.warnings)
        await pilot.pause(0.5)
        save("console")
        for key, name in (("1", "clusters"), ("2", "networks"), ("3", "containers"), ("4", "system")):
            await pilot.press(key, "z")
            await pilot.pause(0.3)
            save(f"pane-{name}")
            await pilot.press("z")
        # Panes 5-7 take the focused pane's place; their own key again gives it back.
        for key, name in (("5", "services"), ("6", "images"), ("7", "volumes")):
            await pilot.press(key)
            await until(pilot, lambda: len(app.pane(name).items) > 0)
            await pilot.press("z")
            await pilot.pause(0.5)
            save(f"pane-{name}")
            await pilot.press("z", key)
        await pilot.press("W")
        await pilot.pause(1.5)
        save("swarm")
        await pilot.press("escape")
        await pilot.press("2", "n")
        await pilot.pause(0.5)
        save("create-network")
        await pilot.press("escape")
        table = app.pane("networks").table
        index = next(i for i in range(table.row_count) if str(table.get_row_at(i)[0]) == "mynet")
        table.move_cursor(row=index)
        await pilot.press("c")
        await pilot.pause(0.5)
        save("connect")
        await pilot.press("escape", "3", "x")
        await pilot.pause(1.0)
        save("cleanup")
        await pilot.press("escape")
    eng.docker(last.url, "start", "carina-svcd")
    eng.docker(state.nodes[0].url, "service", "rm", "web")
    eng.docker(state.nodes[0].url, "volume", "rm", "wp-data")
    return taken


def main() -> int:
    brought_up = not cluster.sandbox_status().up
    state = cluster.sandbox_up() if brought_up else cluster.load_state()
    try:
        taken = asyncio.run(shoot(state))
    finally:
        if brought_up:
            cluster.sandbox_down()
    print("saved:", ", ".join(taken))
    return 0


if __name__ == "__main__":
    sys.exit(main())
