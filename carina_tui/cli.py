"""Command line: the console by default, and headless commands for scripts and cron.

    carina-tui [--host URL | --cluster NAME] [--read-only] [--config PATH]
    carina-tui cleanup [--until DURATION] [--label K=V] [--include-task-history] [--dry-run] [--yes]
                       [--anonymous-volumes] [--json]
    carina-tui cleanup --images [dangling] | --volumes  [the same options]
    carina-tui images [--json]
    carina-tui volumes [--json]
    carina-tui clusters [--json]
    carina-tui status [--json]
    carina-tui services [--json]
    carina-tui serve [--port 8000] [--host 127.0.0.1] [--allow-changes]
    carina-tui sandbox up|status|down

--host, --cluster, --config and --read-only may stand before or after the command
(``docker -H URL rm`` is the order people type); the same option given twice with
different values is bad usage. Errors end as one sentence on stderr and exit status 1
(2 for bad usage), never a traceback; that includes standard output that cannot be
written (a full disk, a closed pipe).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

from carina_tui import __version__
from carina_tui.core.errors import CarinaError, EngineUnreachable, clip

if TYPE_CHECKING:
    from carina_tui.gateways.unix_http import EarlyAnswers

WHERE = ("host", "cluster", "config")  # the options that choose the engine and the rules
_AFTER = "after_command_"  # dest prefix of a global option typed after the subcommand
_EMPTY = {
    "host": "give an engine address such as unix:///var/run/docker.sock or tcp://HOST:2376",
    "cluster": "give a cluster name (see `carina-tui clusters`)",
    "config": "give the path of a clusters.toml, or leave --config out",
}


class UsageError(CarinaError):
    """The command line itself is wrong (exit status 2)."""

    title = "Usage"


class OutputError(CarinaError):
    """Standard output cannot be written (a full disk, a closed pipe)."""

    title = "Output"


class _Once(argparse.Action):
    """Store the value; the same option again with another value is a UsageError, where argparse
    would keep the last one silently."""

    def __call__(self, parser, namespace, values, option_string=None):
        before = getattr(namespace, self.dest, None)
        if before is not None and before != values:
            raise UsageError(f"{self.option_strings[-1]} is given twice, as {clip(before)!r} and "
                             f"{clip(values)!r}; give it once.")
        setattr(namespace, self.dest, values)


class _Parser(argparse.ArgumentParser):
    """The top-level parser settles the global options once the subcommand's have been read."""

    top_level = False

    def error(self, message: str):
        """argparse's own complaints (an unknown option, a missing value) as one sentence too."""
        message = clip(message, 300)
        self.exit(2, f"carina-tui: {message[:1].upper()}{message[1:]}; see `{self.prog} --help`.\n")

    def parse_known_args(self, args=None, namespace=None):
        namespace, extras = super().parse_known_args(args, namespace)
        if self.top_level:
            _settle(namespace)
        return namespace, extras


def _add_where(parser: argparse.ArgumentParser, prefix: str = "", engine_host: bool = True) -> None:
    """--host, --cluster, --config, --read-only. Given before the subcommand and after it, they
    land in different names (argparse would let the subcommand's defaults overwrite what was typed
    first) and ``_settle`` puts them together."""
    where = parser.add_argument_group("where (before or after the command)")
    hidden = argparse.SUPPRESS
    if engine_host:  # after `serve`, --host is the address to listen on
        where.add_argument("-H", "--host", dest=prefix + "host", metavar="URL", action=_Once, default=hidden,
                           help="engine address, like docker -H (unix://, tcp://, ssh://)")
    where.add_argument("--cluster", dest=prefix + "cluster", metavar="NAME", action=_Once, default=hidden,
                       help="a cluster by name (see `carina-tui clusters`)")
    where.add_argument("--config", dest=prefix + "config", metavar="PATH", action=_Once, default=hidden,
                       help="config file (default: clusters.toml in the config dir)")
    where.add_argument("--read-only", dest=prefix + "read_only", action="store_true", default=hidden,
                       help="refuse every change")


def _settle(args: argparse.Namespace) -> None:
    """One value per global option, wherever it was typed; a UsageError when two disagree."""
    given = vars(args)
    command = given.get("command")
    typed = []
    for name in WHERE:
        before, after = given.pop(name, None), given.pop(_AFTER + name, None)
        if before is not None and after is not None and before != after:
            raise UsageError(f"--{name} is given twice, as {clip(before)!r} before {command} and {clip(after)!r} "
                             "after it; give it once.")
        value = after if after is not None else before
        if value is not None and not value.strip():
            raise UsageError(f"--{name} is empty; {_EMPTY[name]}.")
        if value is not None:
            typed.append(f"--{name}")
        setattr(args, name, value)
    read_only = bool(given.pop("read_only", False)) | bool(given.pop(_AFTER + "read_only", False))
    if read_only:
        typed.append("--read-only")
    args.read_only = read_only
    problem = ""
    if args.host is not None:
        from carina_tui.core.endpoints import endpoint_problem

        problem = endpoint_problem(args.host)
    if problem and command == "serve" and "://" not in args.host:
        problem += "; the address to listen on goes after the command: carina-tui serve --host ADDRESS"
    if problem:
        raise UsageError(f'--host "{clip(args.host.strip())}" {problem}.')
    if args.host is not None and args.cluster is not None:
        raise UsageError("Give either --host or --cluster, not both.")
    if command == "sandbox" and typed:
        raise UsageError(f"{' and '.join(typed)} cannot be used with `carina-tui sandbox`, which works on this "
                         "machine's own sandbox; leave it out.")


