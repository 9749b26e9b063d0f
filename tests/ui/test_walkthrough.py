"""Carina's two-tier walk-through, done from the console's keys on an engine in swarm mode.

1. an attachable overlay network ``mynet``;
2. ``mysql`` on mynet, no published port, ``MYSQL_ROOT_PASSWORD`` set;
3. ``wordpress`` on mynet publishing 8080->80, ``WORDPRESS_DB_HOST=mysql`` (busybox httpd stands in);
4. the console shows ports (``8080->80/tcp`` for wordpress, nothing for mysql) and both on mynet
   with their addresses;
5. from inside wordpress, ``mysql`` resolves through the engine's embedded DNS.

The shared test engine must not be put in swarm mode (other tests count what it holds), so
this module starts a private engine of its own, in its own network namespace, and stops it.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import tempfile
from pathlib import Path

import pytest

import harness
from pilot_helpers import (
    SIZE,
    cell,
    find,
    inspect_doc,
    make_app,
    open_form,
    select_row,
    set_fields,
    settle_workers,
    shown,
    started,
    submit,
    type_text,
    wait_for,
)
from carina_tui.sandbox import engine as eng
from carina_tui.sandbox.images import ensure_local_images
from carina_tui.ui.forms import CreateNetworkScreen, RunScreen
from carina_tui.ui.screens import ConfirmScreen, TextScreen


@pytest.fixture(scope="module")
def swarm_engine():
    """A private engine in swarm mode (single manager) for this module, stopped at the end."""
    if os.environ.get("CARINA_TEST_SWARM_HOST"):
        yield harness.TestEngine(os.environ["CARINA_TEST_SWARM_HOST"])
        return
    harness.sweep_stale_engines()
    folder = Path(tempfile.mkdtemp(prefix=harness.TEST_DIR_PREFIX, dir="/tmp"))
    (folder / harness.OWNER_FILE).write_text(f"{os.getpid()}\n")
    try:
        started_engine = eng.start_engine(f"swarm-{secrets.token_hex(3)}", folder / "engine",
                                          address_pool="10.243.0.0/16")
    except eng.EngineError as err:
        shutil.rmtree(folder, ignore_errors=True)
        pytest.fail(f"The walk-through needs a private engine in swarm mode and none could be had: {err}",
                    pytrace=False)
    found = harness.TestEngine(started_engine.url, started_engine)
    try:
        ensure_local_images(found.url)
        found.docker("swarm", "init", "--advertise-addr", "127.0.0.1")
        yield found
    finally:
        left = harness.stop_session_engine(found)
        assert not left, f"the swarm engine left things behind: {left}"


async def run_from_form(pilot, *, name: str, network: str, command: str, ports: str = "", env: str = "") -> None:
    """N, then fill the run form the way a person would, and submit."""
    screen = await open_form(pilot, "N", RunScreen)
    assert screen.query_one("#f-name").has_focus, "the name field has focus first (typed while the images load)"
    assert "busybox:latest" in (screen.image_tags or []), "the engine's local images are offered"
    set_fields(screen, image="busybox:latest", networks=[network])
    await type_text(pilot, "name", name)
    if ports:
        await type_text(pilot, "ports", ports)
    set_fields(screen, env=env, command=command)  # name and ports were typed; these are set, to keep it quick
    assert await submit(pilot) == ""


async def test_carina_two_tier_walkthrough(swarm_engine: harness.TestEngine):
    async with make_app(swarm_engine.url).run_test(size=SIZE) as pilot:
        app = await started(pilot)
        info = next(iter(app.engines.values())).info
        assert info is not None and info.is_manager

        # 1. attachable overlay network mynet
        await pilot.press("2")
        screen = await open_form(pilot, "n", CreateNetworkScreen)
        await type_text(pilot, "name", "mynet")
        set_fields(screen, driver="overlay", attachable=True)
        assert await submit(pilot) == ""
        mynet = await shown(pilot, "networks", "mynet")
        assert (mynet.driver, mynet.scope) == ("overlay", "swarm")

        # 2. and 3. the database and the web tier
        await pilot.press("3")
        await run_from_form(pilot, name="mysql", network="mynet", env="MYSQL_ROOT_PASSWORD=my-secret-pw",
                            command="sleep 3600")
        await run_from_form(pilot, name="wordpress", network="mynet", ports="8080:80",
                            env="WORDPRESS_DB_HOST=mysql", command="httpd -f -p 80")

        # 4. what the console shows: ports and networks
        def running(name):
            c = find(app, "containers", name)
            return c if c is not None and c.state == "running" and c.networks and c.networks[0].ipv4 else None

        mysql = await wait_for(pilot, lambda: running("mysql"), "mysql runs on mynet with an address")
        wordpress = await wait_for(pilot, lambda: running("wordpress"), "wordpress runs on mynet with an address")
        assert cell(app, "containers", wordpress.key, "ports") == "8080->80/tcp"
        assert cell(app, "containers", mysql.key, "ports") == ""
        assert cell(app, "containers", mysql.key, "networks") == "mynet"
        assert cell(app, "containers", wordpress.key, "networks") == "mynet"

        # the network's detail view: both attached, each with its address
        await select_row(pilot, "networks", "mynet")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, TextScreen), "enter opens the network's details")
        body = str(app.screen.body)
        for c in (mysql, wordpress):
            address = c.networks[0].ipv4
            assert any(line.split()[:2] == [c.name, address] for line in body.splitlines()), (c.name, body)
        assert "overlay" in body and "Attachable yes" in " ".join(body.split())
        await pilot.press("escape")

        # 5. the name mysql resolves inside wordpress through the embedded DNS
        code, out = app.session.guard.exec_run(wordpress, ["nslookup", "mysql"])
        assert code == 0, out
        assert mysql.networks[0].ipv4 in out
        code, page = app.session.guard.exec_run(wordpress, ["wget", "-q", "-O", "-", "http://mysql:80/"])
        assert code != 0, "mysql publishes nothing and serves nothing on 80"

    # what the engine holds
    net = json.loads(swarm_engine.docker("network", "inspect", "mynet"))[0]
    assert (net["Driver"], net["Scope"], net["Attachable"]) == ("overlay", "swarm", True)
    mysql_doc, wordpress_doc = inspect_doc(swarm_engine, "mysql"), inspect_doc(swarm_engine, "wordpress")
    assert list(mysql_doc["NetworkSettings"]["Networks"]) == ["mynet"]
    assert list(wordpress_doc["NetworkSettings"]["Networks"]) == ["mynet"]
    assert "MYSQL_ROOT_PASSWORD=my-secret-pw" in mysql_doc["Config"]["Env"]
    assert "WORDPRESS_DB_HOST=mysql" in wordpress_doc["Config"]["Env"]
    assert swarm_engine.docker("port", "mysql").strip() == ""
    assert "80/tcp -> 0.0.0.0:8080" in swarm_engine.docker("port", "wordpress")
    assert not mysql_doc["HostConfig"]["PortBindings"]


async def test_prune_previews_exactly_the_unused_networks(swarm_engine: harness.TestEngine):
    tag = secrets.token_hex(2)
    unused_bridge, unused_overlay, used = f"old-{tag}", f"oldov-{tag}", f"used-{tag}"
    swarm_engine.docker("network", "create", unused_bridge)
    swarm_engine.docker("network", "create", "--driver", "overlay", "--attachable", unused_overlay)
    swarm_engine.docker("network", "create", used)
    swarm_engine.docker("create", "--name", f"stopped-{tag}", "--network", used, "busybox:latest", "true")
    before = set(swarm_engine.docker("network", "ls", "--format", "{{.Name}}").split())
    try:
        async with make_app(swarm_engine.url).run_test(size=SIZE) as pilot:
            app = await started(pilot)
            await shown(pilot, "networks", unused_overlay)
            await pilot.press("2")
            await pilot.press("p")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "p previews the prune")
            preview = app.screen.detail.plain
            planned = {line.split()[0] for line in preview.splitlines() if line.strip()}
            assert {unused_bridge, unused_overlay} <= planned
            assert used not in planned, "a network a stopped container refers to stays"
            assert not planned & {"bridge", "host", "none", "ingress", "docker_gwbridge"}
            assert "mynet" not in planned or not find(app, "containers", "mysql")
            assert app.screen.question == f"Remove {len(planned)} unused network{'s' if len(planned) > 1 else ''}?"
            await pilot.press("y")
            await wait_for(pilot, lambda: any("Removed" in n.message for n in app._notifications),
                           "the prune says what it removed")
            summary = next(n.message for n in app._notifications if "Removed" in n.message)
            assert unused_bridge in summary and unused_overlay in summary
        after = set(swarm_engine.docker("network", "ls", "--format", "{{.Name}}").split())
        assert after == before - planned, "exactly what was previewed went"
    finally:
        swarm_engine.docker("rm", "-f", f"stopped-{tag}", check=False)
        swarm_engine.docker("network", "rm", unused_bridge, unused_overlay, used, check=False)


async def test_on_two_engines_the_forms_act_on_the_engine_chosen(swarm_engine: harness.TestEngine, docker_host,
                                                                test_engine: harness.TestEngine):
    """A cluster of two engines (the shared one, not in swarm mode, and this module's swarm manager):
    the forms offer an engine choice, validate against that engine, and create things there only."""
    tag = secrets.token_hex(2)
    name, overlay = f"placed-{tag}", f"ov-{tag}"
    try:
        async with make_app(docker_host, swarm_engine.url).run_test(size=SIZE) as pilot:
            app = await started(pilot)
            assert app.session.multi_node
            await pilot.press("2")
            screen = await open_form(pilot, "n", CreateNetworkScreen)
            set_fields(screen, name=overlay, driver="overlay", attachable=True, node=docker_host)
            assert "Overlay networks need a swarm manager" in await submit(pilot)
            set_fields(screen, node=swarm_engine.url)
            assert await submit(pilot) == ""

            await pilot.press("3")
            screen = await open_form(pilot, "N", RunScreen)
            set_fields(screen, node=swarm_engine.url)
            await wait_for(pilot, lambda: overlay in [str(o.value) for o in screen.query_one("#f-networks").options],
                           "the swarm engine's networks are offered")
            await settle_workers(pilot, "form-load")
            set_fields(screen, image="busybox:latest", name=name, networks=[overlay], command="sleep 3600")
            assert await submit(pilot) == ""
            row = await shown(pilot, "containers", name)
            assert row.endpoint == swarm_engine.url
            assert cell(app, "containers", row.key, "name").endswith(f"/{name}"), "node/name on a cluster"
        assert swarm_engine.ids(f"name=^/{name}$") and not test_engine.ids(f"name=^/{name}$")
        assert overlay in swarm_engine.docker("network", "ls", "--format", "{{.Name}}").split()
    finally:
        swarm_engine.docker("rm", "-f", name, check=False)
        swarm_engine.docker("network", "rm", overlay, check=False)
