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


# --------------------------------------------------------------------------- names as the plan prints them


@pytest.mark.parametrize("written", ["consul-a", "/consul-a", "node/consul-a", "node-1/consul-a/", " consul-a "])
def test_a_name_rule_is_taken_as_the_plan_prints_it(written):
    rule = Rule("name", written, source="config")
    assert rule.value == "consul-a"
    for name in ("consul-a", "/consul-a", "node-2/consul-a"):
        assert rule.matches(c(name=name))
    assert not rule.matches(c(name="consul-ab"))


def test_a_name_pattern_drops_the_node_part_too():
    rule = Rule("name_pattern", "node/consul-*")
    assert rule.value == "consul-*" and rule.matches(c(name="node-3/consul-b"))


@pytest.mark.parametrize("kind, written, words", [
    ("name", "/", "names no container"),
    ("name", "//", "names no container"),
    ("name", "consul a", "is not a container name Docker allows"),
    ("name", "consul*", "is not a container name Docker allows"),
    ("name_pattern", "consul *", "is not a container name pattern"),
])
def test_a_name_that_can_never_match_is_refused(kind, written, words):
    with pytest.raises(ValueError, match=words):
        Rule(kind, written)


# --------------------------------------------------------------------------- labels


@pytest.mark.parametrize("key, value", [
    ("carina.protected", "true"), ("carina.protected", "TRUE"), ("carina.protected", " true"),
    ("carina.protected", "true "), (" carina.protected ", "True"),
])
def test_a_label_value_matches_in_any_case_and_without_the_spaces_around_it(key, value):
    assert matching_rule(c(labels=((key, value),)), DEFAULT_RULES).kind == "label"


def test_a_label_rule_is_read_the_same_way():
    rule = Rule("label", "  com.example.keep = Yes ")
    assert rule.value == "com.example.keep=Yes"
    assert rule.matches(c(labels=(("com.example.keep", "yes"),)))
    assert rule.matches(c(labels=(("com.example.keep ", " YES"),)))
    assert not rule.matches(c(labels=(("com.example.keep", "y es"),)))
    assert not rule.matches(c(labels=(("Com.Example.Keep", "yes"),)))  # keys are case-sensitive, as in Docker


@pytest.mark.parametrize("written", ["carina.protected", "=true", " = true"])
def test_a_label_rule_without_a_key_is_refused(written):
    with pytest.raises(ValueError, match='write it as "key=value"'):
        Rule("label", written)


# --------------------------------------------------------------------------- merging


def test_merging_keeps_the_first_of_each_rule_and_is_linear():
    from carina_tui.core.rules import merge_rules

    more = (Rule("name", "/carina-svcd", "config"), Rule("label", "carina.protected = TRUE", "config"),
            Rule("name", "vault", "config"), Rule("name", "vault", "cluster:x"))
    assert merge_rules(DEFAULT_RULES, more) == DEFAULT_RULES + (Rule("name", "vault", "config"),)
    many = tuple(Rule("name", f"keep-{i}", "config") for i in range(20_000))
    merged = merge_rules(DEFAULT_RULES, many, many)
    assert len(merged) == len(DEFAULT_RULES) + 20_000 and merged[-1] == many[-1]
