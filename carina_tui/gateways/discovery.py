"""Every cluster the user has, each with where it came from.

Sources, in the order the console lists them:

1. ``config``: the clusters of ``clusters.toml`` (``carina_tui.core.config``).
2. ``carina``: Carina credential bundles, folders ``clusters/<user>/<cluster>/``
   under ``$CARINA_HOME``, ``$XDG_DATA_HOME/carina`` and ``~/.carina`` (the
   Carina CLI uses the first of these that is set; we look in all that exist).
   Each holds ``docker.env`` (shell ``export`` lines, read as text, never run)
   and the certificates, as ``ca.pem cert.pem key.pem`` or, in later bundles,
   ``ca.pem user.pem user-key.pem``.
3. ``context``: Docker contexts, read through docker-py's ``docker.context`` API.
4. ``env``: ``DOCKER_HOST`` with ``DOCKER_TLS_VERIFY`` / ``DOCKER_TLS`` / ``DOCKER_CERT_PATH``.
5. ``default``: the default socket ``unix:///var/run/docker.sock``.

A later entry with the same endpoints and TLS files as an earlier one is left
out (``eval $(carina env x)`` makes ``DOCKER_HOST`` repeat a bundle). A bundle
or context that cannot be used is still listed, with ``problem`` saying why:
discovery never fails on one bad entry.

``default_target`` picks what to connect to with no option, as the docker CLI
does: ``DOCKER_HOST`` (and friends), else ``DOCKER_CONTEXT`` or the current
context, else the default socket. ``host_target`` is ``--host URL``.

Contexts and ``DOCKER_CONFIG``: docker-py finds the context store next to the
``config.json`` it finds, and when ``$DOCKER_CONFIG/config.json`` does not exist
(``docker context create`` does not write it) it falls back to
``~/.docker/config.json``, or to ``./contexts`` in the working directory. The
docker CLI always uses ``$DOCKER_CONFIG`` (default ``~/.docker``). So while we
call docker-py's context API we point its config-file lookup at the CLI's file.
"""

from __future__ import annotations

import os
import shlex
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from carina_tui.core.clusters import ClusterSpec, TLSFiles
from carina_tui.core.config import Config
from carina_tui.core.endpoints import DEFAULT_SOCKET, BadEndpoint, parse_endpoint
from carina_tui.core.errors import NotFound, clip
from carina_tui.gateways.lazy import IMPORT_LOCK

BUNDLE_LAYOUTS: tuple[tuple[str, str, str], ...] = (
    ("ca.pem", "cert.pem", "key.pem"),
    ("ca.pem", "user.pem", "user-key.pem"),
)
DOCKER_ENV_FILE = "docker.env"


# --------------------------------------------------------------------------- environment


