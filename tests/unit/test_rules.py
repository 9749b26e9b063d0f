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


# -- an image rule holds however a container names its image (issue 13, hole 1) -----------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

HEX = "0123456789abcdef"
image_ids = st.text(HEX, min_size=64, max_size=64)
tags = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}", fullmatch=True)
mirrors = st.from_regex(r"[a-z][a-z0-9-]{0,8}(\.[a-z]{2,5}){1,2}(:[0-9]{2,5})?|localhost(:[0-9]{2,5})?|[a-z]{1,8}:[0-9]{2,5}",
                        fullmatch=True)
# Two rules of the two shapes: a repository with a namespace, and an official one (docker.io/library/...).
RULES = {"carina/consul": Rule("image", "carina/consul"), "consul": Rule("image", "consul", source="config")}


@st.composite
def names_of(draw, repo: str) -> str:
    """One way of writing the repository ``repo``: a registry or mirror, the implicit Docker Hub
    prefixes, a tag, a digest."""
    prefixes = ["", "docker.io/", "index.docker.io/", "registry-1.docker.io/"]
    if "/" not in repo:
        prefixes += ["library/", "docker.io/library/"]
    prefix = draw(st.one_of(st.sampled_from(prefixes), mirrors.map(lambda m: m + "/")))
    tag = draw(st.one_of(st.just(""), tags.map(lambda t: ":" + t)))
    digest = draw(st.one_of(st.just(""), image_ids.map(lambda d: "@sha256:" + d)))
    return prefix + repo + tag + digest


@st.composite
def referring(draw, repo: str) -> ContainerInfo:
    """A container whose image is ``repo`` in one of the ways the engine and the gateway report it:
    listed by name; listed by its image's id (made from the id, a short id, or its tag moved) with
    the name it was created from, or one of its image's tags or digests, among the other names."""
    image_id = draw(image_ids)
    listed_as_id = draw(st.sampled_from(["sha256:" + image_id, image_id[:draw(st.integers(4, 64))]]))
    other = draw(st.lists(st.sampled_from(["busybox:latest", "consul-agent:1", "sha256:" + image_id,
                                           "local/agent:2", image_id[:12]]), max_size=3))
    protected = draw(names_of(repo))
    where = draw(st.sampled_from(["listed", "created from", "a tag of its image"]))
    if where == "listed":
        image, refs = protected, other
    else:
        refs = draw(st.permutations(other + [protected]))
        image = listed_as_id
    return ContainerInfo(id=draw(image_ids), name=draw(st.from_regex(r"[a-z][a-z0-9_-]{0,15}", fullmatch=True)),
                         state="exited", image=image, image_id="sha256:" + image_id, image_refs=tuple(refs))


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(sorted(RULES)).flatmap(lambda repo: st.tuples(st.just(repo), referring(repo))))
def test_an_image_rule_holds_however_the_image_is_named(case):
    repo, container = case
    rule = RULES[repo]
    assert rule.matches(container), container
    assert matching_rule(container, (Rule("name", "carina-svcd"), rule)) == rule


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(RULES)), st.from_regex(r"[a-z0-9][a-z0-9_-]{0,6}", fullmatch=True),
       st.sampled_from(["suffix", "namespace", "tail"]), st.data())
def test_an_image_rule_does_not_hold_for_a_lookalike(repo, word, how, data):
    lookalike = {"suffix": f"{repo}{word}", "namespace": f"{word}x/{repo}", "tail": f"{repo}/{word}"}[how]
    container = data.draw(referring(lookalike))
    assert not RULES[repo].matches(container), container
