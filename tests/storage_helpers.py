"""Images and volumes a test makes on the real engine, with a label only that test uses.

A prune plan is always asked for with that label (``--label carina.stock=<tag>``, or
``stock.flt``): the engine is shared by the whole run, and ``busybox:latest`` is unused
whenever no container runs.
"""

from __future__ import annotations

import secrets

import harness
from carina_tui.core.planner import ContainerFilter
from carina_tui.sandbox.images import rootfs_tar


def image_id(engine: harness.TestEngine, ref: str) -> str:
    return engine.docker("image", "inspect", "--format", "{{.Id}}", ref).strip()


class Stock:
    def __init__(self, engine: harness.TestEngine, scratch: harness.Scratch) -> None:
        self.engine, self.scratch = engine, scratch
        self.key, self.value = "carina.stock", scratch.tag
        self.refs: list[str] = []
        self.volumes: list[str] = []

    @property
    def label(self) -> str:
        return f"{self.key}={self.value}"

    @property
    def flt(self) -> ContainerFilter:
        return ContainerFilter(labels=((self.key, self.value),))

    def image(self, tag: str = "") -> str:
        """A new image of its own (its own id), tagged ``tag`` when given (dangling otherwise); its id."""
        change = f'LABEL {self.label} carina.test.image="{secrets.token_hex(4)}"'
        made = self.engine.docker("import", "--change", change, "-", *([tag] if tag else []),
                                  input=rootfs_tar(), timeout=120).strip()
        self.refs += [made, *([tag] if tag else [])]
        return made

    def tag(self, source: str, tag: str) -> None:
        self.engine.docker("tag", source, tag)
        self.refs.append(tag)

    def volume(self, base: str) -> str:
        name = self.scratch.name(base)
        self.engine.docker("volume", "create", "--label", harness.TEST_LABEL, "--label", self.label, name)
        self.volumes.append(name)
        return name

    def has_image(self, ref: str) -> bool:
        return bool(self.engine.docker("image", "inspect", "--format", "{{.Id}}", ref, check=False).strip())

    def has_volume(self, name: str) -> bool:
        return bool(self.engine.docker("volume", "inspect", "--format", "{{.Name}}", name, check=False).strip())

    def cleanup(self) -> None:
        self.scratch.cleanup()  # the containers first: an image or a volume in use cannot go
        for ref in reversed(self.refs):
            self.engine.docker("rmi", ref, check=False)
        if self.volumes:
            self.engine.docker("volume", "rm", *self.volumes, check=False)
