#!/usr/bin/env python3
"""Where the time goes between the first frame and the whole container list (issue 14).

Not a test: it prints figures. As root:

    .venv/bin/python benchmarks/whole_list.py [--containers 5002] [--runs 3]
    .venv/bin/python benchmarks/whole_list.py --serve /tmp/url     # an engine that stays up
    .venv/bin/python benchmarks/whole_list.py --url unix:///...    # use it (nothing made or removed)

The console runs in tmux at 160x50 (the real path: ``cli.main``), instrumented from inside: a
timeline of the stages (process start, first page listed, first frame, the whole list asked for,
its HTTP answer, JSON decode, conversion to ``ContainerInfo``, the ``Loaded`` message handled,
each chunk applied, the frame with the whole list), each with wall seconds since the process's
start and the CPU seconds of the thread that did it (``time.thread_time``), plus the process's CPU;
then a cProfile (thread CPU) of the main thread from the first frame to the whole list, and of the
thread that fetched the list. The engine's own list time and the load average are printed with
every run: wall figures on a busy machine are not comparable, CPU figures are.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import console_startup_idle as probe  # noqa: E402  (populate, Tmux, console_command, ...)
from vs_lazydocker import api_list_time, settle  # noqa: E402

SIZE = (160, 50)


def child(url: str, report: str, total: int, profile: bool) -> None:
    """Inside tmux: the console's start, instrumented; exits once the whole list is drawn."""
    import cProfile
    import io
    import pstats

    t0 = time.perf_counter()
    marks: list[tuple[float, float, float, str]] = []  # wall, process CPU, thread CPU, label
    lock = threading.Lock()

    def mark(label: str, thread_cpu: float | None = None) -> None:
        with lock:
            marks.append((time.perf_counter() - t0, time.process_time(),
                          time.thread_time() if thread_cpu is None else thread_cpu, label))

    import carina_tui.cli as cli
    from carina_tui.gateways import docker_gateway, unix_http
    from carina_tui.gateways.docker_gateway import DockerGateway
    from carina_tui.services.session import Session
    from carina_tui.ui.console_screen import ConsoleScreen
    from carina_tui.ui.panes import ContainersPane
    from carina_tui.ui.tables import TablePane
    mark("imports done (main)")

    main_prof = cProfile.Profile(time.thread_time) if profile else None
    gap_prof = cProfile.Profile(time.thread_time) if profile else None  # main: first frame -> whole list's Loaded
    list_prof = cProfile.Profile(time.thread_time) if profile else None
    sums: dict[str, list[float]] = {}  # label -> [calls, wall, thread cpu]

    def timed(owner, name, label, *, when=lambda a, kw: True, prof=None, marks_too=False):
        original = getattr(owner, name)

        def wrapper(*a, **kw):
            if not when(a, kw):
                return original(*a, **kw)
            w, c = time.perf_counter(), time.thread_time()
            if marks_too:
                mark(f"{label}: start [{threading.current_thread().name}]")
            if prof is not None:
                prof.enable()
            try:
                return original(*a, **kw)
            finally:
                if prof is not None:
                    prof.disable()
                dw, dc = time.perf_counter() - w, time.thread_time() - c
                with lock:
                    s = sums.setdefault(label, [0, 0.0, 0.0])
                    s[0] += 1
                    s[1] += dw
                    s[2] += dc
                if marks_too:
                    mark(f"{label}: end ({dw:.3f} s wall, {dc:.3f} s CPU)")

        setattr(owner, name, wrapper)

    whole = lambda a, kw: not kw.get("limit") and a[1:2] in ((), (None,)) and kw.get("ids") is None  # noqa: E731
    timed(DockerGateway, "containers", "whole list: gateway.containers", when=whole, prof=list_prof, marks_too=True)
    timed(DockerGateway, "containers", "first page: gateway.containers", when=lambda a, kw: bool(kw.get("limit")),
          marks_too=True)
    if hasattr(DockerGateway, "containers_later"):  # asked for now, read later
        original_later = DockerGateway.containers_later

        def containers_later(self):
            w, c = time.perf_counter(), time.thread_time()
            mark(f"whole list: asked [{threading.current_thread().name}]")
            read = original_later(self)
            mark(f"whole list: answer received ({time.perf_counter() - w:.3f} s wall, "
                 f"{time.thread_time() - c:.3f} s CPU)")

            def timed_read():
                w, c = time.perf_counter(), time.thread_time()
                mark(f"whole list: read (decode, convert): start [{threading.current_thread().name}]")
                if list_prof is not None:
                    list_prof.enable()
                try:
                    return read()
                finally:
                    if list_prof is not None:
                        list_prof.disable()
                    mark(f"whole list: read end ({time.perf_counter() - w:.3f} s wall, "
                         f"{time.thread_time() - c:.3f} s CPU)")
            return timed_read

        DockerGateway.containers_later = containers_later
    timed(unix_http.UnixKeepAlive, "_exchange", "  HTTP exchange (request, body read)",
          when=lambda a, kw: b"/containers/json" in a[3] and b"limit" not in a[3])  # a[3]: the request's bytes
    original_json_array = unix_http.json_array

    def json_array(body):
        w, c = time.perf_counter(), time.thread_time()
        items = list(original_json_array(body))
        dw, dc = time.perf_counter() - w, time.thread_time() - c
        if len(items) > 1000:
            with lock:
                sums["  JSON decode (json_array, list)"] = [1, dw, dc]
        return iter(items)

    docker_gateway.json_array = json_array
    original_container = DockerGateway._container
    conv = {"n": 0, "cpu": 0.0}

    def container(self, c, names):
        t = time.thread_time()
        try:
            return original_container(self, c, names)
        finally:
            conv["n"] += 1
            conv["cpu"] += time.thread_time() - t

    DockerGateway._container = container
    timed(DockerGateway, "_names_of_images", "  _names_of_images")
    timed(TablePane, "_apply", "TablePane._apply (containers)", when=lambda a, kw: isinstance(a[0], ContainersPane)
          and len(a[1]) > 200, marks_too=True)
    timed(TablePane, "_retitle", "TablePane._retitle (all panes)")
    timed(ConsoleScreen, "_derived", "ConsoleScreen._derived")

    state = {"first": None, "whole": False}
    original_loaded = ConsoleScreen._loaded

    def loaded(self, message):
        snap = message.snapshot
        mark(f"Loaded handled on main: {len(snap.containers)} containers{' (first page)' if snap.partial else ''}")
        if not snap.partial and len(snap.containers) >= total and main_prof is not None:
            gap_prof.disable()
            main_prof.enable()
        original_loaded(self, message)
        mark("  its _loaded done (main)")
        if snap.partial and state["first"] is None:
            state["first"] = True
            def first_frame():
                mark("FIRST FRAME (refresh after the first page)")
                if gap_prof is not None:
                    gap_prof.enable()
            self.app.call_after_refresh(first_frame)
        if not snap.partial and len(snap.containers) >= total and not state["whole"]:
            state["whole"] = True
            self.pane("containers").when_applied(lambda: self.app.call_after_refresh(done, self.app))

    ConsoleScreen._loaded = loaded
    # ``@on`` handlers are dispatched from the class's table of decorated handlers: replace it there too.
    for handlers in ConsoleScreen.__dict__["_decorated_handlers"].values():
        handlers[:] = [(loaded if method is original_loaded else method, sel) for method, sel in handlers]
    original_snapshot = Session.snapshot

    def snapshot(self, on_page=None):
        mark("Session.snapshot called (load worker)")
        return original_snapshot(self, on_page)

    Session.snapshot = snapshot

    def done(app) -> None:
        if main_prof is not None:
            main_prof.disable()
        mark("WHOLE LIST ON SCREEN (refresh after the last chunk)")
        app.exit()

    try:
        cli.main(["--host", url])
    finally:
        if main_prof is not None:
            main_prof.disable()

    out = io.StringIO()
    p = lambda *a: print(*a, file=out)  # noqa: E731
    summary = {}
    for w, cpu, _, label in sorted(marks):
        for key, starts in (("first_frame", ("FIRST FRAME",)),
                            ("asked", ("whole list: gateway.containers: start", "whole list: asked")),
                            ("received", ("whole list: answer received",)),
                            ("listed", ("whole list: gateway.containers: end", "whole list: read end")),
                            ("loaded", (f"Loaded handled on main: {total} ",)), ("whole", ("WHOLE LIST ON SCREEN",))):
            if label.startswith(starts) and key not in summary:
                summary[key] = (w, cpu)
    p("SUMMARY " + json.dumps(summary))
    p(f"   timeline (wall s since start; process CPU s; the thread's CPU s) | load avg {probe.loadavg()}")
    for w, cpu, tcpu, label in sorted(marks):
        p(f"     {w:7.3f}  proc {cpu:6.3f}  thr {tcpu:6.3f}  {label}")
    p("   sums (calls, wall s, thread CPU s):")
    for label, (n, w, c) in sums.items():
        p(f"     n={n:<5d} wall {w:7.3f}  cpu {c:7.3f}  {label}")
    p(f"     n={conv['n']:<5d}              cpu {conv['cpu']:7.3f}  _container (dict -> ContainerInfo), all lists")

    def top(prof, sort, n, title):
        buf = io.StringIO()
        pstats.Stats(prof, stream=buf).sort_stats(sort).print_stats(n)
        text = buf.getvalue()
        p(f"   {title}")
        p("\n".join("     " + line for line in text[text.find("   ncalls"):].splitlines() if line.strip()))

    if profile:
        main_prof.dump_stats(report + ".main.prof")  # for pstats' callers and callees
        list_prof.dump_stats(report + ".list.prof")
        top(gap_prof, "cumulative", 40, "main thread from the first frame to the whole list's Loaded, thread CPU:")
        top(main_prof, "tottime", 25, "main thread from the whole list's Loaded to its frame, thread CPU, by own time:")
        top(main_prof, "cumulative", 30, "the same, by cumulative time:")
        top(list_prof, "tottime", 20, "the whole list's gateway.containers, thread CPU, by own time:")
    Path(report + ".tmp").write_text(out.getvalue())
    os.replace(report + ".tmp", report)


