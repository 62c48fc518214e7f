"""Typed wrappers over libbpf's low-level `bpf()` API: object info, fd-by-id,
id iteration, map reads, pinned objects and run-time statistics.

Everything goes through `xdp_tui.engine._lib` (the one libbpf handle). Each fd
this module opens is wrapped in `Fd`, a context manager that closes it, so
callers write `with map_fd_by_id(7) as fd: ...` and never leak descriptors.
Struct layouts follow the kernel uapi (`/usr/include/linux/bpf.h`); passing a
shorter struct than the running kernel knows is fine: the kernel fills what fits.
"""

from __future__ import annotations

import ctypes as C
import errno
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, overload

from xdp_tui.engine import _lib
from xdp_tui.engine._lib import cfunc
from xdp_tui.errors import XdpTuiError

# ---- names from the uapi enums -------------------------------------------

MAP_TYPES: dict[int, str] = {
    0: "unspec",
    1: "hash",
    2: "array",
    3: "prog_array",
    4: "perf_event_array",
    5: "percpu_hash",
    6: "percpu_array",
    7: "stack_trace",
    8: "cgroup_array",
    9: "lru_hash",
    10: "lru_percpu_hash",
    11: "lpm_trie",
    12: "array_of_maps",
    13: "hash_of_maps",
    14: "devmap",
    15: "sockmap",
    16: "cpumap",
    17: "xskmap",
    18: "sockhash",
    19: "cgroup_storage",
    20: "reuseport_sockarray",
    21: "percpu_cgroup_storage",
    22: "queue",
    23: "stack",
    24: "sk_storage",
    25: "devmap_hash",
    26: "struct_ops",
    27: "ringbuf",
    28: "inode_storage",
    29: "task_storage",
    30: "bloom_filter",
    31: "user_ringbuf",
    32: "cgrp_storage",
    33: "arena",
}

# Map types whose lookup returns one value slot per possible CPU.
PER_CPU_MAP_TYPES = frozenset({5, 6, 10, 21})

PROG_TYPES: dict[int, str] = {
    0: "unspec",
    1: "socket_filter",
    2: "kprobe",
    3: "sched_cls",
    4: "sched_act",
    5: "tracepoint",
    6: "xdp",
    7: "perf_event",
    8: "cgroup_skb",
    9: "cgroup_sock",
    10: "lwt_in",
    11: "lwt_out",
    12: "lwt_xmit",
    13: "sock_ops",
    14: "sk_skb",
    15: "cgroup_device",
    16: "sk_msg",
    17: "raw_tracepoint",
    18: "cgroup_sock_addr",
    19: "lwt_seg6local",
    20: "lirc_mode2",
    21: "sk_reuseport",
    22: "flow_dissector",
    23: "cgroup_sysctl",
    24: "raw_tracepoint_writable",
    25: "cgroup_sockopt",
    26: "tracing",
    27: "struct_ops",
    28: "ext",
    29: "lsm",
    30: "sk_lookup",
    31: "syscall",
    32: "netfilter",
}

BPF_STATS_RUN_TIME = 0
BPF_OBJ_NAME_LEN = 16
BPF_TAG_SIZE = 8


def map_type_name(map_type: int) -> str:
    return MAP_TYPES.get(map_type, f"type{map_type}")


def prog_type_name(prog_type: int) -> str:
    return PROG_TYPES.get(prog_type, f"type{prog_type}")


# ---- fds -----------------------------------------------------------------


class Fd(int):
    """An fd that closes itself when used as a context manager (or on .close())."""

    _closed: bool

    def __new__(cls, fd: int) -> Fd:
        obj = super().__new__(cls, fd)
        obj._closed = False
        return obj

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            os.close(int(self))

    def __enter__(self) -> Fd:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _check_fd(ret: int, what: str, hint: str | None = None) -> Fd:
    return Fd(_lib.check(ret, what, hint=hint))


# ---- uapi structs --------------------------------------------------------


