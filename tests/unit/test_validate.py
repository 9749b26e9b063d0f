"""Validation rules found by a new user (issue 12): labels with a space, and overlaps named as the
console names networks on a cluster of several engines. The other rules are in
tests/ui/test_validation.py, which also runs them through the real forms."""

from __future__ import annotations

import pytest

from carina_tui.core import validate
from carina_tui.core.errors import ValidationError
from carina_tui.core.models import IPAMConfig, NetworkInfo

HOLDS_A_SPACE = ("holds a space: write key=value or a lone key per entry, entries separated by spaces; a key cannot "
                 'hold a space, and a value that does is quoted, as team="web ops".')


@pytest.mark.parametrize("typed, entry", [
    ("bad label", "bad label"),  # was {"bad": "", "label": ""}
    ("a=1 bad label c=3", "bad label"),
    ("team web=ops", "team web=ops"),  # a key with a space
    ("team=web ops", "team=web ops"),  # a value with a space, unquoted
    ("env=prod   three word key", "three word key"),
])
@pytest.mark.parametrize("field, what", [("labels", "labels"), ("options", "driver options")])
def test_an_entry_with_a_space_is_a_sentence_naming_it_and_the_field(typed, entry, field, what):
    with pytest.raises(ValidationError) as caught:
        validate.key_values(typed, field, what)
    assert str(caught.value) == f'"{entry}" in the {what} {HOLDS_A_SPACE}'
    assert caught.value.field == field


@pytest.mark.parametrize("typed, pairs", [
    ("prod", (("prod", ""),)),  # a lone key: an empty value, as docker --label prod
    ("tier=web team=ops", (("team", "ops"), ("tier", "web"))),
    ('team="web ops" tier=', (("team", "web ops"), ("tier", ""))),
    ("  ", ()),
])
def test_good_entries_still_make_pairs(typed, pairs):
    assert validate.key_values(typed, "labels", "labels") == pairs


def test_the_run_form_refuses_a_label_with_a_space_too():
    with pytest.raises(ValidationError, match='"bad label" in the labels holds a space') as caught:
        validate.run_spec(image="busybox", labels="bad label")
    assert caught.value.field == "labels"


GWBRIDGE = NetworkInfo(id="b0d1e5", name="docker_gwbridge", driver="bridge", scope="local", node="sandbox-n1",
                       ipam=(IPAMConfig(subnet="10.161.1.0/24"),))
OVERLAY = NetworkInfo(id="o0v3r1", name="mynet", driver="overlay", scope="swarm", node="sandbox-n1",
                      ipam=(IPAMConfig(subnet="10.0.9.0/24"),))


@pytest.mark.parametrize("qualify, subnet, named", [
    (True, "10.161.0.0/16", "sandbox-n1/docker_gwbridge"),  # a node's own network, on a cluster: node/name
    (False, "10.161.0.0/16", "docker_gwbridge"),  # one engine: the plain name, as the console shows it
    (True, "10.0.9.128/25", "mynet"),  # a swarm network is the same on every node: never qualified
])
def test_an_overlap_names_the_network_as_the_console_does(qualify, subnet, named):
    with pytest.raises(ValidationError) as caught:
        validate.network_spec(name="fresh", subnet_text=subnet, existing=[GWBRIDGE, OVERLAY], qualify=qualify)
    theirs = next(n for n in (GWBRIDGE, OVERLAY) if n.name == named.rsplit("/", 1)[-1]).ipam[0].subnet
    assert str(caught.value) == f"The subnet {subnet} overlaps {theirs} of network {named}; choose another range."
    assert caught.value.field == "subnet"
    assert GWBRIDGE.id not in str(caught.value) and OVERLAY.id not in str(caught.value)


def test_display_name_is_the_networks_panes_rule():
    assert GWBRIDGE.display_name(True) == "sandbox-n1/docker_gwbridge"
    assert GWBRIDGE.display_name(False) == "docker_gwbridge"
    assert OVERLAY.display_name(True) == "mynet"
    unknown_node = NetworkInfo(id="x", name="bridge", driver="bridge", scope="local")
    assert unknown_node.display_name(True) == "bridge"
