"""Command line: the console by default, and headless commands for scripts and cron.

    carina-tui [--host URL | --cluster NAME] [--read-only] [--config PATH]
    carina-tui cleanup [--host URL] [--until DURATION] [--label K=V] [--dry-run] [--yes] [--json]
    carina-tui clusters [--json]
    carina-tui status [--cluster NAME] [--json]
    carina-tui sandbox up|status|down

Errors end as one sentence on stderr and exit status 1 (2 for bad usage), never a traceback.
"""

from __future__ import annotations

import argparse
import sys

from carina_tui import __version__
from carina_tui.core.errors import CarinaError, EngineUnreachable


def build_parser(with_sandbox: bool = True) -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    target = common.add_argument_group("where")
    target.add_argument("-H", "--host", metavar="URL", help="engine address, like docker -H (unix://, tcp://, ssh://)")
    target.add_argument("--cluster", metavar="NAME", help="a cluster by name (see `carina-tui clusters`)")
    target.add_argument("--config", metavar="PATH", help="config file (default: clusters.toml in the config dir)")
    target.add_argument("--read-only", action="store_true", help="refuse every change")

    parser = argparse.ArgumentParser(
        prog="carina-tui",
        description="A keyboard-driven terminal console for Docker clusters.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"carina-tui {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    cleanup = sub.add_parser("cleanup", parents=[common], help="remove exited containers, never protected ones")
    cleanup.add_argument("--until", metavar="DURATION", help="only containers created before this long ago (10m, 2h, 7d)")
    cleanup.add_argument("--label", metavar="K=V", action="append", default=[], help="only containers with this label")
    cleanup.add_argument("--dry-run", action="store_true", help="show the plan, remove nothing")
    cleanup.add_argument("--yes", action="store_true", help="do not ask")
    cleanup.add_argument("--volumes", action="store_true", help="also remove anonymous volumes")
    cleanup.add_argument("--json", action="store_true", help="print one JSON object")

    clusters = sub.add_parser("clusters", parents=[common], help="list every cluster carina-tui knows")
    clusters.add_argument("--json", action="store_true")

    status = sub.add_parser("status", parents=[common], help="nodes, containers, networks, protected containers")
    status.add_argument("--json", action="store_true")

    if with_sandbox:
        from carina_tui.sandbox.cli import register

        register(sub)
    else:
        # Loaded only when asked for: the console's start-up should not pay for it.
        sub.add_parser("sandbox", help="a real multi-node Carina-like cluster on this machine (root, Linux)")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(with_sandbox="sandbox" in argv)
    args = parser.parse_args(argv)
    try:
        if args.command is None:
            return run_console(args)
        if args.command == "cleanup":
            from carina_tui.commands import cleanup_command

            return cleanup_command(args)
        if args.command == "clusters":
            from carina_tui.commands import clusters_command

            return clusters_command(args)
        if args.command == "status":
            from carina_tui.commands import status_command

            return status_command(args)
        handler = getattr(args, "handler", None)
        if handler is not None:
            return int(handler(args) or 0)
        parser.print_help()
        return 2
    except CarinaError as err:
        print(f"carina-tui: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("carina-tui: interrupted; nothing more was done.", file=sys.stderr)
        return 130


STOPPED_CLEANUP_WAIT = 2.0  # seconds quitting waits for a cleanup's removals under way (one per batch)


def run_console(args: argparse.Namespace) -> int:
    from carina_tui.targets import open_session

    session, config = open_session(args)
    session.prefetch()  # docker-py loads and the engine answers while Textual loads
    from carina_tui.ui.app import CarinaApp

    if session.spec.endpoints and all(u.startswith("unix://") for u in session.spec.endpoints):
        # A local socket answers or fails at once: when none answers, say so before drawing anything.
        first = session.wait_prefetch(timeout=5)
        if first is not None and not any(e.reachable for e in first.engines):
            raise EngineUnreachable(first.engines[0].error)

    app = CarinaApp(session, config=config, read_only=bool(args.read_only))
    try:
        app.run()
    finally:
        session.close()  # closes every stream: nothing is left reading
    for run in app.stopped_cleanups:
        run.wait(STOPPED_CLEANUP_WAIT)  # the removals under way finish and are audited
        print(run.stopped_sentence(), file=sys.stderr)
    return app.return_code or 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
