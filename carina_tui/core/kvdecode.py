"""Decode libnetwork's records in Consul's KV store into table rows. Pure: no I/O.

Docker 1.9-1.12, started with ``--cluster-store consul://...``, kept the state of
its global-scope (overlay) networks under ``docker/network/v1.0/`` (libnetwork's
``datastore.Key``: the root chain ``docker/network/v1.0`` then the object's key
parts, each followed by ``/``):

- ``network/<nid>/``: the network object (``network.MarshalJSON``): ``name``, ``id``,
  ``networkType``, ``ipamType``, ``addrSpace``, ``enableIPv6``, ``generic``,
  ``persist``, and from 1.10/1.12 ``scope``, ``labels``, ``ipamOptions``,
  ``internal``, ``inDelete``, ``created``, ``attachable``, ``ingress``. The IPAM
  lists ``ipamV4Config``/``ipamV4Info`` (and V6) are JSON *strings* inside the JSON,
  and each ``IpamInfo`` carries its ``IPAMData`` as one more JSON string.
- ``endpoint/<nid>/<eid>/``: the endpoint (``endpoint.MarshalJSON``): ``name``,
  ``id``, ``ep_iface`` (``mac``, ``addr``, ``addrv6``, ``v4PoolID``...), ``sandbox``,
  ``locator``, ``anonymous``, ``myAliases``, ``svcName``, ``exposed_ports``...
- ``endpoint_count/<nid>/``: ``{"Count": N}``.
- ``ipam/default/config/<address space>/``: the address space with its pools
  (``{"Scope": ..., "Subnets": {"GlobalDefault/10.0.0.0/24": PoolData}}``).
- ``ipam/default/data/<address space>/<subnet>/<len>/``: the allocation bitmask
  of a pool (bitseq: 8 bytes bit count, 8 bytes free count, then 12-byte
  run-length blocks; later versions wrap it as ``{"id", "sequence"}`` JSON).
- ``overlay/network/<nid>/``: the overlay driver's subnets with their VXLAN ids.
- ``idm/<name>/``: the bitmask of an id allocator (``vxlan-id``).

The Consul gateway has already undone the KV API's base64; here the bytes are
JSON (with nested JSON strings), binary, text, or junk. Nothing here raises:
what cannot be decoded becomes a ``raw`` record with the reason.
"""

from __future__ import annotations

import base64
import binascii
import json
import struct
from dataclasses import replace
from typing import Any, Iterable

from carina_tui.core.consul_models import (
    KVDecoded,
    KVEndpoint,
    KVEntry,
    KVNetwork,
    KVRecord,
    KVSubnet,
)
from carina_tui.core.models import pairs

LIBNETWORK_ROOT = "docker/network/v1.0/"

# IP protocol numbers libnetwork's TransportPort uses.
_PROTOCOLS = {1: "icmp", 6: "tcp", 17: "udp", 132: "sctp"}
_MAX_DEPTH = 8
_DETAIL_LIMIT = 64 * 1024
_SUMMARY_LIMIT = 160


# --- generic value rendering -----------------------------------------------------------


