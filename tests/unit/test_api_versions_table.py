"""The API version table: comparing versions, and the sentence for a feature an engine lacks."""

from __future__ import annotations

import pytest

from carina_tui.core.api_versions import FEATURES, ApiTooOld, older, parse, require, too_old
from carina_tui.gateways.api_version import refused_version, versioned


def test_versions_compare_as_numbers_not_text():
    assert parse("1.9") < parse("1.10") and older("1.9", "1.24") and not older("1.41", "1.28")
    assert parse("") == () and older("", "1.24"), "an unknown version counts as the oldest"


def test_every_feature_has_a_version_and_words():
    assert all(parse(f.needs) >= (1, 24) and f.what for f in FEATURES.values())


def test_too_old_names_the_engine_both_versions_and_releases():
    assert too_old("Engine web", "1.41", "prune.until") == ""
    assert too_old("Engine web", "1.25", "prune.until") == (
        "Engine web speaks Docker API 1.25 (Docker 1.13), and an until filter on prune needs API 1.28 or newer "
        "(Docker 17.04); upgrade that engine, or do this on an engine that has it.")
    with pytest.raises(ApiTooOld):
        require("Engine web", "1.24", "network.prune")
    require("Engine web", "1.25", "network.prune")


def test_pinned_paths_carry_the_version_once():
    assert versioned("/info", "1.24") == "/v1.24/info"
    assert versioned("/v1.41/info", "1.24") == "/v1.41/info"
    assert versioned("/version", "1.24") == "/v1.24/version"
    assert versioned("/info", "") == "/info"


def test_an_engine_message_about_versions_becomes_a_sentence():
    new = refused_version("client version 1.41 is too new. Maximum supported API version is 1.24", "The engine x", "")
    assert new is not None and "now speaks Docker API 1.24 (Docker 1.12), older than the 1.41" in str(new)
    assert refused_version("No such container: web", "The engine x", "") is None


def test_the_clusters_pane_gets_one_version_or_the_range_in_numeric_order():
    from types import SimpleNamespace as Info

    from carina_tui.core.api_versions import api_range

    assert api_range([Info(api_version="1.41"), Info(api_version="1.41")]) == "1.41"
    assert api_range([Info(api_version="1.9"), None, Info(api_version="1.41"), Info(api_version="1.24")]) == "1.9–1.41"
    assert api_range([Info(api_version=""), None]) == ""
