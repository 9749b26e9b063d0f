"""The config file, ``clusters.toml``: clusters and protection rules, read with tomllib.

Shape (keys may grow; these stay)::

    read_only = false                 # every cluster read-only

    [[protect]]                       # global rules, added to the defaults
    name = "my-agent"                 # exactly one of: name, name_pattern, image, label
    [[protect]]
    label = "com.example.keep=true"   # label as "key=value"

    [clusters.prod]
    endpoints = ["tcp://203.0.113.10:2376", "tcp://203.0.113.11:2376"]  # one per node
    tls_ca = "~/certs/prod/ca.pem"    # ~ is expanded; a relative path is taken from
    tls_cert = "~/certs/prod/cert.pem"  # the config file's folder
    tls_key = "~/certs/prod/key.pem"
    tls_verify = true                 # default; false keeps TLS but skips verification
    tls = true                        # TLS with the system's CAs, when no tls_* file is given
    consul = "http://203.0.113.10:8500"
    consul_token = "..."
    colour = "red"
    read_only = true
    insecure = false                  # true allows a remote tcp:// endpoint without TLS
    discover_nodes = false            # fill in the other nodes from a swarm manager's node list
    node_port = 2376                  # ... reached on this port with the same TLS files
    protect = [{ name = "x" }, { image = "example/agent" }]

    [exec]                            # what e runs in a container, by image pattern
    "postgres*" = "psql -U postgres"  # (default: /bin/bash if there, else /bin/sh)

The default rules (``DEFAULT_RULES``) always apply: the file can add rules, never
remove them. A missing file is an empty config; a file that is there but cannot be
read (a dangling link, a FIFO, a folder, no permission) is a ``ConfigError``, never
a fallback. Anything wrong in the file is a ``ConfigError`` whose sentence names the
file and the key. ``Config.claim`` gives an engine of a configured cluster that
cluster's rules, read-only setting and TLS, however the engine was named.
"""

from __future__ import annotations

import os
import re
import shlex
import stat
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from carina_tui.core import paths
from carina_tui.core.clusters import ClusterSpec, TLSFiles
from carina_tui.core.endpoints import BadEndpoint, endpoint_key, parse_endpoint
from carina_tui.core.errors import ConfigError, clip
from carina_tui.core.exec_models import ExecChoice
from carina_tui.core.rules import DEFAULT_RULES, RULE_KINDS, Rule, merge_rules

if TYPE_CHECKING:
    import tomllib

TOP_LEVEL_KEYS = ("clusters", "protect", "read_only", "theme", "keymap", "exec")
CLUSTER_KEYS = (
    "endpoints",
    "tls_ca",
    "tls_cert",
    "tls_key",
    "tls_verify",
    "tls",
    "consul",
    "consul_token",
    "colour",
    "read_only",
    "insecure",
    "discover_nodes",
    "node_port",
    "protect",
)
_CLUSTER_NAME = re.compile(r"^[^\s/]+$")
MODIFIERS = ("ctrl", "shift", "alt", "meta", "super", "hyper")


@dataclass(frozen=True, slots=True)
class KeyChoice:
    """One line of ``[keymap]``: the binding ``binding_id`` is pressed with ``keys`` (Textual's
    names, several separated by commas); ``where`` names the line for a sentence."""

    binding_id: str
    keys: str
    where: str


@dataclass(frozen=True, slots=True)
class Config:
    clusters: tuple[ClusterSpec, ...] = ()
    rules: tuple[Rule, ...] = DEFAULT_RULES  # defaults first, then the file's global rules
    read_only: bool = False
    path: str = ""  # the file read ("" when built in memory)
    exists: bool = False  # False when the file was missing and this is the empty config
    theme: str = ""  # a Textual theme's name; "" for Textual's default
    theme_where: str = ""  # the file and line of ``theme``, for a sentence
    keymap: tuple[KeyChoice, ...] = ()
    exec_commands: tuple[ExecChoice, ...] = ()  # [exec]: the command a shell runs, per image pattern

    def cluster(self, name: str) -> ClusterSpec | None:
        return next((c for c in self.clusters if c.name == name), None)

    def rules_for(self, spec: ClusterSpec | None) -> tuple[Rule, ...]:
        """Every rule that protects containers of ``spec``: defaults, global, then the cluster's own."""
        own = spec.rules if spec is not None else ()
        return merge_rules(self.rules, own)

    def read_only_for(self, spec: ClusterSpec | None) -> bool:
        return self.read_only or (spec is not None and spec.read_only)

    def claim(self, spec: ClusterSpec) -> ClusterSpec:
        """``spec`` as the config sees it: an engine that belongs to a configured cluster keeps
        that cluster's rules and read-only setting however it was named (--host, DOCKER_HOST,
        a Docker context, a Carina bundle, another cluster entry), and, when ``spec`` is not a
        config entry itself, that cluster's TLS. Addresses are compared by ``endpoint_key``."""
        keys = {endpoint_key(url) for url in spec.endpoints}
        owners = [c for c in self.clusters
                  if not (spec.source == "config" and c.name == spec.name)
                  and any(endpoint_key(url) in keys for url in c.endpoints)]
        if not owners:
            return spec
        claimed = replace(spec, rules=merge_rules(spec.rules, *(c.rules for c in owners)),
                          read_only=spec.read_only or any(c.read_only for c in owners))
        if spec.source != "config":
            claimed = replace(claimed, tls=owners[0].tls, insecure=owners[0].insecure)
        return claimed


