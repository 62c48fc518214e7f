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

import os
import struct
import threading
import time
from collections.abc import Callable
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
# Their values are ids or ifindexes (prog/map ids, devmap targets, cpumap queue sizes).
_FD_ARRAYS = {3, 8, 12, 14, 16, 25}
# Types indexed by a u32 position: without BTF their keys still show as numbers.
_INDEXED = {2, 3, 4, 6, 8, 12, 14, 16, 17}


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
    read_at: float = 0.0  # time.monotonic() right after the kernel handed over the values
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
    if type(first) is int:  # the common case: a counter
        return sum(values) if all(type(v) is int for v in values) else first
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
    """Turns raw key/value bytes of one map into Python values (functions built once)."""

    def __init__(self, info: bpfsys.MapInfo, btf: Btf | None) -> None:
        self.key_type = ""
        self.value_type = ""
        self.key = self._raw_key if info.type in _INDEXED else _hex
        self.value = _fd_slot if info.type in _FD_ARRAYS else _hex
        if btf is None:
            return
        if info.btf_key_type_id and btf.size_of(info.btf_key_type_id) <= info.key_size:
            self.key = _bind(btf.decoder(info.btf_key_type_id))
            self.key_type = btf.type_name(info.btf_key_type_id)
        if info.btf_value_type_id and btf.size_of(info.btf_value_type_id) <= info.value_size:
            self.value = _bind(btf.decoder(info.btf_value_type_id))
            self.value_type = btf.type_name(info.btf_value_type_id)

    @staticmethod
    def _raw_key(raw: bytes) -> Any:
        # Array maps index with a u32 even when the object carries no BTF.
        return int.from_bytes(raw, "little") if len(raw) == 4 else raw.hex()

    def type_names(self) -> tuple[str, str]:
        return self.key_type, self.value_type


def _bind(fn: Callable[[bytes, int], Any]) -> Callable[[bytes], Any]:
    return lambda raw: fn(raw, 0)


def _hex(raw: bytes) -> str:
    return raw.hex()


def _fd_slot(raw: bytes) -> Any:
    # prog/map ids (prog arrays, map-in-map), ifindexes (devmap), queue sizes (cpumap)
    return int.from_bytes(raw[:4], "little") if len(raw) in (4, 8) else raw.hex()


# ---- reading ---------------------------------------------------------------


class MapReader:
    """Reads one map again and again: fd, info, BTF decoders and buffers kept between reads.

    `read_map(fd)` is a one-shot MapReader. Live views hold one per map
    (see `ProgMaps`) so a refresh costs about one syscall per map.
    """

    def __init__(self, fd: int, *, limit: int = DEFAULT_LIMIT, owns_fd: bool = False) -> None:
        self.fd = fd
        self.limit = limit
        self._owns_fd = owns_fd
        self.info = bpfsys.map_info(fd)
        self.btf = btf_by_id(self.info.btf_id)
        self.decoder = _Decoder(self.info, self.btf)
        self.name = _full_map_name(self.btf, self.info.name)
        self._batch: bpfsys.BatchReader | None = None
        if self.info.max_entries <= limit and self.info.type not in _FD_ARRAYS:
            self._batch = bpfsys.BatchReader(
                fd, self.info.key_size, self.info.value_size, self.info.max_entries,
                self.info.per_cpu,
            )  # fmt: skip
        self._bulk = _bulk_decoder(self.info, self.btf, self.decoder) if self._batch else None

    @classmethod
    def by_id(cls, map_id: int, *, limit: int = DEFAULT_LIMIT) -> MapReader:
        fd = bpfsys.map_fd_by_id(map_id)
        try:
            return cls(fd, limit=limit, owns_fd=True)
        except BaseException:
            fd.close()
            raise

    def close(self) -> None:
        if self._owns_fd:
            self._owns_fd = False
            os.close(self.fd)

    def __enter__(self) -> MapReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def empty(self) -> DecodedMap:
        info = self.info
        key_type, value_type = self.decoder.type_names()
        return DecodedMap(
            id=info.id,
            name=self.name,
            type=info.type_name,
            key_type=key_type,
            value_type=value_type,
            per_cpu=info.per_cpu,
            key_size=info.key_size,
            value_size=info.value_size,
            max_entries=info.max_entries,
        )

    def read(self) -> DecodedMap:
        result = self.empty()
        if self.info.type in _NOT_LISTABLE:
            result.note = _NOT_LISTABLE[self.info.type]
            return result
        if self._bulk is not None and self._batch is not None:
            try:
                raw = self._batch.read_raw()
            except XdpTuiError as exc:
                result.note = f"not readable: {exc.message}"
                return result
            if raw is not None:
                result.read_at = time.monotonic()
                result.entries = self._bulk(*raw)
                return result
            self._batch = None  # no batch op for this map type: take the slow path below
        try:
            raw_entries, result.truncated = self._raw_entries()
        except XdpTuiError as exc:
            result.note = f"not readable: {exc.message}"
            return result
        result.read_at = time.monotonic()
        decoder = self.decoder
        result.entries = [_entry(decoder, key, value) for key, value in raw_entries]
        return result

    def _raw_entries(self) -> tuple[list[tuple[bytes, bytes | list[bytes]]], bool]:
        """(key, value) bytes pairs, by batch when the map type has it, else key by key."""
        if self._batch is not None:
            batch = self._batch.read()
            if batch is not None:
                return batch, False
            self._batch = None  # this map type has no batch op; don't ask again
        info = self.info
        keys = bpfsys.map_keys(self.fd, info.key_size, limit=self.limit + 1)
        truncated = len(keys) > self.limit
        entries: list[tuple[bytes, bytes | list[bytes]]] = []
        for key in keys[: self.limit]:
            try:
                value = bpfsys.lookup(self.fd, key, info.value_size, info.per_cpu)
            except XdpTuiError:
                if info.type in _FD_ARRAYS:
                    continue  # an empty slot of a prog/dev/cpu map
                raise
            if value is not None:  # deleted between listing and reading
                entries.append((key, value))
        return entries, truncated


