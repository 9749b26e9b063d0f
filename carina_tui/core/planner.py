"""The cleanup planner: a pure function from what the engines hold to what to remove.

Containers (``plan_cleanup``): only stopped containers (``exited``, ``created``, ``dead``) are
candidates. Each one lands in exactly one of four places:

* ``hidden_by_filter`` (a count): the filter does not show it, so it is not touched;
* ``protected_kept``: a protection rule matches it (a stopped Consul agent lands here);
* ``task_history``: a swarm task's container (label ``com.docker.swarm.task.id``) that
  Swarm keeps as the service's task history (``docker service ps`` shows it, up to the
  swarm's task history limit, and removes it itself): kept unless ``include_task_history``;
* ``to_remove``: everything else (with ``include_task_history``, the task history too).

The filter is what the Containers pane's ``/`` box and ``carina-tui cleanup``
options express: ``node=NAME``, ``name=TEXT`` (``*`` and ``?`` as wildcards),
``label=KEY`` or ``label=KEY=VALUE``, ``until=DURATION`` (created at least
that long ago) and free words that must all appear in the row.

Images and volumes (``plan_prune``, rows from ``storage_models.with_users``): the
candidates are the unused ones (no container on their engine uses them, running or not;
for images with ``dangling_only``, only those with no name), and each lands in the same
three places: an image or volume a protected container uses (an image: on any engine,
by id or by name) is ``protected_kept`` (with that container and its rule), whether
unused or not, so the plan shows why it stays.

Execution (``carina_tui.services.runner``) removes exactly ``to_remove``, each one
re-checked by the guard first.
"""

from __future__ import annotations

import fnmatch
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable

from carina_tui.core.durations import parse_duration
from carina_tui.core.errors import ValidationError, clip
from carina_tui.core.models import ContainerInfo
from carina_tui.core.rules import Rule, last_name_part, matching_rule
from carina_tui.core.storage_models import Stored
from carina_tui.core.swarm_nodes import task_of

FILTER_KEYS = ("node", "name", "label", "until")


@dataclass(frozen=True, slots=True)
class ContainerFilter:
    """Which containers a user is looking at. Every given part must match (AND)."""

    nodes: tuple[str, ...] = ()  # any of these nodes
    names: tuple[str, ...] = ()  # every one matches the name (substring, or glob with * ?)
    labels: tuple[tuple[str, str | None], ...] = ()  # every label present (with that value)
    until: int | None = None  # created at least this many seconds ago
    words: tuple[str, ...] = ()  # free text, every word in the row's text

    @property
    def empty(self) -> bool:
        return not (self.nodes or self.names or self.labels or self.until is not None or self.words)

    def shows(self, c: ContainerInfo, now: float, text: str | None = None) -> bool:
        if self.nodes and c.node not in self.nodes:
            return False
        if self.names and not all(_name_matches(c, n) for n in self.names):
            return False
        if self.labels:
            have = c.label_map
            for key, value in self.labels:
                if key not in have or (value is not None and have[key] != value):
                    return False
        if self.until is not None and now - c.created < self.until:
            return False
        if self.words:
            hay = (text if text is not None else row_text(c)).lower()
            if not all(w in hay for w in self.words):
                return False
        return True


def _name_matches(c: ContainerInfo, pattern: str) -> bool:
    if any(ch in pattern for ch in "*?["):
        return fnmatch.fnmatchcase(last_name_part(c.name), pattern) or fnmatch.fnmatchcase(c.qualified_name, pattern)
    return pattern in c.qualified_name


def row_text(c: ContainerInfo) -> str:
    """What free words are matched against when no screen row is at hand."""
    return " ".join((c.qualified_name, c.state, c.node, c.image, c.networks_text, c.ports_text, c.short_id))


def parse_label(text: str, *, what: str = "--label") -> tuple[str, str | None]:
    key, eq, value = text.partition("=")
    key = key.strip()
    if not key:
        raise ValidationError(f"{what} takes KEY or KEY=VALUE (for example carina.role=worker), not {clip(text)!r}.",
                              field=what)
    return key, (value if eq else None)


def parse_filter(text: str) -> ContainerFilter:
    """``node=n1 label=app=web until=2h db`` -> a ContainerFilter; a sentence on bad input."""
    nodes, names, labels, words = [], [], [], []
    until = None
    for token in text.split():
        key, eq, value = token.partition("=")
        if eq and key.lower() in FILTER_KEYS:
            key = key.lower()
            if not value:
                raise ValidationError(f"The filter {token!r} needs a value after '='.", field="filter")
            if key == "node":
                nodes.append(value)
            elif key == "name":
                names.append(value)
            elif key == "label":
                labels.append(parse_label(value, what="label="))
            else:
                until = parse_duration(value, what="until=")
        else:
            words.append(token.lower())
    return ContainerFilter(tuple(nodes), tuple(names), tuple(labels), until, tuple(words))


