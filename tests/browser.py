"""A real headless browser for the served console: Debian's chromium driven by selenium through
Debian's chromedriver (no browser build is downloaded), and ``carina-tui serve`` in a process
of its own.

The page draws the terminal on a canvas (xterm.js), so its text is read from xterm.js's own
screen buffer: a script given to the page before its own scripts catches the Terminal object
when it is built (``HOOK``), and ``Browser.screen()`` reads the lines it shows.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from harness import ROOT

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"

# xterm.js's Terminal sets ``this._core`` in its constructor: a setter on Object.prototype sees it.
HOOK = """
(() => {
  window.__terminals = [];
  Object.defineProperty(Object.prototype, '_core', {
    configurable: true,
    get() { return undefined; },
    set(value) {
      Object.defineProperty(this, '_core', {value, writable: true, configurable: true, enumerable: false});
      window.__terminals.push(this);
    },
  });
})();
"""

SCREEN = """
const t = (window.__terminals || []).find(x => { try { return x.buffer && x.buffer.active && x.rows; }
                                               catch (e) { return false; } });
if (!t) { return null; }
const b = t.buffer.active, out = [];
for (let y = 0; y < t.rows; y++) { const l = b.getLine(b.viewportY + y); out.push(l ? l.translateToString(true) : ''); }
return out.join('\\n');
"""


def missing() -> str:
    """'' when chromium, chromedriver and selenium are there, else what to install."""
    gone = [p for p in (CHROMIUM, CHROMEDRIVER) if not os.path.exists(p)]
    try:
        import selenium  # noqa: F401
    except ImportError:
        gone.append("selenium (pip install -e '.[test]')")
    return ", ".join(gone)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def served(*args: str, port: int, log: Path):
    """``carina-tui ARGS`` (a ``serve`` command line) running until the block ends; waits until
    the page answers."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "carina_tui", *args], stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as page:
                    if page.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"carina-tui serve did not answer: {log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.2)
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)  # the server and the consoles it started
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)


class Browser:
    def __init__(self, profile: Path, size: tuple[int, int] = (1400, 900)) -> None:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage", f"--user-data-dir={profile}", f"--window-size={size[0]},{size[1]}",
                    # Only this machine: the page also asks for a web font elsewhere; that name resolves to nothing.
                    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost , EXCLUDE 127.0.0.1"):
            options.add_argument(arg)
        self.driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        self.driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": HOOK})

    def open(self, url: str) -> None:
        self.driver.get(url)

    def screen(self) -> str:
        return self.driver.execute_script(SCREEN) or ""

    def wait_for(self, test, what: str, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while True:
            text = self.screen()
            if test(text):
                return text
            if time.monotonic() > deadline:
                raise AssertionError(f"the page never showed {what}; it shows:\n{text}")
            time.sleep(0.2)

    def type(self, keys: str) -> None:
        """Keys as a person types them into the page (the terminal's input takes them)."""
        from selenium.webdriver.common.by import By

        self.driver.find_element(By.CSS_SELECTOR, ".xterm-helper-textarea").send_keys(keys)

    def screenshot(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.driver.save_screenshot(str(path))

    def close(self) -> None:
        self.driver.quit()


def remove_profile(profile: Path) -> None:
    shutil.rmtree(profile, ignore_errors=True)
