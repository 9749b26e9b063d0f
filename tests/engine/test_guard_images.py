"""An image rule holds however a container names its image (issue 13, hole 1), on the real engine.

The engine's list shows a container's image as it was named at creation while that
name still leads to the same image, and as ``sha256:<id>`` once the tag has moved
(``docker tag``, a pull, a re-import). A container can also be made from the image's
id, a short id, or another tag of the same image. The list (what the panes and the
plan classify), the inspect (what the guard classifies before acting), the guard's
refusal and the headless cleanup must all see such an agent as protected.
"""

from __future__ import annotations

import json
import secrets

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import harness
from carina_tui.cli import main
from carina_tui.core.clusters import ClusterSpec
from carina_tui.core.errors import Refused
from carina_tui.core.rules import DEFAULT_RULES, Rule
from carina_tui.sandbox.images import rootfs_tar
from carina_tui.session import Session

IMAGE_RULE = 'image repository "carina/consul" (default)'
OFFICIAL_RULE = Rule("image", "consul", source="test")  # an official-style repository: docker.io/library/consul


def image_id(engine: harness.TestEngine, ref: str) -> str:
    return engine.docker("image", "inspect", "--format", "{{.Id}}", ref).strip()


class Images:
    """Images and tags one test makes; removed after its containers."""

    def __init__(self, engine: harness.TestEngine, scratch: harness.Scratch) -> None:
        self.engine, self.scratch, self.made = engine, scratch, []

    def imported(self, tag: str) -> str:
        """A new image (its own id) under ``tag``, as a re-import or a pull makes one; returns its id."""
        self.engine.docker("import", "--change", f'LABEL carina.test.image="{secrets.token_hex(4)}"', "-", tag,
                           input=rootfs_tar(), timeout=120)
        found = image_id(self.engine, tag)
        self.made += [found, tag]
        return found

    def tag(self, source: str, tag: str) -> None:
        self.engine.docker("tag", source, tag)
        self.made.append(tag)

    def cleanup(self) -> None:
        self.scratch.cleanup()  # the containers first: an image in use cannot go
        for ref in reversed(self.made):
            self.engine.docker("rmi", ref, check=False)


@pytest.fixture
def images(test_engine, scratch):
    made = Images(test_engine, scratch)
    yield made
    made.cleanup()


WAYS = ("id", "sha256 id", "short id", "another tag", "docker.io name", "mirror tag", "tag moved by docker tag",
        "tag moved by a re-import", "official name with library/")


def make_agent(engine: harness.TestEngine, images: Images, scratch: harness.Scratch, way: str, *,
               state: str = "exited", labels: dict[str, str] | None = None, short: int = 12) -> str:
    """A container whose image is protected, named in ``way``; returns its name."""
    consul = image_id(engine, harness.CONSUL_IMAGE)
    unique = f"t{scratch.tag}{secrets.token_hex(2)}"
    moved = way.startswith("tag moved")
    if moved:
        ref = f"carina/consul:{unique}"
        images.imported(ref)  # an agent image of its own, so that moving its tag leaves it with no name
    elif way == "id":
        ref = consul[len("sha256:"):]
    elif way == "sha256 id":
        ref = consul
    elif way == "short id":
        ref = consul[len("sha256:"):][:short]
    elif way == "another tag":
        ref = f"{unique}-agent:1"
        images.tag(harness.CONSUL_IMAGE, ref)
    elif way == "docker.io name":
        ref = "docker.io/carina/consul:latest"
    elif way == "mirror tag":
        ref = f"mirror.example:5000/carina/consul:{unique}"
        images.tag(harness.CONSUL_IMAGE, ref)
    elif way == "official name with library/":
        images.tag(harness.BUSYBOX_IMAGE, f"consul:{unique}")
        ref = f"docker.io/library/consul:{unique}"
    else:
        raise AssertionError(way)
    name = scratch.name(f"agent-{secrets.token_hex(2)}")
    scratch.containers.append(name)
    args = ["create", "--name", name, "--label", harness.TEST_LABEL]
    for key, value in sorted((labels or {}).items()):
        args += ["--label", f"{key}={value}"]
    engine.docker(*args, ref, "true")
    if state == "exited":
        engine.docker("start", "--attach", name, check=False)
    if way == "tag moved by docker tag":
        mover = f"{unique}-mover:1"
        images.imported(mover)
        images.tag(mover, ref)
    elif way == "tag moved by a re-import":
        images.imported(ref)
    return name