class BpfProgInfo(C.Structure):
    _fields_ = [
        ("type", C.c_uint32),
        ("id", C.c_uint32),
        ("tag", C.c_uint8 * BPF_TAG_SIZE),
        ("jited_prog_len", C.c_uint32),
        ("xlated_prog_len", C.c_uint32),
        ("jited_prog_insns", C.c_uint64),
        ("xlated_prog_insns", C.c_uint64),
        ("load_time", C.c_uint64),
        ("created_by_uid", C.c_uint32),
        ("nr_map_ids", C.c_uint32),
        ("map_ids", C.c_uint64),
        ("name", C.c_char * BPF_OBJ_NAME_LEN),
        ("ifindex", C.c_uint32),
        ("gpl_compatible", C.c_uint32),  # bit 0; the other 31 bits are padding
        ("netns_dev", C.c_uint64),
        ("netns_ino", C.c_uint64),
        ("nr_jited_ksyms", C.c_uint32),
        ("nr_jited_func_lens", C.c_uint32),
        ("jited_ksyms", C.c_uint64),
        ("jited_func_lens", C.c_uint64),
        ("btf_id", C.c_uint32),
        ("func_info_rec_size", C.c_uint32),
        ("func_info", C.c_uint64),
        ("nr_func_info", C.c_uint32),
        ("nr_line_info", C.c_uint32),
        ("line_info", C.c_uint64),
        ("jited_line_info", C.c_uint64),
        ("nr_jited_line_info", C.c_uint32),
        ("line_info_rec_size", C.c_uint32),
        ("jited_line_info_rec_size", C.c_uint32),
        ("nr_prog_tags", C.c_uint32),
        ("prog_tags", C.c_uint64),
        ("run_time_ns", C.c_uint64),
        ("run_cnt", C.c_uint64),
        ("recursion_misses", C.c_uint64),
        ("verified_insns", C.c_uint32),
        ("attach_btf_obj_id", C.c_uint32),
        ("attach_btf_id", C.c_uint32),
        ("_pad", C.c_uint32),
    ]


class BpfMapInfo(C.Structure):
    _fields_ = [
        ("type", C.c_uint32),
        ("id", C.c_uint32),
        ("key_size", C.c_uint32),
        ("value_size", C.c_uint32),
        ("max_entries", C.c_uint32),
        ("map_flags", C.c_uint32),
        ("name", C.c_char * BPF_OBJ_NAME_LEN),
        ("ifindex", C.c_uint32),
        ("btf_vmlinux_value_type_id", C.c_uint32),
        ("netns_dev", C.c_uint64),
        ("netns_ino", C.c_uint64),
        ("btf_id", C.c_uint32),
        ("btf_key_type_id", C.c_uint32),
        ("btf_value_type_id", C.c_uint32),
        ("_pad", C.c_uint32),
        ("map_extra", C.c_uint64),
    ]


class BpfBtfInfo(C.Structure):
    _fields_ = [
        ("btf", C.c_uint64),
        ("btf_size", C.c_uint32),
        ("id", C.c_uint32),
        ("name", C.c_uint64),
        ("name_len", C.c_uint32),
        ("kernel_btf", C.c_uint32),
    ]


# ---- libbpf functions ----------------------------------------------------

_P = C.c_void_p
_get_info = cfunc("bpf_obj_get_info_by_fd", C.c_int, C.c_int, _P, C.POINTER(C.c_uint32))
_prog_fd_by_id = cfunc("bpf_prog_get_fd_by_id", C.c_int, C.c_uint32)
_map_fd_by_id = cfunc("bpf_map_get_fd_by_id", C.c_int, C.c_uint32)
_btf_fd_by_id = cfunc("bpf_btf_get_fd_by_id", C.c_int, C.c_uint32)
_prog_next_id = cfunc("bpf_prog_get_next_id", C.c_int, C.c_uint32, C.POINTER(C.c_uint32))
_map_next_id = cfunc("bpf_map_get_next_id", C.c_int, C.c_uint32, C.POINTER(C.c_uint32))
_next_key = cfunc("bpf_map_get_next_key", C.c_int, C.c_int, _P, _P)
_lookup = cfunc("bpf_map_lookup_elem", C.c_int, C.c_int, _P, _P)
_update = cfunc("bpf_map_update_elem", C.c_int, C.c_int, _P, _P, C.c_uint64)
_delete = cfunc("bpf_map_delete_elem", C.c_int, C.c_int, _P)
_lookup_batch = cfunc(
    "bpf_map_lookup_batch", C.c_int, C.c_int, _P, _P, _P, _P, C.POINTER(C.c_uint32), _P
)
_update_batch = cfunc("bpf_map_update_batch", C.c_int, C.c_int, _P, _P, C.POINTER(C.c_uint32), _P)
_obj_get = cfunc("bpf_obj_get", C.c_int, C.c_char_p)
_enable_stats = cfunc("bpf_enable_stats", C.c_int, C.c_int)


