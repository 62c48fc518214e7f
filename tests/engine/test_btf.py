"""The BTF reader on hand-built blobs: no root, no kernel, no compiler.

Each blob is written here field by field after <linux/btf.h>, so every case
(bitfields in both encodings, a kind from the future, a record cut short)
is exactly the bytes the test says.
"""

from __future__ import annotations

import struct

import pytest

from xdp_tui.engine import btf
from xdp_tui.errors import XdpTuiError


class BtfBlob:
    """Builds a raw BTF blob one type at a time; each add_* returns the new type id."""

    def __init__(self) -> None:
        self.strings = bytearray(b"\0")
        self.records: list[bytes] = []

    def _name(self, name: str) -> int:
        if not name:
            return 0
        offset = len(self.strings)
        self.strings += name.encode() + b"\0"
        return offset

    def _add(
        self, name: str, kind: int, vlen: int, size_or_type: int, extra: bytes, kflag: bool
    ) -> int:
        info = (int(kflag) << 31) | (kind << 24) | vlen
        self.records.append(struct.pack("<III", self._name(name), info, size_or_type) + extra)
        return len(self.records)

    def int(self, name: str, size: int, *, signed: bool = False, bits: int = 0) -> int:
        encoding = btf.INT_SIGNED if signed else 0
        extra = struct.pack("<I", (encoding << 24) | (bits or size * 8))
        return self._add(name, btf.KIND_INT, 0, size, extra, False)

    def struct(
        self, name: str, size: int, members: list[tuple[str, int, int, int]], *, kflag: bool
    ) -> int:
        """members: (name, type id, bit offset, bit size: 0 unless kflag)."""
        extra = b"".join(
            struct.pack("<III", self._name(m), t, (bits << 24) | off if kflag else off)
            for m, t, off, bits in members
        )
        return self._add(name, btf.KIND_STRUCT, len(members), size, extra, kflag)

    def array(self, elem: int, index: int, n: int) -> int:
        return self._add("", btf.KIND_ARRAY, 0, 0, struct.pack("<III", elem, index, n), False)

    def enum(self, name: str, values: dict[str, int]) -> int:
        extra = b"".join(struct.pack("<II", self._name(k), v) for k, v in values.items())
        return self._add(name, btf.KIND_ENUM, len(values), 4, extra, False)

    def typedef(self, name: str, target: int) -> int:
        return self._add(name, btf.KIND_TYPEDEF, 0, target, b"", False)

    def raw_record(self, kind: int, extra: bytes = b"", vlen: int = 0) -> int:
        return self._add("odd", kind, vlen, 0, extra, False)

    def bytes(self) -> bytes:
        types = b"".join(self.records)
        header = struct.pack(
            "<HBBIIIII", btf.BTF_MAGIC, 1, 0, 24, 0, len(types), len(types), len(self.strings)
        )
        return header + types + bytes(self.strings)


def test_a_counter_struct_decodes_by_name() -> None:
    blob = BtfBlob()
    u64 = blob.int("__u64", 8)
    rec = blob.struct(
        "datarec", 16, [("rx_packets", u64, 0, 0), ("rx_bytes", u64, 64, 0)], kflag=False
    )
    parsed = btf.parse(blob.bytes())
    assert parsed.type_name(rec) == "struct datarec"
    assert parsed.size_of(rec) == 16
    assert parsed.decode(rec, struct.pack("<QQ", 7, 840)) == {"rx_packets": 7, "rx_bytes": 840}
    assert parsed.flat_int_layout(rec) == ("QQ", ["rx_packets", "rx_bytes"])


def test_bitfields_with_kind_flag_carry_their_width() -> None:
    blob = BtfBlob()
    u32 = blob.int("unsigned int", 4)
    s32 = blob.int("int", 4, signed=True)
    flags = blob.struct(
        "flags",
        4,
        [("low", u32, 0, 3), ("mid", u32, 3, 5), ("neg", s32, 8, 4), ("top", u32, 12, 20)],
        kflag=True,
    )
    word = 5 | (17 << 3) | (0b1110 << 8) | (0xABCDE << 12)
    parsed = btf.parse(blob.bytes())
    assert parsed.decode(flags, struct.pack("<I", word)) == {
        "low": 5,
        "mid": 17,
        "neg": -2,
        "top": 0xABCDE,
    }
    assert parsed.flat_int_layout(flags) is None  # no fast path for bitfields


