"""The Networks pane on a real engine, driven with Pilot: create, remove (and its refusals),
connect with aliases and a fixed address, disconnect. Each test asserts on the screen and on
what the engine then holds."""

from __future__ import annotations

import json

import harness
from pilot_helpers import (
    SIZE,
    error_text,
    find,
    make_app,
    notices,
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
from carina_tui.core.models import ContainerInfo, NetworkAttachment, NetworkInfo
from carina_tui.guard import Outcome
from carina_tui.ui.forms import ConnectScreen, CreateNetworkScreen, DisconnectScreen, outcome_summary, prune_plan
from carina_tui.ui.screens import ConfirmScreen, TextScreen


def inspect_network(engine: harness.TestEngine, name: str) -> dict:
    return json.loads(engine.docker("network", "inspect", name))[0]


def network_names(engine: harness.TestEngine) -> set[str]:
    return set(engine.docker("network", "ls", "--format", "{{.Name}}").split())


async def test_create_network_from_the_form(docker_host, test_engine, scratch):
    name = scratch.name("made")
    scratch.networks.append(name)  # removed at the end whatever happens
    async with make_app(docker_host).run_test(size=SIZE) as pilot:
        app = await started(pilot)
        await pilot.press("2")
        screen = await open_form(pilot, "n", CreateNetworkScreen)
        assert screen.query_one("#f-name").has_focus, "the first field has focus"
        await type_text(pilot, "name", name)
        await type_text(pilot, "subnet", "10.77.5.0/24")
        set_fields(screen, gateway="10.77.5.254", ip_range="10.77.5.128/25", labels='team="web ops" carina.test=1')
        assert await submit(pilot) == ""
        net = await shown(pilot, "networks", name)
        assert net.subnets_text == "10.77.5.0/24"
        assert app.pane("networks").cells(net)[:2] == (name, "bridge")
    doc = inspect_network(test_engine, name)
    assert doc["Driver"] == "bridge"
    assert doc["IPAM"]["Config"] == [{"Subnet": "10.77.5.0/24", "Gateway": "10.77.5.254", "IPRange": "10.77.5.128/25"}]
    assert doc["Labels"] == {"team": "web ops", "carina.test": "1"}


async def test_engine_refusal_shows_on_the_form_which_keeps_its_values(docker_host, test_engine, scratch):
    name = scratch.name("mtu")
    scratch.networks.append(name)
    async with make_app(docker_host).run_test(size=SIZE) as pilot:
        app = await started(pilot)
        await pilot.press("2")
        screen = await open_form(pilot, "n", CreateNetworkScreen)
        set_fields(screen, name=name, options="com.docker.network.driver.mtu=abc", internal=True)
        sentence = await submit(pilot)
        assert "Could not create network" in sentence and "mtu" in sentence, sentence
        assert app.screen is screen, "the form stays open"
        assert screen.text("name") == name and screen.text("options") == "com.docker.network.driver.mtu=abc"
        assert screen.ticked("internal")
        # fix it on the form and submit again
        set_fields(screen, options="com.docker.network.driver.mtu=1400")
        assert await submit(pilot) == ""
    assert inspect_network(test_engine, name)["Options"] == {"com.docker.network.driver.mtu": "1400"}
    assert inspect_network(test_engine, name)["Internal"] is True


async def test_escape_cancels_the_form(docker_host, test_engine, scratch):
    name = scratch.name("never")
    async with make_app(docker_host).run_test(size=SIZE) as pilot:
        app = await started(pilot)
        await pilot.press("2")
        screen = await open_form(pilot, "n", CreateNetworkScreen)
        await type_text(pilot, "name", name)
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is not screen, "escape closes the form")
    assert name not in network_names(test_engine)


async def test_predefined_and_in_use_networks_are_not_removed(docker_host, test_engine, scratch):
    busy = scratch.network("busy")
    user = scratch.run("user", network=busy)
    before = network_names(test_engine)
    async with make_app(docker_host).run_test(size=SIZE) as pilot:
        app = await started(pilot)
        await select_row(pilot, "networks", "bridge")
        await pilot.press("d")
        await wait_for(pilot, lambda: "predefined" in notices(app), "removing bridge is refused with a reason")
        assert "Network bridge is predefined by Docker and cannot be removed" in notices(app)
        assert not isinstance(app.screen, ConfirmScreen)

        await shown(pilot, "containers", user)
        await select_row(pilot, "networks", busy)
        await pilot.press("d")
        in_use = f"Network {busy} still has containers attached"
        await wait_for(pilot, lambda: in_use in notices(app), "removing a network in use is refused")
        assert f"{user})" in notices(app), "the refusal names the container"
        assert not isinstance(app.screen, ConfirmScreen)

        # The guard refuses it too, on a fresh look at the engine, whatever a screen showed.
        app.guarded(lambda: app.session.guard.remove_network(find(app, "networks", busy)))
        await settle_workers(pilot, "mutate")
        await wait_for(pilot, lambda: notices(app).count(in_use) == 2, "the guard refuses it too")
    assert network_names(test_engine) == before


async def test_remove_an_unused_network_after_confirmation(docker_host, test_engine, scratch):
    gone = scratch.network("gone")
    async with make_app(docker_host).run_test(size=SIZE) as pilot:
        app = await started(pilot)
        await select_row(pilot, "networks", gone)
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "d asks first")
        await pilot.press("n")
        await pilot.pause()
        assert gone in network_names(test_engine), "n keeps it"
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "d asks again")
        await pilot.press("y")
        await wait_for(pilot, lambda: find(app, "networks", gone) is None, "the network leaves the pane")
    assert gone not in network_names(test_engine)