# ---- info ----------------------------------------------------------------


@dataclass(frozen=True)
class ProgInfo:
    id: int
    name: str
    type: int
    type_name: str
    tag: str
    map_ids: list[int]
    run_time_ns: int
    run_cnt: int
    btf_id: int
    xlated_len: int
    jited_len: int
    load_time_ns: int
    verified_insns: int
    gpl_compatible: bool


@dataclass(frozen=True)
class MapInfo:
    id: int
    name: str
    type: int
    type_name: str
    key_size: int
    value_size: int
    max_entries: int
    flags: int
    btf_id: int
    btf_key_type_id: int
    btf_value_type_id: int
    per_cpu: bool = field(default=False)


def _info(fd: int, info: C.Structure, what: str) -> None:
    size = C.c_uint32(C.sizeof(info))
    ret = _get_info(fd, C.byref(info), C.byref(size))
    if ret != 0:
        raise _lib.call_error(ret, what)


def prog_info(fd: int) -> ProgInfo:
    """Info of the program behind FD, including the ids of the maps it uses."""
    info = BpfProgInfo()
    _info(fd, info, "reading program info")
    # Second call with a buffer for the map ids (the first told us how many).
    map_ids: list[int] = []
    if info.nr_map_ids:
        ids = (C.c_uint32 * info.nr_map_ids)()
        again = BpfProgInfo()
        again.nr_map_ids = info.nr_map_ids
        again.map_ids = C.addressof(ids)
        _info(fd, again, "reading program map ids")
        map_ids = list(ids[: min(info.nr_map_ids, again.nr_map_ids)])
        info = again
    return ProgInfo(
        id=info.id,
        name=_full_prog_name(fd, info),
        type=info.type,
        type_name=prog_type_name(info.type),
        tag=bytes(info.tag).hex(),
        map_ids=map_ids,
        run_time_ns=info.run_time_ns,
        run_cnt=info.run_cnt,
        btf_id=info.btf_id,
        xlated_len=info.xlated_prog_len,
        jited_len=info.jited_prog_len,
        load_time_ns=info.load_time,
        verified_insns=info.verified_insns,
        gpl_compatible=bool(info.gpl_compatible & 1),
    )


# Program ids are never reused while the machine runs: a name found once stays right.
_full_names: dict[int, str] = {}


def _full_prog_name(fd: int, info: BpfProgInfo) -> str:
    """The program's whole function name; the kernel keeps only 15 characters.

    Like bpftool, take it from the BTF of the program's main function (its
    first func_info record) when the kernel's copy may have been cut.
    """
    short = str(info.name.decode(errors="replace"))
    if len(short) < BPF_OBJ_NAME_LEN - 1 or not info.btf_id or not info.nr_func_info:
        return short
    known = _full_names.get(info.id)
    if known is not None:
        return known
    try:
        full = _main_func_name(fd, info.btf_id)
    except XdpTuiError:
        full = None
    name = full if full and full.startswith(short) else short
    _full_names[info.id] = name
    return name


def _main_func_name(fd: int, btf_id: int) -> str | None:
    from xdp_tui.engine.btf import Btf

    type_ids = prog_func_type_ids(fd)
    if not type_ids:
        return None
    with btf_fd_by_id(btf_id) as btf_fd:
        func = Btf.parse(btf_raw(int(btf_fd))).get(type_ids[0])
    return func.name if func is not None else None


def _prog_info_records(fd: int, what: str, words: int) -> list[tuple[int, ...]]:
    """The program's func_info or line_info records (WHAT), each WORDS u32s long."""
    info = BpfProgInfo()
    _info(fd, info, "reading program info")
    count = getattr(info, f"nr_{what}")
    if not count or not info.btf_id:
        return []
    records = (C.c_uint32 * (words * count))()
    again = BpfProgInfo()
    setattr(again, f"nr_{what}", count)
    setattr(again, f"{what}_rec_size", 4 * words)
    setattr(again, what, C.addressof(records))
    _info(fd, again, f"reading program {what}")
    count = min(count, getattr(again, f"nr_{what}"))
    return [tuple(records[words * i : words * (i + 1)]) for i in range(count)]


