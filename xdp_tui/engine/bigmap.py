"""Big BPF maps read whole at tick rate: every entry into NumPy arrays, top talkers by rate.

`maps.MapReader` turns each entry into Python objects: right for the lessons'
five-entry maps, far too slow for a flow table of a million. Here one read is
a few `bpf_map_lookup_batch` calls straight into two preallocated arrays
(packed keys, packed values). The value bytes are viewed through a NumPy
structured dtype built from the map's BTF value struct, per-CPU copies are
summed per field in one vectorised step, and deltas, rates, totals and the
top-N ranking all work on arrays. Only the rows shown are decoded to Python,
by the same BTF decoders as maps.py.

    with BigMapWatch.by_id(map_id) as watch:
        watch.refresh()                               # the first read: no rates yet
        table = watch.refresh(top=20, sort="pps")
        table.rows[0].key, table.rows[0].pps, table.totals.values["packets"]

Identity across ticks: keys are compared as little-endian 64-bit words. A
hash map whose set of keys did not change hands its keys back in the same
(bucket) order, so the usual tick costs one array compare; when keys came or
went, this tick's keys are sorted and joined against the last tick's: new keys
count from zero (all of their value arrived within the interval), vanished
keys drop out, and a counter that went down (reset) shows no rate for a tick.
"""

from __future__ import annotations

import ctypes as C
import errno
import ipaddress
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

# NumPy's BLAS would start a pool of spinning threads; nothing here multiplies matrices.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import numpy.typing as npt  # noqa: E402

from xdp_tui.engine import _lib, bpfsys, mapwalk
from xdp_tui.engine.btf import INT_BOOL, INT_SIGNED, KIND_INT, KIND_STRUCT, KIND_UNION, Btf
from xdp_tui.engine.maps import (
    FD_ARRAYS,
    NOT_LISTABLE,
    VALUE_BTF,
    KeyValueDecoder,
    MapFdOwner,
    btf_by_id,
    full_map_name,
    is_internal_map,
    maps_of_prog,
    packed_entry_decoder,
    read_key_by_key,
)
from xdp_tui.engine.stats import BYTE_FIELDS, COUNTER_TYPES, PACKET_FIELDS, attached_prog_id
from xdp_tui.errors import XdpTuiError

DEFAULT_BATCH = 65536  # entries per lookup_batch syscall
DEFAULT_TOP = 20
# The arrays of one map never grow past this; bigger maps are read up to it (and say so).
MAX_READ_BYTES = 256 << 20
# Hash maps hand over whole buckets: room for a few beyond max_entries means the
# last call never fails for want of space.
_SLACK_ENTRIES = 256
SORTS_BUILTIN = ("pps", "bps", "key")
# Keys shown as an address rather than as the union of arrays BTF describes.
_ADDRESS_TYPES = frozenset({"struct in6_addr", "struct in_addr"})
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)  # odd multiplier mixing wide keys into one word

UIntArray = npt.NDArray[np.uint64]
IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


# ---- layouts from BTF --------------------------------------------------------


@dataclass(frozen=True)
class NumField:
    """One whole-integer field of a key or value: dotted name, byte offset, NumPy type."""

    name: str
    offset: int
    dtype: np.dtype[Any]
    big_endian: bool = False  # a __be16/__be32/__be64 typedef (network order)


@dataclass(frozen=True)
class Region:
    """Any named member (at any depth): where an address of its size may sit in a key."""

    name: str
    offset: int
    size: int


