"""maps + btf: every map of a program decoded from its BTF, with no hand-written layout."""

from __future__ import annotations

import ctypes as C
import struct
from collections.abc import Callable

import pytest

from testenv import traffic
from xdp_tui.engine import _lib, bpfsys, maps
from xdp_tui.engine.btf import Btf
from xdp_tui.engine.maps import read_map, read_prog_maps, sum_values

FRAME = 100  # bytes per test frame


def _lab_inner_mac(lab: object) -> str:
    return lab.inner_mac.lower()  # type: ignore[attr-defined]


@pytest.mark.kernel
def test_percpu_array_summed_and_per_cpu(lab: object, load_on_lab: Callable[..., object]) -> None:
    lp = load_on_lab(lab, "xdp_pass_count")
    sent = traffic.udp_stream(lab, count=300, size=FRAME).sent
    m = read_map(lp.maps["xdp_stats_map"])
    assert (m.name, m.type, m.per_cpu) == ("xdp_stats_map", "percpu_array", True)
    assert (m.key_type, m.value_type) == ("__u32", "struct datarec")
    assert [e["key"] for e in m.entries] == [0, 1, 2, 3, 4]
    passed = m.entries[2]
    assert passed["value"]["rx_packets"] >= sent
    assert len(passed["per_cpu"]) == _lib.num_possible_cpus()
    assert sum(v["rx_packets"] for v in passed["per_cpu"]) == passed["value"]["rx_packets"]
    assert sum(v["rx_bytes"] for v in passed["per_cpu"]) == passed["value"]["rx_bytes"]
    assert m.entries[0]["value"] == {"rx_packets": 0, "rx_bytes": 0}


@pytest.mark.kernel
def test_hash_with_struct_key_and_mac_key(lab: object, load_on_lab: Callable[..., object]) -> None:
    lp = load_on_lab(lab, "xdp_pass_count")
    traffic.udp_stream(lab, count=20, size=FRAME)
    flows = read_map(lp.maps["flows"])
    assert flows.key_type == "struct flow_key" and flows.value_type == "__u64"
    udp = [e for e in flows.entries if e["key"]["proto"] == 0xDD86]  # htons(ETH_P_IPV6) as read
    assert udp and udp[0]["key"]["kind"] == 7 and udp[0]["value"] >= 20
    assert set(udp[0]["key"]) == {"ifindex", "proto", "kind", "flags"}

    by_mac = read_map(lp.maps["by_mac"])
    assert by_mac.key_type == "__u8[6]"
    mine = by_mac.value_of(_lab_inner_mac(lab))
    assert mine is not None and mine["rx_packets"] >= 20
    assert mine["rx_bytes"] >= 20 * FRAME


@pytest.mark.kernel
def test_array_with_chars_enum_and_bitfields(
    lab: object, load_on_lab: Callable[..., object]
) -> None:
    lp = load_on_lab(lab, "xdp_pass_count")
    fd = lp.maps["config_map"]
    # struct config { char label[8]; enum colour; s32 offset; u32 low:4, high:12; }
    bitfields = 0x5 | (0x123 << 4)
    value = b"hello\0\0\0" + struct.pack("<IiI", 2, 7, bitfields)
    bpfsys.update(fd, struct.pack("I", 1), value)
    m = read_map(fd)
    assert m.type == "array" and m.value_type == "struct config"
    assert m.value_of(1) == {
        "label": "hello",
        "colour": "GREEN",
        "offset": 7,
        "low": 5,
        "high": 0x123,
    }
    assert m.value_of(0)["label"] == ""


@pytest.mark.kernel
def test_added_struct_field_appears_without_code_change(
    lab: object, load_on_lab: Callable[..., object]
) -> None:
    v1 = load_on_lab(lab, "xdp_pass_count")
    traffic.udp_stream(lab, count=10, size=FRAME)
    before = read_prog_maps(v1.prog_id)["xdp_stats_map"]
    assert set(before.entries[2]["value"]) == {"rx_packets", "rx_bytes"}
    v1.close()

    v2 = load_on_lab(lab, "xdp_pass_count", source="maps_kern_v2")
    traffic.udp_stream(lab, count=10, size=FRAME)
    after = read_prog_maps(v2.prog_id)["xdp_stats_map"]
    passed = after.entries[2]["value"]
    assert set(passed) == {"rx_packets", "rx_bytes", "rx_last_len"}
    assert after.value_size == 24
    assert passed["rx_last_len"] == FRAME  # per-CPU "sum" of the last length on each CPU...
    # ...is only meaningful per CPU: the CPU that saw the frames holds FRAME
    assert FRAME in [v["rx_last_len"] for v in after.entries[2]["per_cpu"]]


