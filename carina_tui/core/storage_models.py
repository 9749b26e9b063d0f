"""Images and volumes: the frozen rows of the Images and Volumes panes, and who uses each.

The docker gateway builds ``Image`` and ``Volume`` from one engine's lists (no users yet);
``with_users`` then says, from the containers of every engine, which containers use
each one and whether a protected container does. That is pure, so the panes work it out
from the rows they already hold, and the planner and the guard from a fresh list.

Who uses an image:

* on its own engine, every container made from it (the container's image id), running
  or stopped: the engine will not remove it while one exists;
* for protection, on ANY engine of the cluster, a protected container whose image is
  that image by id, or whose names for its image (as listed, as created
  (``Config.Image``), its image's tags and digests) name the image by id, short id,
  tag or digest. A tag moved to another image, or an agent on another node, keeps the
  image all the same: ``carina/consul`` stays while an agent anywhere names it.

Who uses a volume: the containers of its engine that mount it, running or stopped.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Iterable

from carina_tui.core.models import ContainerInfo, Pairs, short_id
from carina_tui.core.rules import Rule, image_repository, matching_rule


class _OnEngine:
    """What an image and a volume share: a key unique across the engines, labels, users."""

    __slots__ = ()

    @property
    def key(self) -> str:
        return f"{self.endpoint}|{self.id}"

    @property
    def label_map(self) -> dict[str, str]:
        return dict(self.labels)

    @property
    def in_use(self) -> bool:
        return bool(self.users)


@dataclass(frozen=True, slots=True)
class Image(_OnEngine):
    """One image on one engine."""

    id: str
    tags: tuple[str, ...] = ()
    digests: tuple[str, ...] = ()
    size: int = 0
    created: float = 0.0
    endpoint: str = ""
    node: str = ""
    labels: Pairs = ()
    users: tuple[ContainerInfo, ...] = ()  # containers on its engine made from it
    protected_by: ContainerInfo | None = None  # a protected container (any engine) that uses or names it
    rule: Rule | None = None  # the rule protecting ``protected_by``

    @property
    def short_id(self) -> str:
        return short_id(self.id)

    @property
    def dangling(self) -> bool:
        """No tag and no digest: nothing names it but its id."""
        return not self.tags and not self.digests

    @property
    def name(self) -> str:
        """``repository:tag`` (its first tag), else ``<none>``."""
        return self.tags[0] if self.tags else (self.digests[0].split("@", 1)[0] + "@…" if self.digests else "<none>")

    @property
    def names_text(self) -> str:
        """Every name it has (its tags, comma-separated), else ``name``."""
        return ", ".join(self.tags) if len(self.tags) > 1 else self.name

    @property
    def qualified_name(self) -> str:
        """``node/name (short id)``: what a sentence, an outcome and the audit log call it."""
        shown = self.name if self.tags or self.digests else self.short_id
        return f"{self.node}/{shown}" if self.node else shown

    @property
    def state(self) -> str:
        return "dangling" if self.dangling else ""


@dataclass(frozen=True, slots=True)
class Volume(_OnEngine):
    """One volume on one engine."""

    name: str
    driver: str = ""
    mountpoint: str = ""
    endpoint: str = ""
    node: str = ""
    created: float = 0.0
    labels: Pairs = ()
    scope: str = ""
    size: int | None = None  # bytes, where the engine knows it (``/system/df``); None: not known
    users: tuple[ContainerInfo, ...] = ()  # containers on its engine that mount it
    protected_by: ContainerInfo | None = None
    rule: Rule | None = None

    @property
    def id(self) -> str:
        """A volume's name is its id."""
        return self.name

    @property
    def short_id(self) -> str:
        return self.name[:12]

    @property
    def qualified_name(self) -> str:
        return f"{self.node}/{self.name}" if self.node else self.name

    @property
    def state(self) -> str:
        return ""


Stored = Image | Volume