# What --json prints, one line per command (the README shows an example of each).
JSON_HELP = {
    "cleanup": "print one JSON object: planned and protected (the containers, with id, name, node, state, "
               "image; protected ones with rule), removed, skipped and failed (id, name, node, reason), "
               "hidden_by_filter (a count), task_history (Swarm's exited task containers, kept unless "
               "--include-task-history; each with service and task); with --images or --volumes the same, of images (id, name, node, tags, "
               "digests, size, created, dangling) or volumes (id, name, node, driver, mountpoint, size, created), "
               "protected ones with rule and used_by (the protected container: id, name, node, state)",
    "images": "print a JSON list, one object per image and node: id, name, node, tags, digests, size, created, "
              "dangling, used_by (id, name, node, state of each container), protected (the protected container "
              "using it, with rule, or null)",
    "volumes": "print a JSON list, one object per volume and node: id, name, node, driver, mountpoint, size (null "
               "when the engine does not know it), created, used_by (id, name, node, state), protected (with rule, "
               "or null)",
    "clusters": "print a JSON list, one object per cluster: name, source, endpoints, tls, reachable, error, "
                "version, swarm_role, nodes, origin",
    "status": "print one JSON object: cluster, engines (with each one's api_version), nodes, containers (counts "
              "by state), networks (name, node, driver, scope, subnet; a swarm network's addresses: used, capacity, "
              "free, by_kind), protected, consul, warnings (also a swarm subnet 80%% used)",
    "services": "print a JSON list, one object per swarm service: name, mode, running, desired, image, ports, "
                "networks, protected (the rule, or null), tasks (each: name, node, state, desired_state, error, "
                "the history Swarm keeps included)",
}


