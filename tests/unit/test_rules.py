"""The default protection rules classify correctly, and lookalikes are not protected."""

from __future__ import annotations

import pytest

from carina_tui.core.models import ContainerInfo
from carina_tui.core.rules import DEFAULT_RULES, Rule, image_repository, matching_rule


def c(name="x", image="busybox:latest", labels=()):
    return ContainerInfo(id="0" * 64, name=name, state="exited", image=image, labels=labels)


@pytest.mark.parametrize(
    "container, kind",
    [
        (c(name="carina-svcd"), "name"),
        (c(name="node-1/carina-svcd"), "name"),
        (c(name="/carina-svcd"), "name"),
        (c(image="carina/consul"), "image"),
        (c(image="carina/consul:0.5.2"), "image"),
        (c(image="docker.io/carina/consul:latest"), "image"),
        (c(image="mirror.example:5000/carina/consul:1"), "image"),
        (c(labels=(("carina.protected", "true"),)), "label"),
        (c(labels=(("carina.protected", "True"),)), "label"),
    ],
)
def test_default_rules_protect(container, kind):
    rule = matching_rule(container, DEFAULT_RULES)
    assert rule is not None and rule.kind == kind


@pytest.mark.parametrize(
    "container",
    [
        c(name="carina-svcd-backup"),
        c(name="my-carina-svcd"),
        c(name="carina-svcd/other"),
        c(image="carina/consulting"),
        c(image="carina/consul-tools:1"),
        c(image="other/carina/consul"),
        c(labels=(("carina.protected", "false"),)),
        c(labels=(("carina.protected.not", "true"),)),
    ],
)
def test_lookalikes_are_not_protected(container):
    assert matching_rule(container, DEFAULT_RULES) is None


def test_name_pattern_and_describe():
    rule = Rule("name_pattern", "consul-*", source="config")
    assert rule.matches(c(name="node2/consul-agent"))
    assert not rule.matches(c(name="agent-consul"))
    assert rule.describe() == 'name pattern "consul-*" (config)'


def test_unknown_rule_kind_is_refused():
    with pytest.raises(ValueError):
        Rule("colour", "red")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "image, repo",
    [
        ("busybox", "busybox"),
        ("library/busybox:1", "busybox"),
        ("localhost:5000/a/b:2", "localhost:5000/a/b"),
        ("a/b@sha256:abc", "a/b"),
    ],
)
def test_image_repository(image, repo):
    assert image_repository(image) == repo
