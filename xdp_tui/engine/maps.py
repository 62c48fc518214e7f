"""Read every entry of a BPF map and decode keys and values from the map's BTF.

No hand-written layouts: the kernel keeps the BTF the program was loaded with
(`map_info.btf_id`, key and value type ids), so a struct field a learner just
added shows up on the next read. Per-CPU values are summed field by field for
`value` and kept per CPU in `per_cpu`. Maps without BTF show raw hex.

    with bpfsys.map_fd_by_id(7) as fd:
        m = read_map(fd)
    m.entries  # [{"key": 2, "value": {"rx_packets": 10, "rx_bytes": 840}, "per_cpu": [...]}]
"""

from __future__ import annotations

import errno
import threading
from dataclasses import dataclass, field
from typing import Any

from xdp_tui.engine import bpfsys
from xdp_tui.engine.btf import KIND_DATASEC, Btf
from xdp_tui.errors import XdpTuiError

DEFAULT_LIMIT = 1024  # entries read per map; big hash maps are cut (and say so)

# Map types whose entries cannot be listed from user space (no keys, or the
# values are kernel objects); read_map returns them empty with a note.
_NOT_LISTABLE = {
    4: "perf event buffers are read with a perf reader, not as entries",
    17: "AF_XDP socket map: entries are sockets, not readable",
    15: "socket map: entries are sockets, not readable",
    18: "socket hash: entries are sockets, not readable",
    22: "queue maps have no keys",
    23: "stack maps have no keys",
    27: "ring buffers are read with a ring-buffer reader",
    30: "bloom filters have no keys",
    31: "ring buffers are read with a ring-buffer reader",
    26: "struct_ops maps are not listed",
}
# Types where a key with no value is normal (sparse fd arrays) rather than an error.
_FD_ARRAYS = {3, 8, 12, 14, 16}

_SKIPPABLE_ERRNOS = {errno.EOPNOTSUPP, errno.ENOENT, errno.EINVAL, 524}


@dataclass
class DecodedMap:
    id: int
    name: str
    type: str  # "percpu_array", "hash", ...
    key_type: str  # C spelling from BTF, or "" without BTF
    value_type: str
    per_cpu: bool
    key_size: int = 0
    value_size: int = 0
    max_entries: int = 0
    entries: list[dict[str, Any]] = field(default_factory=list)
    truncated: bool = False  # more entries than the read limit
    note: str = ""  # why entries are missing, when they are

    def to_dict(self) -> dict[str, Any]:
        """The `stats --json` shape of one map (plus a few descriptive fields)."""
        out: dict[str, Any] = {
            "id": self.id,
            "type": self.type,
            "key_type": self.key_type,
            "value_type": self.value_type,
            "per_cpu": self.per_cpu,
            "entries": self.entries,
        }
        if self.truncated:
            out["truncated"] = True
        if self.note:
            out["note"] = self.note
        return out

    def value_of(self, key: Any) -> Any:
        """The decoded value stored under a decoded KEY (None if absent)."""
        for entry in self.entries:
            if entry["key"] == key:
                return entry["value"]
        return None


# ---- BTF cache -------------------------------------------------------------

_btf_cache: dict[int, Btf] = {}
_btf_lock = threading.Lock()
_BTF_CACHE_MAX = 64


def btf_by_id(btf_id: int) -> Btf | None:
    """Parsed BTF object BTF_ID, cached (BTF objects are immutable once loaded)."""
    if not btf_id:
        return None
    with _btf_lock:
        cached = _btf_cache.get(btf_id)
    if cached is not None:
        return cached
    try:
        with bpfsys.btf_fd_by_id(btf_id) as fd:
            parsed = Btf.parse(bpfsys.btf_raw(fd))
    except XdpTuiError:
        return None
    with _btf_lock:
        if len(_btf_cache) >= _BTF_CACHE_MAX:
            _btf_cache.clear()
        _btf_cache[btf_id] = parsed
    return parsed


# ---- decoding helpers ------------------------------------------------------


def sum_values(values: list[Any]) -> Any:
    """Add per-CPU values field by field: ints are summed, other leaves keep CPU 0's."""
    if not values:
        return None
    first = values[0]
    if isinstance(first, bool):
        return any(values)
    if isinstance(first, int):
        return sum(v for v in values if isinstance(v, int) and not isinstance(v, bool))
    if isinstance(first, float):
        return sum(v for v in values if isinstance(v, float | int))
    if isinstance(first, dict):
        return {k: sum_values([v.get(k) for v in values if isinstance(v, dict)]) for k in first}
    if isinstance(first, list):
        return [
            sum_values([v[i] for v in values if isinstance(v, list) and i < len(v)])
            for i in range(len(first))
        ]
    return first


def _full_map_name(btf: Btf | None, short: str) -> str:
    """Kernel map names stop at 15 characters; the BTF `.maps` section has the full one."""
    if btf is None or len(short) < 15:
        return short
    for t in btf.types:
        if t.kind == KIND_DATASEC and t.name == ".maps":
            for m in t.members:
                if m.name.startswith(short):
                    return m.name
    return short


