"""The service forms' checks (core/swarm_validate.py), service protection by the container rules,
and how a detailed service log line is read (no engine)."""

from __future__ import annotations

import pytest

from carina_tui.core import swarm_validate as sv
from carina_tui.core.errors import ValidationError
from carina_tui.core.rules import DEFAULT_RULES, Rule, matching_rule
from carina_tui.core.swarm_models import ServiceInfo, ServicePort
from carina_tui.gateways.swarm_gateway import _detailed


def test_a_full_create_form_becomes_its_spec():
    spec = sv.service_spec(name="web", image_text="busybox:latest", replicas_text="3", networks=["mynet", "mynet"],
                           ports_text="8080:80 53/udp", env="A=1 B=two", constraints_text="node.hostname == n1, node.role!=manager",
                           command="sh -c 'sleep 9'", labels="team=web")
    assert spec.name == "web" and spec.replicas == 3 and spec.networks == ("mynet",)
    assert spec.endpoint_mode == "dnsrr"
    # DNS round robin cannot use the routing mesh: ports are published on each task's node.
    assert spec.ports == (ServicePort(80, 8080, "tcp", "host"), ServicePort(53, None, "udp", "host"))
    assert spec.constraints == ("node.hostname==n1", "node.role!=manager")
    assert spec.env == ("A=1", "B=two") and spec.command == ("sh", "-c", "sleep 9")
    assert spec.labels == (("team", "web"),)
    vip = sv.service_spec(name="web", image_text="busybox", ports_text="8080:80", endpoint_mode="vip", mode="global")
    assert vip.ports == (ServicePort(80, 8080, "tcp", "ingress"),) and vip.mode == "global" and vip.replicas == 0


@pytest.mark.parametrize("given, field, words", [
    (dict(name=""), "name", "Give the service a name"),
    (dict(name="-web"), "name", "not a usable service name"),
    (dict(name="web.1"), "name", "not a usable service name"),
    (dict(name="web", existing=[ServiceInfo("x", "web", "replicated", "busybox", 1, 2)]), "name",
     "A service named web already exists (replicated, 1/2 running)"),
    (dict(image_text=""), "image", "Give an image"),
    (dict(image_text="busy box"), "image", "holds a space"),
    (dict(replicas_text="-1"), "replicas", "not a replica count"),
    (dict(replicas_text="100001"), "replicas", "from 0 to 10,000"),
    (dict(constraints_text="node.hostname=n1"), "constraints", "not a placement constraint"),
    (dict(ports_text="10.0.0.1:80:80"), "ports", "leave the address out"),
    (dict(ports_text="80:80:80:80"), "ports", "not a port mapping"),
    (dict(env="=x"), "env", "not an environment variable"),
    (dict(mode="sometimes"), "mode", "not one of replicated, global"),
    (dict(endpoint_mode="ipvs"), "endpoint_mode", "not one of dnsrr, vip"),
])
def test_what_is_wrong_is_said_on_its_field(given, field, words):
    fields = {"name": "web", "image_text": "busybox", **given}
    with pytest.raises(ValidationError) as caught:
        sv.service_spec(**fields)
    assert caught.value.field == field and words in str(caught.value)


def test_a_service_answers_to_the_container_rules():
    plain = ServiceInfo("1", "web", "replicated", "busybox:latest@sha256:abc")
    assert matching_rule(plain, DEFAULT_RULES) is None
    labelled = ServiceInfo("2", "web", "replicated", "busybox", labels=(("carina.protected", "TRUE"),))
    assert matching_rule(labelled, DEFAULT_RULES).describe() == 'label "carina.protected=true" (default)'
    consul = ServiceInfo("3", "agent", "global", "carina/consul:latest@sha256:abc")
    assert matching_rule(consul, DEFAULT_RULES).kind == "image"
    named = ServiceInfo("4", "consul-sync", "replicated", "busybox")
    assert matching_rule(named, (Rule("name_pattern", "consul-*", "config"),)).source == "config"


def test_a_detailed_log_line_names_its_task_and_node():
    line = "com.docker.swarm.node.id=n1,com.docker.swarm.service.id=s1,com.docker.swarm.task.id=t1 hello there"
    assert _detailed(line) == ("t1", "n1", "hello there")
    assert _detailed("warning: incomplete log stream") == ("", "", "warning: incomplete log stream")


def test_the_last_update_reads_as_what_and_when():
    s = ServiceInfo("1", "web", "replicated", "busybox", created=1000.0, updated=1000.0)
    assert s.update_text(now=1060.0) == "created 1m"
    assert ServiceInfo("1", "web", "replicated", "b", created=1000.0, updated=1500.0).update_text(now=1600.0) == "updated 1m"
    assert ServiceInfo("1", "w", "replicated", "b", created=1.0, updated=1500.0,
                       update_state="completed").update_text(now=1560.0) == "completed 1m"
    assert ServiceInfo("1", "w", "replicated", "b", update_state="updating").update_text() == "updating"