@dataclass(frozen=True, slots=True)
class Kept:
    container: ContainerInfo  # the protected container (for an image or a volume: the one using it)
    rule: Rule
    item: Stored | None = None  # the image or volume kept for it; None in a plan of containers

    @property
    def target(self) -> ContainerInfo | Stored:
        """What is kept: the container, or the image or volume."""
        return self.item if self.item is not None else self.container


KINDS = ("containers", "images", "volumes")
# What a plan of each kind holds, in words.
NOUN = {"containers": "container", "images": "image", "volumes": "volume"}
CANDIDATES = {"containers": "stopped container(s)", "images": "unused image(s)", "volumes": "unused volume(s)"}


@dataclass(frozen=True, slots=True)
class Plan:
    to_remove: tuple = ()  # ContainerInfo, or Image / Volume (``kind``)
    protected_kept: tuple[Kept, ...] = ()
    hidden_by_filter: int = 0
    filter: ContainerFilter = field(default_factory=ContainerFilter)
    task_history: tuple[ContainerInfo, ...] = ()  # kept: Swarm's task history (see the module docstring)
    include_task_history: bool = False  # the task history was asked for: it is in ``to_remove``
    kind: str = "containers"  # containers | images | volumes
    dangling_only: bool = False  # images: only those with no name were candidates

    @property
    def count(self) -> int:
        return len(self.to_remove)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(c.id for c in self.to_remove)


def _order(c: ContainerInfo) -> tuple[str, str, str]:
    return (c.node, c.name, c.id)


def plan_cleanup(
    containers: Iterable[ContainerInfo],
    rules: Iterable[Rule],
    flt: ContainerFilter | None = None,
    *,
    now: float | None = None,
    shows: Callable[[ContainerInfo], bool] | None = None,
    include_task_history: bool = False,
) -> Plan:
    """Sort every stopped container into remove / protected and kept / task history kept /
    hidden by the filter.

    ``shows`` is an extra test of what a screen shows (the Containers pane's own
    filter); a container must pass both ``flt`` and ``shows`` to be planned.
    ``include_task_history``: Swarm's exited task containers are removed too.
    """
    flt = flt or ContainerFilter()
    rules = tuple(rules)
    now = time.time() if now is None else now
    seen: set[str] = set()
    remove: list[ContainerInfo] = []
    kept: list[Kept] = []
    history: list[ContainerInfo] = []
    hidden = 0
    for c in containers:
        if not c.stopped or c.key in seen:
            continue
        seen.add(c.key)
        if not flt.shows(c, now) or (shows is not None and not shows(c)):
            hidden += 1
            continue
        rule = matching_rule(c, rules)
        if rule is not None:
            kept.append(Kept(c, rule))
        elif task_of(c) and not include_task_history:
            history.append(c)
        else:
            remove.append(c)
    return Plan(
        to_remove=tuple(sorted(remove, key=_order)),
        protected_kept=tuple(sorted(kept, key=lambda k: _order(k.container))),
        hidden_by_filter=hidden,
        filter=flt,
        task_history=tuple(sorted(history, key=_order)),
        include_task_history=include_task_history,
    )


def stored_text(item: Stored) -> str:
    """What free words are matched against for an image or a volume."""
    names = " ".join(getattr(item, "tags", ()) or (item.name,))
    return " ".join((names, item.node, item.short_id, getattr(item, "driver", ""), item.state))


def plan_prune(
    kind: str,
    items: Iterable[Stored],
    flt: ContainerFilter | None = None,
    *,
    dangling_only: bool = False,
    now: float | None = None,
    shows: Callable[[Stored], bool] | None = None,
) -> Plan:
    """Sort images or volumes (``kind``, with their users, ``storage_models.with_users``) into remove /
    protected and kept / hidden by the filter. In use and not protected: not a candidate.
    ``dangling_only`` (images): an unused image with a name counts as hidden by the filter, and a
    protected one with a name is not listed at all (only the dangling ones are the plan's business)."""
    flt = flt or ContainerFilter()
    now = time.time() if now is None else now
    if kind not in KINDS[1:]:
        raise ValueError(f"plan_prune plans images or volumes, not {kind!r}")
    seen: set[str] = set()
    remove: list[Stored] = []
    kept: list[Kept] = []
    hidden = 0
    for item in items:
        if item.key in seen:
            continue
        seen.add(item.key)
        named = dangling_only and not getattr(item, "dangling", False)
        if item.protected_by is not None and item.rule is not None:
            if not named:
                kept.append(Kept(item.protected_by, item.rule, item))
            continue
        if item.in_use:
            continue
        if (named or not flt.shows(item, now, text=stored_text(item))
                or (shows is not None and not shows(item))):
            hidden += 1
            continue
        remove.append(item)
    order = lambda i: (i.node, i.name, i.id)  # noqa: E731
    return Plan(
        to_remove=tuple(sorted(remove, key=order)),
        protected_kept=tuple(sorted(kept, key=lambda k: order(k.item))),
        hidden_by_filter=hidden,
        filter=flt,
        kind=kind,
        dangling_only=dangling_only,
    )