def unnest(value: Any, depth: int = 0) -> Any:
    """Expand JSON strings nested inside JSON (libnetwork's ``ipamV4Info`` and kin).

    A string is replaced by its parse only when it holds a JSON object or array.
    """
    if depth > _MAX_DEPTH:
        return value
    if isinstance(value, dict):
        return {str(k): unnest(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [unnest(v, depth + 1) for v in value]
    if isinstance(value, str):
        parsed = _json_container(value)
        if parsed is not None:
            return unnest(parsed, depth + 1)
    return value


def _json_container(text: str) -> dict | list | None:
    """``text`` parsed when it is a JSON object or array, else None."""
    stripped = text.strip()
    if not stripped or stripped[0] not in "{[":
        return None
    try:
        parsed = json.loads(stripped)
    except (ValueError, RecursionError):
        return None
    return parsed if isinstance(parsed, (dict, list)) else None


def _maybe_json(value: Any) -> Any:
    """A field that libnetwork stored as a JSON string (or, tolerated, as plain JSON)."""
    if isinstance(value, str):
        parsed = _json_container(value)
        return parsed if parsed is not None else None
    return value


def is_printable_text(text: str) -> bool:
    return all(ch.isprintable() or ch in "\n\r\t" for ch in text)


def hex_dump(data: bytes, limit: int = 4096) -> str:
    """``0000  7b 22 69 ...  {"i...`` lines, 16 bytes each."""
    lines = []
    for offset in range(0, min(len(data), limit), 16):
        chunk = data[offset : offset + 16]
        hexes = " ".join(f"{b:02x}" for b in chunk)
        text = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        lines.append(f"{offset:04x}  {hexes:<47}  {text}")
    if len(data) > limit:
        lines.append(f"... {len(data) - limit} more bytes")
    return "\n".join(lines)


def _clip(text: str, limit: int = _SUMMARY_LIMIT) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _pretty(value: Any) -> str:
    try:
        text = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)
    except (TypeError, ValueError, RecursionError):
        text = repr(value)
    return text if len(text) <= _DETAIL_LIMIT else text[:_DETAIL_LIMIT] + "\n…"


def render_value(value: bytes | None) -> tuple[str, str, str]:
    """Any KV value as (kind, summary, detail): ``json``, ``text``, ``hex`` or ``empty``."""
    try:
        if value is None or value == b"":
            return "empty", "(no value)", ""
        try:
            text = value.decode("utf-8")
        except UnicodeDecodeError:
            return "hex", f"{len(value)} bytes: {value[:24].hex(' ')}", hex_dump(value)
        parsed = _json_container(text)
        if parsed is not None:
            expanded = unnest(parsed)
            return "json", _clip(json.dumps(expanded, sort_keys=True, default=str)), _pretty(expanded)
        if is_printable_text(text):
            return "text", _clip(text), text[:_DETAIL_LIMIT]
        return "hex", f"{len(value)} bytes: {value[:24].hex(' ')}", hex_dump(value)
    except Exception:  # noqa: BLE001 - never raise on odd input
        return "hex", "(undecodable value)", ""


# --- small field helpers ---------------------------------------------------------------


def _s(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float, bool)):
        return str(value)
    return ""


