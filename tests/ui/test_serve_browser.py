"""``carina-tui serve`` in a real headless browser (Debian's chromium): the page loads, the panes
and the engine's containers show, keys typed in the page reach the console, and without
--allow-changes a mutating key does nothing to the engine; with it, the same key acts."""

from __future__ import annotations

import os
import urllib.error
import urllib.request

import pytest

import browser
from harness import ROOT, carina

# The screenshot goes to screenshots/ when CARINA_SCREENSHOTS=1 (it is kept there), else to the test's tmp dir.
SHOTS = ROOT / "screenshots" if os.environ.get("CARINA_SCREENSHOTS") == "1" else None


@pytest.fixture
def page(tmp_path):
    problem = browser.missing()
    if problem:
        pytest.fail(f"The browser tests need {problem} (apt-get install chromium chromium-driver).", pytrace=False)
    b = browser.Browser(tmp_path / "profile")
    yield b
    b.close()


def state(test_engine, name: str) -> str:
    return test_engine.docker("inspect", "--format", "{{.State.Status}}", name).strip()


def test_served_console_is_read_only_and_answers_keys(docker_host, test_engine, scratch, page, tmp_path):
    web = scratch.run("served-web")
    port = browser.free_port()
    with browser.served("--host", docker_host, "serve", "--port", str(port), port=port, log=tmp_path / "serve.log"):
        page.open(f"http://127.0.0.1:{port}/")
        assert "read-only (served)" in page.driver.title
        shown = page.wait_for(lambda s: "Containers" in s and web in s, f"the Containers pane with {web}")
        assert "Networks" in shown and "READ-ONLY (served)" in shown
        shot = (SHOTS or tmp_path) / "serve-browser.png"
        page.screenshot(shot)
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

        page.type("3")  # focus the Containers pane: the newest running container is its first row
        page.type("?")
        keys = page.wait_for(lambda s: "Keys: Containers" in s, "the help for the Containers pane")
        assert "Start/stop (disabled: read-only)" in keys
        page.type("\ue00c")  # Escape
        page.wait_for(lambda s: "Keys: Containers" not in s, "the help closed")
        page.type("s")
        page.type("r")  # a refresh after the key: the pane shows what the engine holds
        page.wait_for(lambda s: web in s, f"{web} still listed")
    assert state(test_engine, web) == "running"


def test_allow_changes_lets_the_same_key_act(docker_host, test_engine, scratch, page, tmp_path):
    web = scratch.run("served-stop")
    port = browser.free_port()
    with browser.served("--host", docker_host, "serve", "--port", str(port), "--allow-changes",
                        port=port, log=tmp_path / "serve.log"):
        page.open(f"http://127.0.0.1:{port}/")
        assert "changes allowed (served)" in page.driver.title
        shown = page.wait_for(lambda s: web in s, f"{web} in the Containers pane")
        assert "READ-ONLY" not in shown and "CHANGES ALLOWED (served)" in shown
        page.type("3")
        page.type("s")
        page.wait_for(lambda s: "exited" in next((line for line in s.splitlines() if web in line), ""),
                      f"{web} shown exited", timeout=60)
    assert state(test_engine, web) == "exited"


def test_an_engine_that_does_not_answer_is_a_sentence_before_serving(tmp_path):
    port = browser.free_port()
    done = carina("--host", f"unix://{tmp_path}/nothing.sock", "serve", "--port", str(port), timeout=60)
    assert done.returncode == 1
    assert done.stderr.startswith(f"carina-tui: No Docker engine answers at unix://{tmp_path}/nothing.sock"), done.stderr


def test_a_page_of_another_name_is_refused(docker_host, tmp_path):
    """A name pointed at this machine (DNS rebinding) must not reach the console."""
    port = browser.free_port()
    with browser.served("--host", docker_host, "serve", "--port", str(port), port=port, log=tmp_path / "serve.log"):
        request = urllib.request.Request(f"http://127.0.0.1:{port}/", headers={"Host": f"evil.example:{port}"})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        assert refused.value.code == 403
        request = urllib.request.Request(f"http://127.0.0.1:{port}/ws", headers={
            "Origin": "http://evil.example", "Connection": "Upgrade", "Upgrade": "websocket",
            "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        assert refused.value.code == 403
