"""Every validation rule with a bad value.

Each table row is one rule: the fields of a form (the rest are good), the sentence the person
must see, and the field it concerns. The same rows run twice: against the pure functions of
``carina_tui.core.validate``, and through the real forms on the real engine, where the form
must show the sentence, keep its values, focus the field, and leave the engine unchanged.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

import harness
from pilot_helpers import SIZE, make_app, open_form, set_fields, started, submit, wait_for
from carina_tui.core import validate
from carina_tui.core.errors import ValidationError
from carina_tui.core.models import ContainerInfo, EngineInfo, IPAMConfig, NetworkInfo, PortBinding
from carina_tui.core.specs import NetworkSpec
from carina_tui.ui.forms import CreateNetworkScreen, RunScreen

# "{taken}" is a network (subnet 10.83.0.0/24) or a container that exists; "{busy}" a host port
# a running container publishes; "{net}" a user-defined network.
NETWORK_RULES = [
    ({"name": ""}, "Give the network a name.", "name"),
    ({"name": "-lead"}, '"-lead" is not a usable network name', "name"),
    ({"name": "has space"}, '"has space" is not a usable network name', "name"),
    ({"name": "{taken}"}, "already exists; choose another name", "name"),
    ({"subnet": "10.81.0.0/33"}, '"10.81.0.0/33" is not a subnet in CIDR notation', "subnet"),
    ({"subnet": "ten/8"}, '"ten/8" is not a subnet in CIDR notation', "subnet"),
    ({"subnet": "10.81.0.1/24"}, "10.81.0.1/24 has host bits set: the subnet it lies in is 10.81.0.0/24", "subnet"),
    ({"subnet": "10.81.0.0/24", "gateway": "10.82.0.1"}, "The gateway 10.82.0.1 is not inside the subnet 10.81.0.0/24",
     "gateway"),
    ({"subnet": "10.81.0.0/24", "gateway": "ten"}, '"ten" is not an IP address', "gateway"),
    ({"subnet": "10.81.0.0/24", "gateway": "10.81.0.255"}, "is the subnet's broadcast address", "gateway"),
    ({"subnet": "10.81.0.0/24", "ip_range": "10.81.1.0/25"},
     "The IP range 10.81.1.0/25 is not inside the subnet 10.81.0.0/24", "ip_range"),
    ({"subnet": "10.81.0.0/24", "ip_range": "10.81.0.0/23"}, "is not inside the subnet", "ip_range"),
    ({"gateway": "10.81.0.1"}, "A gateway or IP range needs a subnet to lie in", "subnet"),
    ({"subnet": "10.83.0.128/25"}, "The subnet 10.83.0.128/25 overlaps 10.83.0.0/24 of network {taken}", "subnet"),
    ({"driver": "overlay"}, "Overlay networks need a swarm manager, and this engine is not part of a swarm", "driver"),
    ({"attachable": True}, "Attachable only applies to overlay networks", "attachable"),
    ({"labels": "=x"}, '"=x" is not a usable entry for the labels', "labels"),
    ({"labels": "a=1 a=2"}, "The key a appears twice in the labels", "labels"),
    ({"labels": "bad label"}, '"bad label" in the labels holds a space', "labels"),
    ({"options": 'mtu="1400'}, "The driver options has an unclosed quote", "options"),
]

RUN_RULES = [
    ({"image": ""}, "Choose an image to run.", "image"),
    ({"name": "x"}, '"x" is not a usable container name', "name"),
    ({"name": "bad name"}, '"bad name" is not a usable container name', "name"),
    ({"name": "{taken}"}, "A container named {taken} already exists", "name"),
    ({"ports": "80:abc"}, '"80:abc" is not a port mapping: write host:container', "ports"),
    ({"ports": "70000:80"}, '"70000:80": port 70000 is outside 1-65535', "ports"),
    ({"ports": "80/icmp"}, "the protocol must be one of tcp, udp, sctp, not icmp", "ports"),
    ({"ports": "1.2.3:8080:80"}, "1.2.3 is not an IPv4 address", "ports"),
    ({"ports": "8080:80, 8080:81"}, "Host port 8080/tcp is mapped twice", "ports"),
    ({"ports": "{busy}:80"}, "Host port {busy}/tcp is already published by", "ports"),
    ({"env": "NOVALUE"}, '"NOVALUE" is not an environment variable: write KEY=value', "env"),
    ({"env": "1A=b"}, '"1A=b" is not an environment variable', "env"),
    ({"env": "A=1 A=2"}, "The variable A is set twice", "env"),
    ({"command": 'sh -c "echo'}, "The command has an unclosed quote", "command"),
    ({"labels": "-bad=1"}, '"-bad=1" is not a usable entry for the labels', "labels"),
    ({"labels": "tier=web team"}, '"tier=web team" in the labels holds a space', "labels"),
    ({"aliases": "db"}, "Aliases need a user-defined network", "aliases"),
    ({"networks": ["{net}"], "aliases": "bad!"}, '"bad!" is not a usable alias', "aliases"),
    ({"networks": ["host", "{net}"]}, "A container on the host or none network cannot join other networks",
     "networks"),
    ({"networks": ["host"], "ports": "8080:80"}, "Ports cannot be published from a container on the host network",
     "ports"),
]


def _fill(value, names: dict[str, str]):
    if isinstance(value, str):
        return value.format(**names)
    if isinstance(value, list):
        return [_fill(v, names) for v in value]
    return value


# -- the pure rules ---------------------------------------------------------------------------

PURE_NAMES = {"taken": "taken", "busy": "18080", "net": "appnet"}
TAKEN_NET = NetworkInfo(id="n1", name="taken", driver="bridge", scope="local",
                        ipam=(IPAMConfig(subnet="10.83.0.0/24", gateway="10.83.0.1"),))
NOT_SWARM = EngineInfo(endpoint="e", name="e", drivers=("bridge", "host", "ipvlan", "macvlan", "null", "overlay"))
TAKEN_CONTAINER = ContainerInfo(id="c1", name="taken", state="running", image="busybox",
                                ports=(PortBinding(80, "tcp", "0.0.0.0", 18080),))


def pure_network(fields: dict) -> NetworkSpec:
    kwargs = {"name": "fresh", **{k: _fill(v, PURE_NAMES) for k, v in fields.items()}}
    kwargs["subnet_text"] = kwargs.pop("subnet", "")
    return validate.network_spec(**kwargs, existing=[TAKEN_NET], engine=NOT_SWARM)


def pure_run(fields: dict):
    kwargs = {"image": "busybox:latest", **{k: _fill(v, PURE_NAMES) for k, v in fields.items()}}
    kwargs["ports_text"] = kwargs.pop("ports", "")
    kwargs["aliases_text"] = kwargs.pop("aliases", "")
    return validate.run_spec(**kwargs, images=["busybox:latest"], existing=[TAKEN_CONTAINER])


@pytest.mark.parametrize("fields,sentence,field", NETWORK_RULES, ids=[str(r[0]) for r in NETWORK_RULES])
def test_network_rule(fields, sentence, field):
    with pytest.raises(ValidationError) as caught:
        pure_network(fields)
    assert _fill(sentence, PURE_NAMES) in str(caught.value)
    assert caught.value.field == field


@pytest.mark.parametrize("fields,sentence,field", RUN_RULES, ids=[str(r[0]) for r in RUN_RULES])
def test_run_rule(fields, sentence, field):
    with pytest.raises(ValidationError) as caught:
        pure_run(fields)
    assert _fill(sentence, PURE_NAMES) in str(caught.value)
    assert caught.value.field == field


def test_good_values_make_the_specs():
    spec = pure_network({"name": "mynet", "subnet": "10.84.0.0/24", "gateway": "10.84.0.1",
                         "ip_range": "10.84.0.128/25", "labels": 'team="web ops"', "options": "mtu=1400"})
    assert spec == NetworkSpec(name="mynet", subnet="10.84.0.0/24", gateway="10.84.0.1", ip_range="10.84.0.128/25",
                               labels=(("team", "web ops"),), options=(("mtu", "1400"),))
    overlay = validate.network_spec(name="mynet", driver="overlay", attachable=True,
                                    engine=EngineInfo("e", "e", swarm_state="active", swarm_role="manager"))
    assert (overlay.driver, overlay.attachable) == ("overlay", True)
    run = pure_run({"name": "wordpress", "networks": ["mynet", "other"], "ports": "8080:80 53/udp",
                    "env": 'WORDPRESS_DB_HOST=mysql GREETING="hello world"', "command": "httpd -f -p 80",
                    "restart": "unless-stopped", "labels": "tier=web", "aliases": "www"})
    assert run.networks == ("mynet", "other") and run.aliases == ("www",)
    assert run.ports == (PortBinding(80, "tcp", "", 8080), PortBinding(53, "udp", "", None))
    assert run.env == ("WORDPRESS_DB_HOST=mysql", "GREETING=hello world")
    assert run.command == ("httpd", "-f", "-p", "80") and run.restart == "unless-stopped"


def test_missing_image_is_a_clear_sentence():
    with pytest.raises(ValidationError) as caught:
        validate.run_spec(image="mysql:5.7", images=["busybox:latest"])
    assert "The image mysql:5.7 is not on this engine, and images cannot be pulled here" in str(caught.value)
    assert validate.run_spec(image="busybox", images=["busybox:latest"]).image == "busybox"


def test_static_ipv4_rules():
    net = NetworkInfo(id="n", name="app", driver="bridge", scope="local",
                      ipam=(IPAMConfig(subnet="10.85.0.0/24", gateway="10.85.0.1"),))
    assert validate.static_ipv4("10.85.0.9", net) == "10.85.0.9"
    assert validate.static_ipv4("", net) == ""
    for bad, sentence in (("10.86.0.9", "is not inside the subnet"), ("10.85.0.1", "is the gateway"),
                          ("10.85.0.255", "is not a host address"), ("nine", "is not an IPv4 address")):
        with pytest.raises(ValidationError, match=sentence):
            validate.static_ipv4(bad, net)
    bare = NetworkInfo(id="b", name="bare", driver="bridge", scope="local")
    with pytest.raises(ValidationError, match="has no IPv4 subnet of its own"):
        validate.static_ipv4("10.85.0.9", bare)


@given(st.integers(1, 65535), st.integers(1, 65535), st.sampled_from(validate.PROTOCOLS))
def test_any_valid_port_mapping_round_trips(host, container, proto):
    (binding,) = validate.ports(f"{host}:{container}/{proto}")
    assert str(binding) == f"{host}->{container}/{proto}"


@given(st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,10}", fullmatch=True), st.text(max_size=20))
def test_any_env_value_survives_quoting(key, value):
    import shlex

    assert validate.environment(f"{key}={shlex.quote(value)}") == (f"{key}={value}",)


# -- the same rules through the real forms on the real engine ------------------------------------


def engine_state(engine: harness.TestEngine) -> tuple[set[str], set[str]]:
    return (set(engine.ids()), set(engine.docker("network", "ls", "--quiet", "--no-trunc").split()))


async def check_rules(pilot, screen, rules, names: dict[str, str], good: dict) -> None:
    app = pilot.app
    for fields, sentence, field in rules:
        set_fields(screen, **good)
        set_fields(screen, **{k: _fill(v, names) for k, v in fields.items()})
        shown = await submit(pilot)
        case = f"{fields} -> {shown!r}"
        assert _fill(sentence, names) in shown, case
        assert app.screen is screen, f"the form stays open: {case}"
        assert screen.query_one(f"#f-{field}").has_focus, f"the {field} field has focus: {case}"
        for key, value in fields.items():  # the form keeps what was typed
            if isinstance(value, str) and key not in ("image",):
                assert screen.query_one(f"#f-{key}").value == _fill(value, names), case


async def test_network_form_shows_every_rule(docker_host, test_engine, scratch):
    taken = scratch.network("taken", "--subnet", "10.83.0.0/24")
    names = {"taken": taken}
    before = engine_state(test_engine)
    async with make_app(docker_host).run_test(size=SIZE) as pilot:
        app = await started(pilot)
        await wait_for(pilot, lambda: any(n.name == taken for n in app.pane("networks").items.values()),
                       "the network shows")
        await pilot.press("2")
        screen = await open_form(pilot, "n", CreateNetworkScreen)
        good = {"name": scratch.name("fresh"), "driver": "bridge", "subnet": "", "gateway": "", "ip_range": "",
                "attachable": False, "labels": "", "options": ""}
        await check_rules(pilot, screen, NETWORK_RULES, names, good)
    assert engine_state(test_engine) == before, "no bad value reached the engine"


async def test_run_form_shows_every_rule(docker_host, test_engine, scratch):
    net = scratch.network("appnet")
    taken = scratch.run("taken", options=("--publish", "18080:80"))
    names = {"taken": taken, "busy": "18080", "net": net}
    before = engine_state(test_engine)
    async with make_app(docker_host).run_test(size=SIZE) as pilot:
        app = await started(pilot)
        await wait_for(pilot, lambda: any(c.name == taken for c in app.pane("containers").items.values()),
                       "the container shows")
        await wait_for(pilot, lambda: any(n.name == net for n in app.pane("networks").items.values()),
                       "the network shows")
        await pilot.press("3")
        screen = await open_form(pilot, "N", RunScreen)
        good = {"image": "busybox:latest", "name": scratch.name("fresh"), "networks": [], "ports": "", "env": "",
                "command": "", "labels": "", "aliases": ""}
        await check_rules(pilot, screen, RUN_RULES, names, good)
    assert engine_state(test_engine) == before, "no bad value reached the engine"


async def test_an_image_gone_since_the_form_opened_is_a_clear_sentence(docker_host, test_engine, scratch):
    tag = f"{scratch.name('img')}:latest"
    test_engine.docker("tag", harness.BUSYBOX_IMAGE, tag)
    try:
        before = engine_state(test_engine)
        async with make_app(docker_host).run_test(size=SIZE) as pilot:
            await started(pilot)
            await pilot.press("3")
            screen = await open_form(pilot, "N", RunScreen)
            set_fields(screen, image=tag, name=scratch.name("never"))
            test_engine.docker("rmi", tag)
            shown = await submit(pilot)
            assert f"The image {tag} is not on this engine, and images cannot be pulled here" in shown
            assert screen.chosen("image") == tag
        assert engine_state(test_engine) == before
    finally:
        test_engine.docker("rmi", tag, check=False)