def prog_func_type_ids(fd: int) -> list[int]:
    """BTF type ids of the program's functions (func_info), its main function first.

    The name in prog_info is cut to 15 characters; the BTF FUNC named by the
    first id carries the full C name (what fentry/fexit attach by).
    """
    return [type_id for _, type_id in _prog_info_records(fd, "func_info", 2)]  # {insn_off, type_id}


def prog_line_file_offsets(fd: int) -> list[int]:
    """Offsets, in the program's BTF strings, of the source file names its line info names."""
    # struct bpf_line_info {insn_off, file_name_off, line_off, line_col}
    return list(dict.fromkeys(r[1] for r in _prog_info_records(fd, "line_info", 4)))


def map_info(fd: int) -> MapInfo:
    info = BpfMapInfo()
    _info(fd, info, "reading map info")
    return MapInfo(
        id=info.id,
        name=info.name.decode(errors="replace"),
        type=info.type,
        type_name=map_type_name(info.type),
        key_size=info.key_size,
        value_size=info.value_size,
        max_entries=info.max_entries,
        flags=info.map_flags,
        btf_id=info.btf_id,
        btf_key_type_id=info.btf_key_type_id,
        btf_value_type_id=info.btf_value_type_id,
        per_cpu=info.type in PER_CPU_MAP_TYPES,
    )


def btf_raw(btf_fd: int) -> bytes:
    """The raw BTF blob (header + types + strings) of a loaded BTF object."""
    info = BpfBtfInfo()
    _info(btf_fd, info, "reading BTF info")
    size = info.btf_size
    buf = C.create_string_buffer(size)
    again = BpfBtfInfo()
    again.btf = C.addressof(buf)
    again.btf_size = size
    _info(btf_fd, again, "reading BTF data")
    return buf.raw[: again.btf_size]


# ---- fd by id, pinned objects --------------------------------------------


def prog_fd_by_id(prog_id: int) -> Fd:
    return _check_fd(_prog_fd_by_id(prog_id), f"opening program id {prog_id}")


def map_fd_by_id(map_id: int) -> Fd:
    return _check_fd(_map_fd_by_id(map_id), f"opening map id {map_id}")


def btf_fd_by_id(btf_id: int) -> Fd:
    return _check_fd(_btf_fd_by_id(btf_id), f"opening BTF id {btf_id}")


def obj_get(path: str | Path) -> Fd:
    """Open a pinned BPF object (map, program or link) under bpffs."""
    return _check_fd(
        _obj_get(str(path).encode()),
        f"opening pinned object {path}",
        hint="is bpffs mounted at /sys/fs/bpf and the object pinned there?",
    )


# ---- iteration -----------------------------------------------------------


def _ids(next_fn: object) -> Iterator[int]:
    current = C.c_uint32(0)
    while True:
        nxt = C.c_uint32(0)
        ret = next_fn(current.value, C.byref(nxt))  # type: ignore[operator]
        if ret != 0:
            err = _lib.errno_of(ret)
            if err == errno.ENOENT:
                return
            raise _lib.CallError("listing BPF object ids", err)
        yield nxt.value
        current = nxt


def prog_ids() -> Iterator[int]:
    """Ids of every loaded BPF program, ascending."""
    return _ids(_prog_next_id)


def map_ids() -> Iterator[int]:
    return _ids(_map_next_id)


# ---- map reads -----------------------------------------------------------


_ncpus: int | None = None


def possible_cpus() -> int:
    """libbpf's count of possible CPUs (per-CPU maps have one slot each), cached."""
    global _ncpus
    if _ncpus is None:
        _ncpus = _lib.num_possible_cpus()
    return _ncpus


def value_slot(value_size: int) -> int:
    """Per-CPU values are stored in 8-byte aligned slots, one per possible CPU."""
    return (value_size + 7) & ~7