def _b(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value.lower() == "true"
    return False


def _i(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _d(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _l(value: Any) -> list:
    return value if isinstance(value, list) else []


def _str_map(value: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in _d(value).items():
        if isinstance(v, (dict, list)):
            v = json.dumps(v, sort_keys=True)
        out[str(k)] = _s(v)
    return out


def _ip_only(cidr: str) -> str:
    """``10.0.0.1/24`` -> ``10.0.0.1`` (libnetwork stores gateways as IPNet strings)."""
    return cidr.split("/", 1)[0] if cidr else ""


# --- key classification ----------------------------------------------------------------


def classify_key(key: str, root: str = LIBNETWORK_ROOT) -> tuple[str, tuple[str, ...]]:
    """The libnetwork record kind a key names, and the ids in it.

    ``docker/network/v1.0/endpoint/N/E/`` -> ("endpoint", ("N", "E")); keys
    outside the root or of no known shape -> ("", ()).
    """
    if not key.startswith(root):
        return "", ()
    parts = [p for p in key[len(root) :].split("/") if p]
    if not parts:
        return "", ()
    head, rest = parts[0], parts[1:]
    if head == "network" and len(rest) == 1:
        return "network", (rest[0],)
    if head == "endpoint" and len(rest) == 2:
        return "endpoint", (rest[0], rest[1])
    if head == "endpoint_count" and len(rest) == 1:
        return "endpoint-count", (rest[0],)
    if head == "ipam" and len(rest) >= 3 and rest[1] == "config":
        return "ipam-config", ("/".join(rest[2:]),)
    if head == "ipam" and len(rest) >= 3 and rest[1] == "data":
        return "ipam-bitmask", ("/".join(rest[2:]),)
    if head == "overlay" and len(rest) == 2 and rest[0] == "network":
        return "overlay-network", (rest[1],)
    if head == "idm" and len(rest) >= 1:
        return "id-bitmask", ("/".join(rest),)
    return "", ()


# --- bitseq -----------------------------------------------------------------------------


def decode_bitmask(value: bytes) -> tuple[str, int, int] | None:
    """(id, bits, free) of a libnetwork bitseq handle, or None when it is not one.

    Docker 1.9-1.12 stored the raw bytes (``Handle.ToByteArray``); later
    versions store ``{"id": ..., "sequence": <base64 of the same bytes>}``.
    """
    handle_id = ""
    data = value
    if value[:1] == b"{":
        try:
            doc = json.loads(value.decode("utf-8"))
            handle_id = _s(doc.get("id"))
            data = base64.b64decode(_s(doc.get("sequence")), validate=True)
        except (ValueError, UnicodeDecodeError, AttributeError, binascii.Error):
            return None
    if len(data) < 16 or (len(data) - 16) % 12 != 0:
        return None
    bits, free = struct.unpack(">QQ", data[:16])
    if free > bits:
        return None
    return handle_id, bits, free


# --- record decoders -------------------------------------------------------------------


def _ipam_pairs(
    network: dict, family: str
) -> list[tuple[str, str, str, str, str]]:  # (pool, gateway, range, pool id, address space)
    suffix = "V4" if family == "IPv4" else "V6"
    configs = [_d(c) for c in _l(_maybe_json(network.get(f"ipam{suffix}Config")))]
    infos = [_d(i) for i in _l(_maybe_json(network.get(f"ipam{suffix}Info")))]
    rows = []
    for n in range(max(len(configs), len(infos))):
        config = configs[n] if n < len(configs) else {}
        info = infos[n] if n < len(infos) else {}
        data = _d(_maybe_json(info.get("IPAMData")))
        pool = _s(data.get("Pool")) or _s(config.get("PreferredPool"))
        gateway = _ip_only(_s(data.get("Gateway"))) or _s(config.get("Gateway"))
        rows.append(
            (
                pool,
                gateway,
                _s(config.get("SubPool")),
                _s(info.get("PoolID")),
                _s(data.get("AddressSpace")) or _s(network.get("addrSpace")),
            )
        )
    return rows


def _decode_network(doc: dict, key: str, modify_index: int, key_id: str) -> tuple[KVNetwork, list[KVSubnet]]:
    generic = _d(doc.get("generic"))
    options = _str_map(generic.get("com.docker.network.generic"))
    network = KVNetwork(
        id=_s(doc.get("id")) or key_id,
        name=_s(doc.get("name")),
        driver=_s(doc.get("networkType")),
        key=key,
        modify_index=modify_index,
        # Docker 1.9 wrote no scope: what it kept in the global store was global.
        scope=_s(doc.get("scope")) or "global",
        ipam_driver=_s(doc.get("ipamType")),
        address_space=_s(doc.get("addrSpace")),
        ipv6=_b(doc.get("enableIPv6")),
        internal=_b(doc.get("internal")),
        attachable=_b(doc.get("attachable")),
        ingress=_b(doc.get("ingress")),
        in_delete=_b(doc.get("inDelete")),
        created=_s(doc.get("created")),
        labels=pairs(_str_map(doc.get("labels"))),
        options=pairs(options),
    )
    subnets = []
    for family in ("IPv4", "IPv6"):
        for pool, gateway, ip_range, pool_id, space in _ipam_pairs(doc, family):
            subnets.append(
                KVSubnet(
                    network_id=network.id,
                    network_name=network.name,
                    family=family,
                    subnet=pool,
                    gateway=gateway,
                    ip_range=ip_range,
                    pool_id=pool_id,
                    address_space=space,
                )
            )
    return network, subnets


def _ports_text(ports: Any) -> str:
    out = []
    for port in _l(ports):
        port = _d(port)
        number = _i(port.get("Port"))
        if number is None:
            continue
        proto = _i(port.get("Proto"))
        out.append(f"{number}/{_PROTOCOLS.get(proto or 0, str(proto or 'tcp'))}")
    return ", ".join(out)


def _decode_endpoint(doc: dict, key: str, nid: str, eid: str) -> KVEndpoint:
    iface = _d(_maybe_json(doc.get("ep_iface")))
    return KVEndpoint(
        id=_s(doc.get("id")) or eid,
        name=_s(doc.get("name")),
        network_id=nid,
        key=key,
        address=_s(iface.get("addr")),
        address_v6=_s(iface.get("addrv6")),
        mac=_s(iface.get("mac")),
        sandbox=_s(doc.get("sandbox")),
        pool_id=_s(iface.get("v4PoolID")),
        locator=_s(doc.get("locator")),
        aliases=tuple(_s(a) for a in _l(doc.get("myAliases")) if _s(a)),
        service=_s(doc.get("svcName")),
        anonymous=_b(doc.get("anonymous")),
        ports=_ports_text(doc.get("exposed_ports")),
    )


def _overlay_subnets(doc: Any) -> list[tuple[str, int | None]]:
    """(subnet, vni) from the overlay driver's record: a list (1.9-1.11) or {"subnets": [...]}."""
    items = doc.get("subnets") if isinstance(doc, dict) else doc
    out = []
    for item in _l(items):
        item = _d(item)
        out.append((_s(item.get("SubnetIP")), _i(item.get("Vni"))))
    return out


def _summary_network(n: KVNetwork, subnets: list[KVSubnet]) -> str:
    nets = ", ".join(s.subnet for s in subnets if s.subnet) or "no subnet"
    flags = [f for f, on in (("internal", n.internal), ("attachable", n.attachable), ("being deleted", n.in_delete)) if on]
    extra = f" ({', '.join(flags)})" if flags else ""
    return f"network {n.name or '?'} [{n.driver or '?'}] {nets}{extra}"


def _summary_endpoint(e: KVEndpoint) -> str:
    where = e.address or "no address"
    return f"endpoint {e.name or '?'} {where}" + (f" {e.mac}" if e.mac else "")


def _raw(entry: KVEntry, reason: str, object_id: str = "") -> KVRecord:
    kind, summary, detail = render_value(entry.value)
    return KVRecord(
        key=entry.key,
        modify_index=entry.modify_index,
        kind="raw",
        summary=_clip(f"{reason}: {summary}"),
        detail=detail,
        object_id=object_id,
    )


def _load_json(value: bytes | None) -> Any:
    if value is None:
        raise ValueError("the key has no value")
    return json.loads(value.decode("utf-8"))


# --- the whole listing -----------------------------------------------------------------


def decode_entries(entries: Iterable[KVEntry], root: str = LIBNETWORK_ROOT) -> KVDecoded:
    """Every entry as a record, plus the networks, subnets and endpoints found.

    Never raises: an entry that does not decode becomes a ``raw`` record.
    """
    records: list[KVRecord] = []
    networks: dict[str, KVNetwork] = {}
    subnets: dict[str, list[KVSubnet]] = {}
    endpoints: list[KVEndpoint] = []
    counts: dict[str, int] = {}
    vnis: dict[tuple[str, str], int] = {}
    bitmasks: dict[str, tuple[int, int]] = {}

    for entry in entries:
        try:
            records.append(
                _decode_one(entry, root, networks, subnets, endpoints, counts, vnis, bitmasks)
            )
        except Exception as exc:  # noqa: BLE001 - never raise on odd input
            records.append(_raw(entry, f"not a readable record ({type(exc).__name__})"))

    names = {nid: n.name for nid, n in networks.items()}
    out_networks = []
    for nid, n in networks.items():
        if nid in counts:
            n = replace(n, endpoint_count=counts[nid])
        out_networks.append(n)
    out_subnets = []
    for nid, subs in subnets.items():
        for s in subs:
            used = size = None
            if s.pool_id in bitmasks:
                size, free = bitmasks[s.pool_id]
                used = size - free
            out_subnets.append(
                KVSubnet(
                    network_id=s.network_id,
                    network_name=s.network_name,
                    family=s.family,
                    subnet=s.subnet,
                    gateway=s.gateway,
                    ip_range=s.ip_range,
                    pool_id=s.pool_id,
                    address_space=s.address_space,
                    vni=vnis.get((nid, s.subnet)),
                    used=used,
                    size=size,
                )
            )
    out_endpoints = [
        replace(e, network_name=names.get(e.network_id, "")) if e.network_id in names else e
        for e in endpoints
    ]
    return KVDecoded(
        records=tuple(records),
        networks=tuple(sorted(out_networks, key=lambda n: (n.name, n.id))),
        subnets=tuple(sorted(out_subnets, key=lambda s: (s.network_name, s.family, s.subnet))),
        endpoints=tuple(sorted(out_endpoints, key=lambda e: (e.network_name, e.name, e.id))),
    )


def _decode_one(
    entry: KVEntry,
    root: str,
    networks: dict[str, KVNetwork],
    subnets: dict[str, list[KVSubnet]],
    endpoints: list[KVEndpoint],
    counts: dict[str, int],
    vnis: dict[tuple[str, str], int],
    bitmasks: dict[str, tuple[int, int]],
) -> KVRecord:
    kind, ids = classify_key(entry.key, root)
    value = entry.value

    if kind and (value is None or value == b""):
        kind_, summary, detail = render_value(value)
        return KVRecord(entry.key, entry.modify_index, kind_, summary, detail, ids[-1] if ids else "")

    if kind in ("ipam-bitmask", "id-bitmask"):
        decoded = decode_bitmask(value)
        if decoded is None:
            return _raw(entry, "not a libnetwork bitmask", ids[0])
        handle_id, bits, free = decoded
        pool_id = handle_id or ids[0]
        if kind == "ipam-bitmask":
            bitmasks[pool_id] = (bits, free)
            summary = f"addresses of {pool_id}: {bits - free} of {bits} used"
        else:
            summary = f"ids of {pool_id}: {bits - free} of {bits} used"
        body = value.decode("utf-8", "replace") if value[:1] == b"{" else hex_dump(value)
        detail = f"id: {pool_id}\nbits: {bits}\nfree: {free}\nused: {bits - free}\n\n{body}"
        return KVRecord(entry.key, entry.modify_index, kind, summary, detail, pool_id)

    if kind:
        try:
            doc = _load_json(value)
        except (ValueError, UnicodeDecodeError):
            return _raw(entry, f"not valid JSON for a libnetwork {kind} record", ids[-1])
        detail = _pretty(unnest(doc))

        if kind == "network":
            if not isinstance(doc, dict):
                return _raw(entry, "a network record that is not a JSON object", ids[0])
            network, subs = _decode_network(doc, entry.key, entry.modify_index, ids[0])
            networks[network.id] = network
            subnets[network.id] = subs
            return KVRecord(entry.key, entry.modify_index, kind, _summary_network(network, subs), detail, network.id)

        if kind == "endpoint":
            if not isinstance(doc, dict):
                return _raw(entry, "an endpoint record that is not a JSON object", ids[1])
            endpoint = _decode_endpoint(doc, entry.key, ids[0], ids[1])
            endpoints.append(endpoint)
            return KVRecord(entry.key, entry.modify_index, kind, _summary_endpoint(endpoint), detail, endpoint.id)

        if kind == "endpoint-count":
            count = _i(_d(doc).get("Count"))
            if count is None:
                return _raw(entry, "an endpoint count without a Count", ids[0])
            counts[ids[0]] = count
            return KVRecord(entry.key, entry.modify_index, kind, f"{count} endpoint(s) on {ids[0][:12]}", detail, ids[0])

        if kind == "ipam-config":
            doc = _d(doc)
            pools = _d(doc.get("Subnets"))
            listed = ", ".join(_s(_d(v).get("Pool")) or k for k, v in sorted(pools.items())) or "no pools"
            scope = _s(doc.get("Scope")) or "?"
            summary = f"address space {ids[0]} ({scope}): {len(pools)} pool(s): {listed}"
            return KVRecord(entry.key, entry.modify_index, kind, _clip(summary), detail, ids[0])

        if kind == "overlay-network":
            found = _overlay_subnets(doc)
            for subnet, vni in found:
                if vni is not None:
                    vnis[(ids[0], subnet)] = vni
            listed = ", ".join(f"{s} vni {v}" for s, v in found) or "no subnets"
            return KVRecord(entry.key, entry.modify_index, kind, f"overlay {ids[0][:12]}: {listed}", detail, ids[0])

    kind_, summary, detail = render_value(value)
    return KVRecord(entry.key, entry.modify_index, kind_, summary, detail)