def test_bitfields_without_kind_flag_take_the_width_from_their_int_type() -> None:
    """The older encoding: a 3-bit and a 5-bit int type, members at any bit offset."""
    blob = BtfBlob()
    u8 = blob.int("unsigned char", 1)
    three = blob.int("unsigned int", 4, bits=3)
    five = blob.int("unsigned int", 4, bits=5)
    rec = blob.struct(
        "packed", 4, [("tag", u8, 0, 0), ("a", three, 9, 0), ("b", five, 12, 0)], kflag=False
    )
    raw = bytes([0x42]) + ((6 << 1) | (21 << 4)).to_bytes(3, "little")
    assert btf.parse(blob.bytes()).decode(rec, raw) == {"tag": 0x42, "a": 6, "b": 21}


def test_a_bitfield_that_is_not_an_integer_is_refused() -> None:
    blob = BtfBlob()
    u8 = blob.int("u8", 1)
    arr = blob.array(u8, u8, 2)
    rec = blob.struct("odd", 4, [("x", arr, 3, 0)], kflag=False)
    with pytest.raises(XdpTuiError, match="inside a byte"):
        btf.parse(blob.bytes()).decoder(rec)


def test_enums_typedefs_strings_and_macs() -> None:
    blob = BtfBlob()
    u8 = blob.int("unsigned char", 1)
    char = blob.int("char", 1)
    u32 = blob.int("__u32", 4)
    action = blob.enum("xdp_action", {"XDP_ABORTED": 0, "XDP_DROP": 1, "XDP_PASS": 2})
    mac = blob.array(u8, u32, 6)
    name = blob.array(char, u32, 8)
    typed = blob.typedef("verdict_t", action)
    rec = blob.struct(
        "entry",
        20,
        [("mac", mac, 0, 0), ("name", name, 48, 0), ("verdict", typed, 128, 0)],
        kflag=False,
    )
    parsed = btf.parse(blob.bytes())
    raw = bytes.fromhex("020000000001") + b"eth0\0\0\0\0" + b"\0\0" + struct.pack("<I", 2)
    assert parsed.decode(rec, raw) == {
        "mac": "02:00:00:00:00:01",
        "name": "eth0",
        "verdict": "XDP_PASS",
    }
    assert parsed.type_name(typed) == "verdict_t"
    assert parsed.decode(action, struct.pack("<I", 9)) == 9  # no name: the number


def test_a_short_buffer_is_an_error_not_a_guess() -> None:
    blob = BtfBlob()
    u64 = blob.int("__u64", 8)
    parsed = btf.parse(blob.bytes())
    with pytest.raises(XdpTuiError, match="3 bytes are too few for __u64"):
        parsed.decode(u64, b"\1\2\3")


def test_an_unknown_kind_stops_the_parse_with_a_clear_message() -> None:
    """Its record length is unknown: reading on would misparse every later type."""
    blob = BtfBlob()
    blob.int("int", 4, signed=True)
    blob.raw_record(kind=25, extra=b"\0" * 4)
    blob.int("after", 4)
    with pytest.raises(XdpTuiError, match="kind 25"):
        btf.parse(blob.bytes())


@pytest.mark.parametrize("cut", [1, 5, 13])
def test_a_truncated_blob_is_refused(cut: int) -> None:
    blob = BtfBlob()
    u32 = blob.int("__u32", 4)
    blob.struct("pair", 8, [("a", u32, 0, 0), ("b", u32, 32, 0)], kflag=False)
    raw = blob.bytes()
    with pytest.raises(XdpTuiError, match="truncated"):
        btf.parse(raw[:-cut])


def test_records_cut_short_inside_the_types_section() -> None:
    blob = BtfBlob()
    u32 = blob.int("__u32", 4)
    blob.struct("pair", 8, [("a", u32, 0, 0), ("b", u32, 32, 0)], kflag=False)
    raw = bytearray(blob.bytes())
    # Claim one struct member more than the record holds: the header stays consistent.
    struct_info_at = 24 + 16 + 4
    (info,) = struct.unpack_from("<I", raw, struct_info_at)
    struct.pack_into("<I", raw, struct_info_at, info + 1)
    with pytest.raises(XdpTuiError, match="cut short"):
        btf.parse(bytes(raw))


def test_not_btf_at_all() -> None:
    with pytest.raises(XdpTuiError, match="not BTF"):
        btf.parse(b"\0" * 32)
    with pytest.raises(XdpTuiError, match="too short"):
        btf.parse(b"\x9f\xeb")


def test_types_that_refer_to_themselves_are_an_error_not_a_hang() -> None:
    blob = BtfBlob()
    loop = blob.typedef("loop_t", 2)
    blob.typedef("back_t", loop)
    arr = blob.array(3, 3, 2)  # an array of itself
    parsed = btf.parse(blob.bytes())
    for type_id in (loop, arr):
        with pytest.raises(XdpTuiError, match="refers to itself"):
            parsed.size_of(type_id)
    with pytest.raises(XdpTuiError, match="refers to itself"):
        parsed.type_name(arr)