@pytest.mark.kernel
def test_prog_maps_list_and_internal_maps(lab: object, load_on_lab: Callable[..., object]) -> None:
    lp = load_on_lab(lab, "xdp_printk")  # uses a .rodata map for its format string
    assert set(read_prog_maps(lp.prog_id)) == set()
    with_internal = read_prog_maps(lp.prog_id, include_internal=True)
    (rodata,) = with_internal.values()
    assert rodata.type == "array" and "xdp-tui-test" in str(rodata.entries[0]["value"])
    lp.close()
    full = load_on_lab(lab, "xdp_pass_count")
    ids = maps.maps_of_prog(full.prog_id)
    assert set(read_prog_maps(full.prog_id)) == {"xdp_stats_map", "flows", "by_mac", "config_map"}
    assert len(ids) >= 4  # libbpf also binds the object's .rodata map to every program


# bpf_map_create(type, name, key_size, value_size, max_entries, opts): maps made by hand.
_map_create = _lib.cfunc(
    "bpf_map_create", C.c_int, C.c_int, C.c_char_p, C.c_uint32, C.c_uint32, C.c_uint32, C.c_void_p
)


@pytest.mark.kernel
def test_map_without_btf_shows_u64_words_or_hex() -> None:
    fd = _map_create(1, b"nobtf", 4, 16, 4, None)  # plain hash, no BTF
    assert fd >= 0
    with bpfsys.Fd(fd) as owned:
        bpfsys.update(owned, b"\x01\x02\x03\x04", struct.pack("<QQ", 7, 2**64 - 1))
        m = read_map(owned)
    assert (m.key_type, m.value_type, m.value_format) == ("", "", "u64_words")
    assert m.entries == [{"key": "01020304", "value": [7, 2**64 - 1]}]
    assert m.to_dict()["value_format"] == "u64_words"
    fd = _map_create(1, b"nobtf12", 4, 12, 4, None)  # 12 bytes: not u64 words
    with bpfsys.Fd(fd) as owned:
        bpfsys.update(owned, b"\x01\x02\x03\x04", b"\xaa" * 12)
        m = read_map(owned)
    assert m.value_format == "hex" and m.entries == [{"key": "01020304", "value": "aa" * 12}]


@pytest.mark.kernel
def test_program_maps_without_btf_types_sum_words_over_cpus(
    lab: object, load_on_lab: Callable[..., object]
) -> None:
    """Maps declared by sizes only: per-CPU u64 words summed word by word, like BTF fields;
    the stats map is not taken for per-action counters (which word counts is unknown)."""
    from xdp_tui.engine.stats import StatsSampler

    lp = load_on_lab(lab, "xdp_count_words", source="no_btf_values")
    sent = traffic.udp_stream(lab, count=200, size=FRAME).sent
    m = read_map(lp.maps["xdp_stats_map"])
    assert (m.per_cpu, m.value_type, m.value_format) == (True, "", "u64_words")
    passed = m.value_of(2)
    assert passed[0] >= sent and passed[1] >= sent * FRAME
    assert [sum(words) for words in zip(*m.entries[2]["per_cpu"], strict=True)] == passed
    odd = read_map(lp.maps["odd_sized"])
    assert odd.value_format == "hex" and odd.value_of(0) == "00" * 11 + "ab"
    with StatsSampler(lab.name) as sampler:  # type: ignore[attr-defined]
        sample = sampler.sample()
    assert "actions" not in sample  # no per-action table made of a guess
    assert sample["maps"]["xdp_stats_map"]["value_format"] == "u64_words"
    assert sample["maps"]["xdp_stats_map"]["entries"][2]["value"][0] >= sent


@pytest.mark.kernel
def test_held_reader_sees_new_values(lab: object, load_on_lab: Callable[..., object]) -> None:
    lp = load_on_lab(lab, "xdp_pass_count")
    with maps.ProgMaps(lp.prog_id) as held:
        first = held.refresh()["xdp_stats_map"].value_of(2)["rx_packets"]
        traffic.udp_stream(lab, count=25)
        second = held.refresh()["xdp_stats_map"].value_of(2)["rx_packets"]
    assert second - first >= 25