def one_run(tmux: probe.Tmux, url: str, total: int, work: Path, n: int, profile: bool, tree: str = "") -> str:
    report = work / f"report-{n}.txt"
    session = f"w{n}"
    cmd = probe.console_command(url, extra=[str(Path(__file__).resolve()), "--child", url, str(report), str(total),
                                            *(["--profile"] if profile else [])])
    if tree:  # another copy of the project (with this script): its code, run the same way
        cmd = cmd.replace(str(probe.REPO), tree)
    tmux.run("new-session", "-d", "-s", session, "-x", str(SIZE[0]), "-y", str(SIZE[1]), cmd)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not report.exists():
        time.sleep(0.05)
    time.sleep(0.2)
    tmux.kill_session(session)
    text = report.read_text() if report.exists() else "   (no report written)"
    report.unlink(missing_ok=True)
    for kind in ("main", "list"):
        dumped = Path(f"{report}.{kind}.prof")
        if dumped.exists():
            dumped.replace(Path(f"/tmp/whole_list.{kind}.prof"))
    return text


def serve(total: int, top_dir: Path, url_file: str) -> int:
    from carina_tui.sandbox.engine import start_engine
    from carina_tui.sandbox.images import ensure_local_images

    engine = None
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        engine = start_engine(f"wl-{os.getpid()}", top_dir / "engine")
        ensure_local_images(engine.url)
        took = probe.populate(engine.url, total, 2, 48)
        settle(engine)
        print(f"{engine.url}: {total} containers in {took:.0f} s", flush=True)
        Path(url_file).write_text(engine.url)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return 0
    finally:
        probe.tear_down(None, engine, top_dir)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--containers", type=int, default=5002)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--url", help="an engine already up (holding --containers containers)")
    parser.add_argument("--serve", metavar="URL_FILE", help="start an engine, fill it, write its URL there, wait")
    parser.add_argument("--ab", metavar="DIR", help="another copy of the project (with this script) run in turn")
    parser.add_argument("--verbose", action="store_true", help="print every timed sum too")
    parser.add_argument("--profile", action="store_true", help="add cProfiles (thread CPU) of the stages")
    parser.add_argument("--child", nargs=3, metavar=("URL", "REPORT", "TOTAL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1], int(args.child[2]), args.profile)
        return 0
    top_dir = Path(f"/tmp/carina-wl-{os.getpid()}")
    if args.serve:
        return serve(args.containers, top_dir, args.serve)
    work = top_dir / "out"
    work.mkdir(parents=True, exist_ok=True)
    probe.PYCACHE = top_dir / "pycache"
    engine = tmux = None
    try:
        url = args.url
        if url is None:
            from carina_tui.sandbox.engine import start_engine
            from carina_tui.sandbox.images import ensure_local_images

            engine = start_engine(f"wl-{os.getpid()}", top_dir / "engine")
            ensure_local_images(engine.url)
            probe.populate(engine.url, args.containers, 2, 48)
            settle(engine)
            url = engine.url
        tmux = probe.Tmux(f"carina-wl-{os.getpid()}")
        api = statistics.median(api_list_time(url) for _ in range(3))
        print(f"== {args.containers} containers | engine's own list time {api:.3f} s | load avg {probe.loadavg()}")
        one_run(tmux, url, args.containers, work, 99, False)  # warm-up: the bytecode cache
        trees = ["", *([args.ab] if args.ab else [])]
        if args.ab:
            one_run(tmux, url, args.containers, work, 98, False, args.ab)
        runs: dict[str, list] = {t: [] for t in trees}
        for n in range(args.runs):
            for tree in trees:  # in turn: the same load for both
                print(f"\n== run {n + 1} {tree or 'this tree'} | load avg {probe.loadavg()}")
                text = one_run(tmux, url, args.containers, work, n, args.profile, tree)
                print(text if args.verbose or args.profile else "\n".join(
                    line for line in text.splitlines() if not line.startswith("     n=")))
                for line in text.splitlines():
                    if line.startswith("SUMMARY "):
                        runs[tree].append(json.loads(line[8:]))
        for tree in trees:
            done = runs[tree]
            print(f"\n== {tree or 'this tree'}: medians of {len(done)} runs (wall s since the process's start / "
                  f"its CPU s so far) | engine's list time {api:.3f} s | load avg {probe.loadavg()}")
            for key in ("first_frame", "asked", "received", "listed", "loaded", "whole"):
                have = [r[key] for r in done if key in r]
                if have:
                    print(f"   {key:12s} wall {statistics.median(w for w, _ in have):6.3f}  "
                          f"CPU {statistics.median(c for _, c in have):6.3f}")
    finally:
        if engine is not None:
            probe.tear_down(tmux, engine, top_dir)
        else:
            if tmux is not None:
                tmux.kill_server()
            import shutil

            shutil.rmtree(top_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