MAX_CONFIG_BYTES = 16 * 1024 * 1024
_NOT_REGULAR = (
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def load_config(path: str | os.PathLike[str] | None = None, *, must_exist: bool | None = None) -> Config:
    """Read the config file (``path``, else ``paths.config_file()``).

    A missing file gives the empty config, unless the user named the file
    (``--config`` or ``$CARINA_TUI_CONFIG``; or ``must_exist=True``): then it is a ConfigError.
    A file that is there but cannot be read (a dangling link, a folder, a FIFO, no
    permission) is always a ConfigError: running on the default rules alone while
    the user's own rules sit unread would be a silent loss of protection.
    """
    file = paths.config_file(path)
    if must_exist is None:
        must_exist = paths.config_file_is_explicit(path)
    data = _read_regular_file(file, must_exist)
    if data is None:
        return Config(path=str(file), exists=False)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"The config file {file} is not UTF-8 text (bad byte at offset {exc.start}): save it as UTF-8."
        ) from None
    return parse_config(text, file)


def _read_regular_file(file: Path, must_exist: bool) -> bytes | None:
    """The bytes of ``file``, or None when nothing at all is there. Looked at before it is
    opened, so a FIFO or a device is refused, never read (a FIFO would block for ever)."""
    try:
        os.lstat(file)
    except FileNotFoundError:
        _refuse_dangling_folder(file)
        if must_exist:
            raise ConfigError(
                f"The config file {file} does not exist: check the path given with --config, "
                "or create the file (an empty file is a valid config)."
            ) from None
        return None
    except OSError as exc:
        raise _unreadable(file, exc) from None
    try:
        info = os.stat(file)
    except FileNotFoundError:
        raise ConfigError(
            f"The config file {file} is a symbolic link to {os.readlink(file)}, which does not exist: "
            "fix the link or remove it."
        ) from None
    except OSError as exc:
        raise _unreadable(file, exc) from None
    _refuse_if_not_regular(file, info)
    if info.st_size > MAX_CONFIG_BYTES:
        raise ConfigError(f"The config file {file} is {info.st_size // (1024 * 1024)} MiB; a config file is at most "
                          f"{MAX_CONFIG_BYTES // (1024 * 1024)} MiB. Point --config at the right file.")
    try:
        fd = os.open(file, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)  # no wait, even if it became a FIFO
    except OSError as exc:
        raise _unreadable(file, exc) from None
    with open(fd, "rb") as handle:
        _refuse_if_not_regular(file, os.fstat(fd))  # replaced between the look and the open
        try:
            data = handle.read(MAX_CONFIG_BYTES + 1)
        except OSError as exc:
            raise _unreadable(file, exc) from None
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(f"The config file {file} grew past {MAX_CONFIG_BYTES // (1024 * 1024)} MiB while it "
                          "was read; point --config at the right file.")
    return data


def _refuse_dangling_folder(file: Path) -> None:
    """A config folder that is a link to nothing (a dotfiles folder not mounted, say) hides the file."""
    for folder in file.parents:
        if folder.is_symlink() and not folder.exists():
            raise ConfigError(
                f"The config file {file} cannot be read: its folder {folder} is a symbolic link to "
                f"{os.readlink(folder)}, which does not exist. Fix the link or remove it."
            )


def _refuse_if_not_regular(file: Path, info: os.stat_result) -> None:
    if stat.S_ISDIR(info.st_mode):
        raise ConfigError(f"The config file {file} is a folder, not a file: point --config at the TOML file.")
    if not stat.S_ISREG(info.st_mode):
        kind = next((name for test, name in _NOT_REGULAR if test(info.st_mode)), "not a regular file")
        raise ConfigError(f"The config file {file} is {kind}, not a regular file; carina-tui reads its config "
                          "only from a regular file: point --config at one, or remove it.")