class _Decoder:
    """Turns raw key/value bytes of one map into Python values."""

    def __init__(self, info: bpfsys.MapInfo, btf: Btf | None) -> None:
        self.info = info
        self.btf = btf
        self.key_id = info.btf_key_type_id if btf else 0
        self.value_id = info.btf_value_type_id if btf else 0

    def key(self, raw: bytes) -> Any:
        if self.btf is not None and self.key_id:
            return self.btf.decode(self.key_id, raw)
        if len(raw) == 4 and self.info.type in (2, 6):  # array index
            return int.from_bytes(raw, "little")
        return raw.hex()

    def value(self, raw: bytes) -> Any:
        if self.btf is not None and self.value_id:
            return self.btf.decode(self.value_id, raw)
        if self.info.type in _FD_ARRAYS and len(raw) in (4, 8):
            # prog/map ids, ifindexes (devmap) or cpumap queue sizes
            return int.from_bytes(raw[:4], "little")
        return raw.hex()

    def type_names(self) -> tuple[str, str]:
        if self.btf is None:
            return "", ""
        key = self.btf.type_name(self.key_id) if self.key_id else ""
        value = self.btf.type_name(self.value_id) if self.value_id else ""
        return key, value


# ---- reading ---------------------------------------------------------------


def read_map(fd: int, *, limit: int = DEFAULT_LIMIT) -> DecodedMap:
    """Every entry (up to LIMIT) of the map behind FD, decoded."""
    info = bpfsys.map_info(fd)
    btf = btf_by_id(info.btf_id)
    decoder = _Decoder(info, btf)
    key_type, value_type = decoder.type_names()
    result = DecodedMap(
        id=info.id,
        name=_full_map_name(btf, info.name),
        type=info.type_name,
        key_type=key_type,
        value_type=value_type,
        per_cpu=info.per_cpu,
        key_size=info.key_size,
        value_size=info.value_size,
        max_entries=info.max_entries,
    )
    if info.type in _NOT_LISTABLE:
        result.note = _NOT_LISTABLE[info.type]
        return result
    try:
        raw_entries, result.truncated = _raw_entries(fd, info, limit)
    except XdpTuiError as exc:
        result.note = f"not readable: {exc.message}"
        return result
    for key, value in raw_entries:
        result.entries.append(_entry(decoder, key, value))
    return result


def _entry(decoder: _Decoder, key: bytes, value: bytes | list[bytes]) -> dict[str, Any]:
    if isinstance(value, list):
        per_cpu = [decoder.value(v) for v in value]
        return {"key": decoder.key(key), "value": sum_values(per_cpu), "per_cpu": per_cpu}
    return {"key": decoder.key(key), "value": decoder.value(value)}


def _raw_entries(
    fd: int, info: bpfsys.MapInfo, limit: int
) -> tuple[list[tuple[bytes, bytes | list[bytes]]], bool]:
    """(key, value) bytes pairs, by batch when the map type has it, else key by key."""
    if info.max_entries <= limit and info.type not in _FD_ARRAYS:
        batch = _try_batch(fd, info)
        if batch is not None:
            return batch, False
    keys = bpfsys.map_keys(fd, info.key_size, limit=limit + 1)
    truncated = len(keys) > limit
    entries: list[tuple[bytes, bytes | list[bytes]]] = []
    for key in keys[:limit]:
        try:
            value = bpfsys.lookup(fd, key, info.value_size, info.per_cpu)
        except XdpTuiError:
            if info.type in _FD_ARRAYS:
                continue
            raise
        if value is not None:  # deleted between listing and reading
            entries.append((key, value))
    return entries, truncated


def _try_batch(fd: int, info: bpfsys.MapInfo) -> list[tuple[bytes, bytes | list[bytes]]] | None:
    try:
        return bpfsys.lookup_batch(
            fd, info.key_size, info.value_size, info.max_entries, info.per_cpu
        )
    except XdpTuiError:
        return None


def read_map_by_id(map_id: int, *, limit: int = DEFAULT_LIMIT) -> DecodedMap:
    with bpfsys.map_fd_by_id(map_id) as fd:
        return read_map(fd, limit=limit)


def maps_of_prog(prog_id: int) -> list[int]:
    """Ids of the maps program PROG_ID uses."""
    return bpfsys.prog_info_by_id(prog_id).map_ids


def is_internal_map(name: str) -> bool:
    """Compiler-made maps for globals (`prog.rodata`, `.bss`, `.data`, `.kconfig`)."""
    return "." in name


def read_prog_maps(
    prog_id: int, *, include_internal: bool = False, limit: int = DEFAULT_LIMIT
) -> dict[str, DecodedMap]:
    """Every map of program PROG_ID, decoded, by name (internal maps left out by default)."""
    out: dict[str, DecodedMap] = {}
    for map_id in maps_of_prog(prog_id):
        try:
            decoded = read_map_by_id(map_id, limit=limit)
        except XdpTuiError:
            continue  # the map went away with a replaced program; next refresh sees the new one
        if include_internal or not is_internal_map(decoded.name):
            out[decoded.name] = decoded
    return out