def checked_map_info(
    fd: int,
    *,
    key: bytes | None = None,
    key_size: int | None = None,
    value_size: int | None = None,
    per_cpu: bool | None = None,
) -> MapInfo:
    """The map's info, after checking that our buffers have the map's sizes.

    The kernel copies exactly the map's key and value sizes (times the
    possible CPUs for per-CPU maps) from and into the buffers we pass: a
    wrong size would make it read or write past a Python buffer.
    """
    info = map_info(fd)
    given = len(key) if key is not None else key_size
    if given is not None and given != info.key_size:
        raise XdpTuiError(
            f"map '{info.name}' has {info.key_size}-byte keys; got {given} bytes",
            location=f"map {info.name}",
        )
    if value_size is not None and value_size != info.value_size:
        raise XdpTuiError(
            f"map '{info.name}' has {info.value_size}-byte values; got {value_size} bytes",
            location=f"map {info.name}",
        )
    if per_cpu is not None and per_cpu != info.per_cpu:
        kind = "a per-CPU" if info.per_cpu else "not a per-CPU"
        raise XdpTuiError(f"map '{info.name}' is {kind} map", location=f"map {info.name}")
    return info


def map_keys(fd: int, key_size: int, limit: int | None = None) -> list[bytes]:
    """Every key of the map, in the kernel's iteration order."""
    checked_map_info(fd, key_size=key_size)
    keys: list[bytes] = []
    prev = None
    nxt = C.create_string_buffer(max(key_size, 1))
    while limit is None or len(keys) < limit:
        ret = _next_key(fd, prev, nxt)
        if ret != 0:
            err = _lib.errno_of(ret)
            if err == errno.ENOENT:
                break
            raise _lib.CallError("iterating map keys", err)
        key = nxt.raw[:key_size]
        keys.append(key)
        prev = C.create_string_buffer(key, max(key_size, 1))
    return keys


@overload
def lookup(
    fd: int, key: bytes, value_size: int, per_cpu: Literal[False] = False
) -> bytes | None: ...
@overload
def lookup(fd: int, key: bytes, value_size: int, per_cpu: Literal[True]) -> list[bytes] | None: ...
@overload
def lookup(fd: int, key: bytes, value_size: int, per_cpu: bool) -> bytes | list[bytes] | None: ...
def lookup(
    fd: int, key: bytes, value_size: int, per_cpu: bool = False
) -> bytes | list[bytes] | None:
    """The value stored under KEY (per-CPU maps: one bytes per possible CPU); None if absent."""
    checked_map_info(fd, key=key, value_size=value_size, per_cpu=per_cpu)
    if per_cpu:
        ncpus = possible_cpus()
        slot = value_slot(value_size)
        buf = C.create_string_buffer(slot * ncpus)
    else:
        buf = C.create_string_buffer(max(value_size, 1))
    kbuf = C.create_string_buffer(key, max(len(key), 1))
    ret = _lookup(fd, kbuf, buf)
    if ret != 0:
        err = _lib.errno_of(ret)
        if err == errno.ENOENT:
            return None
        raise _lib.CallError("looking up a map element", err)
    raw = buf.raw
    if per_cpu:
        return [raw[i * slot : i * slot + value_size] for i in range(ncpus)]
    return raw[:value_size]


BPF_ANY, BPF_NOEXIST, BPF_EXIST = 0, 1, 2


def update(fd: int, key: bytes, value: bytes | list[bytes], flags: int = BPF_ANY) -> None:
    """Store VALUE under KEY; per-CPU maps take a list with one value per possible CPU."""
    info = checked_map_info(fd, key=key, per_cpu=isinstance(value, list))
    values = value if isinstance(value, list) else [value]
    wrong = {len(v) for v in values} - {info.value_size}
    if wrong or (info.per_cpu and len(values) != possible_cpus()):
        shape = f"{possible_cpus()} values of " if info.per_cpu else ""
        raise XdpTuiError(
            f"map '{info.name}' takes {shape}{info.value_size} bytes;"
            f" got {len(values)} value(s) of {sorted({len(v) for v in values})} bytes",
            location=f"map {info.name}",
        )
    slot = value_slot(info.value_size) if info.per_cpu else info.value_size
    raw = b"".join(v.ljust(slot, b"\0") for v in values)
    kbuf = C.create_string_buffer(key, max(len(key), 1))
    vbuf = C.create_string_buffer(raw, max(len(raw), 1))
    ret = _update(fd, kbuf, vbuf, flags)
    if ret != 0:
        raise _lib.call_error(ret, "updating a map element")


def delete(fd: int, key: bytes) -> bool:
    """Remove KEY; False if it was not there."""
    checked_map_info(fd, key=key)
    kbuf = C.create_string_buffer(key, max(len(key), 1))
    ret = _delete(fd, kbuf)
    if ret != 0:
        err = _lib.errno_of(ret)
        if err == errno.ENOENT:
            return False
        raise _lib.CallError("deleting a map element", err)
    return True