def test_sum_values_field_by_field() -> None:
    per_cpu = [{"a": 1, "b": [1, 2], "s": "x"}, {"a": 2, "b": [3, 4], "s": "y"}]
    assert sum_values(per_cpu) == {"a": 3, "b": [4, 6], "s": "x"}
    assert sum_values([5, 6, 7]) == 18
    assert sum_values([]) is None


def test_btf_parser_rejects_garbage() -> None:
    from xdp_tui.errors import XdpTuiError

    with pytest.raises(XdpTuiError, match="not BTF"):
        Btf.parse(b"\0" * 32)


@pytest.mark.kernel
def test_decoding_agrees_with_bpftool(lab: object, load_on_lab: Callable[..., object]) -> None:
    """bpftool reads the same BTF independently: its `formatted` values must match ours."""
    import json
    import subprocess

    lp = load_on_lab(lab, "xdp_pass_count")
    traffic.udp_stream(lab, count=40, size=FRAME)
    ours = read_prog_maps(lp.prog_id)
    stats = ours["xdp_stats_map"]
    dump = subprocess.run(
        ["bpftool", "map", "dump", "-j", "id", str(stats.id)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    theirs = {e["formatted"]["key"]: e["formatted"]["values"] for e in json.loads(dump)}
    for entry in stats.entries:
        assert [v["value"] for v in theirs[entry["key"]]] == entry["per_cpu"]
    flows = ours["flows"]
    dump = subprocess.run(
        ["bpftool", "map", "dump", "-j", "id", str(flows.id)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert [e["formatted"] for e in json.loads(dump)] == flows.entries


@pytest.mark.kernel
def test_btf_decoder_on_a_rich_value(lab: object, load_on_lab: Callable[..., object]) -> None:
    lp = load_on_lab(lab, "xdp_rich", source="btf_types")
    value = b"".join(
        [
            struct.pack("<b", -3),  # small
            bytes.fromhex("0a0b0c0d0e0f"),  # mac
            b"\x01",  # enabled (bool)
            struct.pack("<I", 0x04030201),  # anonymous union {as_u32, as_bytes[4]}
            struct.pack("<I", (0b10110 & 0x1F) | (5 << 5)),  # level:5 = -10 (signed), mode:3 = 5
            struct.pack("<f", 0.5) + bytes(4),  # padding: double is 8-aligned
            struct.pack("<d", -1.25),
            struct.pack("<hhhh", 1, -2, 3, -4),  # path[2] of struct point
            bytes(range(16)),  # addr6
            b"\xff\x01ab",  # name: not printable text
            struct.pack("<6H", 1, 2, 3, 4, 5, 6),  # grid[2][3]
        ]
    )
    assert len(value) == 72
    bpfsys.update(lp.maps["rich"], struct.pack("I", 0), value)
    decoded = read_map(lp.maps["rich"]).value_of(0)
    assert decoded == {
        "small": -3,
        "mac": "0a:0b:0c:0d:0e:0f",
        "enabled": True,
        "as_u32": 0x04030201,
        "as_bytes": [1, 2, 3, 4],
        "level": -10,
        "mode": 5,
        "ratio": 0.5,
        "precise": -1.25,
        "path": [{"x": 1, "y": -2}, {"x": 3, "y": -4}],
        "addr6": list(range(16)),
        "name": [0xFF, 1, ord("a"), ord("b")],
        "grid": [[1, 2, 3], [4, 5, 6]],
    }


@pytest.mark.kernel
def test_redirect_and_socket_maps_read_gracefully() -> None:
    with bpfsys.Fd(_map_create(14, b"devmap", 4, 4, 8, None)) as devmap:  # DEVMAP, no BTF
        bpfsys.update(devmap, struct.pack("I", 3), struct.pack("I", 1))  # slot 3 -> lo
        assert read_map(devmap).entries == [{"key": 3, "value": 1}]  # empty slots skipped
    with bpfsys.Fd(_map_create(17, b"xsks", 4, 4, 8, None)) as xskmap:  # XSKMAP
        m = read_map(xskmap)
        assert m.entries == [] and "socket" in m.note
