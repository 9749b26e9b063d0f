"""Protection rules: which containers the console must never destroy.

Rules are data. The defaults live here, in one place; the config file and each
cluster entry can add more (see ``carina_tui.core.config``).
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable, Literal

from carina_tui.core.models import ContainerInfo

RuleKind = Literal["name", "name_pattern", "image", "label"]
RULE_KINDS: tuple[str, ...] = ("name", "name_pattern", "image", "label")


def image_repository(image: str) -> str:
    """``registry:5000/carina/consul:1.2@sha256:..`` -> ``registry:5000/carina/consul``.

    The implicit Docker Hub prefixes (``docker.io/``, ``library/``) are dropped so
    ``docker.io/carina/consul`` and ``carina/consul`` are the same repository.
    """
    ref = image.split("@", 1)[0]
    last = ref.rsplit("/", 1)[-1]
    if ":" in last:  # a tag (a colon before the last slash is a registry port)
        ref = ref[: len(ref) - len(last)] + last.split(":", 1)[0]
    for prefix in ("docker.io/", "index.docker.io/", "registry-1.docker.io/"):
        if ref.startswith(prefix):
            ref = ref[len(prefix):]
            break
    if ref.startswith("library/"):
        ref = ref[len("library/"):]
    return ref


def _without_registry(repo: str) -> str:
    first, sep, rest = repo.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        return rest
    return repo


@lru_cache(maxsize=4096)  # pure, and asked for the same few images on thousands of containers
def repository_matches(image: str, wanted: str) -> bool:
    """True when ``image`` is from repository ``wanted``.

    A rule without a registry host (``carina/consul``) also matches the same
    repository pulled through a mirror (``mirror:5000/carina/consul``): for a
    protection rule, erring on the side of protecting is the point.
    """
    have, want = image_repository(image), image_repository(wanted)
    if have == want:
        return True
    return _without_registry(want) == want and _without_registry(have) == want


def last_name_part(name: str) -> str:
    """``node-1/carina-svcd`` -> ``carina-svcd``; a leading ``/`` is ignored."""
    return name.strip("/").rsplit("/", 1)[-1]


_DOCKER_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]*")  # the characters the engine allows in a container name
_NAME_PATTERN = re.compile(r"[a-zA-Z0-9_.*?\[\]!^-]+")
_ALLOWED = "letters, digits, _ . and -, starting with a letter or a digit"


def normalise_rule_value(kind: str, value: str) -> str:
    """The value a rule compares, or ValueError saying why no container could ever match it.

    A name or name pattern may be written as the plan prints it: a leading ``/``
    (docker inspect) and a ``node/`` prefix (Swarm's docker ps) are dropped, since
    a rule protects that name on every node. A label is ``key=value`` with the
    spaces around key and value removed.
    """
    text = value.strip()
    if kind in ("name", "name_pattern"):
        text = last_name_part(text).strip()
        if not text:
            raise ValueError('names no container; write a container name such as "carina-svcd"')
        grammar = _DOCKER_NAME if kind == "name" else _NAME_PATTERN
        if not grammar.fullmatch(text):
            what = "name" if kind == "name" else "name pattern (a name with * ? [ ])"
            raise ValueError(f"is not a container {what} Docker allows ({_ALLOWED}), so it would never match")
    elif kind == "label":
        key, eq, want = text.partition("=")
        if not eq or not key.strip():
            missing = 'no key before "="' if eq else 'no "="'
            raise ValueError(f'has {missing}; write it as "key=value", e.g. "carina.protected=true"')
        text = f"{key.strip()}={want.strip()}"
    return text


@dataclass(frozen=True, slots=True)
class Rule:
    """``value`` is normalised on creation (see ``normalise_rule_value``); a value that can never
    match raises ValueError with the reason."""

    kind: RuleKind
    value: str
    source: str = "default"

    def __post_init__(self) -> None:
        if self.kind not in RULE_KINDS:
            raise ValueError(f"unknown rule kind {self.kind!r}")
        object.__setattr__(self, "value", normalise_rule_value(self.kind, self.value))

    def matches(self, container: ContainerInfo) -> bool:
        if self.kind == "name":
            return last_name_part(container.name) == self.value
        if self.kind == "name_pattern":
            return fnmatch.fnmatchcase(last_name_part(container.name), self.value)
        if self.kind == "image":
            # However the container names its image: as listed, as created, or by the image's tags/digests.
            return any(repository_matches(ref, self.value) for ref in container.image_names)
        # A label: key and value without the spaces around them, the value in any case.
        key, _, want = self.value.partition("=")
        want = want.lower()
        return any(k.strip() == key and v.strip().lower() == want for k, v in container.labels)

    def describe(self) -> str:
        what = {
            "name": "name",
            "name_pattern": "name pattern",
            "image": "image repository",
            "label": "label",
        }[self.kind]
        return f'{what} "{self.value}" ({self.source})'


DEFAULT_RULES: tuple[Rule, ...] = (
    Rule("name", "carina-svcd"),
    Rule("image", "carina/consul"),
    Rule("label", "carina.protected=true"),
)


def merge_rules(*groups: Iterable[Rule]) -> tuple[Rule, ...]:
    """The rules of ``groups`` in order, each once: a rule protecting what an earlier one
    protects (same kind and value; a label's value in any case) is left out. Linear, so a
    config with 20,000 rules loads at once."""
    seen: set[tuple[str, str]] = set()
    merged: list[Rule] = []
    for group in groups:
        for rule in group:
            same = (rule.kind, rule.value.lower() if rule.kind == "label" else rule.value)
            if same not in seen:
                seen.add(same)
                merged.append(rule)
    return tuple(merged)


def matching_rule(container: ContainerInfo, rules: Iterable[Rule]) -> Rule | None:
    """The first rule that protects ``container``, or None."""
    for rule in rules:
        if rule.matches(container):
            return rule
    return None