def _unreadable(file: Path, exc: OSError) -> ConfigError:
    return ConfigError(f"The config file {clip(str(file), 200)} cannot be read ({exc.strerror or exc}): "
                       "check it and its folder's permissions.")


def parse_config(text: str, path: str | os.PathLike[str] = "clusters.toml") -> Config:
    """Parse config text; relative TLS paths are taken from ``path``'s folder."""
    import tomllib  # (here: with no config file, start-up does without it)

    file = Path(path)
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(_syntax_sentence(file, text, exc)) from None
    except ValueError as exc:  # tomllib's int(): a number of more than 4300 digits
        raise ConfigError(f"The config file {file} is not valid TOML: it has a number too long to read "
                          f"({str(exc).split(':')[0]}). Fix that number.") from None
    except RecursionError:
        raise ConfigError(f"The config file {file} is not valid TOML for carina-tui: its lists or tables "
                          "are nested too deep to read. Fix the file.") from None
    return _Reader(file, text).config(doc)


def _syntax_sentence(file: Path, text: str, exc: tomllib.TOMLDecodeError) -> str:
    message = str(exc)
    where = re.search(r"\(at line (\d+), column (\d+)\)", message)
    reason = re.sub(r"\s*\(at (line \d+, column \d+|end of document)\)", "", message).strip().rstrip(".")
    if where:
        number = int(where.group(1))
        lines = text.splitlines()
        shown = lines[number - 1].strip() if 0 < number <= len(lines) else ""
        quote = f' ("{shown[:80]}")' if shown else ""
        return (
            f"The config file {file} is not valid TOML: line {number}, column {where.group(2)}{quote}: "
            f"{reason}. Fix that line."
        )
    return f"The config file {file} is not valid TOML: {reason} (at the end of the file). Fix the file's end."


def _show(value: Any) -> str:
    if isinstance(value, str):
        return f'"{clip(value)}"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return clip(str(value))