class BatchReader:
    """Reads all entries of one map with `bpf_map_lookup_batch`, buffers allocated once.

    Live views re-read the same maps several times a second; reusing the
    buffers keeps one refresh at one syscall per map for small maps.
    """

    def __init__(
        self, fd: int, key_size: int, value_size: int, max_entries: int, per_cpu: bool = False
    ) -> None:
        checked_map_info(fd, key_size=key_size, value_size=value_size, per_cpu=per_cpu)
        self.fd = fd
        self.key_size = key_size
        self.value_size = value_size
        self.per_cpu = per_cpu
        self.ncpus = possible_cpus() if per_cpu else 1
        self.slot = value_slot(value_size) if per_cpu else value_size
        self.vstride = self.slot * self.ncpus
        # One more slot than entries: the kernel then reaches the end (ENOENT) in
        # the same call instead of needing a second, empty one.
        self.chunk = max(1, min(max_entries + 1, 4096))
        self._keys = C.create_string_buffer(max(key_size, 1) * self.chunk)
        self._values = C.create_string_buffer(max(self.vstride, 1) * self.chunk)
        self._out_batch = C.create_string_buffer(max(key_size, 8))
        self._in_batch = C.create_string_buffer(max(key_size, 8))
        self._count = C.c_uint32(0)
        # addresses computed once: ctypes passes plain ints to c_void_p arguments fastest
        self._count_ref = C.byref(self._count)
        self._keys_addr = C.addressof(self._keys)
        self._values_addr = C.addressof(self._values)
        self._out_addr = C.addressof(self._out_batch)
        self._in_addr = C.addressof(self._in_batch)
        # byte views: copying a prefix out of them is cheaper than C.string_at
        self._keys_view = memoryview(self._keys).cast("B")
        self._values_view = memoryview(self._values).cast("B")

    def read_raw(self) -> tuple[int, bytes, bytes] | None:
        """(count, keys, values) as packed bytes (values in `vstride` steps); None: no batch op.

        The hot path of live views: one syscall for a small map and no
        per-entry Python objects; `read()` splits the result into pairs.
        """
        self._count.value = self.chunk
        ret = _lookup_batch(
            self.fd, None, self._out_addr, self._keys_addr, self._values_addr,
            self._count_ref, None,
        )  # fmt: skip
        if ret != 0 and _lib.errno_of(ret) == errno.ENOENT:
            # The usual case: the whole map came in this one call.
            n = self._count.value
            return (
                n,
                self._keys_view[: n * self.key_size].tobytes(),
                self._values_view[: n * self.vstride].tobytes(),
            )
        return self._read_on(ret)

    def _read_on(self, ret: int) -> tuple[int, bytes, bytes] | None:
        """`read_raw` past its first call (RET): an error, or a map bigger than a chunk."""
        count_total, key_parts, value_parts = 0, [], []
        while True:
            err = _lib.errno_of(ret) if ret != 0 else 0
            if err and err != errno.ENOENT:
                if not count_total and err in (errno.EINVAL, errno.EOPNOTSUPP, 524):  # ENOTSUPP
                    return None
                raise _lib.CallError("reading map entries (batch)", err)
            n = self._count.value
            count_total += n
            key_parts.append(self._keys_view[: n * self.key_size].tobytes())
            value_parts.append(self._values_view[: n * self.vstride].tobytes())
            if err == errno.ENOENT or n == 0:
                break
            C.memmove(self._in_batch, self._out_batch, len(self._out_batch))
            self._count.value = self.chunk
            ret = _lookup_batch(
                self.fd, self._in_addr, self._out_addr, self._keys_addr, self._values_addr,
                self._count_ref, None,
            )  # fmt: skip
        if len(key_parts) == 1:
            return count_total, key_parts[0], value_parts[0]
        return count_total, b"".join(key_parts), b"".join(value_parts)

    def read(self) -> list[tuple[bytes, bytes | list[bytes]]] | None:
        """Every (key, value) pair; per-CPU values as one bytes per CPU. None: no batch op."""
        raw = self.read_raw()
        if raw is None:
            return None
        count, kraw, vraw = raw
        ks, vs, slot, size = self.key_size, self.vstride, self.slot, self.value_size
        entries: list[tuple[bytes, bytes | list[bytes]]] = []
        for i in range(count):
            key = kraw[i * ks : (i + 1) * ks]
            value = vraw[i * vs : (i + 1) * vs]
            if self.per_cpu:
                entries.append(
                    (key, [value[c * slot : c * slot + size] for c in range(self.ncpus)])
                )
            else:
                entries.append((key, value))
        return entries


