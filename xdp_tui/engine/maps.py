"""Read every entry of a BPF map and decode keys and values from the map's BTF.

No hand-written layouts: the kernel keeps the BTF the program was loaded with
(`map_info.btf_id`, key and value type ids), so a struct field a learner just
added shows up on the next read. Per-CPU values are summed field by field for
`value` and kept per CPU in `per_cpu`. A value without BTF is shown for what
can be known: a size that is a multiple of 8 as little-endian u64 words (per-CPU
ones summed word by word), any other as hex; `value_format` says which.

    with bpfsys.map_fd_by_id(7) as fd:
        m = read_map(fd)
    m.entries  # [{"key": 2, "value": {"rx_packets": 10, "rx_bytes": 840}, "per_cpu": [...]}]

Live views refresh several times a second, so a held `MapReader` keeps its
cost near one `bpf_map_lookup_batch` syscall per map: buffers are reused,
maps of counters decode through a comprehension compiled once per map shape,
and bytes that did not change since the last read are not decoded again (the
previous entry dicts come back: treat entries as read-only).
bench/map_refresh.py measures it against `bpftool map dump`.
"""

from __future__ import annotations

import os
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Self

from xdp_tui.engine import bpfsys
from xdp_tui.engine.btf import KIND_DATASEC, Btf
from xdp_tui.errors import XdpTuiError

DEFAULT_LIMIT = 1024  # entries read per map; big hash maps are cut (and say so)

