"""How long `carina-tui sandbox up` and `down` take, and what the sandbox holds in memory.

Targets (issue 7), on the 2-core machine: a 3-node sandbox up in under 10 s and
down in under 10 s. Runs ROUNDS rounds (default 3) of up/down with a private
name, subnet and folders, so it never meets a user's sandbox, and prints every
figure and the median. Root, Linux.

    python benchmarks/sandbox_updown.py [--nodes 3] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from carina_tui.sandbox import cluster  # noqa: E402
from carina_tui.sandbox import engine as eng  # noqa: E402


def _rss_mib(pids: set[int]) -> float:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def _sandbox_pids(state: cluster.SandboxState) -> set[int]:
    pids: set[int] = set()
    for node in state.nodes:
        engine = eng.load_engine(Path(node.engine_dir))
        if engine is not None:
            pids |= set(eng._engine_pids(engine))
    return pids


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("The sandbox needs root: run this benchmark as root.", file=sys.stderr)
        return 1
    folder = Path(tempfile.mkdtemp(prefix="carina-bench-sbx-", dir="/tmp"))
    ups, downs = [], []
    try:
        for round_no in range(1, args.rounds + 1):
            name = f"b{secrets.token_hex(2)}"
            load = os.getloadavg()[0]
            started = time.monotonic()
            state = cluster.sandbox_up(
                nodes=args.nodes, managers=1, base_dir=folder / "sbx", name=name, subnet="10.215.77.0/24",
                carina_home=folder / "carina", config_file=folder / "config" / "clusters.toml",
            )
            up = time.monotonic() - started
            rss = _rss_mib(_sandbox_pids(state))
            started = time.monotonic()
            cluster.sandbox_down(state.base_dir)
            down = time.monotonic() - started
            ups.append(up)
            downs.append(down)
            print(f"round {round_no}: {args.nodes}-node up {up:.2f} s, down {down:.2f} s, "
                  f"engines+containerd+shims RSS {rss:.0f} MiB (load average before: {load:.1f})", flush=True)
    finally:
        if (folder / "sbx" / "state.json").exists():
            cluster.sandbox_down(folder / "sbx")
        shutil.rmtree(folder, ignore_errors=True)
    print(f"median: up {statistics.median(ups):.2f} s (target < 10 s), down {statistics.median(downs):.2f} s "
          f"(target < 10 s); {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    sys.exit(main())