async def test_connect_with_an_alias_then_resolve_it_from_another_container(docker_host, test_engine, scratch):
    net = scratch.network("app", "--subnet", "10.78.1.0/24")
    web = scratch.run("web")  # on the default bridge: not yet on net
    probe = scratch.run("probe", network=net)
    async with make_app(docker_host).run_test(size=SIZE) as pilot:
        app = await started(pilot)
        await shown(pilot, "containers", web)
        await select_row(pilot, "networks", net)
        screen = await open_form(pilot, "c", ConnectScreen)
        assert screen.query_one("#f-filter").has_focus
        await type_text(pilot, "filter", web)
        await type_text(pilot, "aliases", "frontend, www")
        set_fields(screen, ipv4="10.78.1.50")
        assert await submit(pilot) == ""
        await wait_for(pilot, lambda: net in find(app, "containers", web).networks_text,
                       "the container row shows the new network")
        attachment = next(a for a in find(app, "containers", web).networks if a.network == net)
        assert attachment.ipv4 == "10.78.1.50"
        # the network's detail view lists the member with its address and aliases
        await select_row(pilot, "networks", net)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, TextScreen), "enter opens the network's details")
        line = next(ln.split() for ln in str(app.screen.body).splitlines() if ln.startswith(web))
        assert line[1] == "10.78.1.50" and {"frontend", "www"} <= set(line[2:]), line
        await pilot.press("escape")
        code, out = app.session.guard.exec_run(find(app, "containers", probe), ["nslookup", "frontend"])
    assert code == 0, out
    assert "10.78.1.50" in out
    doc = json.loads(test_engine.docker("inspect", web))[0]["NetworkSettings"]["Networks"][net]
    assert doc["IPAMConfig"]["IPv4Address"] == "10.78.1.50"
    assert {"frontend", "www"} <= set(doc["Aliases"])


async def test_connect_refusals_show_on_the_picker(docker_host, test_engine, scratch):
    net = scratch.network("pick", "--subnet", "10.78.2.0/24", "--gateway", "10.78.2.1")
    web = scratch.run("web")
    async with make_app(docker_host).run_test(size=SIZE) as pilot:
        app = await started(pilot)
        await shown(pilot, "containers", web)
        await select_row(pilot, "networks", net)
        screen = await open_form(pilot, "c", ConnectScreen)
        for field, value, expected in (
            ("filter", "no-such-container-anywhere", "Choose a container from the list"),
            ("aliases", "bad alias!", '"alias!" is not a usable alias'),
            ("ipv4", "10.78.3.9", "10.78.3.9 is not inside the subnet of network"),
            ("ipv4", "10.78.2.1", "10.78.2.1 is the gateway of network"),
            ("ipv4", "10.78.2.300", '"10.78.2.300" is not an IPv4 address'),
        ):
            set_fields(screen, filter=web, aliases="", ipv4="")
            set_fields(screen, **{field: value})
            await pilot.pause()
            assert expected in await submit(pilot), (field, value, error_text(app))
            assert screen.query_one(f"#f-{field}").has_focus, f"the {field} field has focus after its error"
        assert app.screen is screen
    doc = json.loads(test_engine.docker("inspect", web))[0]["NetworkSettings"]["Networks"]
    assert net not in doc, "nothing was connected"


async def test_connect_from_the_containers_pane_and_disconnect_with_force(docker_host, test_engine, scratch):
    net = scratch.network("side")
    web = scratch.run("web")
    async with make_app(docker_host).run_test(size=SIZE) as pilot:
        app = await started(pilot)
        await shown(pilot, "networks", net)
        await select_row(pilot, "containers", web)
        screen = await open_form(pilot, "c", ConnectScreen)
        await type_text(pilot, "filter", net)
        assert await submit(pilot) == ""
        await wait_for(pilot, lambda: net in find(app, "containers", web).networks_text, "connected")
        assert net in json.loads(test_engine.docker("inspect", web))[0]["NetworkSettings"]["Networks"]

        await select_row(pilot, "networks", net)
        screen = await open_form(pilot, "x", DisconnectScreen)
        assert web in str(screen.query_one("#f-pick").get_option_at_index(0).prompt)
        set_fields(screen, force=True)
        assert await submit(pilot) == ""
        await wait_for(pilot, lambda: net not in find(app, "containers", web).networks_text, "disconnected")
    assert net not in json.loads(test_engine.docker("inspect", web))[0]["NetworkSettings"]["Networks"]


def test_prune_plan_holds_only_unused_user_networks_once():
    def net(name, id, endpoint="e1", scope="local", driver="bridge"):
        return NetworkInfo(id=id, name=name, driver=driver, scope=scope, endpoint=endpoint)

    overlay_seen_twice = [net("shared", "s1", "e1", "swarm", "overlay"), net("shared", "s1", "e2", "swarm", "overlay")]
    networks = [net("bridge", "b1"), net("ingress", "i1", scope="swarm", driver="overlay"), net("host", "h1"),
                net("old", "o1"), net("old", "o2", "e2"), net("used-by-stopped", "u1"), *overlay_seen_twice]
    stopped = ContainerInfo(id="c1", name="job", state="exited", image="busybox", endpoint="e1",
                            networks=(NetworkAttachment("used-by-stopped", "u1"),))
    plan = prune_plan(networks, [stopped])
    assert [(n.name, n.endpoint) for n in plan] == [("old", "e1"), ("old", "e2"), ("shared", "e1")]
    text, clean = outcome_summary([Outcome("o1", "old", "removed"), Outcome("s1", "shared", "skipped", "it is in use")])
    assert not clean and text == "Removed 1 network: old.\nshared skipped: it is in use"
