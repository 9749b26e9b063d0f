"""Protection rules: which containers the console must never destroy.

Rules are data. The defaults live here, in one place; the config file and each
cluster entry can add more (see ``carina_tui.core.config``).
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
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


@dataclass(frozen=True, slots=True)
class Rule:
    kind: RuleKind
    value: str
    source: str = "default"

    def __post_init__(self) -> None:
        if self.kind not in RULE_KINDS:
            raise ValueError(f"unknown rule kind {self.kind!r}")

    def matches(self, container: ContainerInfo) -> bool:
        if self.kind == "name":
            return last_name_part(container.name) == self.value
        if self.kind == "name_pattern":
            return fnmatch.fnmatchcase(last_name_part(container.name), self.value)
        if self.kind == "image":
            # However the container names its image: as listed, as created, or by the image's tags/digests.
            return any(repository_matches(ref, self.value) for ref in container.image_names)
        key, _, want = self.value.partition("=")
        labels = container.label_map
        return key in labels and labels[key].lower() == want.lower()

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


def matching_rule(container: ContainerInfo, rules: Iterable[Rule]) -> Rule | None:
    """The first rule that protects ``container``, or None."""
    for rule in rules:
        if rule.matches(container):
            return rule
    return None
