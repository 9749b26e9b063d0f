"""Decoding libnetwork's records in Consul's KV store.

The fixtures follow what Docker 1.9-1.12 wrote (libnetwork's MarshalJSON of
network, endpoint, IpamInfo/IPAMData, endpointCnt, the ipam addrSpace, bitseq
handles and the overlay driver's network): Go's encoding/json writes maps with
sorted keys, structs in field order, and some fields as JSON *strings* holding
more JSON.
"""

from __future__ import annotations

import json
import struct

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from carina_tui.core.consul_models import KVEntry
from carina_tui.core.kvdecode import classify_key, decode_bitmask, decode_entries, render_value, unnest

ROOT = "docker/network/v1.0/"
NID = "5c2b8f4e9d1a7b3c6e0f2a4d8b1c9e7f3a5d0b2c4e6f8a1b3d5c7e9f0a2b4c6d"
EID = "b7e3c1a9f5d2e8b4a6c0d3f7e1b9a5c2d8f4e6a0b3c7d1e9f5a2b8c4d6e0f3a1"
EID2 = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"


def go(doc) -> str:
    """Go's json.Marshal of a map: sorted keys, compact."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"))


def entry(key: str, value, index: int = 7) -> KVEntry:
    if isinstance(value, str):
        value = value.encode()
    return KVEntry(key=key, modify_index=index, value=value)


# IpamConf is a struct: its fields come in declaration order, not sorted.
IPAM_V4_CONFIG = json.dumps(
    [{"PreferredPool": "10.0.1.0/24", "SubPool": "10.0.1.128/25", "Gateway": "", "AuxAddresses": None}],
    separators=(",", ":"),
)
# IpamInfo.MarshalJSON: a map whose IPAMData is itself IPAMData.MarshalJSON as a string.
IPAM_V4_INFO = go(
    [
        {
            "IPAMData": go({"AddressSpace": "GlobalDefault", "Gateway": "10.0.1.1/24", "Pool": "10.0.1.0/24"}),
            "PoolID": "GlobalDefault/10.0.1.0/24",
        }
    ]
)

# Docker 1.9.1: no scope, labels, internal, created...
NETWORK_1_9 = go(
    {
        "addrSpace": "GlobalDefault",
        "enableIPv6": False,
        "generic": {
            "com.docker.network.enable_ipv6": False,
            "com.docker.network.generic": {"com.docker.network.driver.mtu": "1450"},
        },
        "id": NID,
        "ipamType": "default",
        "ipamV4Config": IPAM_V4_CONFIG,
        "ipamV4Info": IPAM_V4_INFO,
        "name": "carina-web",
        "networkType": "overlay",
        "persist": True,
    }
)

NID12 = "9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b1a0f9e8d"
NETWORK_1_12 = go(
    {
        "addrSpace": "GlobalDefault",
        "attachable": True,
        "created": "2016-08-02T14:07:21.906133847Z",
        "enableIPv6": True,
        "generic": {"com.docker.network.enable_ipv6": True, "com.docker.network.generic": {}},
        "id": NID12,
        "inDelete": False,
        "ingress": False,
        "internal": True,
        "ipamOptions": {},
        "ipamType": "default",
        "ipamV4Config": json.dumps(
            [{"PreferredPool": "", "SubPool": "", "Gateway": "", "AuxAddresses": None}], separators=(",", ":")
        ),
        "ipamV4Info": go(
            [
                {
                    "IPAMData": go({"AddressSpace": "GlobalDefault", "Gateway": "10.0.2.1/24", "Pool": "10.0.2.0/24"}),
                    "PoolID": "GlobalDefault/10.0.2.0/24",
                }
            ]
        ),
        "ipamV6Config": json.dumps(
            [{"PreferredPool": "fd00:dead:beef::/64", "SubPool": "", "Gateway": "", "AuxAddresses": None}],
            separators=(",", ":"),
        ),
        "ipamV6Info": go(
            [
                {
                    "IPAMData": go(
                        {"AddressSpace": "GlobalDefault", "Gateway": "fd00:dead:beef::1/64", "Pool": "fd00:dead:beef::/64"}
                    ),
                    "PoolID": "GlobalDefault/fd00:dead:beef::/64",
                }
            ]
        ),
        "labels": {"com.example.team": "payments"},
        "name": "payments",
        "networkType": "overlay",
        "persist": True,
        "postIPv6": False,
        "scope": "global",
    }
)

# endpoint.MarshalJSON with endpointInterface.MarshalJSON inside (Docker 1.11).
ENDPOINT = go(
    {
        "anonymous": False,
        "ep_iface": {
            "addr": "10.0.1.130/24",
            "dstPrefix": "",
            "mac": "02:42:0a:00:01:82",
            "routes": None,
            "srcName": "",
            "v4PoolID": "GlobalDefault/10.0.1.0/24",
            "v6PoolID": "",
        },
        "exposed_ports": [{"Proto": 6, "Port": 80}, {"Proto": 17, "Port": 53}],
        "generic": {"com.docker.network.endpoint.exposedports": [{"Proto": 6, "Port": 80}]},
        "id": EID,
        "joinInfo": None,
        "locator": "10.223.10.4",
        "myAliases": ["web", "frontend"],
        "name": "web-1",
        "sandbox": "c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2",
    }
)
ENDPOINT_ANONYMOUS = go(
    {
        "anonymous": True,
        "ep_iface": {"addr": "10.0.1.131/24", "mac": "02:42:0a:00:01:83", "routes": None, "srcName": "",
                     "dstPrefix": "", "v4PoolID": "GlobalDefault/10.0.1.0/24", "v6PoolID": ""},
        "exposed_ports": [],
        "id": EID2,
        "name": "tender_hopper",
        "sandbox": "",
    }
)


def bitseq(bits: int, runs: list[tuple[int, int]]) -> bytes:
    """bitseq Handle.ToByteArray: bits u64, free u64, (block u32, count u64)..."""
    used = sum(bin(block).count("1") * count for block, count in runs)
    out = struct.pack(">QQ", bits, bits - used)
    for block, count in runs:
        out += struct.pack(">IQ", block, count)
    return out


# 10.0.1.0/24: network address, gateway .1, broadcast .255, .130 and .131 taken.
POOL_BITMASK = bitseq(256, [(0xC0000000, 1), (0, 3), (0x30000000, 1), (0, 2), (0x00000001, 1)])
ADDR_SPACE = go(
    {
        "Scope": "global",
        "Subnets": {
            "GlobalDefault/10.0.1.0/24": {
                "ParentKey": {"AddressSpace": "", "Subnet": "", "ChildSubnet": ""},
                "Pool": "10.0.1.0/24",
                "RefCount": 1,
            },
            "GlobalDefault/10.0.1.0/24/10.0.1.128/25": {
                "ParentKey": {"AddressSpace": "GlobalDefault", "Subnet": "10.0.1.0/24", "ChildSubnet": ""},
                "Pool": "10.0.1.0/24",
                "Range": {"Sub": "10.0.1.128/25", "Start": 128, "End": 255},
                "RefCount": 1,
            },
        },
    }
)
OVERLAY_1_9 = json.dumps([{"SubnetIP": "10.0.1.0/24", "GwIP": "10.0.1.1/24", "Vni": 256}], separators=(",", ":"))
OVERLAY_1_12 = go({"mtu": 0, "secure": False, "subnets": [{"SubnetIP": "10.0.2.0/24", "GwIP": "10.0.2.1/24", "Vni": 4097}]})


def cluster_entries() -> list[KVEntry]:
    return [
        entry(f"{ROOT}network/{NID}/", NETWORK_1_9, 12),
        entry(f"{ROOT}network/{NID12}/", NETWORK_1_12, 40),
        entry(f"{ROOT}endpoint/{NID}/{EID}/", ENDPOINT, 15),
        entry(f"{ROOT}endpoint/{NID}/{EID2}/", ENDPOINT_ANONYMOUS, 16),
        entry(f"{ROOT}endpoint_count/{NID}/", go({"Count": 2}), 16),
        entry(f"{ROOT}ipam/default/config/GlobalDefault/", ADDR_SPACE, 11),
        entry(f"{ROOT}ipam/default/data/GlobalDefault/10.0.1.0/24/", POOL_BITMASK, 16),
        entry(f"{ROOT}overlay/network/{NID}/", OVERLAY_1_9, 13),
        entry(f"{ROOT}overlay/network/{NID12}/", OVERLAY_1_12, 41),
        entry(f"{ROOT}idm/vxlan-id/", bitseq((1 << 24) - 256, [(0xC0000000, 1), (0, 524278), (0x00000001, 1)]), 41),
        entry("docker/swarm/nodes/10.223.10.4:2375", "10.223.10.4:2375", 3),
        entry("docker/network/v1.0/", None, 2),
    ]


def test_fixture_really_nests_json_in_strings():
    doc = json.loads(NETWORK_1_9)
    assert isinstance(doc["ipamV4Info"], str)
    assert isinstance(json.loads(doc["ipamV4Info"])[0]["IPAMData"], str)


def test_networks_from_docker_1_9_and_1_12():
    decoded = decode_entries(cluster_entries())
    by_name = {n.name: n for n in decoded.networks}
    web = by_name["carina-web"]
    assert (web.id, web.driver, web.scope, web.ipam_driver, web.address_space) == (
        NID, "overlay", "global", "default", "GlobalDefault"
    )
    assert web.options == (("com.docker.network.driver.mtu", "1450"),)
    assert web.endpoint_count == 2
    assert web.modify_index == 12
    payments = by_name["payments"]
    assert (payments.internal, payments.attachable, payments.ipv6) == (True, True, True)
    assert payments.labels == (("com.example.team", "payments"),)
    assert payments.created == "2016-08-02T14:07:21.906133847Z"
    assert payments.endpoint_count is None


def test_subnets_join_ipam_info_config_overlay_vni_and_bitmask():
    decoded = decode_entries(cluster_entries())
    rows = {(s.network_name, s.subnet): s for s in decoded.subnets}
    web = rows[("carina-web", "10.0.1.0/24")]
    assert (web.family, web.gateway, web.ip_range, web.pool_id) == (
        "IPv4", "10.0.1.1", "10.0.1.128/25", "GlobalDefault/10.0.1.0/24"
    )
    assert (web.vni, web.used, web.size) == (256, 5, 256)
    pay4 = rows[("payments", "10.0.2.0/24")]
    assert (pay4.gateway, pay4.vni, pay4.used) == ("10.0.2.1", 4097, None)
    pay6 = rows[("payments", "fd00:dead:beef::/64")]
    assert (pay6.family, pay6.gateway) == ("IPv6", "fd00:dead:beef::1")


def test_endpoints():
    decoded = decode_entries(cluster_entries())
    by_name = {e.name: e for e in decoded.endpoints}
    web = by_name["web-1"]
    assert (web.id, web.network_id, web.network_name) == (EID, NID, "carina-web")
    assert (web.address, web.mac, web.pool_id, web.locator) == (
        "10.0.1.130/24", "02:42:0a:00:01:82", "GlobalDefault/10.0.1.0/24", "10.223.10.4"
    )
    assert web.aliases == ("web", "frontend")
    assert web.ports == "80/tcp, 53/udp"
    assert not web.anonymous
    assert by_name["tender_hopper"].anonymous


def test_every_entry_gets_a_record_of_the_right_kind():
    entries = cluster_entries()
    decoded = decode_entries(entries)
    assert [r.key for r in decoded.records] == [e.key for e in entries]
    kinds = [r.kind for r in decoded.records]
    assert kinds == [
        "network", "network", "endpoint", "endpoint", "endpoint-count", "ipam-config", "ipam-bitmask",
        "overlay-network", "overlay-network", "id-bitmask", "text", "empty",
    ]
    summaries = {r.kind: r.summary for r in decoded.records}
    assert summaries["ipam-bitmask"] == "addresses of GlobalDefault/10.0.1.0/24: 5 of 256 used"
    assert summaries["id-bitmask"] == "ids of vxlan-id: 3 of 16776960 used"
    assert summaries["text"] == "10.223.10.4:2375"
    assert decoded.records[0].summary == "network carina-web [overlay] 10.0.1.0/24"


def test_detail_expands_the_nested_json_strings():
    decoded = decode_entries([entry(f"{ROOT}network/{NID}/", NETWORK_1_9)])
    detail = json.loads(decoded.records[0].detail)
    assert detail["ipamV4Info"][0]["IPAMData"]["Pool"] == "10.0.1.0/24"
    assert detail["ipamV4Config"][0]["SubPool"] == "10.0.1.128/25"


def test_bitmask_in_the_later_json_form():
    import base64

    raw = bitseq(256, [(0xE0000000, 1), (0, 6), (0x00000001, 1)])
    doc = go({"id": "GlobalDefault/10.0.7.0/24", "sequence": base64.b64encode(raw).decode()})
    assert decode_bitmask(doc.encode()) == ("GlobalDefault/10.0.7.0/24", 256, 252)


def test_classify_key():
    assert classify_key(f"{ROOT}endpoint/{NID}/{EID}/") == ("endpoint", (NID, EID))
    assert classify_key(f"{ROOT}ipam/default/data/GlobalDefault/10.0.1.0/24/") == (
        "ipam-bitmask", ("GlobalDefault/10.0.1.0/24",)
    )
    assert classify_key("docker/swarm/nodes/x") == ("", ())
    assert classify_key(f"{ROOT}network/") == ("", ())


# --- odd input: never raise, show raw/text/hex ------------------------------------------------


def test_junk_under_libnetwork_keys_becomes_raw_rows():
    entries = [
        entry(f"{ROOT}network/{NID}/", "{not json"),
        entry(f"{ROOT}network/{NID12}/", "[1, 2, 3]"),
        entry(f"{ROOT}endpoint/{NID}/{EID}/", b"\xff\xfe\x00\x01"),
        entry(f"{ROOT}ipam/default/data/GlobalDefault/10.0.1.0/24/", b"\x00\x01\x02"),
        entry(f"{ROOT}endpoint_count/{NID}/", go({"Count": "many"})),
    ]
    decoded = decode_entries(entries)
    assert [r.kind for r in decoded.records] == ["raw"] * 5
    assert decoded.records[0].summary == "not valid JSON for a libnetwork network record: {not json"
    assert decoded.records[3].summary.startswith("not a libnetwork bitmask: 3 bytes: 00 01 02")
    assert decoded.networks == () and decoded.endpoints == ()


def test_partly_broken_network_still_gives_what_it_can():
    doc = json.loads(NETWORK_1_9)
    doc["ipamV4Info"] = "[{broken"
    doc["ep_iface"] = 42
    decoded = decode_entries([entry(f"{ROOT}network/{NID}/", go(doc))])
    (subnet,) = decoded.subnets
    assert (subnet.subnet, subnet.gateway, subnet.pool_id) == ("10.0.1.0/24", "", "")


def test_endpoint_with_odd_fields():
    doc = {"name": 7, "ep_iface": "not an object", "exposed_ports": [{"Port": "x"}, "junk"], "myAliases": "web"}
    decoded = decode_entries([entry(f"{ROOT}endpoint/{NID}/{EID}/", go(doc))])
    (ep,) = decoded.endpoints
    assert (ep.id, ep.name, ep.address, ep.ports, ep.aliases) == (EID, "7", "", "", ())


def test_render_value_text_hex_json_empty():
    assert render_value(None)[0] == "empty"
    assert render_value(b"hello world") == ("text", "hello world", "hello world")
    kind, summary, detail = render_value(b"\x00\x01binary\x7f")
    assert kind == "hex" and summary.startswith("9 bytes: 00 01 62")
    assert "0000  00 01 62 69" in detail
    kind, summary, _ = render_value(b'{"a": "{\\"b\\": 1}"}')
    assert (kind, summary) == ("json", '{"a": {"b": 1}}')


def test_unnest_leaves_plain_strings_alone():
    assert unnest({"a": "[1, 2]", "b": "[not json", "c": "text", "d": "3"}) == {
        "a": [1, 2], "b": "[not json", "c": "text", "d": "3"
    }


KEYS = st.one_of(
    st.sampled_from(
        [
            f"{ROOT}network/{NID}/",
            f"{ROOT}endpoint/{NID}/{EID}/",
            f"{ROOT}endpoint_count/{NID}/",
            f"{ROOT}ipam/default/config/GlobalDefault/",
            f"{ROOT}ipam/default/data/GlobalDefault/10.0.1.0/24/",
            f"{ROOT}overlay/network/{NID}/",
            f"{ROOT}idm/vxlan-id/",
        ]
    ),
    st.text(max_size=40).map(lambda t: ROOT + t),
    st.text(max_size=40),
)
JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=6,
)
VALUES = st.one_of(
    st.none(),
    st.binary(max_size=80),
    JSONISH.map(lambda v: json.dumps(v).encode()),
    JSONISH.map(lambda v: json.dumps(json.dumps(v)).encode()),  # JSON inside a JSON string
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(KEYS, VALUES), max_size=6))
def test_never_raises_and_keeps_every_key(pairs):
    entries = [KVEntry(key=k, modify_index=i, value=v) for i, (k, v) in enumerate(pairs)]
    decoded = decode_entries(entries)
    assert [r.key for r in decoded.records] == [e.key for e in entries]
    assert all(r.kind in {
        "network", "endpoint", "endpoint-count", "ipam-config", "ipam-bitmask", "overlay-network",
        "id-bitmask", "json", "text", "hex", "empty", "raw",
    } for r in decoded.records)