BulkDecoder = Callable[[int, bytes, bytes], list[dict[str, Any]]]


def _bulk_decoder(info: bpfsys.MapInfo, btf: Btf | None, decoder: _Decoder) -> BulkDecoder | None:
    """Decode a whole batch read at once when the value is a counter or a struct of counters.

    The tutorial's maps are all like that. One `struct.iter_unpack` over the
    values buffer (every entry, every CPU) replaces a Python call per field
    and per CPU, which keeps a live refresh cheap.
    """
    if btf is None or not info.btf_value_type_id:
        return None
    layout = btf.flat_int_layout(info.btf_value_type_id)
    if layout is None or btf.size_of(info.btf_value_type_id) != info.value_size:
        return None
    fmt, names = layout
    ncpus = bpfsys.possible_cpus() if info.per_cpu else 1
    pad = bpfsys.value_slot(info.value_size) - info.value_size if info.per_cpu else 0
    entry = struct.Struct("<" + (fmt + "x" * pad) * ncpus)
    nf = len(names) if names else 1
    cpu_slices = [slice(c * nf, (c + 1) * nf) for c in range(ncpus)]  # one CPU's fields
    field_slices = [slice(f, None, nf) for f in range(nf)]  # one field on every CPU
    keys_of = _bulk_keys(info, btf, decoder)

    def decode(count: int, kraw: bytes, vraw: bytes) -> list[dict[str, Any]]:
        keys = keys_of(count, kraw)
        values = entry.iter_unpack(vraw[: count * entry.size])
        if not info.per_cpu:
            if names:
                return [
                    {"key": k, "value": dict(zip(names, v, strict=True))}
                    for k, v in zip(keys, values, strict=True)
                ]
            return [{"key": k, "value": v[0]} for k, v in zip(keys, values, strict=True)]
        if not names:
            return [
                {"key": k, "value": sum(v), "per_cpu": list(v)}
                for k, v in zip(keys, values, strict=True)
            ]
        return [
            {
                "key": k,
                "value": dict(zip(names, [sum(v[s]) for s in field_slices], strict=True)),
                "per_cpu": [dict(zip(names, v[s], strict=True)) for s in cpu_slices],
            }
            for k, v in zip(keys, values, strict=True)
        ]

    return decode


def _bulk_keys(
    info: bpfsys.MapInfo, btf: Btf, decoder: _Decoder
) -> Callable[[int, bytes], list[Any]]:
    """All keys of a batch read: one unpack for integer keys, else the key decoder per key."""
    layout = btf.flat_int_layout(info.btf_key_type_id) if info.btf_key_type_id else None
    if layout is None and not info.btf_key_type_id and info.type in _INDEXED and info.key_size == 4:
        layout = ("I", None)  # array index without BTF
    if (
        layout is not None
        and layout[1] is None
        and struct.calcsize("<" + layout[0]) == info.key_size
    ):
        key_struct = struct.Struct("<" + layout[0])
        return lambda count, kraw: [
            k for (k,) in key_struct.iter_unpack(kraw[: count * key_struct.size])
        ]
    key_fn, ks = decoder.key, info.key_size
    return lambda count, kraw: [key_fn(kraw[i * ks : (i + 1) * ks]) for i in range(count)]


def read_map(fd: int, *, limit: int = DEFAULT_LIMIT) -> DecodedMap:
    """Every entry (up to LIMIT) of the map behind FD, decoded."""
    return MapReader(fd, limit=limit).read()


def _entry(decoder: _Decoder, key: bytes, value: bytes | list[bytes]) -> dict[str, Any]:
    if isinstance(value, list):
        per_cpu = [decoder.value(v) for v in value]
        return {"key": decoder.key(key), "value": sum_values(per_cpu), "per_cpu": per_cpu}
    return {"key": decoder.key(key), "value": decoder.value(value)}


def read_map_by_id(map_id: int, *, limit: int = DEFAULT_LIMIT) -> DecodedMap:
    with MapReader.by_id(map_id, limit=limit) as reader:
        return reader.read()


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
    with ProgMaps(prog_id, include_internal=include_internal, limit=limit) as prog_maps:
        return prog_maps.refresh()


class ProgMaps:
    """The maps of one program, held open for repeated refreshes (live views, stats).

    If the program is replaced (new prog id) the owner makes a new ProgMaps;
    maps that vanish mid-way are dropped from the result, not raised.
    """

    def __init__(
        self, prog_id: int, *, include_internal: bool = False, limit: int = DEFAULT_LIMIT
    ) -> None:
        self.prog_id = prog_id
        self.readers: list[MapReader] = []
        try:
            for map_id in maps_of_prog(prog_id):
                try:
                    reader = MapReader.by_id(map_id, limit=limit)
                except XdpTuiError:
                    continue
                if include_internal or not is_internal_map(reader.name):
                    self.readers.append(reader)
                else:
                    reader.close()
        except BaseException:
            self.close()
            raise

    @property
    def map_ids(self) -> list[int]:
        return [r.info.id for r in self.readers]

    def refresh(self) -> dict[str, DecodedMap]:
        return {r.name: r.read() for r in self.readers}

    def close(self) -> None:
        for reader in self.readers:
            reader.close()
        self.readers = []

    def __enter__(self) -> ProgMaps:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
