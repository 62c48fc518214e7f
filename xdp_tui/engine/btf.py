"""A small pure-Python BTF reader: parse a raw BTF blob, name its types and
decode bytes of any type into plain Python values (for map keys and values).

Format (see /usr/include/linux/btf.h): a header, then a types section of
variable-length records, then a string section. Type id 0 is `void`; ids
count the records from 1. Decoding rules, chosen for people reading counters:

- integers honour size and signedness; bitfields are extracted;
- `char[N]` becomes a string when it holds printable text, else a list;
- a 6-byte `u8` array becomes a MAC address "aa:bb:cc:dd:ee:ff";
- other arrays become lists, structs and unions dicts (anonymous members merged);
- enums become the name of their value (the number if it has no name);
- typedefs, const, volatile and type tags are looked through.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any

from xdp_tui.errors import XdpTuiError

BTF_MAGIC = 0xEB9F

KIND_INT = 1
KIND_PTR = 2
KIND_ARRAY = 3
KIND_STRUCT = 4
KIND_UNION = 5
KIND_ENUM = 6
KIND_FWD = 7
KIND_TYPEDEF = 8
KIND_VOLATILE = 9
KIND_CONST = 10
KIND_RESTRICT = 11
KIND_FUNC = 12
KIND_FUNC_PROTO = 13
KIND_VAR = 14
KIND_DATASEC = 15
KIND_FLOAT = 16
KIND_DECL_TAG = 17
KIND_TYPE_TAG = 18
KIND_ENUM64 = 19

# Kinds that only qualify another type: decoding looks straight through them.
_QUALIFIERS = frozenset({KIND_TYPEDEF, KIND_VOLATILE, KIND_CONST, KIND_RESTRICT, KIND_TYPE_TAG})

INT_SIGNED = 1
INT_CHAR = 2
INT_BOOL = 4


@dataclass
class Member:
    name: str
    type: int
    bit_offset: int
    bit_size: int  # 0: not a bitfield


@dataclass
class BtfType:
    id: int
    kind: int
    name: str
    vlen: int
    kflag: bool
    size_or_type: int  # `size` for INT/ENUM/STRUCT/UNION/DATASEC/FLOAT/ENUM64, else `type`
    # kind-specific parts
    int_encoding: int = 0
    int_offset: int = 0
    int_bits: int = 0
    array_elem: int = 0
    array_nelems: int = 0
    members: list[Member] = field(default_factory=list)  # STRUCT, UNION, DATASEC (as vars)
    enum_values: dict[int, str] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return self.size_or_type

    @property
    def ref(self) -> int:
        return self.size_or_type


class Btf:
    """Parsed BTF: `types[id]`, `type_name(id)`, `size_of(id)`, `decode(id, data)`."""

    def __init__(self, types: list[BtfType]) -> None:
        self.types = types

    # ---- parsing ---------------------------------------------------------

    @classmethod
    def parse(cls, raw: bytes) -> Btf:
        if len(raw) < 24:
            raise XdpTuiError("BTF data too short")
        magic, _version, _flags, hdr_len = struct.unpack_from("<HBBI", raw, 0)
        if magic != BTF_MAGIC:
            raise XdpTuiError(f"not BTF data (magic {magic:#x})")
        type_off, type_len, str_off, str_len = struct.unpack_from("<IIII", raw, 8)
        types_raw = raw[hdr_len + type_off : hdr_len + type_off + type_len]
        strings = raw[hdr_len + str_off : hdr_len + str_off + str_len]
        btf = cls(_parse_types(types_raw, strings))
        _name_datasec_members(btf)
        return btf

    # ---- naming ----------------------------------------------------------

    def get(self, type_id: int) -> BtfType | None:
        if 0 < type_id < len(self.types):
            return self.types[type_id]
        return None

    def resolve(self, type_id: int) -> int:
        """Follow typedefs and qualifiers to the underlying type id."""
        seen = 0
        t = self.get(type_id)
        while t is not None and t.kind in _QUALIFIERS and seen < 64:
            type_id = t.ref
            t = self.get(type_id)
            seen += 1
        return type_id

    def type_name(self, type_id: int) -> str:
        """A C-like spelling of the type: `struct datarec`, `__u32`, `__u8[6]`."""
        t = self.get(type_id)
        if t is None:
            return "void"
        if t.kind in (KIND_INT, KIND_TYPEDEF, KIND_FLOAT):
            return t.name or "?"
        if t.kind in (KIND_STRUCT, KIND_UNION, KIND_ENUM, KIND_ENUM64, KIND_FWD):
            word = {
                KIND_STRUCT: "struct",
                KIND_UNION: "union",
                KIND_ENUM: "enum",
                KIND_ENUM64: "enum",
            }.get(t.kind, "union" if t.kflag else "struct")
            return f"{word} {t.name}" if t.name else f"{word} {{...}}"
        if t.kind == KIND_PTR:
            return f"{self.type_name(t.ref)} *"
        if t.kind == KIND_ARRAY:
            return f"{self.type_name(t.array_elem)}[{t.array_nelems}]"
        if t.kind in (KIND_CONST, KIND_VOLATILE, KIND_RESTRICT):
            word = {KIND_CONST: "const", KIND_VOLATILE: "volatile", KIND_RESTRICT: "restrict"}
            return f"{word[t.kind]} {self.type_name(t.ref)}"
        if t.kind == KIND_TYPE_TAG:
            return self.type_name(t.ref)
        if t.kind == KIND_VAR:
            return self.type_name(t.ref)
        return t.name or f"<kind {t.kind}>"

    def size_of(self, type_id: int) -> int:
        t = self.get(self.resolve(type_id))
        if t is None:
            return 0
        if t.kind in (KIND_INT, KIND_ENUM, KIND_ENUM64, KIND_STRUCT, KIND_UNION, KIND_DATASEC):
            return t.size
        if t.kind == KIND_FLOAT:
            return t.size
        if t.kind == KIND_PTR:
            return 8
        if t.kind == KIND_ARRAY:
            return self.size_of(t.array_elem) * t.array_nelems
        if t.kind == KIND_VAR:
            return self.size_of(t.ref)
        return 0

    def find(self, name: str, kind: int | None = None) -> int | None:
        """The id of the first type called NAME (optionally of KIND)."""
        for t in self.types[1:]:
            if t.name == name and (kind is None or t.kind == kind):
                return t.id
        return None

    # ---- decoding --------------------------------------------------------

    def decode(self, type_id: int, data: bytes, offset: int = 0) -> Any:
        """Python value of the bytes DATA[offset:] seen as type TYPE_ID."""
        return self._decode(type_id, data, offset, depth=0)

    def _decode(self, type_id: int, data: bytes, offset: int, depth: int) -> Any:
        if depth > 32:
            return None
        type_id = self.resolve(type_id)
        t = self.get(type_id)
        if t is None:
            return None
        size = self.size_of(type_id)
        if offset + size > len(data):
            return data[offset:].hex()
        if t.kind == KIND_INT:
            return _decode_int(t, data, offset)
        if t.kind in (KIND_ENUM, KIND_ENUM64):
            value = int.from_bytes(data[offset : offset + t.size], "little", signed=t.kflag)
            return t.enum_values.get(value, value)
        if t.kind == KIND_PTR:
            return hex(int.from_bytes(data[offset : offset + 8], "little"))
        if t.kind == KIND_FLOAT:
            fmt = {4: "<f", 8: "<d"}.get(t.size)
            return struct.unpack_from(fmt, data, offset)[0] if fmt else data[offset:].hex()
        if t.kind == KIND_ARRAY:
            return self._decode_array(t, data, offset, depth)
        if t.kind in (KIND_STRUCT, KIND_UNION):
            return self._decode_struct(t, data, offset, depth)
        if t.kind == KIND_DATASEC:
            return {
                m.name: self._decode(m.type, data, offset + m.bit_offset // 8, depth + 1)
                for m in t.members
            }
        if t.kind == KIND_VAR:
            return self._decode(t.ref, data, offset, depth + 1)
        return data[offset : offset + size].hex()

    def _decode_array(self, t: BtfType, data: bytes, offset: int, depth: int) -> Any:
        elem_id = self.resolve(t.array_elem)
        elem = self.get(elem_id)
        elem_size = self.size_of(elem_id)
        n = t.array_nelems
        if elem is not None and elem.kind == KIND_INT and elem_size == 1:
            raw = data[offset : offset + n]
            if self._is_char(t.array_elem):
                text = _printable_text(raw)
                if text is not None:
                    return text
            elif n == 6:
                return ":".join(f"{b:02x}" for b in raw)
        if elem_size == 0:
            return []
        return [self._decode(elem_id, data, offset + i * elem_size, depth + 1) for i in range(n)]

    def _is_char(self, type_id: int) -> bool:
        t = self.get(self.resolve(type_id))
        if t is None or t.kind != KIND_INT:
            return False
        return bool(t.int_encoding & INT_CHAR) or t.name in ("char", "signed char")

    def _decode_struct(self, t: BtfType, data: bytes, offset: int, depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for m in t.members:
            if m.bit_size:
                value: Any = _bitfield(data, offset, m.bit_offset, m.bit_size, self._signed(m.type))
            elif m.bit_offset % 8:
                value = None  # not byte aligned and not a bitfield: malformed, skip
            else:
                value = self._decode(m.type, data, offset + m.bit_offset // 8, depth + 1)
            if not m.name and isinstance(value, dict):
                out.update(value)  # anonymous struct/union: its fields belong to us
            else:
                out[m.name or f"_{len(out)}"] = value
        return out

    def _signed(self, type_id: int) -> bool:
        t = self.get(self.resolve(type_id))
        if t is None:
            return False
        if t.kind == KIND_INT:
            return bool(t.int_encoding & INT_SIGNED)
        return t.kind in (KIND_ENUM, KIND_ENUM64) and t.kflag


# ---- helpers ---------------------------------------------------------------


def _decode_int(t: BtfType, data: bytes, offset: int) -> int | bool:
    signed = bool(t.int_encoding & INT_SIGNED)
    if t.int_offset or t.int_bits != t.size * 8:
        return _bitfield(data, offset, t.int_offset, t.int_bits, signed)
    value = int.from_bytes(data[offset : offset + t.size], "little", signed=signed)
    if t.int_encoding & INT_BOOL:
        return bool(value)
    return value


def _bitfield(data: bytes, offset: int, bit_offset: int, bits: int, signed: bool) -> int:
    start = offset + bit_offset // 8
    shift = bit_offset % 8
    nbytes = (shift + bits + 7) // 8
    raw = int.from_bytes(data[start : start + nbytes], "little")
    value = (raw >> shift) & ((1 << bits) - 1)
    if signed and bits and value & (1 << (bits - 1)):
        value -= 1 << bits
    return value


def _printable_text(raw: bytes) -> str | None:
    """The text in a NUL-padded char buffer, or None if it is not plain text."""
    text, _, rest = raw.partition(b"\0")
    if any(rest):
        return None
    if not all(32 <= b < 127 for b in text):
        return None
    return text.decode("ascii")


def _string(strings: bytes, off: int) -> str:
    end = strings.find(b"\0", off)
    return strings[off : end if end >= 0 else len(strings)].decode(errors="replace")


def _parse_types(raw: bytes, strings: bytes) -> list[BtfType]:
    types: list[BtfType] = [BtfType(0, 0, "void", 0, False, 0)]
    pos = 0
    while pos + 12 <= len(raw):
        name_off, info, size_or_type = struct.unpack_from("<III", raw, pos)
        pos += 12
        kind = (info >> 24) & 0x1F
        vlen = info & 0xFFFF
        t = BtfType(
            id=len(types),
            kind=kind,
            name=_string(strings, name_off),
            vlen=vlen,
            kflag=bool(info >> 31),
            size_or_type=size_or_type,
        )
        pos = _parse_extra(t, raw, pos, strings)
        types.append(t)
    return types


def _parse_extra(t: BtfType, raw: bytes, pos: int, strings: bytes) -> int:
    """Read the kind-specific data after a btf_type record; return the new position."""
    kind, vlen = t.kind, t.vlen
    if kind == KIND_INT:
        (val,) = struct.unpack_from("<I", raw, pos)
        t.int_encoding = (val >> 24) & 0x0F
        t.int_offset = (val >> 16) & 0xFF
        t.int_bits = val & 0xFF
        return pos + 4
    if kind == KIND_ARRAY:
        t.array_elem, _index, t.array_nelems = struct.unpack_from("<III", raw, pos)
        return pos + 12
    if kind in (KIND_STRUCT, KIND_UNION):
        for i in range(vlen):
            name_off, mtype, moff = struct.unpack_from("<III", raw, pos + 12 * i)
            bit_size, bit_off = (moff >> 24, moff & 0xFFFFFF) if t.kflag else (0, moff)
            t.members.append(Member(_string(strings, name_off), mtype, bit_off, bit_size))
        return pos + 12 * vlen
    if kind == KIND_ENUM:
        for i in range(vlen):
            name_off, val = struct.unpack_from("<Ii" if t.kflag else "<II", raw, pos + 8 * i)
            t.enum_values[val] = _string(strings, name_off)
        return pos + 8 * vlen
    if kind == KIND_ENUM64:
        for i in range(vlen):
            name_off, lo, hi = struct.unpack_from("<III", raw, pos + 12 * i)
            val = (hi << 32) | lo
            if t.kflag and val >= 1 << 63:
                val -= 1 << 64
            t.enum_values[val] = _string(strings, name_off)
        return pos + 12 * vlen
    if kind == KIND_FUNC_PROTO:
        return pos + 8 * vlen
    if kind == KIND_VAR:
        return pos + 4
    if kind == KIND_DATASEC:
        for i in range(vlen):
            vtype, voff, _vsize = struct.unpack_from("<III", raw, pos + 12 * i)
            t.members.append(Member("", vtype, voff * 8, 0))
        return pos + 12 * vlen
    if kind == KIND_DECL_TAG:
        return pos + 4
    return pos


def _name_datasec_members(btf: Btf) -> None:
    """DATASEC entries point at VARs; give each member its variable's name."""
    for t in btf.types:
        if t.kind == KIND_DATASEC:
            for m in t.members:
                var = btf.get(m.type)
                if var is not None:
                    m.name = var.name


def parse(raw: bytes) -> Btf:
    """Parse a raw BTF blob (as returned by bpfsys.btf_raw)."""
    return Btf.parse(raw)