# Map types whose entries cannot be listed from user space (no keys, or the
# values are kernel objects); read_map returns them empty with a note.
NOT_LISTABLE = {
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
FD_ARRAYS = {3, 8, 12, 14, 16, 25}
# Types indexed by a u32 position: without BTF their keys still show as numbers.
_INDEXED = {2, 3, 4, 6, 8, 12, 14, 16, 17}

# How a map's values were decoded (`DecodedMap.value_format`, `stats --json`):
VALUE_BTF = "btf"  # by the value's BTF type: fields and types are facts
VALUE_U64_WORDS = "u64_words"  # no BTF: a list of little-endian u64 words, a reading only
VALUE_HEX = "hex"  # no BTF and a size that is not a multiple of 8
VALUE_ID = "id"  # prog/map ids, ifindexes of fd arrays (devmap, prog array, ...)


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
    value_format: str = VALUE_BTF  # VALUE_BTF, VALUE_U64_WORDS, VALUE_HEX or VALUE_ID

    def to_dict(self) -> dict[str, Any]:
        """The `stats --json` shape of one map (plus a few descriptive fields)."""
        out: dict[str, Any] = {
            "id": self.id,
            "type": self.type,
            "key_type": self.key_type,
            "value_type": self.value_type,
            "per_cpu": self.per_cpu,
            "value_format": self.value_format,
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


def full_map_name(btf: Btf | None, short: str) -> str:
    """Kernel map names stop at 15 characters; the BTF `.maps` section has the full one."""
    if btf is None or len(short) < 15:
        return short
    for t in btf.types:
        if t.kind == KIND_DATASEC and t.name == ".maps":
            for m in t.members:
                if m.name.startswith(short):
                    return m.name
    return short


class KeyValueDecoder:
    """Turns raw key/value bytes of one map into Python values (functions built once)."""

    def __init__(self, info: bpfsys.MapInfo, btf: Btf | None) -> None:
        self.key_type = ""
        self.value_type = ""
        self.key: Callable[[bytes], Any] = self._raw_key if info.type in _INDEXED else _hex
        self.value, self.value_format = _value_without_btf(info)
        if btf is None:
            return
        if info.btf_key_type_id and btf.size_of(info.btf_key_type_id) <= info.key_size:
            self.key = _bind(btf.decoder(info.btf_key_type_id))
            self.key_type = btf.type_name(info.btf_key_type_id)
        if info.btf_value_type_id and btf.size_of(info.btf_value_type_id) <= info.value_size:
            self.value = _bind(btf.decoder(info.btf_value_type_id))
            self.value_type = btf.type_name(info.btf_value_type_id)
            self.value_format = VALUE_BTF

    @staticmethod
    def _raw_key(raw: bytes) -> Any:
        # Array maps index with a u32 even when the object carries no BTF.
        return int.from_bytes(raw, "little") if len(raw) == 4 else raw.hex()

    def type_names(self) -> tuple[str, str]:
        return self.key_type, self.value_type


def _value_without_btf(info: bpfsys.MapInfo) -> tuple[Callable[[bytes], Any], str]:
    """How to show a value whose type nobody told us: ids for fd arrays, u64 words when
    the size allows (counters are u64 in nearly every map), else the bytes in hex."""
    if info.type in FD_ARRAYS:
        return _fd_slot, VALUE_ID
    if info.value_size and info.value_size % 8 == 0:
        words = struct.Struct(f"<{info.value_size // 8}Q").unpack
        return lambda raw: list(words(raw)), VALUE_U64_WORDS
    return _hex, VALUE_HEX


def _bind(fn: Callable[[bytes, int], Any]) -> Callable[[bytes], Any]:
    return lambda raw: fn(raw, 0)


def _hex(raw: bytes) -> str:
    return raw.hex()


def _fd_slot(raw: bytes) -> Any:
    # prog/map ids (prog arrays, map-in-map), ifindexes (devmap), queue sizes (cpumap)
    return int.from_bytes(raw[:4], "little") if len(raw) in (4, 8) else raw.hex()


# ---- reading ---------------------------------------------------------------

# (key bytes, value bytes) -> one decoded entry {"key", "value"[, "per_cpu"]}
EntryDecoder = Callable[[bytes, Any], dict[str, Any]]


class MapFdOwner:
    """Holds the fd of one map; `close()` closes it when this object opened it (`by_id`)."""

    def __init__(self, fd: int, owns_fd: bool = False) -> None:
        self.fd = fd
        self._owns_fd = owns_fd

    @classmethod
    def by_id(cls, map_id: int, **options: Any) -> Self:
        """An instance on its own fd of map MAP_ID (closed by `close()`)."""
        fd = bpfsys.map_fd_by_id(map_id)
        try:
            return cls(fd, owns_fd=True, **options)
        except BaseException:
            fd.close()
            raise

    def close(self) -> None:
        if self._owns_fd:
            self._owns_fd = False
            os.close(self.fd)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class MapReader(MapFdOwner):
    """Reads one map again and again: fd, info, BTF decoders and buffers kept between reads.

    `read_map(fd)` is a one-shot MapReader. Live views hold one per map
    (see `ProgMaps`) so a refresh costs about one syscall per map. Entries
    whose bytes did not change since the last read are not decoded again:
    the same entry dicts come back, so treat `entries` as read-only.
    """

    def __init__(self, fd: int, *, limit: int = DEFAULT_LIMIT, owns_fd: bool = False) -> None:
        super().__init__(fd, owns_fd)
        self.limit = limit
        self.info = bpfsys.map_info(fd)
        self.btf = btf_by_id(self.info.btf_id)
        self.decoder = KeyValueDecoder(self.info, self.btf)
        self.name = full_map_name(self.btf, self.info.name)
        self._batch: bpfsys.BatchReader | None = None
        if self.info.max_entries <= limit and self.info.type not in FD_ARRAYS:
            self._batch = bpfsys.BatchReader(
                fd, self.info.key_size, self.info.value_size, self.info.max_entries,
                self.info.per_cpu,
            )  # fmt: skip
        self._compiled = _batch_decoder_for(self.info, self.btf, self.decoder)
        self._packed = packed_entry_decoder(self.info, self.decoder)
        self._described = self._description()
        # What the last read saw, to skip decoding what did not change:
        self._last_raw: tuple[int, bytes, bytes] | None = None  # a whole batch read
        self._last_entries: list[dict[str, Any]] = []
        self._seen: dict[bytes, tuple[Any, dict[str, Any]]] = {}  # key bytes -> (value, entry)

    def forget(self) -> None:
        """Drop what the last read saw: the next read decodes every entry again."""
        self._last_raw, self._last_entries, self._seen = None, [], {}

    def _description(self) -> dict[str, Any]:
        """The DecodedMap fields that stay the same from read to read."""
        info = self.info
        key_type, value_type = self.decoder.type_names()
        return {
            "id": info.id,
            "name": self.name,
            "type": info.type_name,
            "key_type": key_type,
            "value_type": value_type,
            "per_cpu": info.per_cpu,
            "value_format": self.decoder.value_format,
            "key_size": info.key_size,
            "value_size": info.value_size,
            "max_entries": info.max_entries,
        }

    def empty(self) -> DecodedMap:
        return DecodedMap(**self._described)

    def read(self) -> DecodedMap:
        result = DecodedMap(**self._described)
        if self.info.type in NOT_LISTABLE:
            result.note = NOT_LISTABLE[self.info.type]
            return result
        if self._batch is not None:
            try:
                raw = self._batch.read_raw()
            except XdpTuiError as exc:
                result.note = f"not readable: {exc.message}"
                return result
            if raw is not None:
                result.read_at = time.monotonic()
                result.entries = self._entries_of_batch(raw)
                return result
            self._batch = None  # no batch op for this map type: read key by key from now on
        try:
            raw_entries, result.truncated = self._raw_entries()
        except XdpTuiError as exc:
            result.note = f"not readable: {exc.message}"
            return result
        result.read_at = time.monotonic()
        result.entries = self._entries_of_pairs(raw_entries)
        return result

    def _entries_of_batch(self, raw: tuple[int, bytes, bytes]) -> list[dict[str, Any]]:
        """Decoded entries of one batch read (count, packed keys, packed values).

        An idle map hands back the very same bytes: then the last entries are
        reused whole. Otherwise a map of counters is decoded whole by its
        compiled decoder (cheaper than comparing entry by entry), and any other
        map decodes only the entries whose bytes changed.
        """
        if raw == self._last_raw:
            return list(self._last_entries)
        count, kraw, vraw = raw
        if self._compiled is not None:
            entries = self._compiled(kraw, vraw)
            self._last_raw, self._last_entries = raw, entries
            return list(entries)
        assert self._batch is not None
        ks, vs = self._batch.key_size, self._batch.vstride
        seen, now_seen = self._seen, {}
        decode = self._packed
        entries = []
        for i in range(count):
            key = kraw[i * ks : (i + 1) * ks]
            value = vraw[i * vs : (i + 1) * vs]
            known = seen.get(key)
            if known is None or known[0] != value:
                known = (value, decode(key, value))
            now_seen[key] = known
            entries.append(known[1])
        self._seen = now_seen  # keys gone from a hash map drop out here
        self._last_raw, self._last_entries = raw, entries
        return list(entries)

    def _entries_of_pairs(
        self, pairs: list[tuple[bytes, bytes | list[bytes]]]
    ) -> list[dict[str, Any]]:
        """Decoded entries of a key-by-key read, again decoding only what changed."""
        seen, now_seen = self._seen, {}
        decoder = self.decoder
        entries = []
        for key, value in pairs:
            known = seen.get(key)
            if known is None or known[0] != value:
                known = (value, _entry(decoder, key, value))
            now_seen[key] = known
            entries.append(known[1])
        self._seen = now_seen
        return entries

    def _raw_entries(self) -> tuple[list[tuple[bytes, bytes | list[bytes]]], bool]:
        """(key, value) bytes pairs, by batch when the map type has it, else key by key."""
        if self._batch is not None:
            batch = self._batch.read()
            if batch is not None:
                return batch, False
            self._batch = None  # this map type has no batch op; don't ask again
        return read_key_by_key(self.fd, self.info, self.limit)


def read_key_by_key(
    fd: int, info: bpfsys.MapInfo, limit: int
) -> tuple[list[tuple[bytes, bytes | list[bytes]]], bool]:
    """Up to LIMIT (key, value) pairs with get_next_key + lookup, and whether there were more."""
    keys = bpfsys.map_keys(fd, info.key_size, limit=limit + 1)
    entries: list[tuple[bytes, bytes | list[bytes]]] = []
    for key in keys[:limit]:
        try:
            value = bpfsys.lookup(fd, key, info.value_size, info.per_cpu)
        except XdpTuiError:
            if info.type in FD_ARRAYS:
                continue  # an empty slot of a prog/dev/cpu map
            raise
        if value is not None:  # deleted between listing and reading
            entries.append((key, value))
    return entries, len(keys) > limit


def packed_entry_decoder(info: bpfsys.MapInfo, decoder: KeyValueDecoder) -> EntryDecoder:
    """Decoder of one entry as a batch read packs it (per-CPU values side by side),
    through the BTF decoders, like a key-by-key read."""
    if not info.per_cpu:
        return lambda key, value: _entry(decoder, key, value)
    ncpus, slot, size = bpfsys.possible_cpus(), bpfsys.value_slot(info.value_size), info.value_size
    cpu_starts = [c * slot for c in range(ncpus)]

    def split_per_cpu(key: bytes, value: bytes) -> dict[str, Any]:
        return _entry(decoder, key, [value[at : at + size] for at in cpu_starts])

    return split_per_cpu


# (packed keys, packed values) of a batch read -> every decoded entry
BatchDecoder = Callable[[bytes, bytes], list[dict[str, Any]]]


_batch_decoders: dict[tuple[int, ...], BatchDecoder | None] = {}
_BATCH_DECODERS_MAX = 256


def _batch_decoder_for(
    info: bpfsys.MapInfo, btf: Btf | None, decoder: KeyValueDecoder
) -> BatchDecoder | None:
    """`_compiled_batch_decoder`, compiled once per map shape (one-shot reads reuse it).

    A shape is its BTF object (immutable once loaded) and type ids, sizes and map
    type: everything the generated code depends on.
    """
    if btf is None:
        return None
    shape = (
        info.btf_id, info.btf_key_type_id, info.btf_value_type_id,
        info.key_size, info.value_size, info.type,
    )  # fmt: skip
    if shape not in _batch_decoders:
        if len(_batch_decoders) >= _BATCH_DECODERS_MAX:
            _batch_decoders.clear()
        _batch_decoders[shape] = _compiled_batch_decoder(info, btf, decoder)
    return _batch_decoders[shape]


def _compiled_batch_decoder(
    info: bpfsys.MapInfo, btf: Btf | None, decoder: KeyValueDecoder
) -> BatchDecoder | None:
    """A decoder of a whole batch read, compiled for maps of counters (None for other maps).

    When the value is an integer or a struct of whole integers (every tutorial
    map), one `struct.Struct` unpacks all fields on all CPUs of an entry and a
    generated comprehension builds the entries with no loop per field or CPU.
    For a per-CPU `struct datarec` on 2 CPUs it reads:

        [{"key": k[0],
          "value": {"rx_packets": v[0] + v[2], "rx_bytes": v[1] + v[3]},
          "per_cpu": [{"rx_packets": v[0], "rx_bytes": v[1]},
                      {"rx_packets": v[2], "rx_bytes": v[3]}]}
         for k, v in zip(keys(kraw), values(vraw))]

    Field names enter the source only through repr(), as string literals.
    A live view decodes every changed map each tick; this is about 4x faster
    than the per-field loops it replaces.
    """
    if btf is None or not info.btf_value_type_id:
        return None
    layout = btf.flat_int_layout(info.btf_value_type_id)
    if layout is None or btf.size_of(info.btf_value_type_id) != info.value_size:
        return None
    fmt, names = layout
    ncpus = bpfsys.possible_cpus() if info.per_cpu else 1
    pad = bpfsys.value_slot(info.value_size) - info.value_size if info.per_cpu else 0
    values = struct.Struct("<" + (fmt + "x" * pad) * ncpus).iter_unpack
    keys, key_expr = _batch_keys(info, btf, decoder)
    entry = f'{{"key": {key_expr}, "value": '
    if names is None and info.per_cpu:
        entry += 'sum(v), "per_cpu": list(v)}'
    elif names is None:
        entry += "v[0]}"
    else:
        nf = len(names)
        per_cpu = [
            _dict_source(names, [f"v[{c * nf + f}]" for f in range(nf)]) for c in range(ncpus)
        ]
        if info.per_cpu:
            sums = [" + ".join(f"v[{c * nf + f}]" for c in range(ncpus)) for f in range(nf)]
            entry += f'{_dict_source(names, sums)}, "per_cpu": [{", ".join(per_cpu)}]}}'
        else:
            entry += per_cpu[0] + "}"
    source = (
        "def decode_batch(kraw, vraw):\n"
        f"    return [{entry} for k, v in zip(keys(kraw), values(vraw))]\n"
    )
    namespace: dict[str, Any] = {"keys": keys, "values": values}
    exec(compile(source, "<map batch decoder>", "exec"), namespace)  # noqa: S102
    decode_batch: BatchDecoder = namespace["decode_batch"]
    return decode_batch


def _batch_keys(
    info: bpfsys.MapInfo, btf: Btf, decoder: KeyValueDecoder
) -> tuple[Callable[[bytes], Any], str]:
    """How to split a batch's packed keys, and the source of one decoded key `k`.

    Integer keys and structs of integers are unpacked in one go (`k` is the
    unpacked tuple); any other key goes through its BTF decoder (`k` is the value).
    """
    kid, ks = info.btf_key_type_id, info.key_size
    layout = btf.flat_int_layout(kid) if kid and btf.size_of(kid) <= ks else None
    if layout is not None and struct.calcsize("<" + layout[0]) == ks:
        fmt, names = layout
        expr = (
            "k[0]" if names is None else _dict_source(names, [f"k[{i}]" for i in range(len(names))])
        )
        return struct.Struct("<" + fmt).iter_unpack, expr
    key_of = decoder.key
    return lambda kraw: [key_of(kraw[at : at + ks]) for at in range(0, len(kraw), ks)], "k"


def _dict_source(names: list[str], exprs: list[str]) -> str:
    return (
        "{" + ", ".join(f"{name!r}: {expr}" for name, expr in zip(names, exprs, strict=True)) + "}"
    )


def read_map(fd: int, *, limit: int = DEFAULT_LIMIT) -> DecodedMap:
    """Every entry (up to LIMIT) of the map behind FD, decoded."""
    return MapReader(fd, limit=limit).read()


def _entry(decoder: KeyValueDecoder, key: bytes, value: bytes | list[bytes]) -> dict[str, Any]:
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
    maps that vanish mid-way are dropped from the result, not raised. Maps with
    more than MAX_ENTRIES slots are left out when it is given (the TUI shows
    those whole in its top-talkers view, engine/bigmap.py).
    """

    def __init__(
        self,
        prog_id: int,
        *,
        include_internal: bool = False,
        limit: int = DEFAULT_LIMIT,
        max_entries: int | None = None,
    ) -> None:
        self.prog_id = prog_id
        self.readers: list[MapReader] = []
        try:
            for map_id in maps_of_prog(prog_id):
                try:
                    reader = MapReader.by_id(map_id, limit=limit)
                except XdpTuiError:
                    continue
                too_big = max_entries is not None and reader.info.max_entries > max_entries
                if (include_internal or not is_internal_map(reader.name)) and not too_big:
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

    def forget(self) -> None:
        """Make the next refresh decode every entry (as if every value had changed)."""
        for reader in self.readers:
            reader.forget()

    def close(self) -> None:
        for reader in self.readers:
            reader.close()
        self.readers = []

    def __enter__(self) -> ProgMaps:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
