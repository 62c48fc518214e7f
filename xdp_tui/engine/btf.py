"""A small pure-Python BTF reader: parse a raw BTF blob, name its types and
decode bytes of any type into plain Python values (for map keys and values).

Format (see /usr/include/linux/btf.h): a header, then a types section of
variable-length records, then a string section. Type id 0 is `void`; ids
count the records from 1. Decoding rules, chosen for people reading counters:

- integers honour size and signedness; bitfields are extracted (both encodings:
  the member's own bit size, or an integer type of fewer bits at any bit offset);
- `char[N]` becomes a string when it holds printable text, else a list;
- a 6-byte `u8` array becomes a MAC address "aa:bb:cc:dd:ee:ff";
- other arrays become lists, structs and unions dicts (anonymous members merged);
- enums become the name of their value (the number if it has no name);
- typedefs, const, volatile and type tags are looked through.

Malformed or newer BTF (a kind this reader does not know, a record cut short)
raises XdpTuiError instead of being misread; map readers then show raw bytes.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
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

_INT_CODES = {1: "b", 2: "h", 4: "i", 8: "q"}  # struct module codes, signed (upper: unsigned)

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
        self._decoders: dict[int, Decoder] = {}
        self._sizes: dict[int, int] = {}

    # ---- parsing ---------------------------------------------------------

    @classmethod
    def parse(cls, raw: bytes) -> Btf:
        if len(raw) < 24:
            raise XdpTuiError("BTF data too short")
        magic, _version, _flags, hdr_len = struct.unpack_from("<HBBI", raw, 0)
        if magic != BTF_MAGIC:
            raise XdpTuiError(f"not BTF data (magic {magic:#x})")
        type_off, type_len, str_off, str_len = struct.unpack_from("<IIII", raw, 8)
        end = max(hdr_len + type_off + type_len, hdr_len + str_off + str_len)
        if hdr_len < 24 or end > len(raw):
            raise XdpTuiError(
                f"BTF data truncated: its header describes {end} bytes, got {len(raw)}"
            )
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
        while t is not None and t.kind in _QUALIFIERS:
            _check_depth(type_id, seen)
            type_id = t.ref
            t = self.get(type_id)
            seen += 1
        return type_id

    def type_name(self, type_id: int, depth: int = 0) -> str:
        """A C-like spelling of the type: `struct datarec`, `__u32`, `__u8[6]`."""
        t = self.get(type_id)
        _check_depth(type_id, depth)
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
            return f"{self.type_name(t.ref, depth + 1)} *"
        if t.kind == KIND_ARRAY:
            return f"{self.type_name(t.array_elem, depth + 1)}[{t.array_nelems}]"
        if t.kind in (KIND_CONST, KIND_VOLATILE, KIND_RESTRICT):
            qualifier = {KIND_CONST: "const", KIND_VOLATILE: "volatile", KIND_RESTRICT: "restrict"}
            return f"{qualifier[t.kind]} {self.type_name(t.ref, depth + 1)}"
        if t.kind in (KIND_TYPE_TAG, KIND_VAR):
            return self.type_name(t.ref, depth + 1)
        return t.name or f"<kind {t.kind}>"

    def size_of(self, type_id: int) -> int:
        """Size in bytes of a value of TYPE_ID (cached)."""
        size = self._sizes.get(type_id)
        if size is None:
            size = self._sizes[type_id] = self._size_of(type_id)
        return size

    def _size_of(self, type_id: int, depth: int = 0) -> int:
        _check_depth(type_id, depth)
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
            return self._size_of(t.array_elem, depth + 1) * t.array_nelems
        if t.kind == KIND_VAR:
            return self._size_of(t.ref, depth + 1)
        return 0

    def find(self, name: str, kind: int | None = None) -> int | None:
        """The id of the first type called NAME (optionally of KIND)."""
        for t in self.types[1:]:
            if t.name == name and (kind is None or t.kind == kind):
                return t.id
        return None

    # ---- decoding --------------------------------------------------------

    def decode(self, type_id: int, data: bytes, offset: int = 0) -> Any:
        """Python value of the bytes DATA[offset:] seen as type TYPE_ID.

        Raises XdpTuiError when DATA is too short: a value read from half its
        bytes would look plausible and be wrong.
        """
        need = self.size_of(type_id)
        if offset < 0 or offset + need > len(data):
            raise XdpTuiError(
                f"{len(data) - offset} bytes are too few for {self.type_name(type_id)}"
                f" ({need} bytes)"
            )
        return self.decoder(type_id)(data, offset)

    def decoder(self, type_id: int) -> Decoder:
        """A function (data, offset) -> value for TYPE_ID, built once and cached.

        Maps are re-read several times a second; walking the type graph on
        every read would cost more than the syscalls, so the walk happens once.
        """
        fn = self._decoders.get(type_id)
        if fn is None:
            fn = self._build(type_id, depth=0)
            self._decoders[type_id] = fn
        return fn

    def _build(self, type_id: int, depth: int) -> Decoder:
        type_id = self.resolve(type_id)
        t = self.get(type_id)
        size = self.size_of(type_id)
        if t is None or depth > 32:
            return lambda data, off: None
        if t.kind == KIND_INT:
            return _int_decoder(t)
        if t.kind in (KIND_ENUM, KIND_ENUM64):
            names, signed, n = t.enum_values, t.kflag, t.size

            def enum(data: bytes, off: int) -> Any:
                value = int.from_bytes(data[off : off + n], "little", signed=signed)
                return names.get(value, value)

            return enum
        if t.kind == KIND_PTR:
            return lambda data, off: hex(int.from_bytes(data[off : off + 8], "little"))
        if t.kind == KIND_FLOAT and t.size in (4, 8):
            fmt = "<f" if t.size == 4 else "<d"
            return lambda data, off: struct.unpack_from(fmt, data, off)[0]
        if t.kind == KIND_ARRAY:
            return self._array_decoder(t, depth)
        if t.kind in (KIND_STRUCT, KIND_UNION, KIND_DATASEC):
            return self._struct_decoder(t, depth)
        if t.kind == KIND_VAR:
            return self._build(t.ref, depth + 1)
        return lambda data, off: data[off : off + size].hex()

    def _array_decoder(self, t: BtfType, depth: int) -> Decoder:
        elem_id = self.resolve(t.array_elem)
        elem = self.get(elem_id)
        elem_size = self.size_of(elem_id)
        n = t.array_nelems
        if elem is not None and elem.kind == KIND_INT and elem_size == 1:
            if self._is_char(elem_id):

                def chars(data: bytes, off: int) -> Any:
                    raw = data[off : off + n]
                    text = _printable_text(raw)
                    return text if text is not None else list(raw)

                return chars
            if n == 6:
                return lambda data, off: data[off : off + 6].hex(":")
        if elem_size == 0:
            return lambda data, off: []
        item = self._build(elem_id, depth + 1)
        return lambda data, off: [item(data, off + i * elem_size) for i in range(n)]

    def _is_char(self, type_id: int) -> bool:
        t = self.get(self.resolve(type_id))
        if t is None or t.kind != KIND_INT:
            return False
        return bool(t.int_encoding & INT_CHAR) or t.name in ("char", "signed char")

    def _struct_decoder(self, t: BtfType, depth: int) -> Decoder:
        flat = self._flat_int_struct(t)
        if flat is not None:
            return flat
        # (name, decoder, byte offset, merge-into-parent) per member
        fields: list[tuple[str, Decoder, int, bool]] = []
        for index, m in enumerate(t.members):
            name = m.name or f"_{index}"
            bitfield = self._bitfield_of(m)
            if bitfield is not None:
                bit_offset, bits = bitfield
                decode = _bitfield_decoder(bit_offset, bits, self._signed(m.type))
                fields.append((name, decode, 0, False))
                continue
            inner = self.get(self.resolve(m.type))
            merge = not m.name and inner is not None and inner.kind in (KIND_STRUCT, KIND_UNION)
            fields.append((name, self._build(m.type, depth + 1), m.bit_offset // 8, merge))

        def decode_struct(data: bytes, off: int) -> dict[str, Any]:
            out: dict[str, Any] = {}
            for name, fn, at, merge in fields:
                value = fn(data, off + at)
                if merge:
                    out.update(value)  # anonymous struct/union: its fields are ours
                else:
                    out[name] = value
            return out

        return decode_struct

    def _bitfield_of(self, m: Member) -> tuple[int, int] | None:
        """(bit offset, bits) when member M is a bitfield, else None (a whole-byte member).

        BTF spells bitfields two ways: with kind_flag set the member carries its
        size; without it, a member that starts inside a byte has an integer type
        whose own bit count is the width (an enum: its whole size).
        """
        if m.bit_size:
            return m.bit_offset, m.bit_size
        if m.bit_offset % 8 == 0:
            return None
        t = self.get(self.resolve(m.type))
        if t is not None and t.kind == KIND_INT:
            return m.bit_offset + t.int_offset, t.int_bits
        if t is not None and t.kind in (KIND_ENUM, KIND_ENUM64):
            return m.bit_offset, t.size * 8
        raise XdpTuiError(
            f"BTF member '{m.name}' starts at bit {m.bit_offset}, inside a byte,"
            f" but its type {self.type_name(m.type)} is not an integer"
        )

    def _flat_int_struct(self, t: BtfType) -> Decoder | None:
        """Fast path for the common counter struct: named, whole, plain integer members.

        One `struct.unpack_from` replaces a Python call per field.
        """
        layout = self.flat_int_layout(t.id) if t.kind == KIND_STRUCT else None
        if layout is None or layout[1] is None:
            return None
        fmt, names = layout[0], layout[1]
        unpack = struct.Struct("<" + fmt).unpack_from
        return lambda data, off: dict(zip(names, unpack(data, off), strict=True))

    def flat_int_layout(self, type_id: int) -> tuple[str, list[str] | None] | None:
        """`struct` module codes (no byte-order prefix) for a plain integer or a struct
        made only of named whole integers; names are None for a plain integer.

        None for anything else (bitfields, bools, enums, arrays, nested structs).
        Lets a map reader unpack all entries and CPUs with one call.
        """
        t = self.get(self.resolve(type_id))
        if t is None:
            return None
        if t.kind == KIND_INT:
            code = self._int_code(t)
            return (code, None) if code else None
        if t.kind != KIND_STRUCT or not t.members:
            return None
        fmt, names, pos = "", [], 0
        for m in t.members:
            mt = self.get(self.resolve(m.type))
            code = self._int_code(mt) if mt is not None and mt.kind == KIND_INT else None
            at = m.bit_offset // 8
            if not m.name or m.bit_size or m.bit_offset % 8 or code is None or at < pos:
                return None
            fmt += "x" * (at - pos) + code
            names.append(m.name)
            pos = at + self.size_of(m.type)
        return fmt + "x" * (t.size - pos), names

    @staticmethod
    def _int_code(t: BtfType) -> str | None:
        if t.int_offset or t.int_bits != t.size * 8 or t.int_encoding & INT_BOOL:
            return None
        code = _INT_CODES.get(t.size)
        if code is None:
            return None
        return code if t.int_encoding & INT_SIGNED else code.upper()

    def _signed(self, type_id: int) -> bool:
        t = self.get(self.resolve(type_id))
        if t is None:
            return False
        if t.kind == KIND_INT:
            return bool(t.int_encoding & INT_SIGNED)
        return t.kind in (KIND_ENUM, KIND_ENUM64) and t.kflag


Decoder = Callable[[bytes, int], Any]

# Deeper than any real type; only BTF whose types refer to themselves gets there.
_MAX_DEPTH = 64


def _check_depth(type_id: int, depth: int) -> None:
    if depth > _MAX_DEPTH:
        raise XdpTuiError(
            f"BTF type #{type_id} refers to itself (or nests deeper than {_MAX_DEPTH})"
        )


# ---- helpers ---------------------------------------------------------------


def _int_decoder(t: BtfType) -> Decoder:
    signed = bool(t.int_encoding & INT_SIGNED)
    n = t.size
    if t.int_offset or t.int_bits != n * 8:
        bit_offset, bits = t.int_offset, t.int_bits
        return lambda data, off: _bitfield(data, off, bit_offset, bits, signed)
    if t.int_encoding & INT_BOOL:
        return lambda data, off: bool(int.from_bytes(data[off : off + n], "little"))
    return lambda data, off: int.from_bytes(data[off : off + n], "little", signed=signed)


def _bitfield_decoder(bit_offset: int, bits: int, signed: bool) -> Decoder:
    return lambda data, off: _bitfield(data, off, bit_offset, bits, signed)


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
    if rest.strip(b"\0") or not text.isascii():
        return None
    decoded = text.decode("ascii")
    return decoded if decoded.isprintable() else None  # ASCII: printable is 32..126


def _string(strings: bytes, off: int) -> str:
    end = strings.find(b"\0", off)
    return strings[off : end if end >= 0 else len(strings)].decode(errors="replace")


# Bytes of kind-specific data after a btf_type record: (fixed, per vlen item).
_EXTRA_SIZE = {
    KIND_INT: (4, 0),
    KIND_PTR: (0, 0),
    KIND_ARRAY: (12, 0),
    KIND_STRUCT: (0, 12),
    KIND_UNION: (0, 12),
    KIND_ENUM: (0, 8),
    KIND_FWD: (0, 0),
    KIND_TYPEDEF: (0, 0),
    KIND_VOLATILE: (0, 0),
    KIND_CONST: (0, 0),
    KIND_RESTRICT: (0, 0),
    KIND_FUNC: (0, 0),
    KIND_FUNC_PROTO: (0, 8),
    KIND_VAR: (4, 0),
    KIND_DATASEC: (0, 12),
    KIND_FLOAT: (0, 0),
    KIND_DECL_TAG: (4, 0),
    KIND_TYPE_TAG: (0, 0),
    KIND_ENUM64: (0, 12),
}


def _parse_types(raw: bytes, strings: bytes) -> list[BtfType]:
    types: list[BtfType] = [BtfType(0, 0, "void", 0, False, 0)]
    pos = 0
    while pos < len(raw):
        type_id = len(types)
        if pos + 12 > len(raw):
            raise XdpTuiError(f"BTF type #{type_id} is cut short ({len(raw) - pos} bytes left)")
        name_off, info, size_or_type = struct.unpack_from("<III", raw, pos)
        pos += 12
        kind = (info >> 24) & 0x1F
        vlen = info & 0xFFFF
        if kind not in _EXTRA_SIZE:
            # Its record length is unknown, so every type after it would be misread.
            raise XdpTuiError(
                f"BTF type #{type_id} has kind {kind}, which this reader does not know",
                hint="the BTF comes from a newer compiler or kernel; values are shown as raw bytes",
            )
        fixed, per_item = _EXTRA_SIZE[kind]
        if pos + fixed + per_item * vlen > len(raw):
            raise XdpTuiError(f"BTF type #{type_id} (kind {kind}) is cut short")
        t = BtfType(
            id=type_id,
            kind=kind,
            name=_string(strings, name_off),
            vlen=vlen,
            kflag=bool(info >> 31),
            size_or_type=size_or_type,
        )
        _parse_extra(t, raw, pos, strings)
        pos += fixed + per_item * vlen
        types.append(t)
    return types


def _parse_extra(t: BtfType, raw: bytes, pos: int, strings: bytes) -> None:
    """Read the kind-specific data at POS (its length checked by the caller)."""
    kind, vlen = t.kind, t.vlen
    if kind == KIND_INT:
        (val,) = struct.unpack_from("<I", raw, pos)
        t.int_encoding = (val >> 24) & 0x0F
        t.int_offset = (val >> 16) & 0xFF
        t.int_bits = val & 0xFF
    elif kind == KIND_ARRAY:
        t.array_elem, _index, t.array_nelems = struct.unpack_from("<III", raw, pos)
    elif kind in (KIND_STRUCT, KIND_UNION):
        for i in range(vlen):
            name_off, mtype, moff = struct.unpack_from("<III", raw, pos + 12 * i)
            bit_size, bit_off = (moff >> 24, moff & 0xFFFFFF) if t.kflag else (0, moff)
            t.members.append(Member(_string(strings, name_off), mtype, bit_off, bit_size))
    elif kind == KIND_ENUM:
        for i in range(vlen):
            name_off, val = struct.unpack_from("<Ii" if t.kflag else "<II", raw, pos + 8 * i)
            t.enum_values[val] = _string(strings, name_off)
    elif kind == KIND_ENUM64:
        for i in range(vlen):
            name_off, lo, hi = struct.unpack_from("<III", raw, pos + 12 * i)
            val = (hi << 32) | lo
            if t.kflag and val >= 1 << 63:
                val -= 1 << 64
            t.enum_values[val] = _string(strings, name_off)
    elif kind == KIND_DATASEC:
        for i in range(vlen):
            vtype, voff, _vsize = struct.unpack_from("<III", raw, pos + 12 * i)
            t.members.append(Member("", vtype, voff * 8, 0))


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
