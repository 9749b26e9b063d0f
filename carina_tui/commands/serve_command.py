"""``carina-tui serve``: the same console in a browser, through textual-serve.

textual-serve answers ``http://HOST:PORT/`` with a page that opens a websocket; for each one it
starts the console (``python -m carina_tui ...``) as a process of its own and relays its screen
and keys. So the served console is the console, with the same session, guard and audit log.

Anyone who can reach the port can use it, so it listens on loopback unless ``--host`` says
otherwise, and it is read-only unless ``--allow-changes`` is given: without it every console it
starts gets ``--read-only``, which makes the session read-only and the guard refuse every change
(the label on the page says which, it does not decide it).
"""

from __future__ import annotations

import ipaddress
import re
import shlex
import socket
import sys
from html import escape
from urllib.parse import urlsplit

from carina_tui.core.endpoints import is_loopback
from carina_tui.core.errors import CarinaError, EngineUnreachable, clip

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
ENGINE_WAIT = 5  # seconds an engine has to answer before serving starts


class ServeError(CarinaError):
    """The address or port to serve on cannot be used."""

    title = "Serve"


def listen_address(host: str | None, port: str | int | None) -> tuple[str, int]:
    """``(host, port)`` to listen on, or ``ServeError`` with a sentence naming what is wrong."""
    host = DEFAULT_HOST if host is None else host.strip()
    if not host:
        raise ServeError("--host is empty; give an address of this machine to listen on, such as 127.0.0.1.")
    if "://" in host:
        raise ServeError(
            f'--host after serve is the address to listen on, not an engine: "{clip(host)}" is an engine '
            f"address. Name the engine before the command: carina-tui --host {clip(host)} serve.")
    if not _host_syntax(host):
        raise ServeError(f'--host "{clip(host)}" is not an address to listen on; give an IP address of this '
                         "machine (127.0.0.1, ::1, 0.0.0.0) or its name.")
    text = str(DEFAULT_PORT if port is None else port).strip()
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ServeError(f'--port "{clip(text)}" is not a port; give a number between 1 and 65535, such as 8000.')
    return host.strip("[]"), int(text)


