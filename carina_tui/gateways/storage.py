"""Images and volumes of one engine: mixed into ``DockerGateway`` (``StorageGateway``).

Reads return ``carina_tui.core.storage_models`` rows without users (``with_users`` adds
them from the containers of every engine). The two removals take a ``Permit``, as every
mutating gateway method does, and never force: the engine itself then refuses an image
or a volume that a container (running or stopped) uses, whatever the guard saw a moment
before.

The engine removes an image by id only while one name at most leads to it ("must be
forced" otherwise, and forcing would also remove an image a stopped container uses).
So an image with several tags loses all but one by name first, then goes by id; when
that last step is refused (a container was made from it meanwhile), the names taken
off are put back, so a refused removal leaves the image as it was.
"""

from __future__ import annotations

from urllib.parse import quote

from carina_tui.core.errors import CarinaError, NotFound
from carina_tui.core.models import pairs
from carina_tui.core.permit import Permit, require
from carina_tui.core.storage_models import Image, Volume


def volume_names(mounts: list[dict] | None) -> tuple[str, ...]:
    """The names of the volumes among a container's ``Mounts`` (list or inspect)."""
    return tuple(sorted({m.get("Name") or "" for m in (mounts or ()) if m.get("Type") == "volume"} - {""}))


def _parse_time(text: str) -> float:
    from carina_tui.gateways.docker_gateway import _parse_time as parse

    return parse(text)


def _split_tag(tag: str) -> tuple[str, str]:
    """``host:5000/repo:tag`` -> (``host:5000/repo``, ``tag``)."""
    head, _, last = tag.rpartition("/")
    name, _, version = last.partition(":")
    return (f"{head}/{name}" if head else name), (version or "latest")


class StorageGateway:
    """Images and volumes; relies on ``DockerGateway``'s ``_read``, ``_call``, ``api``, ``key``, ``node``."""

    key: str
    node: str

    # -- images -------------------------------------------------------------------------

    def stored_images(self) -> list[Image]:
        """Every image of this engine (the engine's image list: tags, digests, size, labels)."""
        return [Image(id=i.id, tags=i.tags, digests=i.digests, size=i.size, created=i.created, endpoint=self.key,
                      node=self.node, labels=i.labels) for i in self._list_images()]

    def stored_image(self, image_id: str) -> Image:
        """A fresh look at one image (inspect), as the guard needs before removing it."""
        what = f"inspect image {image_id.split(':', 1)[-1][:12]}"
        doc = self._read(what, f"/images/{quote(image_id)}/json",
                         lambda api: api.inspect_image(image_id))
        return Image(
            id=doc.get("Id") or "",
            tags=tuple(t for t in (doc.get("RepoTags") or ()) if t != "<none>:<none>"),
            digests=tuple(d for d in (doc.get("RepoDigests") or ()) if d != "<none>@<none>"),
            size=int(doc.get("Size") or 0),
            created=_parse_time(doc.get("Created") or ""),
            endpoint=self.key,
            node=self.node,
            labels=pairs((doc.get("Config") or {}).get("Labels")),
        )

    # -- volumes ------------------------------------------------------------------------

    def volumes(self) -> list[Volume]:
        """Every volume of this engine (no sizes: see ``volume_sizes``)."""
        doc = self._read("list volumes", "/volumes", lambda api: api.volumes())
        return sorted((self._volume(v) for v in (doc or {}).get("Volumes") or ()), key=lambda v: v.name)

    def volume(self, name: str) -> Volume:
        doc = self._read(f"inspect volume {name}", f"/volumes/{quote(name)}",
                         lambda api: api.inspect_volume(name))
        return self._volume(doc)

    def volume_sizes(self) -> dict[str, int]:
        """Volume name -> bytes, for the volumes whose size the engine worked out (``/system/df``,
        which walks every volume: asked for apart from the list, and only when shown)."""
        doc = self._read("read the engine's disk usage", "/system/df",
                         lambda api: api.df())
        sizes = {}
        for v in (doc or {}).get("Volumes") or ():
            size = (v.get("UsageData") or {}).get("Size")
            if v.get("Name") and isinstance(size, int) and size >= 0:
                sizes[v["Name"]] = size
        return sizes

    def _volume(self, v: dict) -> Volume:
        size = (v.get("UsageData") or {}).get("Size")
        return Volume(
            name=v.get("Name") or "",
            driver=v.get("Driver") or "",
            mountpoint=v.get("Mountpoint") or "",
            endpoint=self.key,
            node=self.node,
            created=_parse_time(v.get("CreatedAt") or ""),
            labels=pairs(v.get("Labels")),
            scope=v.get("Scope") or "",
            size=size if isinstance(size, int) and size >= 0 else None,
        )

    # -- mutations (permit required; only the guard holds permits) -----------------------

    def remove_image(self, permit: Permit, image_id: str, *, untag: tuple[str, ...] = (), name: str = "") -> None:
        """Remove the image: the tags in ``untag`` first (by name), then the image by id, never
        forced. When the last step fails, the names taken off are put back."""
        require(permit, "image.remove", image_id)
        shown = name or image_id.split(":", 1)[-1][:12]
        taken: list[str] = []
        try:
            for tag in untag:
                with self._call(f"remove the name {tag} of image {shown}"):
                    self.api.remove_image(tag, noprune=True)
                taken.append(tag)
            with self._call(f"remove image {shown}"):
                self.api.remove_image(image_id)
        except CarinaError:
            for tag in taken:
                if "@" in tag:
                    continue  # a digest cannot be put back by hand: a pull of that digest brings it again
                repository, version = _split_tag(tag)
                try:
                    with self._call(f"put the name {tag} back on image {shown}"):
                        self.api.tag(image_id, repository, version)
                except NotFound:
                    break  # the image is gone after all: nothing to put the names on
                except CarinaError:
                    pass  # the removal's error is the one to report
            raise

    def remove_volume(self, permit: Permit, name: str) -> None:
        """Remove the volume, never forced: the engine refuses one a container mounts."""
        require(permit, "volume.remove", name)
        with self._call(f"remove volume {name}"):
            self.api.remove_volume(name)