def build_parser(with_sandbox: bool = True) -> argparse.ArgumentParser:
    parser = _Parser(prog="carina-tui", description="A keyboard-driven terminal console for Docker clusters.")
    parser.top_level = True
    _add_where(parser)
    parser.add_argument("--version", action="version", version=f"carina-tui {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    cleanup = sub.add_parser("cleanup", help="remove exited containers, never protected ones")
    _add_where(cleanup, _AFTER)
    cleanup.add_argument("--until", metavar="DURATION", action=_Once,
                         help="only containers created before this long ago (10m, 2h, 7d)")
    cleanup.add_argument("--label", metavar="K=V", action="append", default=[], help="only containers with this label")
    cleanup.add_argument("--include-task-history", action="store_true",
                         help="also remove the exited task containers Swarm keeps as its services' task history")
    cleanup.add_argument("--dry-run", action="store_true", help="show the plan, remove nothing")
    cleanup.add_argument("--yes", action="store_true", help="do not ask")
    cleanup.add_argument("--anonymous-volumes", action="store_true",
                         help="also remove the removed containers' anonymous volumes")
    what = cleanup.add_mutually_exclusive_group()
    what.add_argument("--images", nargs="?", const="unused", choices=("unused", "dangling"),
                      help="plan the unused images instead of containers (dangling: only those with no name); "
                           "one a protected container uses is never planned")
    what.add_argument("--volumes", action="store_true",
                      help="plan the unused volumes instead of containers; one a protected container uses is "
                           "never planned")
    cleanup.add_argument("--json", action="store_true", help=JSON_HELP["cleanup"])

    for name, what in (("images", "every node's images, who uses each, which are protected"),
                       ("volumes", "every node's volumes, who uses each, which are protected"),
                       ("clusters", "list every cluster carina-tui knows"),
                       ("status", "nodes, containers, networks, protected containers")):
        listing = sub.add_parser(name, help=what)
        _add_where(listing, _AFTER)
        listing.add_argument("--json", action="store_true", help=JSON_HELP[name])

    services = sub.add_parser("services", help="the swarm's services and their tasks, read from a manager")
    _add_where(services, _AFTER)
    services.add_argument("--json", action="store_true", help=JSON_HELP["services"])

    serve = sub.add_parser("serve", help="the console in a browser (textual-serve), read-only unless --allow-changes")
    _add_where(serve, _AFTER, engine_host=False)
    serve.add_argument("--host", dest="listen_host", metavar="ADDRESS", action=_Once,
                       help="address to listen on (default 127.0.0.1: this machine only); the engine is "
                            "named before the command: carina-tui --host URL serve")
    serve.add_argument("--port", metavar="PORT", action=_Once, help="port to listen on (default 8000)")
    serve.add_argument("--allow-changes", action="store_true",
                       help="let the page stop, remove and run containers (anyone who can reach the port can)")
    serve.set_defaults(handler=_serve)

    if with_sandbox:
        from carina_tui.sandbox.cli import register

        register(sub)
    else:
        # Loaded only when asked for: the console's start-up should not pay for it.
        sub.add_parser("sandbox", help="a real multi-node Carina-like cluster on this machine (root, Linux)")
    return parser


def _serve(args: argparse.Namespace) -> int:
    from carina_tui.commands import run_serve

    return run_serve(args)


HEADLESS = {"cleanup": "run_cleanup", "clusters": "run_clusters", "status": "run_status", "services": "run_services",
            "images": "run_images", "volumes": "run_volumes"}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    ahead = _reads_ahead(argv)
    try:
        parser = build_parser(with_sandbox="sandbox" in argv)
        args = parser.parse_args(argv)
        if args.command is None:
            return run_console(args, ahead)
        if args.command in HEADLESS:
            return _headless(args)
        handler = getattr(args, "handler", None)
        if handler is not None:
            return int(handler(args) or 0)
        parser.print_help()
        return 2
    except UsageError as err:
        print(f"carina-tui: {err}", file=sys.stderr)
        return 2
    except CarinaError as err:
        print(f"carina-tui: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("carina-tui: interrupted; nothing more was done.", file=sys.stderr)
        return 130
    finally:
        if ahead is not None:
            ahead.forget()  # (the console took what it used; an error before it, nothing)


_WHERE_OPTIONS = {"-H": "host", **{f"--{name}": name for name in WHERE}}  # (as ``_add_where`` names them)


def _reads_ahead(argv: list[str]) -> "EarlyAnswers | None":
    """The console (no command) on an engine on a unix socket, named by ``--host`` or
    ``DOCKER_HOST``: its first reads go out now, before the parser is built
    (``gateways/head_start.py``); returns where their answers wait, for the console's session. A
    guess from the words typed, for the plain forms only; the parser still decides, and a guess
    it does not confirm costs reads nobody takes."""
    given: dict[str, str] = {}
    words = iter(argv)
    for word in words:
        name, equals, value = word.partition("=")
        where = _WHERE_OPTIONS.get(name)
        if where is None:
            if word == "--read-only":
                continue
            return None  # a command, or an option the console does not take
        given[where] = value if equals else next(words, "")
    from carina_tui.gateways import head_start

    return head_start.begin(given.get("host"), given.get("cluster"))


def _headless(args: argparse.Namespace) -> int:
    """Run cleanup, clusters, status or services with standard output that turns a failed write into a
    sentence (and exit status 1) instead of a traceback at exit."""
    from carina_tui import commands

    real = sys.stdout
    if hasattr(real, "reconfigure"):
        real.reconfigure(errors="backslashreplace")  # an argument that is not UTF-8 still prints
    sys.stdout = _Output(real)
    try:
        code = getattr(commands, HEADLESS[args.command])(args)
        sys.stdout.flush()
        return code
    except OutputError:
        _drop_pending(real)
        raise
    finally:
        sys.stdout = real


class _Output:
    def __init__(self, stream) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except OSError as exc:
            raise _output_error(exc) from None

    def flush(self) -> None:
        try:
            self._stream.flush()
        except OSError as exc:
            raise _output_error(exc) from None

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


def _output_error(exc: OSError) -> OutputError:
    return OutputError(f"The output could not be written to standard output ({exc.strerror or exc}); "
                       "free some space or send it somewhere else.")


def _drop_pending(stream) -> None:
    """What is still buffered would fail again when Python exits: let it go to /dev/null."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass

STOPPED_CLEANUP_WAIT = 2.0  # seconds quitting waits for a cleanup's removals under way (one per batch)


def run_console(args: argparse.Namespace, ahead: "EarlyAnswers | None" = None) -> int:
    """The console; ``ahead``: the answers to its first reads, sent before the parser was built."""
    from carina_tui.services.targets import open_session

    session, config = open_session(args)
    session.prefetch(ahead)  # the first requests are out (plain HTTP on a unix socket) before Textual loads
    from carina_tui.ui.early import EarlyFrame

    # The header and the Containers pane, drawn as soon as the first snapshot is in, while Textual loads.
    early = EarlyFrame.start(session, config, read_only=bool(args.read_only))
    try:
        from carina_tui.ui.app import CarinaApp

        if session.spec.endpoints and all(u.startswith(("unix://", "ssh://")) for u in session.spec.endpoints):
            # A local socket answers or fails at once, and so does SSH refused (sshd, key, host key): when
            # none answers, say so before drawing anything.
            first = session.wait_prefetch(timeout=5)
            if first is not None and not any(e.reachable for e in first.engines):
                raise EngineUnreachable(first.engines[0].error)

        app = CarinaApp(session, config=config, read_only=bool(args.read_only), early=early)
        app.run()
    finally:
        if early is not None:
            early.close()  # (Textual never took the terminal: it is put back as it was)
        session.close()  # closes every stream: nothing is left reading
    for run in app.stopped_cleanups:
        run.wait(STOPPED_CLEANUP_WAIT)  # the removals under way finish and are audited
        print(run.stopped_sentence(), file=sys.stderr)
    return app.return_code or 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
