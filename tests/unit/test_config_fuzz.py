"""Whatever is in the file, the user gets a Config or a sentence: never a traceback."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from carina_tui.core.config import parse_config
from carina_tui.core.endpoints import BadEndpoint, parse_endpoint
from carina_tui.core.errors import ConfigError
from carina_tui.core.rules import Rule

KEYS = ["endpoints", "tls_ca", "tls_cert", "tls_key", "tls_verify", "tls", "consul", "consul_token", "colour",
        "read_only", "insecure", "discover_nodes", "node_port", "protect", "name", "label", "image", "endpoint"]

# TOML values written as JSON literals are valid TOML for strings, numbers, booleans and arrays of them.
scalars = st.one_of(st.booleans(), st.integers(-5, 70000), st.text(max_size=30),
                    st.sampled_from(["tcp://10.0.0.1:2376", "unix:///s", "tcp://h", "ssh://u@h", "x=y", "http://c:8500"]))
values = st.one_of(scalars, st.lists(scalars, max_size=3))


def toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return json.dumps(value)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(KEYS), values, max_size=6), st.booleans())
def test_any_cluster_table_gives_a_config_or_a_sentence(body, as_rule):
    lines = ["[[protect]]" if as_rule else "[clusters.c]"] + [f"{k} = {toml_value(v)}" for k, v in body.items()]
    try:
        config = parse_config("\n".join(lines) + "\n", "/etc/c.toml")
    except ConfigError as err:
        sentence = str(err)
        assert "/etc/c.toml" in sentence and sentence.endswith((".", "?"))
        return
    for spec in config.clusters:
        assert spec.endpoints
        for url in spec.endpoints:
            parse_endpoint(url)  # every endpoint that got through is a usable address
    assert all(isinstance(r, Rule) for r in config.rules)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_any_text_gives_a_config_or_a_sentence(text):
    try:
        parse_config(text, "/etc/c.toml")
    except ConfigError as err:
        assert "/etc/c.toml" in str(err)


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=60))
def test_any_address_parses_or_says_why(url):
    try:
        endpoint = parse_endpoint(url)
    except BadEndpoint as err:
        assert str(err)
        return
    assert endpoint.scheme in ("tcp", "unix", "ssh")