def _members(btf: Btf, type_id: int, offset: int, prefix: str, depth: int = 0) -> Iterator[Any]:
    """(dotted name, byte offset, unresolved type id) of TYPE_ID and every named member in it."""
    yield prefix, offset, type_id
    t = btf.get(btf.resolve(type_id))
    if t is None or t.kind not in (KIND_STRUCT, KIND_UNION) or depth > 8:
        return
    for m in t.members:
        if m.bit_size or m.bit_offset % 8:
            continue  # bitfields have no NumPy view
        name = f"{prefix}.{m.name}" if prefix and m.name else (m.name or prefix)
        yield from _members(btf, m.type, offset + m.bit_offset // 8, name, depth + 1)


def _int_dtype(btf: Btf, type_id: int) -> np.dtype[Any] | None:
    t = btf.get(btf.resolve(type_id))
    if t is None or t.kind != KIND_INT or t.int_encoding & INT_BOOL:
        return None
    if t.int_offset or t.int_bits != t.size * 8 or t.size not in (1, 2, 4, 8):
        return None
    return np.dtype(f"<{'i' if t.int_encoding & INT_SIGNED else 'u'}{t.size}")


def numeric_fields(btf: Btf | None, type_id: int, size: int, whole: str) -> list[NumField]:
    """Every whole-integer field of a BTF type (WHOLE names a plain integer type itself).

    Nested structs give dotted names; arrays, bitfields, bools and enums are left
    out (they are not counters). Without BTF: nothing.
    """
    if btf is None or not type_id or btf.size_of(type_id) > size:
        return []
    fields = []
    for name, offset, tid in _members(btf, type_id, 0, ""):
        dtype = _int_dtype(btf, tid)
        if dtype is not None:
            big = btf.type_name(tid).startswith("__be")
            fields.append(NumField(name or whole, offset, dtype, big))
    return fields


def regions(btf: Btf | None, type_id: int, size: int) -> list[Region]:
    if btf is None or not type_id:
        return [Region("", 0, size)]
    return [Region(n, off, btf.size_of(tid)) for n, off, tid in _members(btf, type_id, 0, "")]


def value_dtype(fields: list[NumField], itemsize: int) -> np.dtype[Any]:
    """A structured dtype over one value slot: each numeric field at its offset."""
    return np.dtype(
        {
            "names": [f.name for f in fields],
            "formats": [f.dtype for f in fields],
            "offsets": [f.offset for f in fields],
            "itemsize": itemsize,
        }
    )


# ---- the raw read --------------------------------------------------------------


class BatchArrays:
    """Reads a whole map into two preallocated byte arrays with batch lookups.

    `read()` returns the number of entries; `keys[:n]` is (n, key_size) and
    `values[:n]` is (n, vstride) bytes, per-CPU values side by side in 8-byte
    aligned slots. The arrays are reused by the next read.
    """

    def __init__(self, fd: int, info: bpfsys.MapInfo, batch: int = DEFAULT_BATCH) -> None:
        self.fd, self.info = fd, info
        self.ncpus = bpfsys.possible_cpus() if info.per_cpu else 1
        self.slot = bpfsys.value_slot(info.value_size) if info.per_cpu else info.value_size
        self.vstride = self.slot * self.ncpus
        per_entry = max(info.key_size, 1) + max(self.vstride, 1)
        self.capacity = max(1, min(info.max_entries, MAX_READ_BYTES // per_entry))
        room = self.capacity + (_SLACK_ENTRIES if self.capacity == info.max_entries else 0)
        self.batch = max(1, batch)
        self.room = room
        self._batch_keys = np.zeros((room, max(info.key_size, 1)), np.uint8)
        self._batch_values = np.zeros((room, max(self.vstride, 1)), np.uint8)
        # What the last read filled: the batch arrays, or the walk program's (rows as
        # wide or wider: a row's first key_size / vstride bytes are the entry).
        self.keys, self.values = self._batch_keys, self._batch_values
        self.truncated = False  # the last read stopped at `capacity`
        self._batch_ok = info.type not in FD_ARRAYS
        self._tokens = (
            C.create_string_buffer(max(info.key_size, 8)),
            C.create_string_buffer(max(info.key_size, 8)),
        )
        self.walker: mapwalk.MapWalker | None = None  # built once the map is dense
        self.walking = False  # the last read went through the walker
        self.walk_note = ""  # why the walk could not be used (when it was wanted)

    def read(self) -> int:
        if self.walking and self.walker is not None:
            n = self._read_walk(self.walker)
        else:
            self.keys, self.values = self._batch_keys, self._batch_values
            n = self._read_any()
        self._choose_reader(n)
        return n

    def _read_any(self) -> int:
        if self._batch_ok:
            n = self._read_batches()
            if n is not None:
                return n
            self._batch_ok = False  # no batch op for this map type: key by key from now on
        return self._read_key_by_key()

    def _read_walk(self, walker: mapwalk.MapWalker) -> int:
        got = walker.read()
        self.keys, self.values = walker.keys, walker.values
        self.truncated = got > self.capacity or got >= walker.room
        return min(got, self.capacity)

    def _choose_reader(self, n: int) -> None:
        """Walk dense hash maps (see engine/mapwalk.py), batch-read sparse ones."""
        if not mapwalk.walkable(self.info) or self.walk_note:
            return
        self.walking = mapwalk.dense(n, self.info, walking=self.walking)
        if self.walking and self.walker is None:
            try:
                self.walker = mapwalk.MapWalker(self.fd, self.info, self.room)
            except (XdpTuiError, OSError) as exc:  # no clang, no such helper...: batch
                self.walk_note = exc.message if isinstance(exc, XdpTuiError) else str(exc)
                self.walking = False

    def close(self) -> None:
        if self.walker is not None:
            self.walker.close()
            self.walker = None
        self.walking = False

    def _read_batches(self) -> int | None:
        """Entries read, or None when the map type has no batch lookup."""
        room = len(self.keys)
        ks, vs = self.keys.shape[1], self.values.shape[1]
        keys_at, values_at = self.keys.ctypes.data, self.values.ctypes.data
        token_in, token_out = (C.addressof(t) for t in self._tokens)
        count = C.c_uint32(0)
        got, first = 0, True
        while got < room:
            count.value = min(self.batch, room - got)
            ret = bpfsys.lookup_batch_into(
                self.fd, None if first else token_in, token_out,
                keys_at + got * ks, values_at + got * vs, count,
            )  # fmt: skip
            err = _lib.errno_of(ret) if ret else 0
            if err and err != errno.ENOENT:
                if first and err in (errno.EINVAL, errno.EOPNOTSUPP, 524):  # 524: ENOTSUPP
                    return None
                if err == errno.ENOSPC and got:
                    break  # a bucket bigger than the room left: keep what came
                raise _lib.call_error(ret, "reading map entries (batch)")
            got += count.value
            if err == errno.ENOENT:  # the end of the map came within this call
                self.truncated = got > self.capacity
                return min(got, self.capacity)
            first = False
            C.memmove(token_in, token_out, len(self._tokens[0]))
        self.truncated = True
        return min(got, self.capacity)

    def _read_key_by_key(self) -> int:
        """For map types without batch lookups: pairs packed into the same arrays."""
        pairs, self.truncated = read_key_by_key(self.fd, self.info, self.capacity)
        for n, (key, value) in enumerate(pairs):
            if isinstance(value, list):  # per CPU: each in its 8-byte aligned slot
                value = b"".join(v.ljust(self.slot, b"\0") for v in value)
            self.keys[n, : len(key)] = np.frombuffer(key, np.uint8)
            self.values[n, : len(value)] = np.frombuffer(value, np.uint8)
        return len(pairs)


def fill_map(fd: int, keys: npt.NDArray[np.uint8], values: npt.NDArray[np.uint8]) -> None:
    """Store packed KEYS (n, key_size) and VALUES (n, value stride) with batch updates.

    For tests and benchmarks that need a map of a million entries in a second.
    """
    keys, values = np.ascontiguousarray(keys), np.ascontiguousarray(values)
    step = DEFAULT_BATCH
    for at in range(0, len(keys), step):
        n = min(step, len(keys) - at)
        bpfsys.update_batch(fd, keys[at:].ctypes.data, values[at:].ctypes.data, n)


# ---- the figures of one refresh ------------------------------------------------


@dataclass
class TopRow:
    """One shown entry: decoded key and value, and its rates over the last interval."""

    key: Any
    value: Any
    values: dict[str, int]  # each numeric field (summed over CPUs)
    rates: dict[str, float]  # each numeric field per second
    pps: float
    bps: float
    new: bool = False  # the key appeared since the last read

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "value": self.value, "pps": self.pps, "bps": self.bps,
                "rates": self.rates}  # fmt: skip


@dataclass
class TopTotals:
    """The total row: entries counted, each field summed, each rate summed."""

    entries: int
    values: dict[str, int]
    rates: dict[str, float]
    pps: float
    bps: float

    def to_dict(self) -> dict[str, Any]:
        return {"entries": self.entries, "values": self.values, "rates": self.rates,
                "pps": self.pps, "bps": self.bps}  # fmt: skip


@dataclass
class TopTable:
    """One refresh of a big map: the top rows by the chosen column, totals, counts."""

    id: int
    name: str
    type: str
    key_type: str
    value_type: str
    per_cpu: bool
    max_entries: int
    fields: list[str]  # numeric value fields (sortable, summed)
    sort: str
    value_format: str = VALUE_BTF  # how values were decoded, as in `stats --json` (maps.VALUE_*)
    key_filter: str = ""
    entries_total: int = 0  # every entry read
    matched: int = 0  # entries passing the key filter (= entries_total without one)
    rows: list[TopRow] = field(default_factory=list)
    totals: TopTotals = field(default_factory=lambda: TopTotals(0, {}, {}, 0.0, 0.0))
    added: int = 0  # keys new since the last read
    removed: int = 0  # keys gone since the last read
    interval: float = 0.0  # seconds since the last read (0: the first read, no rates yet)
    read_seconds: float = 0.0  # what this refresh cost (read, sums, rates, top, decode)
    truncated: bool = False  # more entries than one read may hold (MAX_READ_BYTES)
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id, "type": self.type, "key_type": self.key_type,
            "value_type": self.value_type, "value_format": self.value_format,
            "per_cpu": self.per_cpu,
            "entries_total": self.entries_total, "max_entries": self.max_entries,
            "sort": self.sort, "fields": self.fields,
            "top": [row.to_dict() for row in self.rows], "totals": self.totals.to_dict(),
            "added": self.added, "removed": self.removed,
            "interval": self.interval, "read_seconds": self.read_seconds,
        }  # fmt: skip
        if self.key_filter:
            out["filter"], out["matched"] = self.key_filter, self.matched
        if self.truncated:
            out["truncated"] = True
        if self.note:
            out["note"] = self.note
        return out


# ---- key filter ------------------------------------------------------------------

FILTER_HELP = "N, FIELD=N, LOW..HIGH, FIELD=LOW..HIGH or an IP address"


class KeyFilter:
    """Which keys to keep, evaluated on the key arrays (no per-entry Python).

    `53` or `port=53`: an integer field equal to 53 (network-order fields
    compare as numbers too); `1000..2000`: within a range; `fc00::2` or
    `10.0.0.1`: a 16- or 4-byte member of the key holding that address.
    """

    def __init__(self, text: str, fields: list[NumField], where: list[Region]) -> None:
        self.text = text.strip()
        name, _, wanted = self.text.rpartition("=")
        self.fields = [f for f in fields if not name or f.name == name]
        self.address = _address(wanted)
        self.low = self.high = 0
        if self.address is not None:
            self.places = [r.offset for r in where if r.size == len(self.address)]
            if name:
                self.places = [
                    r.offset for r in where if r.name == name and r.size == len(self.address)
                ]
            if not self.places:
                raise XdpTuiError(f"filter {self.text!r}: the key has no member that holds "
                                  f"an IPv{4 if len(self.address) == 4 else 6} address")  # fmt: skip
            return
        self.low, self.high = _int_range(self.text, wanted)
        if not self.fields:
            known = ", ".join(f.name for f in fields) or "none"
            raise XdpTuiError(f"filter {self.text!r}: the key has no integer field {name!r} "
                              f"(fields: {known})")  # fmt: skip

    def mask(self, keys: npt.NDArray[np.uint8]) -> BoolArray:
        """True for each row of packed KEYS (n, key_size) that passes."""
        n = len(keys)
        if self.address is not None:
            want = np.frombuffer(self.address, np.uint8)
            out = np.zeros(n, np.bool_)
            for at in self.places:
                out |= (keys[:, at : at + len(want)] == want).all(axis=1)
            return out
        out = np.zeros(n, np.bool_)
        for f in self.fields:
            size = f.dtype.itemsize
            raw = np.ascontiguousarray(keys[:, f.offset : f.offset + size]).view(f.dtype)[:, 0]
            if f.big_endian:
                raw = raw.byteswap()
            out |= (raw >= self.low) & (raw <= self.high)
        return out


def _address(text: str) -> bytes | None:
    if ":" not in text and text.count(".") != 3:
        return None
    try:
        return ipaddress.ip_address(text).packed
    except ValueError:
        return None


def _int_range(text: str, wanted: str) -> tuple[int, int]:
    low_s, dots, high_s = wanted.partition("..")
    try:
        low = int(low_s, 0)
        high = int(high_s, 0) if dots else low
    except ValueError:
        raise XdpTuiError(f"filter {text!r}: expected {FILTER_HELP}") from None
    return low, high


# ---- the watch: reads, rates, top ----------------------------------------------


class _Buffers:
    """Key words and field sums of up to ROWS entries, kept from one read to the next.

    A watch has two, used in turn when keys came or went (the new read's arrays are
    filled while the last read's are still joined against); when they did not, the
    last read's sums are updated in place. Reused, so a million-entry tick neither
    allocates nor page-faults ~30 MB of fresh arrays.
    """

    def __init__(self, rows: int, width: int, fields: list[NumField]) -> None:
        self.words: UIntArray = np.zeros((rows, width), "<u8")
        self.ident: UIntArray = self.words[:, 0] if width == 1 else np.zeros(rows, "<u8")
        self.sums = {f.name: np.zeros(rows, _wide(f.dtype)) for f in fields}


@dataclass
class _Tick:
    """What one read left for the next: key words, field sums, when.

    The arrays are the first N rows of `buffers`: valid until the read after next.
    """

    n: int
    words: UIntArray  # (n, w) little-endian key words
    ident: UIntArray  # (n,) one word per key (the key itself when it fits, else mixed)
    sums: dict[str, npt.NDArray[Any]]
    read_at: float
    buffers: _Buffers
    order: npt.NDArray[np.intp] | None = None  # argsort of ident, made when needed

    def sorted_order(self) -> npt.NDArray[np.intp]:
        if self.order is None:
            self.order = np.argsort(self.ident, kind="stable")
        return self.order


@dataclass
class _Rates:
    """Per-second rate of each field over the last interval, kept where it may not be 0.

    `moved` are the indexes (ascending) of the entries whose sums changed since the
    last read, new keys included; `at_moved[name][j]` is the rate of entry
    `moved[j]`; every other entry's rate is 0. A million-entry map with a few
    thousand busy flows costs a few thousand rates, not a million.
    """

    n: int
    moved: npt.NDArray[np.intp]
    at_moved: dict[str, FloatArray]
    new: BoolArray | None = None  # per entry: the key appeared since the last read
    same_keys: bool = False  # the same keys as the last read, in the same order

    @property
    def still(self) -> bool:
        """Nothing changed since the last read: the same keys and sums, every rate 0."""
        return self.same_keys and not len(self.moved)

    def dense(self, name: str) -> FloatArray:
        """Field NAME's rate of every entry."""
        out = np.zeros(self.n)
        out[self.moved] = self.at_moved[name]
        return out

    def of(self, i: int) -> dict[str, float]:
        """Each field's rate of entry I."""
        j = int(np.searchsorted(self.moved, i))
        hit = j < len(self.moved) and self.moved[j] == i
        return {name: float(rate[j]) if hit else 0.0 for name, rate in self.at_moved.items()}


def _wide(dtype: np.dtype[Any]) -> type[np.signedinteger[Any]] | type[np.unsignedinteger[Any]]:
    """The 64-bit type sums of a field of DTYPE are kept in."""
    return np.int64 if dtype.kind == "i" else np.uint64


class BigMapWatch(MapFdOwner):
    """Reads one map whole again and again; each `refresh()` returns a `TopTable`."""

    def __init__(self, fd: int, *, batch: int = DEFAULT_BATCH, owns_fd: bool = False) -> None:
        super().__init__(fd, owns_fd)
        self.info = info = bpfsys.map_info(fd)
        self.btf = btf_by_id(info.btf_id)
        self.name = full_map_name(self.btf, info.name)
        self.decoder = KeyValueDecoder(info, self.btf)
        self._entry = packed_entry_decoder(info, self.decoder)
        self.value_fields = numeric_fields(
            self.btf, info.btf_value_type_id, info.value_size, "value"
        )
        if not self.value_fields and self.btf is None and info.value_size in (4, 8):
            self.value_fields = [NumField("value", 0, np.dtype(f"<u{info.value_size}"))]
        self.key_fields = numeric_fields(self.btf, info.btf_key_type_id, info.key_size, "key")
        if not self.key_fields and info.key_size in (1, 2, 4, 8) and self.btf is None:
            self.key_fields = [NumField("key", 0, np.dtype(f"<u{info.key_size}"))]
        self.key_regions = regions(self.btf, info.btf_key_type_id, info.key_size)
        self.packets_field = self._counter_field(PACKET_FIELDS)
        self.bytes_field = self._counter_field(BYTE_FIELDS)
        self.arrays: BatchArrays | None = None
        if info.type not in NOT_LISTABLE:
            self.arrays = BatchArrays(fd, info, batch)
        slot = bpfsys.value_slot(info.value_size) if info.per_cpu else info.value_size
        self._dtype = value_dtype(self.value_fields, max(slot, 1))
        self._last: _Tick | None = None
        self._spare: _Buffers | None = None  # the buffers the last read did not fill
        # The last ranking: (sort, filter, top), the rows, whether every rate was 0 then.
        self._ranking: tuple[tuple[str, str, int], npt.NDArray[np.intp], bool] | None = None
        # What `all_rows` walks: the last read's rates, sort column and filter.
        self._kept: tuple[_Rates, str, BoolArray | None] | None = None

    def close(self) -> None:
        if self.arrays is not None:
            self.arrays.close()
        super().close()

    def _counter_field(self, names: tuple[str, ...]) -> str | None:
        by_name = {f.name for f in self.value_fields}
        for name in names:
            if name in by_name:
                return name
        plain = [f.name for f in self.value_fields] == ["value"]
        counter = self.btf is None or self.decoder.value_type in COUNTER_TYPES
        if names is PACKET_FIELDS and plain and counter:
            return "value"  # a map of plain counters counts packets (as stats.key_counts)
        return None

    @property
    def sorts(self) -> list[str]:
        """Every column `refresh(sort=...)` takes: pps, bps, key, then each value field."""
        return [*SORTS_BUILTIN, *(f.name for f in self.value_fields)]

    def check_sort(self, sort: str) -> None:
        if sort not in self.sorts:
            raise XdpTuiError(
                f"--sort {sort}: map {self.name!r} has no such column "
                f"(choose from {', '.join(self.sorts)})"
            )

    def key_filter(self, text: str) -> KeyFilter | None:
        """The parsed filter TEXT for this map's keys (None for an empty one)."""
        return KeyFilter(text, self.key_fields, self.key_regions) if text.strip() else None

    def _empty_table(self) -> TopTable:
        info = self.info
        return TopTable(
            id=info.id, name=self.name, type=info.type_name, key_type=self.decoder.key_type,
            value_type=self.decoder.value_type, per_cpu=info.per_cpu,
            max_entries=info.max_entries, fields=[f.name for f in self.value_fields], sort="",
            value_format=self.decoder.value_format,
        )  # fmt: skip

    def refresh(
        self, top: int = DEFAULT_TOP, sort: str = "pps", key_filter: KeyFilter | str | None = None
    ) -> TopTable:
        """Read every entry; the TOP rows by SORT among keys passing KEY_FILTER, and totals."""
        self.check_sort(sort)
        if isinstance(key_filter, str):
            key_filter = self.key_filter(key_filter)
        started = time.perf_counter()
        table = self._empty_table()
        table.sort = sort
        table.key_filter = key_filter.text if key_filter is not None else ""
        if self.arrays is None:
            table.note = NOT_LISTABLE[self.info.type]
            return table
        try:
            n = self.arrays.read()
        except XdpTuiError as exc:
            table.note = f"not readable: {exc.message}"
            return table
        read_at = time.monotonic()
        table.truncated = self.arrays.truncated
        keys = self.arrays.keys[:n, : self.info.key_size]
        tick, rates = self._advance(n, keys, read_at, table)
        self._last = tick
        table.entries_total = n
        selected = key_filter.mask(keys) if key_filter is not None else None
        table.matched = n if selected is None else int(selected.sum())
        table.totals = self._totals(tick, rates, selected, table.matched)
        self._kept = (rates, sort, selected)
        shown = self._top(tick, rates, sort, selected, top, table.key_filter)
        table.rows = [self._row(int(i), tick, rates) for i in shown]
        table.read_seconds = time.perf_counter() - started
        return table

    def all_rows(self) -> Iterator[TopRow]:
        """Every entry the last refresh kept (filter applied), in its sort order, decoded
        one by one: for `stats --all`. Valid until the next refresh."""
        if self._kept is None or self._last is None:
            return
        rates, sort, selected = self._kept
        for i in self._ranked(self._last, rates, sort, selected, None):
            yield self._row(int(i), self._last, rates)

    # -- steps of a refresh --

    def _advance(
        self, n: int, keys: npt.NDArray[np.uint8], read_at: float, table: TopTable
    ) -> tuple[_Tick, _Rates]:
        """This read as a tick, and each entry's rates against the last one."""
        last = self._last
        words_now = self._key_words(n)
        fresh = self._fields_now(n)
        if last is not None and last.n == n and self._same_keys(last, keys, words_now):
            # The usual tick: the same keys in the same (bucket) order; no key is copied,
            # the sums that moved are updated in place.
            tick = replace(last, read_at=read_at)
            return tick, self._rates_in_place(last, tick, fresh, table)
        tick = self._filled(n, keys, words_now, fresh, read_at)
        if last is None:
            return tick, _Rates(n, np.zeros(0, np.intp), {name: np.zeros(0) for name in fresh})
        return tick, self._rates_joined(last, tick, table)

    def _key_words(self, n: int) -> UIntArray | None:
        """The read's keys as (n, w) 64-bit words, in place; None when rows are not whole words."""
        assert self.arrays is not None
        rows = self.arrays.keys
        width = max(1, (self.info.key_size + 7) // 8)
        if rows.shape[1] % 8:
            return None
        words: UIntArray = rows[:n].view("<u8")[:, :width]  # walk rows are zero-padded
        return words

    def _same_keys(self, last: _Tick, keys: npt.NDArray[np.uint8], words: UIntArray | None) -> bool:
        if words is not None:
            return bool(np.array_equal(last.words, words))
        ks = self.info.key_size
        return bool(np.array_equal(last.words.view(np.uint8)[:, :ks], keys))

    def _fields_now(self, n: int) -> dict[str, npt.NDArray[Any]]:
        """Each numeric field of every entry of the read, summed over CPUs.

        One CPU: views into the read's arrays (valid until the next read), no copy.
        """
        if not self.value_fields or self.arrays is None:
            return {}
        arrays = self.arrays
        # Rows of `vstride` bytes (or wider: the walk's arrays), each ncpus slots of one value.
        rows = arrays.values
        records = np.ndarray(
            (n, arrays.ncpus), self._dtype, rows, strides=(rows.strides[0], arrays.slot)
        )
        fields = {}
        for f in self.value_fields:
            column = records[f.name]
            fields[f.name] = column[:, 0] if arrays.ncpus == 1 else column.sum(1, _wide(f.dtype))
        return fields

    def _filled(
        self,
        n: int,
        keys: npt.NDArray[np.uint8],
        words_now: UIntArray | None,
        fresh: dict[str, npt.NDArray[Any]],
        read_at: float,
    ) -> _Tick:
        """A tick whose keys and sums are copied into the buffers the last tick does not use."""
        assert self.arrays is not None
        width = max(1, (self.info.key_size + 7) // 8)
        buffers = self._spare
        if buffers is None:
            buffers = _Buffers(len(self.arrays.keys), width, self.value_fields)
        self._spare = self._last.buffers if self._last is not None else None
        words = buffers.words[:n]
        if words_now is not None:
            np.copyto(words, words_now)
        else:  # bytes past the key stay zero: they are never written
            words.view(np.uint8)[:, : self.info.key_size] = keys
        ident = buffers.ident[:n]
        if width > 1:
            ident[:] = words[:, 0]
            for j in range(1, width):
                ident *= _GOLDEN
                ident ^= words[:, j]
        sums = {}
        for name, now in fresh.items():
            sums[name] = buffers.sums[name][:n]
            np.copyto(sums[name], now, casting="unsafe")  # same kind, wider
        return _Tick(n, words, ident, sums, read_at, buffers)

    def _rates_in_place(
        self, last: _Tick, tick: _Tick, fresh: dict[str, npt.NDArray[Any]], table: TopTable
    ) -> _Rates:
        """Same keys, same order: rates of the entries whose sums moved, which are updated."""
        changed: BoolArray | None = None
        for name, now in fresh.items():
            differs = np.not_equal(now, tick.sums[name])
            changed = differs if changed is None else np.logical_or(changed, differs, out=changed)
        moved = np.flatnonzero(changed) if changed is not None else np.zeros(0, np.intp)
        dt = self._interval(last, tick, table)
        at_moved = {}
        for name, now in fresh.items():
            kept = tick.sums[name]
            before, after = kept[moved], now[moved].astype(kept.dtype)
            kept[moved] = after
            at_moved[name] = _delta(after, before, dt) if dt else np.zeros(len(moved))
        return _Rates(tick.n, moved, at_moved, same_keys=True)

    def _rates_joined(self, last: _Tick, tick: _Tick, table: TopTable) -> _Rates:
        """Keys came or went: each entry against the same key in the last read (new: from 0)."""
        at = self._join(last, tick)
        known = at >= 0
        table.added = int(tick.n - known.sum())
        table.removed = int(last.n - known.sum())
        safe = np.where(known, at, 0)
        before = {}
        changed = np.zeros(tick.n, np.bool_)
        for name, now in tick.sums.items():
            earlier = last.sums[name][safe] if last.n else np.zeros(tick.n, now.dtype)
            before[name] = np.where(known, earlier, 0).astype(now.dtype)
            changed |= now != before[name]
        moved = np.flatnonzero(changed)
        dt = self._interval(last, tick, table)
        at_moved = {}
        for name, now in tick.sums.items():
            after, earlier = now[moved], before[name][moved]
            at_moved[name] = _delta(after, earlier, dt) if dt else np.zeros(len(moved))
        return _Rates(tick.n, moved, at_moved, ~known)

    @staticmethod
    def _interval(last: _Tick, tick: _Tick, table: TopTable) -> float:
        """Seconds between the two reads (0: no rates, as at the first read)."""
        if tick.read_at <= last.read_at:
            return 0.0
        table.interval = tick.read_at - last.read_at
        return table.interval

    @staticmethod
    def _join(last: _Tick, tick: _Tick) -> npt.NDArray[np.intp]:
        """Index into LAST of each key of TICK (-1: new)."""
        at = np.full(tick.n, -1, np.intp)
        if not last.n or not tick.n:
            return at
        before = last.sorted_order()
        now = tick.sorted_order()
        sorted_before = last.ident[before]
        wanted = tick.ident[now]
        pos = np.minimum(np.searchsorted(sorted_before, wanted), last.n - 1)
        candidate = before[pos]
        hit = last.ident[candidate] == wanted
        if tick.words.shape[1] > 1:  # mixed words may collide: compare the whole keys
            hit &= (last.words[candidate] == tick.words[now]).all(axis=1)
        at[now[hit]] = candidate[hit]
        return at

    def _totals(
        self, tick: _Tick, rates: _Rates, selected: BoolArray | None, count: int
    ) -> TopTotals:
        if selected is None:
            values = {name: int(s.sum()) for name, s in tick.sums.items()}
            rate_sums = {name: float(r.sum()) for name, r in rates.at_moved.items()}
        else:
            values = {name: int(s[selected].sum()) for name, s in tick.sums.items()}
            picked = selected[rates.moved]
            rate_sums = {name: float(r[picked].sum()) for name, r in rates.at_moved.items()}
        return TopTotals(count, values, rate_sums, *self._pps_bps(rate_sums))

    def _top(
        self,
        tick: _Tick,
        rates: _Rates,
        sort: str,
        selected: BoolArray | None,
        top: int,
        filter_text: str,
    ) -> npt.NDArray[np.intp]:
        """The TOP rows shown: the last ones again when nothing changed since they were ranked.

        An idle map (traffic stopped) would otherwise rank a million entries by their
        totals at every tick (~20 ms at 1M) to find the same rows.
        """
        asked = (sort, filter_text, top)
        last = self._ranking
        if last is not None and rates.still and last[0] == asked:
            ranked_idle = last[2] or sort not in ("pps", "bps")  # rates played no part then
            if ranked_idle:
                return last[1]
        shown = self._ranked(tick, rates, sort, selected, top)
        idle = not any(r.any() for r in rates.at_moved.values())
        self._ranking = (asked, shown, idle)
        return shown

    def _pps_bps(self, rates: dict[str, Any]) -> tuple[Any, Any]:
        pps = rates[self.packets_field] if self.packets_field else 0.0
        bps = rates[self.bytes_field] * 8 if self.bytes_field else 0.0
        return pps, bps

    def _ranked(
        self,
        tick: _Tick,
        rates: _Rates,
        sort: str,
        selected: BoolArray | None,
        limit: int | None,
    ) -> npt.NDArray[np.intp]:
        """Indexes of the first LIMIT (None: all) kept entries, best first by SORT.

        The best LIMIT are picked with argpartition (linear time) and only they
        are sorted, ties broken by key so equal rows keep their places tick to tick.
        """

        def kept() -> npt.NDArray[np.intp]:
            return np.arange(tick.n) if selected is None else np.flatnonzero(selected)

        if sort == "key" and len(self.key_fields) != 1:
            rows = kept()
            return rows[self._key_order(rows)][:limit]
        if sort == "key":
            columns = [self._key_column(self.key_fields[0], np.arange(tick.n))]
        elif sort in ("pps", "bps"):
            name = self._counter_name(sort)
            if name is None:  # no counter: every rate and total is 0, in key order
                return _best([tick.ident], kept(), limit)
            rate = rates.at_moved[name]
            busy_at = np.flatnonzero(rate > 0)
            busy = rates.moved[busy_at]
            if selected is not None:
                passing = selected[busy]
                busy, busy_at = busy[passing], busy_at[passing]
            if limit is not None and len(busy) >= limit:
                # Every entry with a rate ranks above every idle one: rank only those
                # (a few thousand flows of a million, not the whole map).
                best = _best([-rate[busy_at], tick.ident[busy]], np.arange(len(busy)), limit)
                return busy[best]
            columns = [-tick.sums[name].astype(np.float64)]  # idle rows: biggest totals first
            if len(busy):
                columns.insert(0, -rates.dense(name))
        else:
            columns = [-tick.sums[sort].astype(np.float64)]
        return _best(columns + [tick.ident], kept(), limit)

    def _counter_name(self, sort: str) -> str | None:
        """pps (bps): the packets (bytes) field, else the first field (None: no field)."""
        name = self.packets_field if sort == "pps" else self.bytes_field
        first = self.value_fields[0].name if self.value_fields else None
        return name or self.packets_field or first

    def _key_column(self, f: NumField, rows: npt.NDArray[np.intp]) -> npt.NDArray[Any]:
        """Integer key field F of ROWS as numbers (network-order fields swapped)."""
        assert self.arrays is not None
        raw = np.ascontiguousarray(self.arrays.keys[rows, f.offset : f.offset + f.dtype.itemsize])
        value = raw.view(f.dtype)[:, 0]
        return value.byteswap() if f.big_endian else value

    def _key_order(self, kept: npt.NDArray[np.intp]) -> npt.NDArray[np.intp]:
        """Order of KEPT by key: integer fields in declaration order, else the key bytes."""
        if self.arrays is None or not len(kept):
            return np.arange(len(kept))
        columns = [self._key_column(f, kept) for f in self.key_fields]
        if not columns:
            columns = list(self.arrays.keys[kept, : self.info.key_size].T)
        return np.lexsort(columns[::-1])

    def _row(self, i: int, tick: _Tick, rates: _Rates) -> TopRow:
        assert self.arrays is not None
        key = self.arrays.keys[i, : self.info.key_size].tobytes()
        entry = self._entry(key, self.arrays.values[i, : self.arrays.vstride].tobytes())
        if self.decoder.key_type in _ADDRESS_TYPES:
            entry["key"] = str(ipaddress.ip_address(key))
        row_rates = rates.of(i)
        pps, bps = self._pps_bps(row_rates)
        return TopRow(
            key=entry["key"], value=entry["value"],
            values={name: int(s[i]) for name, s in tick.sums.items()}, rates=row_rates,
            pps=float(pps), bps=float(bps), new=bool(rates.new[i]) if rates.new is not None else False,
        )  # fmt: skip


def _best(
    columns: list[npt.NDArray[Any]], rows: npt.NDArray[np.intp], limit: int | None
) -> npt.NDArray[np.intp]:
    """The LIMIT (None: all) ROWS smallest by COLUMNS compared in order, sorted.

    Linear time for a small LIMIT: argpartition on the first column; only rows
    tied with the last one kept go on to the next column (a million idle rows
    at rate 0 are ranked by their totals, then by key).
    """
    if limit is None or limit >= len(rows):
        return rows[np.lexsort([c[rows] for c in reversed(columns)])]
    if limit <= 0:
        return rows[:0]
    first = columns[0][rows]
    if len(columns) == 1:
        part = rows[np.argpartition(first, limit - 1)[:limit]]
        return part[np.argsort(columns[0][part], kind="stable")]
    kth = np.partition(first, limit - 1)[limit - 1]
    better = rows[first < kth]
    tied = rows[first == kth]
    return np.concatenate(
        [_best(columns, better, None), _best(columns[1:], tied, limit - len(better))]
    )


def _delta(now: npt.NDArray[Any], before: npt.NDArray[Any], seconds: float) -> FloatArray:
    """(NOW - BEFORE) / SECONDS as floats; a counter that went down (reset) gives 0.

    Divided in place: at a million entries each extra temporary costs ~2 ms.
    (Subtracting as floats with `np.subtract(..., dtype=float64)` measured slower
    on the read arrays, though faster on warm ones.)"""
    rate: FloatArray = (now - before).astype(np.float64)  # unsigned: a decrease wraps
    rate[now < before] = 0.0
    rate /= seconds
    return rate


# ---- a program's big maps (the CLI's `stats --top`) ----------------------------


@dataclass
class TopSample:
    """One `stats --top --json` object: a program's maps, each as a TopTable."""

    time: float
    dev: str | None
    prog_id: int | None
    prog_name: str | None
    maps: dict[str, TopTable] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"time": self.time, "dev": self.dev, "prog_id": self.prog_id,
                "prog_name": self.prog_name,
                "maps": {name: t.to_dict() for name, t in self.maps.items()}}  # fmt: skip


class TopSampler:
    """The maps of the program on DEV (or MAP_NAME alone), watched; reopened when replaced.

    MIN_ENTRIES leaves out maps whose max_entries is smaller (the TUI's top-talkers
    view is for maps larger than a screen); COUNTERS_ONLY, maps of ids (prog
    arrays, devmaps) and values without integer fields.
    """

    def __init__(
        self,
        dev: str,
        *,
        map_name: str | None = None,
        min_entries: int = 0,
        counters_only: bool = False,
        batch: int = DEFAULT_BATCH,
    ) -> None:
        self.dev = dev
        self.map_name = map_name
        self.min_entries = min_entries
        self.counters_only = counters_only  # only maps whose values have integer fields
        self.batch = batch
        self.prog_id: int | None = None
        self.prog_name: str | None = None
        self.watches: list[BigMapWatch] = []

    def _watches(self) -> list[BigMapWatch]:
        prog_id = attached_prog_id(self.dev)
        if prog_id == self.prog_id:
            return self.watches
        self.close()
        self.prog_id = prog_id
        if prog_id is None:
            return []
        self.prog_name = bpfsys.prog_info_by_id(prog_id).name
        for map_id in maps_of_prog(prog_id):
            try:
                watch = BigMapWatch.by_id(map_id, batch=self.batch)
            except XdpTuiError:
                continue  # gone since the program listed it
            wanted = (
                watch.name == self.map_name if self.map_name else not is_internal_map(watch.name)
            )
            big_enough = watch.info.max_entries >= self.min_entries
            counts = watch.value_fields and watch.info.type not in FD_ARRAYS
            if wanted and big_enough and (counts or not self.counters_only) and watch.arrays:
                self.watches.append(watch)
            else:
                watch.close()
        if self.map_name and not self.watches:
            raise XdpTuiError(f"--map {self.map_name}: program {self.prog_name} (id {prog_id}) "
                              "has no such readable map")  # fmt: skip
        return self.watches

    @property
    def names(self) -> list[str]:
        """The maps watched (after the last sample)."""
        return [watch.name for watch in self.watches]

    def sample(
        self,
        top: int = DEFAULT_TOP,
        sort: str = "pps",
        key_filter: str = "",
        only: str | None = None,
    ) -> TopSample:
        """Refresh every map watched (or the one named ONLY: the first one when it is not
        watched) of the program on the interface."""
        watches = self._watches()
        if only is not None and watches and only not in self.names:
            only = watches[0].name
        out = TopSample(time.time(), self.dev, self.prog_id, self.prog_name)
        for watch in watches:
            if only is not None and watch.name != only:
                continue
            if sort not in watch.sorts and not self.map_name and only is None:
                continue  # --sort FIELD picks the maps that have FIELD
            out.maps[watch.name] = watch.refresh(top, sort, key_filter or None)
        if watches and not out.maps and only is None:
            raise XdpTuiError(f"--sort {sort}: no map of {self.prog_name} has such a field")
        return out

    def close(self) -> None:
        for watch in self.watches:
            watch.close()
        self.watches = []
        self.prog_id = None

    def __enter__(self) -> TopSampler:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
