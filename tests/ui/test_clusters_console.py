"""Clusters in the console against real engines: every cluster listed, a live switch to a
TLS engine from a Carina bundle, the wrong CA's sentence, and one cluster of two engines."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pilot_helpers import make_app, names_shown, notices, row_texts, started, wait_until

import tlsutil
from carina_tui.core.clusters import ClusterSpec
from carina_tui.core.config import parse_config
from carina_tui.sandbox import engine as eng
from carina_tui.sandbox.images import BUSYBOX_IMAGE, ensure_local_images
from carina_tui.services.session import Session
from carina_tui.ui.app import CarinaApp
from tls_lab import SYSTEM_BUNDLE, lab  # noqa: F401 - lab is the module-scoped TLS engine fixture

SIZE = (180, 50)


@pytest.fixture(autouse=True)
def system_ca_bundle_in_env(monkeypatch):
    """As on this machine: requests is told to trust the system CAs; the cluster's CA must win."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", SYSTEM_BUNDLE)
    monkeypatch.setenv("CURL_CA_BUNDLE", SYSTEM_BUNDLE)


@pytest.fixture(scope="module")
def tls_container(lab):
    """A container that only the TLS engine holds."""
    ensure_local_images(lab.engine.url)
    name = f"on-tls-{os.getpid()}"
    eng.docker(lab.engine.url, "run", "--detach", "--name", name, BUSYBOX_IMAGE, "sleep", "3600")
    yield name
    eng.docker(lab.engine.url, "rm", "--force", name, check=False)


def cluster_rows(app) -> dict[str, dict[str, str]]:
    """The cluster rows by name, each as column key -> what the cell shows."""
    keys = app.pane("clusters").table.column_keys
    return {r[0].strip("● ").strip(): dict(zip(keys, r)) for r in row_texts(app.pane("clusters"))
            if not r[0].startswith("  └")}


async def select_cluster(pilot, app, name: str) -> None:
    pane = app.pane("clusters")
    index = next(i for i, r in enumerate(row_texts(pane)) if r[0].strip("● ").strip() == name)
    await pilot.press("1")
    pane.table.move_cursor(row=index)
    await pilot.pause(0.05)
    await pilot.press("enter")


async def test_every_cluster_is_listed_and_the_console_switches_to_a_tls_bundle(lab, tls_container, docker_host,
                                                                                 scratch):
    home = Path(os.environ["CARINA_HOME"])
    url = lab.tls_relay.url
    tlsutil.write_bundle(home / "clusters/alice/prod", url, lab.ca.cert, lab.client.cert, lab.client.key,
                         new_layout=True)
    tlsutil.write_bundle(home / "clusters/alice/badca", url, lab.other_ca.cert, lab.client.cert, lab.client.key)
    local = scratch.run("local")
    app = CarinaApp(Session(ClusterSpec("here", "cli", (docker_host,))))
    async with app.run_test(size=SIZE) as pilot:
        containers = app.pane("containers")
        assert await wait_until(pilot, lambda: local in names_shown(containers))
        assert await wait_until(pilot, lambda: {"prod", "badca"} <= set(cluster_rows(app)), timeout=10)
        assert await wait_until(pilot, lambda: cluster_rows(app)["prod"]["reach"] == "yes", timeout=10)
        rows = cluster_rows(app)
        assert rows["prod"]["source"] == "carina" and rows["prod"]["tls"] == "on" and rows["prod"]["endpoint"] == url
        assert rows["badca"]["reach"] == "no"

        await select_cluster(pilot, app, "prod")
        assert await wait_until(pilot, lambda: tls_container in names_shown(containers), timeout=10)
        assert local not in names_shown(containers)
        assert app.session.spec.name == "prod"
        assert "prod" in str(app.query_one("#header").render())

        await select_cluster(pilot, app, "badca")
        assert await wait_until(pilot, lambda: "not signed by the cluster's CA" in str(app.pane("clusters").border_subtitle),
                                timeout=10), app.pane("clusters").border_subtitle
        assert tls_container not in names_shown(containers)


async def test_a_cluster_of_two_engines_shows_both_and_acts_on_the_right_one(lab, tls_container, docker_host,
                                                                            scratch, test_engine):
    local = scratch.run("pairlocal")
    app = CarinaApp(Session(ClusterSpec("pair", "config", (docker_host, lab.engine.url))), discover=False)
    async with app.run_test(size=SIZE) as pilot:
        containers = app.pane("containers")
        assert await wait_until(pilot, lambda: {c.name for c in containers.items.values()} >= {local, tls_container})
        by_name = {c.name: c for c in containers.items.values()}
        remote_node = by_name[tls_container].node
        assert remote_node and remote_node != by_name[local].node
        rows = {r[0]: r for r in row_texts(containers)}
        assert f"{remote_node}/{tls_container}" in rows  # node/name, as Carina's docker ps showed
        assert rows[f"{remote_node}/{tls_container}"][2] == remote_node  # the node column
        clusters = [r for r in row_texts(app.pane("clusters")) if r[0].startswith("  └")]
        assert len(clusters) == 2 and all(r[2] == "yes" for r in clusters)
        # each node's API version, as its engine says it (issue 17: engines of mixed versions)
        api = {url: eng.docker(url, "version", "-f", "{{.Server.APIVersion}}").strip()
               for url in (docker_host, lab.engine.url)}
        nodes = {r.endpoint: r for r in app.pane("clusters").items.values() if r.kind == "node"}
        assert {url: r.api for url, r in nodes.items()} == api

        await pilot.press("3", "slash", *tls_container, "enter")
        assert await wait_until(pilot, lambda: names_shown(containers) == {f"{remote_node}/{tls_container}"})
        await pilot.press("s")
        state = lambda: eng.docker(lab.engine.url, "inspect", "-f", "{{.State.Status}}", tls_container).strip()  # noqa: E731
        assert await wait_until(pilot, lambda: state() == "exited", timeout=15)
        assert test_engine.docker("inspect", "-f", "{{.State.Status}}", local).strip() == "running"
        assert await wait_until(pilot, lambda: row_texts(containers)[0][1] == "exited", timeout=5)
        eng.docker(lab.engine.url, "start", tls_container)


async def test_a_cluster_that_does_not_answer_is_said_once(docker_host, tmp_path):
    """Switching to a cluster whose engine is not there: its sentence is one toast, not one per
    part of the console that found it out (the first load, the event stream, the panes' reads)."""
    socket = tmp_path / "nothing-here" / "docker.sock"
    config = parse_config(f'[clusters.gone]\nendpoints = ["unix://{socket}"]\n')
    app = make_app(docker_host, config=config)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        for key in ("5", "1", "6", "2", "7"):  # Services, Images and Volumes shown too: they read the cluster
            await pilot.press(key)
        assert await wait_until(pilot, lambda: "gone" in cluster_rows(app), timeout=10)
        await select_cluster(pilot, app, "gone")
        sentence = f"No Docker engine answers at unix://{socket}"
        assert await wait_until(pilot, lambda: sentence in notices(app), timeout=10), notices(app)
        await pilot.pause(3)  # the event stream's first ping, the panes' reads: all said by now
        shown = [n.message for n in app._notifications if sentence in n.message]
        assert len(shown) == 1, "\n".join(shown)
        assert app.session.spec.name == "gone"
        # What it costs the Images pane is said there, not in a toast of its own.
        images = app.query_one("#images")
        assert await wait_until(pilot, lambda: images.border_subtitle == "images of 1 engine not shown"), \
            images.border_subtitle