def names_image(ref: str, image: Image) -> bool:
    """True when ``ref`` (a name a container gives its image) names ``image``: its id (with or
    without ``sha256:``, or a short id of 4 or more hex digits), one of its digests, or one of
    its tags (``busybox`` is ``busybox:latest``; ``docker.io/library/`` and the like dropped)."""
    if not ref:
        return False
    bare = image.id.split(":", 1)[-1]
    plain = ref.split(":", 1)[-1] if ref.startswith("sha256:") else ref
    if len(plain) >= 4 and all(ch in "0123456789abcdef" for ch in plain) and bare.startswith(plain):
        return True
    if "@" in ref:
        repo, _, digest = ref.partition("@")
        return any(d.split("@", 1)[1] == digest and image_repository(d) == image_repository(repo)
                   for d in image.digests)
    wanted = _tagged(ref)
    return any(_tagged(t) == wanted for t in image.tags)


def _tagged(ref: str) -> tuple[str, str]:
    """``repository, tag`` with ``latest`` for no tag and Docker Hub's implicit prefixes dropped."""
    last = ref.rsplit("/", 1)[-1]
    tag = last.split(":", 1)[1] if ":" in last else "latest"
    return image_repository(ref), tag


def uses_image(c: ContainerInfo, image: Image) -> bool:
    """``c`` was made from ``image`` (same engine, same id)."""
    return c.endpoint == image.endpoint and c.image_id == image.id


def names_it(c: ContainerInfo, image: Image) -> bool:
    """``c`` uses ``image`` or names it (any engine): what protection goes by."""
    return (bool(c.image_id) and c.image_id == image.id) or any(names_image(ref, image) for ref in c.image_names)


def mounts(c: ContainerInfo, volume: Volume) -> bool:
    return c.endpoint == volume.endpoint and volume.name in c.mounts


def with_users(items: Iterable[Stored], containers: Iterable[ContainerInfo], rules: Iterable[Rule]) -> list[Stored]:
    """``items`` with ``users`` (same engine) and ``protected_by``/``rule`` filled in."""
    rules = tuple(rules)
    containers = list(containers)
    protected = [(c, r) for c in containers for r in (matching_rule(c, rules),) if r is not None]
    by_image: dict[tuple[str, str], list[ContainerInfo]] = {}
    by_volume: dict[tuple[str, str], list[ContainerInfo]] = {}
    for c in containers:
        by_image.setdefault((c.endpoint, c.image_id), []).append(c)
        for name in c.mounts:
            by_volume.setdefault((c.endpoint, name), []).append(c)
    # A protected container on the item's own engine is named first: the one that needs it there.
    protected.sort(key=lambda pair: pair[0].endpoint)
    out: list[Stored] = []
    for item in items:
        if isinstance(item, Image):
            users = by_image.get((item.endpoint, item.id), ())
            keepers = [(c, r) for c, r in protected if names_it(c, item)]
        else:
            users = by_volume.get((item.endpoint, item.name), ())
            keepers = [(c, r) for c, r in protected if mounts(c, item)]
        keeper = next((k for k in keepers if k[0].endpoint == item.endpoint), keepers[0] if keepers else None)
        users = tuple(sorted(users, key=lambda c: (c.node, c.name)))
        out.append(replace(item, users=users, protected_by=keeper[0] if keeper else None,
                           rule=keeper[1] if keeper else None))
    return out


def users_text(item: Stored, *, qualify: bool = False) -> str:
    """``web, db`` (``node/web`` on a cluster of several nodes), or ``-``."""
    names = [c.qualified_name if qualify else c.name for c in item.users]
    return ", ".join(names) if names else "-"


def size_text(size: int | None) -> str:
    """Bytes as ``4.2MB`` (decimal units, as ``docker images``); ``-`` when not known."""
    if size is None or size < 0:
        return "-"
    value = float(size)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{value:.0f}{unit}" if unit == "B" else f"{value:.1f}{unit}"
        value /= 1000
    return f"{size}B"