def _host_syntax(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
        return True
    except ValueError:
        pass
    labels = host.rstrip(".").split(".")
    return all(label and len(label) < 64 and label.replace("-", "").isalnum() and label[0] != "-"
               for label in labels)


def check_listen(host: str, port: int) -> None:
    """Bind and let go at once, so that a port in use or an address that is not this machine's is a
    sentence now rather than a traceback from the web server."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror:
        raise ServeError(f'--host "{clip(host)}" is not a name this machine can resolve; give an IP address '
                         "of this machine, such as 127.0.0.1.") from None
    family, kind, proto, _name, address = infos[0]
    probe = socket.socket(family, kind, proto)
    try:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the web server does
        probe.bind(address)
    except OSError as exc:
        raise ServeError(_bind_problem(host, port, exc)) from None
    finally:
        probe.close()


def _bind_problem(host: str, port: int, exc: OSError) -> str:
    import errno

    where = f"{host}:{port}"
    if exc.errno == errno.EADDRINUSE:
        return f"Could not listen on {where}: something else listens on port {port}; choose another --port."
    if exc.errno == errno.EADDRNOTAVAIL:
        return (f"Could not listen on {where}: {host} is not an address of this machine; give one of its own "
                "(127.0.0.1 for this machine only).")
    if exc.errno == errno.EACCES:
        return f"Could not listen on {where}: ports below 1024 need root; choose a --port above 1023."
    return f"Could not listen on {where} ({exc.strerror or exc})."


def console_command(args) -> list[str]:
    """The command line of the console each browser connection gets: the same engine or cluster,
    config and read-only choice as ``serve`` was given."""
    command = [sys.executable, "-m", "carina_tui"]
    for name in ("host", "cluster", "config"):
        value = getattr(args, name, None)
        if value is not None:
            command += [f"--{name}", value]
    if args.read_only or not args.allow_changes:
        command.append("--read-only")
    return command


def run_serve(args) -> int:
    from carina_tui.services.targets import open_session

    if args.read_only and args.allow_changes:
        raise ServeError("Give --read-only or --allow-changes, not both.")
    host, port = listen_address(args.listen_host, args.port)
    check_listen(host, port)
    session, _config = open_session(args)  # an unknown cluster or a bad config is a sentence here, not in the page
    read_only = session.read_only or not args.allow_changes
    cluster = session.spec.name
    for gateway in session.gateways.values():
        gateway.timeout = ENGINE_WAIT
    try:
        states = session.engine_states()
    finally:
        session.close()
    if states and not any(s.reachable for s in states):
        # The page would only say "Session ended": say why here.
        raise EngineUnreachable(states[0].error)
    mode = "read-only" if read_only else "changes allowed"
    shown = f"[{host}]" if ":" in host else host
    print(f"Serving the console of {cluster} on http://{shown}:{port}/ ({mode}); Ctrl+C stops it.", file=sys.stderr)
    if not read_only:
        print("Anyone who can reach that port can stop, remove and run containers on the cluster.", file=sys.stderr)
    if not is_loopback(host):
        print(f"{host} is reachable from other machines; give --host 127.0.0.1 to keep it on this one.",
              file=sys.stderr)
    server = _server_class()(shlex.join(console_command(args)), host=host, port=port,
                             title=f"carina-tui · {cluster} · {mode} (served)")
    try:
        server.serve()
    except OSError as exc:  # lost the port between the check and the start
        raise ServeError(_bind_problem(host, port, exc)) from None
    return 0


def allowed_host(header: str, listen_host: str, port: int) -> bool:
    """Whether a request's ``Host`` header names this server: an IP address, ``localhost`` or the
    name given to --host, with our port. Any other name is a page elsewhere whose name was pointed
    at this machine (DNS rebinding): it must not reach the console from the user's browser."""
    try:
        parts = urlsplit(f"http://{header}")
        name, given = (parts.hostname or "").rstrip("."), parts.port
    except ValueError:
        return False
    if (given or 80) != port or not name:
        return False
    if name in ("localhost", listen_host.lower().strip("[]").rstrip(".")):
        return True
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def page_text(html: str, title: str) -> str:
    """textual-serve's page with a title that says read-only or not, and without its web font from
    elsewhere (the page asks no other host for anything; the terminal falls back to monospace)."""
    html = re.sub(r'<link[^>]*fonts\.googleapis\.com[^>]*>', "", html)
    return html.replace("<head>", f"<head>\n    <title>{escape(title)}</title>", 1)


def _server_class():
    """textual-serve's Server, refusing requests that name another host, and a websocket opened
    by a page of another origin; its page's addresses follow the address the browser used (the
    page itself would say ``ws://0.0.0.0:8000`` when listening on every address)."""
    from aiohttp import web
    from textual_serve.server import Server

    class GuardedServer(Server):
        async def on_startup(self, app) -> None:
            """Our own line has said where and how it serves; no banner."""

        def _refuse(self, request) -> str:
            host = request.headers.get("Host", "")
            if not allowed_host(host, self.host, self.port):
                return f"{host or 'no Host'} is not this server's address"
            origin = request.headers.get("Origin")
            if request.path == "/ws" and origin is not None and origin != f"http://{host}":
                return f"a page from {origin} may not open the console"
            return ""

        async def handle_index(self, request):
            problem = self._refuse(request)
            if problem:
                raise web.HTTPForbidden(text=f"carina-tui: {problem}.")
            self.public_url = f"http://{request.headers['Host']}"
            response = await super().handle_index(request)
            response.text = page_text(response.text, self.title)
            return response

        async def handle_websocket(self, request):
            problem = self._refuse(request)
            if problem:
                raise web.HTTPForbidden(text=f"carina-tui: {problem}.")
            return await super().handle_websocket(request)

    return GuardedServer