def _env(env: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if env is None else env


def _home(env: Mapping[str, str]) -> Path:
    return Path(env.get("HOME") or os.path.expanduser("~"))


def docker_config_dir(env: Mapping[str, str] | None = None) -> Path:
    """Where the docker CLI keeps config.json and contexts: ``$DOCKER_CONFIG``, else ``~/.docker``."""
    env = _env(env)
    given = env.get("DOCKER_CONFIG")
    return Path(os.path.expanduser(given)) if given else _home(env) / ".docker"


def carina_roots(env: Mapping[str, str] | None = None) -> list[Path]:
    """The Carina home folders that may hold ``clusters/``, in the Carina CLI's order."""
    env = _env(env)
    roots: list[Path] = []
    if env.get("CARINA_HOME"):
        roots.append(Path(os.path.expanduser(env["CARINA_HOME"])))
    if env.get("XDG_DATA_HOME"):
        roots.append(Path(os.path.expanduser(env["XDG_DATA_HOME"])) / "carina")
    roots.append(_home(env) / ".carina")
    unique: list[Path] = []
    seen: set[str] = set()
    for root in roots:
        key = os.path.realpath(root)
        if key not in seen:
            seen.add(key)
            unique.append(root)
    return unique


# --------------------------------------------------------------------------- DOCKER_HOST & friends


def tls_from_env(env: Mapping[str, str] | None = None) -> TLSFiles | None:
    """TLS as the docker CLI reads it from the environment, or None for no TLS.

    Any non-empty ``DOCKER_TLS_VERIFY`` turns TLS on with verification; a non-empty
    ``DOCKER_TLS`` turns it on without. Files come from ``DOCKER_CERT_PATH``
    (default ``~/.docker``): ``ca.pem`` when verifying, and ``cert.pem``/``key.pem``
    when they exist (the CLI drops a default client certificate that is missing).
    """
    env = _env(env)
    verify = bool(env.get("DOCKER_TLS_VERIFY"))
    if not (verify or env.get("DOCKER_TLS")):
        return None
    cert_path = Path(os.path.expanduser(env.get("DOCKER_CERT_PATH") or str(_home(env) / ".docker")))
    cert, key = cert_path / "cert.pem", cert_path / "key.pem"
    have_pair = cert.exists() or key.exists()
    return TLSFiles(
        ca=str(cert_path / "ca.pem") if verify else "",
        cert=str(cert) if have_pair else "",
        key=str(key) if have_pair else "",
        verify=verify,
    )


def _endpoint_problem(url: str, where: str) -> str:
    try:
        parse_endpoint(url)
    except BadEndpoint as exc:
        return f'The engine address "{clip(url)}" {where} {exc}.'
    return ""


def env_target(env: Mapping[str, str] | None = None) -> ClusterSpec | None:
    """The engine ``DOCKER_HOST`` names, with its TLS; None when it is not set."""
    env = _env(env)
    host = (env.get("DOCKER_HOST") or "").strip()
    if not host:
        return None
    return ClusterSpec(
        name="env",
        source="env",
        endpoints=(host,),
        tls=tls_from_env(env),
        origin="DOCKER_HOST",
        problem=_endpoint_problem(host, "in DOCKER_HOST"),
    )


def host_target(url: str, env: Mapping[str, str] | None = None) -> ClusterSpec:
    """``--host URL``: like ``docker -H``, TLS still comes from ``DOCKER_TLS_VERIFY`` and friends."""
    url = url.strip()
    return ClusterSpec(
        name=url,
        source="cli",
        endpoints=(url,),
        tls=tls_from_env(env),
        origin="--host",
        problem=_endpoint_problem(url, "given with --host"),
    )


def default_socket_target() -> ClusterSpec:
    return ClusterSpec(name="default", source="default", endpoints=(DEFAULT_SOCKET,), origin="default socket")


# --------------------------------------------------------------------------- Carina bundles


def read_docker_env(path: Path) -> dict[str, str]:
    """The ``KEY=value`` assignments of a shell env file, read as text and never run.

    ``export`` is optional, quotes are removed as the shell would, comments and
    other commands are skipped. A value the shell would compute (``$(pwd)``,
    ``$PWD``, backquotes) is kept as the empty string: we cannot know it.
    """
    found: dict[str, str] = {}
    for raw in path.read_text(encoding="utf-8", errors="replace").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export "):].strip()
        name, eq, value = line.partition("=")
        if not eq or not name.isidentifier():
            continue
        if "$" in value or "`" in value:
            found[name] = ""  # computed by the shell: unknown to us
            continue
        try:
            words = shlex.split(value, comments=True, posix=True)
        except ValueError:
            continue  # unbalanced quotes: not something we can read
        if len(words) > 1:
            continue  # "A=b cmd ...": a command, not an assignment
        found[name] = words[0] if words else ""
    return found


def _bundle_files(folder: Path, cert_path: str) -> tuple[TLSFiles | None, str]:
    """The bundle's TLS files (first complete layout wins) or a sentence saying what is missing."""
    places = [folder]
    if cert_path:
        other = Path(os.path.expanduser(cert_path))
        if not other.is_absolute():
            other = folder / other
        if other.is_dir() and os.path.realpath(other) != os.path.realpath(folder):
            places.append(other)
    for place in places:
        for ca, cert, key in BUNDLE_LAYOUTS:
            if all((place / name).is_file() for name in (ca, cert, key)):
                return TLSFiles(ca=str(place / ca), cert=str(place / cert), key=str(place / key)), ""
    present = {p.name for p in folder.iterdir()} if folder.is_dir() else set()
    wanted = min(BUNDLE_LAYOUTS, key=lambda names: sum(n not in present for n in names))
    missing = [n for n in wanted if n not in present]
    return None, (
        f"The Carina credentials in {folder} are incomplete: {', '.join(missing)} "
        f"{'is' if len(missing) == 1 else 'are'} missing. Download them again "
        "(carina credentials CLUSTER) or remove the folder."
    )


def read_bundle(folder: Path) -> ClusterSpec:
    """One Carina credentials folder as a cluster entry (with ``problem`` set when it is unusable)."""
    folder = Path(folder)
    name = folder.name
    env_file = folder / DOCKER_ENV_FILE

    def broken(problem: str, endpoints: tuple[str, ...] = (), tls: TLSFiles | None = None) -> ClusterSpec:
        return ClusterSpec(name=name, source="carina", endpoints=endpoints, tls=tls, origin=str(folder), problem=problem)

    try:
        values = read_docker_env(env_file)
    except FileNotFoundError:
        return broken(
            f"The Carina credentials in {folder} have no {DOCKER_ENV_FILE}, so the cluster's address is unknown. "
            "Download them again (carina credentials CLUSTER) or remove the folder."
        )
    except OSError as exc:
        return broken(f"{env_file} cannot be read ({exc.strerror or exc}): check its permissions.")
    name = values.get("CARINA_CLUSTER_NAME") or name
    host = values.get("DOCKER_HOST", "").strip()
    if not host:
        return broken(
            f"{env_file} sets no DOCKER_HOST, so the cluster's address is unknown. "
            "Download the credentials again (carina credentials CLUSTER)."
        )
    tls, missing = _bundle_files(folder, values.get("DOCKER_CERT_PATH", ""))  # always verified, as Carina did
    problem = _endpoint_problem(host, f"in {env_file}") or missing
    return broken(problem, (host,), tls)


def _bundle_folders(root: Path) -> Iterator[Path]:
    clusters = root / "clusters"
    try:
        users = sorted(p for p in clusters.iterdir() if p.is_dir())
    except OSError:
        return
    for user in users:
        if (user / DOCKER_ENV_FILE).exists():  # a bundle right under clusters/
            yield user
            continue
        try:
            folders = sorted(p for p in user.iterdir() if p.is_dir())
        except OSError:
            continue
        for folder in folders:
            if any(folder.glob("*.env")) and not (folder / DOCKER_ENV_FILE).exists():
                continue  # a Kubernetes bundle (kubectl.env): not a Docker cluster
            yield folder


def carina_bundles(env: Mapping[str, str] | None = None) -> list[ClusterSpec]:
    """Every Carina credentials folder under the Carina home folders."""
    found: list[ClusterSpec] = []
    seen: set[str] = set()
    for root in carina_roots(env):
        for folder in _bundle_folders(root):
            key = os.path.realpath(folder)
            if key not in seen:
                seen.add(key)
                found.append(read_bundle(folder))
    return found


# --------------------------------------------------------------------------- Docker contexts

_context_lock = threading.Lock()


@contextmanager
def _docker_py_config(env: Mapping[str, str]) -> Iterator[Path]:
    """Make docker-py's context API use the docker CLI's config folder (see the module docstring)."""
    with IMPORT_LOCK:
        import docker.context.config as context_config

    config_file = docker_config_dir(env) / "config.json"
    with _context_lock:
        original = context_config.find_config_file
        context_config.find_config_file = lambda config_path=None: str(config_file)
        try:
            yield config_file.parent
        finally:
            context_config.find_config_file = original


def _context_spec(ctx, store: Path) -> ClusterSpec:
    origin = f"Docker context {ctx.Name} ({store / 'contexts'})"
    host = ctx.Host
    if not host:
        return ClusterSpec(
            name=ctx.Name, source="context", endpoints=(), origin=origin,
            problem=f"The Docker context {ctx.Name} has no Docker endpoint (only {', '.join(ctx.endpoints) or 'nothing'}).",
        )
    tls = None
    config = ctx.TLSConfig
    if config is not None:
        cert, key = config.cert if config.cert else ("", "")
        tls = TLSFiles(ca=config.ca_cert or "", cert=cert, key=key, verify=bool(config.verify))
    else:
        tls = _partial_context_tls(ctx)
    return ClusterSpec(
        name=ctx.Name, source="context", endpoints=(host,), tls=tls, origin=origin,
        problem=_endpoint_problem(host, f"of the Docker context {ctx.Name}"),
    )


def _partial_context_tls(ctx) -> TLSFiles | None:
    """TLS of a context that docker-py leaves out: it only loads a CA, certificate and key together.

    The docker CLI also uses a context with only ``ca.pem`` (verify the engine,
    no client certificate) or with ``skip-tls-verify=true`` and no files (TLS
    without verification). docker-py still finds the files' folder for us.
    """
    endpoint = ctx.endpoints.get("docker") or {}
    skip_verify = bool(endpoint.get("SkipTLSVerify", False))
    folder = Path(getattr(ctx, "tls_path", "") or "") / "docker"
    present = {name: folder / name for name in ("ca.pem", "cert.pem", "key.pem") if (folder / name).is_file()}
    if not present and not skip_verify:
        return None
    pair = "cert.pem" in present and "key.pem" in present
    return TLSFiles(
        ca=str(present.get("ca.pem", "")),
        cert=str(present["cert.pem"]) if pair else "",
        key=str(present["key.pem"]) if pair else "",
        verify=not skip_verify,
    )


def docker_contexts(env: Mapping[str, str] | None = None) -> list[ClusterSpec]:
    """Every Docker context but the built-in ``default`` (that one is DOCKER_HOST or the socket)."""
    env = _env(env)
    with IMPORT_LOCK:
        from docker.context import ContextAPI

    with _docker_py_config(env) as store:
        try:
            contexts = ContextAPI.contexts()
        except Exception as exc:  # docker-py raises ContextException and bare Exception here
            return [ClusterSpec(
                name="contexts", source="context", endpoints=(), origin=str(store / "contexts"),
                problem=f"The Docker contexts in {store / 'contexts'} cannot be read ({exc}). "
                "Check them with `docker context ls`.",
            )]
        named = sorted((ctx for ctx in contexts if ctx is not None and ctx.Name != "default"), key=lambda c: c.Name)
        return [_context_spec(ctx, store) for ctx in named]


def current_context_name(env: Mapping[str, str] | None = None) -> str:
    """``DOCKER_CONTEXT``, else the ``currentContext`` of the docker CLI's config.json, else ``default``."""
    env = _env(env)
    if env.get("DOCKER_CONTEXT"):
        return env["DOCKER_CONTEXT"]
    with IMPORT_LOCK:
        from docker.context.config import get_current_context_name

    with _docker_py_config(env):
        return get_current_context_name() or "default"


def context_target(name: str, env: Mapping[str, str] | None = None) -> ClusterSpec | None:
    """One Docker context by name; None when there is no such context."""
    env = _env(env)
    with IMPORT_LOCK:
        from docker.context import Context

    with _docker_py_config(env) as store:
        try:
            ctx = Context.load_context(name)
        except Exception as exc:
            return ClusterSpec(
                name=name, source="context", endpoints=(), origin=str(store / "contexts"),
                problem=f"The Docker context {name} cannot be read ({exc}). Check it with `docker context inspect {name}`.",
            )
        return _context_spec(ctx, store) if ctx is not None else None


# --------------------------------------------------------------------------- all together


def _same_target(a: ClusterSpec, b: ClusterSpec) -> bool:
    return a.endpoints == b.endpoints and a.tls == b.tls


def discover(config: Config, env: Mapping[str, str] | None = None) -> list[ClusterSpec]:
    """Every cluster: config, Carina bundles, Docker contexts, DOCKER_HOST, the default socket."""
    env = _env(env)
    found: list[ClusterSpec] = list(config.clusters)
    # A bundle for a cluster the config already describes (same name, its endpoint among the
    # config's) is the same cluster: the config entry, with every node, stands for both.
    found += [b for b in carina_bundles(env)
              if not any(c.name == b.name and set(b.endpoints) <= set(c.endpoints) for c in config.clusters)]
    more = docker_contexts(env)
    target = env_target(env)
    if target is not None:
        more.append(target)
    more.append(default_socket_target())
    for spec in more:
        if not any(_same_target(spec, earlier) for earlier in found if earlier.endpoints):
            found.append(spec)
    return found


def default_target(env: Mapping[str, str] | None = None) -> ClusterSpec:
    """What to connect to with no option, as the docker CLI decides it.

    ``DOCKER_HOST`` (with its TLS variables), else the context named by
    ``DOCKER_CONTEXT`` or config.json's ``currentContext``, else the default socket.
    A named context that does not exist is returned with ``problem`` set, as
    the docker CLI refuses it rather than falling back.
    """
    env = _env(env)
    target = env_target(env)
    if target is not None:
        return target
    name = current_context_name(env)
    if name and name != "default":
        spec = context_target(name, env)
        if spec is not None:
            return spec
        where = "DOCKER_CONTEXT" if env.get("DOCKER_CONTEXT") else f"{docker_config_dir(env) / 'config.json'}"
        return ClusterSpec(
            name=name, source="context", endpoints=(), origin=where,
            problem=f"The current Docker context {name} (from {where}) does not exist: "
            "pick another with `docker context use NAME`, or unset it.",
        )
    return default_socket_target()


def find(name: str, config: Config | None = None, env: Mapping[str, str] | None = None,
         specs: list[ClusterSpec] | None = None) -> ClusterSpec:
    """The cluster called ``name`` (first in source order), or ``source:name`` for one source.

    Raises NotFound with the names there are.
    """
    if specs is None:
        specs = discover(config if config is not None else Config(), env)
    for spec in specs:
        if spec.name == name:
            return spec
    source, colon, bare = name.partition(":")
    if colon:
        for spec in specs:
            if spec.source == source and spec.name == bare:
                return spec
    known = ", ".join(dict.fromkeys(s.name for s in specs)) or "none"
    raise NotFound(
        f'No cluster is named "{clip(name)}". The clusters there are: {known}. '
        "Run `carina-tui clusters` to see them with their sources."
    )
