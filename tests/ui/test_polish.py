"""What a new user tripped over (issue 12), on the real engine: each item as the screen shows it.

Ports listed once, logs that say there is no output yet, Consul's empty tables that say "none"
and why, a connect picker without containers that can never join, an overlay ticked attachable,
the cursor at the end of a field after an error, and the Networks footer's keys.
"""

from __future__ import annotations

import io

import pytest
from pilot_helpers import (
    SIZE,
    error_text,
    make_app,
    notices,
    open_form,
    select_row,
    settle_workers,
    shown,
    started,
    wait_for,
)
from rich.console import Console
from textual.widgets import Checkbox, Footer, Input, OptionList, Select

from carina_tui.core.models import ContainerInfo, PortBinding
from carina_tui.ui.forms import ConnectScreen, CreateNetworkScreen
from carina_tui.ui.logs import NO_OUTPUT, LogScreen
from carina_tui.ui.screens import TextScreen


def plain(renderable, width: int = 150) -> str:
    console = Console(width=width, record=True, file=io.StringIO(), color_system=None)
    console.print(renderable)
    return console.export_text()


def test_a_port_published_on_both_address_families_is_listed_once():
    c = ContainerInfo(id="x", name="web", state="running", image="busybox", endpoint="e", ports=(
        PortBinding(80, "tcp", host_ip="0.0.0.0", host_port=8080),
        PortBinding(80, "tcp", host_ip="::", host_port=8080),
        PortBinding(443, "tcp"),
    ))
    assert c.all_ports_text == "8080->80/tcp, 443/tcp"


async def test_details_list_each_port_once(docker_host, scratch):
    name = scratch.run("web", options=("--publish", "127.0.0.1:18080:80", "--publish", "127.0.0.1:18080:80/udp"))
    app = make_app(docker_host)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        await select_row(pilot, "containers", name)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, TextScreen), "enter opens the details")
        text = plain(app.screen.body)
        ports = next(line for line in text.splitlines() if line.startswith("Ports"))
        assert ports.split(None, 1)[1].strip() == "18080->80/tcp, 18080->80/udp"


async def test_logs_of_a_silent_container_say_so_until_a_line_comes(docker_host, scratch, test_engine):
    # Silent until the test says (a fixed sleep raced a loaded machine: the line came first).
    name = scratch.run("quiet", "sh", "-c", "until [ -e /tmp/go ]; do sleep 0.1; done; echo finally; sleep 3600")
    app = make_app(docker_host)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        await select_row(pilot, "containers", name)
        await pilot.press("l")
        await wait_for(pilot, lambda: isinstance(app.screen, LogScreen), "l opens the logs")
        empty = app.screen.query_one("#log-empty")
        assert empty.display and NO_OUTPUT in str(empty.render())
        test_engine.docker("exec", name, "touch", "/tmp/go")
        await wait_for(pilot, lambda: app.screen.view.line_count >= 1, "the first line arrives", timeout=20)
        assert not empty.display
        assert "finally" in app.screen.view.lines[0]


async def test_connect_picker_leaves_out_containers_that_can_never_join(docker_host, scratch):
    net = scratch.network("joinme")
    on_host = scratch.run("onhost", network="host")
    plain_one = scratch.run("plain")
    app = make_app(docker_host)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        await shown(pilot, "containers", on_host)
        await shown(pilot, "containers", plain_one)
        await select_row(pilot, "networks", net)
        await open_form(pilot, "c", ConnectScreen)
        labels = [str(o.prompt) for o in app.screen.query_one(OptionList).options]
        assert any(plain_one in label for label in labels)
        assert not any(on_host in label for label in labels), labels
        await pilot.press("escape")
        # From the container's side: a sentence instead of a picker that can only fail.
        await select_row(pilot, "containers", on_host)
        await pilot.press("c")
        await wait_for(pilot, lambda: "can join no other network" in notices(app), "c on a host container says why")
        assert not isinstance(app.screen, ConnectScreen)


async def test_overlay_ticks_attachable_unless_the_user_chose(docker_host):
    app = make_app(docker_host)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        await pilot.press("2")
        screen = await open_form(pilot, "n", CreateNetworkScreen)
        driver = screen.query_one("#f-driver", Select)
        box = screen.query_one("#f-attachable", Checkbox)
        assert box.value is False
        driver.value = "overlay"
        await wait_for(pilot, lambda: box.value is True, "overlay ticks Attachable")
        driver.value = "bridge"
        await wait_for(pilot, lambda: box.value is False, "bridge clears it again")
        driver.value = "overlay"
        await wait_for(pilot, lambda: box.value is True, "overlay ticks it")
        box.value = False  # the user's own choice stands from now on
        await pilot.pause()
        driver.value = "bridge"
        await pilot.pause()
        driver.value = "overlay"
        await pilot.pause()
        assert box.value is False


async def test_after_an_error_the_cursor_is_at_the_end_of_the_field(docker_host, unique_name, test_engine):
    app = make_app(docker_host)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        await pilot.press("2")
        screen = await open_form(pilot, "n", CreateNetworkScreen)
        screen.query_one("#f-name", Input).value = unique_name
        subnet = screen.query_one("#f-subnet", Input)
        subnet.value = "10.77.0.0/33"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: subnet.has_focus and error_text(app), "the error focuses the subnet")
        await pilot.pause()
        await pilot.press("backspace", "backspace", "2", "4")
        assert subnet.value == "10.77.0.0/24"  # mended, not replaced
        assert test_engine.docker("network", "ls", "--quiet", "--filter", f"name=^{unique_name}$").strip() == ""


@pytest.mark.parametrize("key, label", [("x", "Disconnect"), ("p", "Prune"), ("n", "New network"), ("d", "Remove")])
async def test_networks_footer_shows_its_main_keys(docker_host, key, label):
    app = make_app(docker_host)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        await pilot.press("2")
        await settle_workers(pilot, "load")
        footer = app.screen.query_one(Footer)
        shown_keys = {(k.key, k.description) for k in footer.query("FooterKey")}
        assert (key, label) in shown_keys, shown_keys


async def test_driver_list_offers_what_the_engine_has(docker_host, test_engine):
    import json

    plugins = set(json.loads(test_engine.docker("info", "--format", "{{json .Plugins.Network}}")))
    app = make_app(docker_host)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        await pilot.press("2")
        screen = await open_form(pilot, "n", CreateNetworkScreen)
        offered = {value for _, value in screen.query_one("#f-driver", Select)._options if value}
        # The engine's own drivers (macvlan, ipvlan, plugins), less those no network can be made with.
        assert plugins - {"host", "null"} <= offered, (plugins, offered)
        assert {"macvlan", "ipvlan"} <= offered
        assert not offered & {"host", "null"}