def lookup_batch_into(
    fd: int, in_batch: int | None, out_batch: int, keys: int, values: int, count: C.c_uint32
) -> int:
    """One `bpf_map_lookup_batch` call into caller-owned memory (addresses); returns
    libbpf's result (0, or a negative errno; -ENOENT: the map ends in this call).

    COUNT holds the room on entry and the number of entries copied on return.
    For readers with their own buffers (engine/bigmap.py reads into NumPy arrays).
    """
    return int(_lookup_batch(fd, in_batch, out_batch, keys, values, C.byref(count), None))


def update_batch(fd: int, keys: int, values: int, count: int) -> None:
    """Store COUNT packed keys and values (addresses) in one `bpf_map_update_batch`."""
    n = C.c_uint32(count)
    ret = _update_batch(fd, keys, values, C.byref(n), None)
    if ret != 0:
        raise _lib.call_error(ret, f"updating map elements (batch, {n.value} of {count} stored)")


def lookup_batch(
    fd: int, key_size: int, value_size: int, max_entries: int, per_cpu: bool = False
) -> list[tuple[bytes, bytes | list[bytes]]] | None:
    """All entries in one or a few syscalls; None if the map type has no batch op."""
    return BatchReader(fd, key_size, value_size, max_entries, per_cpu).read()


# ---- test runs -----------------------------------------------------------


class TestRunOpts(C.Structure):
    """struct bpf_test_run_opts (libbpf 1.x): run a loaded program on given input."""

    __test__ = False  # a kernel struct, not a pytest class
    _fields_ = [
        ("sz", C.c_size_t),
        ("data_in", C.c_void_p),
        ("data_out", C.c_void_p),
        ("data_size_in", C.c_uint32),
        ("data_size_out", C.c_uint32),
        ("ctx_in", C.c_void_p),
        ("ctx_out", C.c_void_p),
        ("ctx_size_in", C.c_uint32),
        ("ctx_size_out", C.c_uint32),
        ("retval", C.c_uint32),
        ("repeat", C.c_int),
        ("duration", C.c_uint32),
        ("flags", C.c_uint32),
        ("cpu", C.c_uint32),
        ("batch_size", C.c_uint32),
    ]


_prog_test_run = cfunc("bpf_prog_test_run_opts", C.c_int, C.c_int, C.POINTER(TestRunOpts))


def prog_test_run(prog_fd: int, opts: TestRunOpts) -> int:
    """BPF_PROG_TEST_RUN; libbpf's return value (0, or a negative errno)."""
    opts.sz = C.sizeof(TestRunOpts)
    return int(_prog_test_run(prog_fd, C.byref(opts)))


# ---- run-time stats ------------------------------------------------------


def enable_stats() -> Fd:
    """Turn on program run-time accounting for as long as the returned fd is open.

    This is the fd-scoped switch (like bpftop), not the kernel.bpf_stats_enabled
    sysctl: closing the fd (or dying) turns it off again.
    """
    return _check_fd(_enable_stats(BPF_STATS_RUN_TIME), "enabling BPF run-time statistics")


def prog_info_by_id(prog_id: int) -> ProgInfo:
    with prog_fd_by_id(prog_id) as fd:
        return prog_info(fd)


def map_info_by_id(map_id: int) -> MapInfo:
    with map_fd_by_id(map_id) as fd:
        return map_info(fd)


__all__ = [
    "BatchReader",
    "Fd",
    "MapInfo",
    "ProgInfo",
    "btf_fd_by_id",
    "delete",
    "update",
    "btf_raw",
    "enable_stats",
    "lookup",
    "lookup_batch",
    "map_fd_by_id",
    "map_ids",
    "map_info",
    "map_info_by_id",
    "map_keys",
    "map_type_name",
    "obj_get",
    "prog_fd_by_id",
    "prog_ids",
    "prog_info",
    "prog_func_type_ids",
    "prog_line_file_offsets",
    "prog_info_by_id",
    "prog_type_name",
]