class _Reader:
    def __init__(self, file: Path, text: str = "") -> None:
        self.file = file
        self.lines = text.splitlines()

    # -- sentences

    def fail(self, key: str, problem: str) -> ConfigError:
        end = "" if problem.endswith(("?", ".")) else "."
        return ConfigError(f"In the config file {self.file}, {key} {problem}{end}")

    def unknown_keys(self, table: dict, allowed: tuple[str, ...], where: str) -> None:
        for key in table:
            if key in allowed:
                continue
            import difflib

            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f'did you mean "{close[0]}"?' if close else "the keys allowed here are " + ", ".join(allowed)
            name = f"{where}.{key}" if where else key
            raise self.fail(name, f"is not a key carina-tui knows; {hint}")

    # -- typed values

    def boolean(self, table: dict, key: str, where: str, default: bool = False) -> bool:
        value = table.get(key, default)
        if not isinstance(value, bool):
            raise self.fail(f"{where}{key}", f"must be true or false, not {_show(value)}")
        return value

    def text(self, table: dict, key: str, where: str, default: str = "", *, allow_empty: bool = False) -> str:
        if key not in table:
            return default
        value = table[key]
        if not isinstance(value, str):
            raise self.fail(f"{where}{key}", f"must be a string in quotes, not {_show(value)}")
        if not value.strip() and not allow_empty:
            raise self.fail(f"{where}{key}", "is empty; give a value or leave the key out")
        return value.strip()

    def port(self, table: dict, key: str, where: str, default: int) -> int:
        value = table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(f"{where}{key}", f"must be a port number such as 2376, not {_show(value)}")
        if not 0 < value < 65536:
            raise self.fail(f"{where}{key}", f"is {_show(value)}, which is not a port number between 1 and 65535")
        return value

    def file_path(self, table: dict, key: str, where: str) -> str:
        value = self.text(table, key, where)
        if not value:
            return ""
        expanded = Path(os.path.expanduser(value))
        if not expanded.is_absolute():
            expanded = self.file.parent / expanded
        return str(expanded)

    # -- parts

    def config(self, doc: dict) -> Config:
        self.unknown_keys(doc, TOP_LEVEL_KEYS, "")
        read_only = self.boolean(doc, "read_only", "")
        rules = self.rules(doc.get("protect", []), "protect", "config")
        clusters_table = doc.get("clusters", {})
        if not isinstance(clusters_table, dict):
            raise self.fail("clusters", "must be tables written as [clusters.NAME], not " + _show(clusters_table))
        clusters = tuple(self.cluster(name, body) for name, body in clusters_table.items())
        theme = self.text(doc, "theme", "")
        return Config(
            clusters=clusters,
            rules=merge_rules(DEFAULT_RULES, rules),
            read_only=read_only,
            path=str(self.file),
            exists=True,
            theme=theme,
            theme_where=self.where("theme", "") if theme else "",
            keymap=self.keymap(doc.get("keymap", {})),
            exec_commands=self.exec_commands(doc.get("exec", {})),
        )

    def where(self, key: str, section: str) -> str:
        """``the config file F, line N`` for ``key`` (in ``[section]``, or at the top when "");
        without the line when it cannot be found (an inline table, say)."""
        inside = section == ""
        pattern = re.compile(r'^\s*(?:"%s"|\'%s\'|%s)\s*=' % ((re.escape(key),) * 3))
        for number, line in enumerate(self.lines, 1):
            stripped = line.strip()
            if stripped.startswith("["):
                inside = stripped.strip("[] ") == section
                continue
            if inside and pattern.match(line):
                return f"the config file {self.file}, line {number}"
        return f"the config file {self.file}"

    def keymap(self, table: Any) -> tuple[KeyChoice, ...]:
        """``[keymap]``: binding id = keys. The keys' shape is checked here; whether the id and the
        key names exist is Textual's to say (``carina_tui.ui.keymap``), with the same line."""
        if not isinstance(table, dict):
            raise self.fail("keymap", f'must be a table written as [keymap] with lines such as "app.quit" = "ctrl+x", '
                                      f"not {_show(table)}")
        out = []
        for binding_id, keys in table.items():
            where = self.where(binding_id, "keymap")
            if not isinstance(keys, str) or not keys.strip():
                raise ConfigError(f'In {where}, keymap "{clip(binding_id)}" must be keys in quotes such as '
                                  f'"ctrl+x" (several: "ctrl+x,f10"), not {_show(keys)}.')
            for part in keys.split(","):
                *mods, name = [p.strip() for p in part.strip().split("+")] if part.strip() else [""]
                bad = next((m for m in mods if m.lower() not in MODIFIERS), None)
                if not name or bad is not None:
                    problem = (f'"{clip(bad)}" is not a modifier (use {", ".join(MODIFIERS)})' if bad is not None
                               else "a key is missing")
                    raise ConfigError(f'In {where}, keymap "{clip(binding_id)}" = {_show(keys)}: {problem}; '
                                      'write keys such as "ctrl+x" or "f2", several separated by commas.')
            out.append(KeyChoice(binding_id, ",".join(p.strip() for p in keys.split(",")), where))
        return tuple(out)

    def exec_commands(self, table: Any) -> tuple[ExecChoice, ...]:
        """``[exec]``: image pattern = the command ``e`` runs in its containers, a string (split as a
        shell would) or a list of strings."""
        if not isinstance(table, dict):
            raise self.fail("exec", f'must be a table written as [exec] with lines such as "postgres*" = "psql -U '
                                    f'postgres", not {_show(table)}')
        out = []
        for pattern, command in table.items():
            where = self.where(pattern, "exec")
            start = f'In {where}, exec "{clip(pattern)}"'
            if not pattern.strip():
                raise ConfigError(f"{start} has no image pattern; write one such as \"postgres*\" before the =.")
            if isinstance(command, str):
                try:
                    argv = shlex.split(command)
                except ValueError as exc:
                    raise ConfigError(f"{start} = {_show(command)} cannot be read as a command ({exc}); "
                                      "close the quote or write it as a list of words.") from None
            elif isinstance(command, list) and all(isinstance(word, str) for word in command):
                argv = list(command)
            else:
                raise ConfigError(f'{start} must be a command in quotes such as "/bin/sh" or a list such as '
                                  f'["psql", "-U", "postgres"], not {_show(command)}.')
            if not argv or not argv[0].strip():
                raise ConfigError(f'{start} gives no command; write one such as "/bin/sh", or remove the line.')
            out.append(ExecChoice(pattern.strip(), tuple(argv), where))
        return tuple(out)

    def rules(self, value: Any, where: str, source: str) -> tuple[Rule, ...]:
        if isinstance(value, dict):
            value = [value]
        if not isinstance(value, list):
            raise self.fail(where, f'must be a list of rules such as [{{ name = "carina-svcd" }}], not {_show(value)}')
        found: list[Rule] = []
        for index, entry in enumerate(value):
            key = f"{where}[{index}]"
            if not isinstance(entry, dict):
                raise self.fail(key, f'must be a table such as {{ name = "carina-svcd" }}, not {_show(entry)}')
            self.unknown_keys(entry, RULE_KINDS, key)
            kinds = [k for k in RULE_KINDS if k in entry]
            if len(kinds) != 1:
                named = " and ".join(kinds) if kinds else "none of them"
                raise self.fail(key, f"must have exactly one of name, name_pattern, image or label; it has {named}")
            kind = kinds[0]
            text = self.text(entry, kind, f"{key}.")
            try:
                found.append(Rule(kind, text, source=source))  # type: ignore[arg-type]
            except ValueError as exc:
                raise self.fail(f"{key}.{kind}", f"is {_show(text)}, which {exc}") from None
        return merge_rules(found)

    def cluster(self, name: str, body: Any) -> ClusterSpec:
        where = f"clusters.{name}"
        if not _CLUSTER_NAME.match(name):
            raise self.fail(where, "has a name with a space or a slash; use a name such as prod or eu-west-1")
        if not isinstance(body, dict):
            raise self.fail(where, f"must be a table written as [clusters.{name}], not {_show(body)}")
        self.unknown_keys(body, CLUSTER_KEYS, where)
        prefix = where + "."
        endpoints = self.endpoints(body, where)
        ca = self.file_path(body, "tls_ca", prefix)
        cert = self.file_path(body, "tls_cert", prefix)
        key = self.file_path(body, "tls_key", prefix)
        verify = self.boolean(body, "tls_verify", prefix, default=True)
        if bool(cert) != bool(key):
            missing = "tls_key" if cert else "tls_cert"
            raise self.fail(where, f"has {'tls_cert' if cert else 'tls_key'} without {missing}; give both or neither")
        tls_flag = body.get("tls")
        if tls_flag is not None:
            tls_flag = self.boolean(body, "tls", prefix)
        has_files = bool(ca or cert)
        if tls_flag is False and (has_files or "tls_verify" in body):
            raise self.fail(f"{prefix}tls", "is false while TLS files or tls_verify are given; remove one or the other")
        tls_on = has_files or tls_flag is True or ("tls_verify" in body)
        tls = TLSFiles(ca=ca, cert=cert, key=key, verify=verify) if tls_on else None
        consul = self.text(body, "consul", prefix)
        if consul:
            self.check_consul(consul, f"{prefix}consul")
        return ClusterSpec(
            name=name,
            source="config",
            endpoints=endpoints,
            tls=tls,
            insecure=self.boolean(body, "insecure", prefix),
            colour=self.text(body, "colour", prefix),
            read_only=self.boolean(body, "read_only", prefix),
            rules=self.rules(body.get("protect", []), f"{prefix}protect", f"cluster:{name}"),
            consul=consul,
            consul_token=self.text(body, "consul_token", prefix),
            discover_nodes=self.boolean(body, "discover_nodes", prefix),
            node_port=self.port(body, "node_port", prefix, 2376),
            origin=str(self.file),
        )

    def endpoints(self, body: dict, where: str) -> tuple[str, ...]:
        key = f"{where}.endpoints"
        value = body.get("endpoints")
        if value is None:
            raise self.fail(where, 'has no endpoints; add endpoints = ["tcp://HOST:2376"], one per node')
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            raise self.fail(key, f'must be a list of addresses such as ["tcp://203.0.113.10:2376"], not {_show(value)}')
        if not value:
            raise self.fail(key, 'is empty; give at least one address such as "tcp://203.0.113.10:2376"')
        found: list[str] = []
        seen: set[str] = set()
        for index, url in enumerate(value):
            item = f"{key}[{index}]"
            if not isinstance(url, str):
                raise self.fail(item, f"must be an address in quotes, not {_show(url)}")
            try:
                parse_endpoint(url)
            except BadEndpoint as exc:
                raise self.fail(f"{item} ({_show(url)})", str(exc)) from None
            if endpoint_key(url) in seen:
                raise self.fail(item, f"repeats {_show(url.strip())}; give each node once")
            seen.add(endpoint_key(url))
            found.append(url.strip())
        return tuple(found)

    def check_consul(self, url: str, key: str) -> None:
        try:
            parts = urlsplit(url)
            parts.port
        except ValueError as exc:
            raise self.fail(f"{key} ({_show(url)})", f"is not a valid address ({exc})") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise self.fail(f"{key} ({_show(url)})", "must be an address such as http://203.0.113.10:8500")