def session_for(host: str) -> Session:
    return Session(ClusterSpec("test", "cli", (host,)), rules=DEFAULT_RULES + (OFFICIAL_RULE,))


def assert_protected_everywhere(session: Session, name: str, way: str) -> None:
    """The list, the inspect, the plan and the guard's refusal agree: protected."""
    from carina_tui.core.cleanup import plan_cleanup

    gateway = next(iter(session.gateways.values()))
    listed = next(c for c in gateway.containers() if c.name == name)
    if way.startswith("tag moved"):
        assert listed.image.startswith("sha256:"), f"the engine lists a moved tag by id, not {listed.image!r}"
    rule = session.guard.classify(listed)
    assert rule is not None, (way, listed)
    assert session.guard.classify(gateway.container(listed.id)) == rule
    assert session.guard.classify(next(iter(gateway.containers([listed.id])))) == rule
    plan = plan_cleanup([listed], session.guard.rules)
    assert plan.to_remove == () and [k.container.name for k in plan.protected_kept] == [name]
    with pytest.raises(Refused) as err:
        session.guard.remove(listed, force=True)
    assert rule.describe() in str(err.value)
    # a stale plan that holds it all the same: the guard's own look keeps it
    outcome = session.guard.remove_if_still_stopped(listed)
    assert outcome.result == "skipped" and rule.describe() in outcome.reason


@pytest.mark.parametrize("way", WAYS)
def test_an_agent_is_protected_however_it_names_its_image(docker_host, test_engine, scratch, images, way):
    name = make_agent(test_engine, images, scratch, way)
    session = session_for(docker_host)
    try:
        assert_protected_everywhere(session, name, way)
    finally:
        session.close()
    assert test_engine.ids(f"name=^/{name}$")


@pytest.mark.parametrize("way", ["short id", "another tag", "tag moved by docker tag", "tag moved by a re-import"])
def test_the_headless_cleanup_keeps_the_agent_and_removes_the_rest(docker_host, test_engine, scratch, images, way,
                                                                  capsys):
    label = {"carina.cleanup": scratch.tag}
    agent = make_agent(test_engine, images, scratch, way, labels=label)
    plain = scratch.exited("plain", labels=label)
    code = main(["cleanup", "--host", docker_host, "--label", f"carina.cleanup={scratch.tag}", "--yes", "--json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    report = json.loads(out.out)
    assert [(p["name"], p["rule"]) for p in report["protected"]] == [(agent, IMAGE_RULE)]
    assert [r["name"] for r in report["removed"]] == [plain]
    assert test_engine.ids(f"name=^/{agent}$") and not test_engine.ids(f"name=^/{plain}$")


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(way=st.sampled_from(WAYS), state=st.sampled_from(["created", "exited"]), short=st.integers(4, 63))
def test_property_every_way_of_naming_the_agents_image_is_protected(docker_host, test_engine, way, state, short):
    scratch = harness.Scratch(test_engine)
    images = Images(test_engine, scratch)
    session = session_for(docker_host)
    try:
        name = make_agent(test_engine, images, scratch, way, state=state, short=short)
        assert_protected_everywhere(session, name, way)
        assert test_engine.ids(f"name=^/{name}$")
    finally:
        session.close()
        images.cleanup()


def test_a_tag_added_to_an_image_protects_its_containers_within_a_second(docker_host, test_engine, scratch, images,
                                                                        monkeypatch):
    """The image's names are read again when they are older than IMAGE_NAMES_MAX_AGE: here, at once."""
    from carina_tui.gateways import docker_gateway

    own = f"t{scratch.tag}-plain:1"
    images.imported(own)
    name = scratch.create("plain", image=own)
    session = session_for(docker_host)
    gateway = next(iter(session.gateways.values()))
    c = gateway.container(test_engine.ids(f"name=^/{name}$")[0])
    assert session.guard.classify(c) is None
    images.tag(own, f"carina/consul:t{scratch.tag}")
    monkeypatch.setattr(docker_gateway, "IMAGE_NAMES_MAX_AGE", 0.0)
    with pytest.raises(Refused) as err:
        session.guard.remove(c)
    assert IMAGE_RULE in str(err.value)
    session.close()
    assert test_engine.ids(f"name=^/{name}$")
