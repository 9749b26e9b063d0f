#!/usr/bin/env python3
"""Seconds from a quit key to the end of the process, on a 5-node sandbox with logs following (issue 10).

Not a test: it prints figures. As root:

    .venv/bin/python benchmarks/quit_time.py                 # its own 5-node sandbox, 5 runs per key
    .venv/bin/python benchmarks/quit_time.py --runs 3 --nodes 3
    .venv/bin/python benchmarks/quit_time.py --config PATH --cluster NAME   # a sandbox already up

What it does: starts a sandbox of its own (``harness.start_test_sandbox``: per-run name and
subnet, removed at the end) unless one is named; then for each key (``q``, ``ctrl+c``,
``ctrl+q``) and run, runs ``python -m carina_tui --config --cluster`` in a private tmux server,
waits until every node answers, opens the logs of ``wordpress`` (``/``, the name, ``l``) so a
log follow streams beside every engine's event stream and the Consul watch, sends the key, and
polls ``/proc`` every 5 ms until the process is gone. Prints each run, the median per key and
the load average (wall-clock figures on a busy machine are not comparable). Target: 1 s.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
for _path in (REPO, REPO / "tests"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from tmux_console import Tmux, console_command, open_logs, seconds_to_exit, wait_screen  # noqa: E402

TARGET_S = 1.0
KEYS = {"q": "q", "ctrl+c": "C-c", "ctrl+q": "C-q"}


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def one_run(tmux: Tmux, config: str, cluster: str, nodes: int, key: str, n: int) -> float:
    session = f"quit-{n}"
    tmux.run("new-session", "-d", "-s", session, "-x", "200", "-y", "50",
             console_command(["--config", config, "--cluster", cluster]))
    pid = tmux.pane_pid(session)
    seen, text = wait_screen(tmux, session, lambda t: len(re.findall(r"└ \S+ +yes ", t)) == nodes, 90, step=0.05)
    if seen is None:
        tmux.kill_session(session)
        raise RuntimeError(f"the console did not show {nodes} nodes up; the screen:\n{text}")
    open_logs(tmux, session, "wordpress")
    time.sleep(1.0)  # settled: the streams are open and idle
    since = time.perf_counter()
    tmux.keys(session, key)
    took = seconds_to_exit(pid, since, 60)
    tmux.kill_session(session)
    if took is None:
        raise RuntimeError(f"{key}: the console still ran 60 s after the key")
    return took


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--nodes", type=int, default=5)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--config", help="clusters.toml of a sandbox already up (with --cluster)")
    parser.add_argument("--cluster")
    args = parser.parse_args()
    if os.geteuid() != 0 and not args.config:
        print("The sandbox needs root.", file=sys.stderr)
        return 2

    import harness

    state = home = None
    tmux = Tmux(f"carina-bench-quit-{os.getpid()}")
    try:
        if args.config:
            config, cluster, nodes = args.config, args.cluster, args.nodes
        else:
            home = Path(tempfile.mkdtemp(prefix="carina-bench-quit-"))
            started = time.perf_counter()
            state = harness.start_test_sandbox(home, nodes=args.nodes)
            config, cluster, nodes = state.config_file, state.name, len(state.nodes)
            print(f"sandbox {cluster}: {nodes} nodes up in {time.perf_counter() - started:.1f} s")
        print(f"quit with logs following, {nodes} nodes, {args.runs} runs per key (target {TARGET_S:.1f} s)")
        medians = {}
        for name, key in KEYS.items():
            figures = []
            for n in range(args.runs):
                took = one_run(tmux, config, cluster, nodes, key, n)
                figures.append(took)
                print(f"  {name:7} run {n + 1}: {took:.3f} s  (load {loadavg()})")
            medians[name] = statistics.median(figures)
        print("median seconds from the key to the end of the process:")
        for name, value in medians.items():
            print(f"  {name:7} {value:.3f} s {'ok' if value <= TARGET_S else 'OVER the target'}")
        return 0 if all(v <= TARGET_S for v in medians.values()) else 1
    finally:
        tmux.kill_server()
        if state is not None:
            harness.stop_test_sandbox(state)
        if home is not None:
            shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
