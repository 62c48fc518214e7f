"""A BPF ring buffer (BPF_MAP_TYPE_RINGBUF) read from Python through its mmap.

libbpf's `ring_buffer__poll` calls back into Python once per record through
ctypes, about 8 µs a record here: the capture's reader topped out near 100,000
records/s while the programs produced twice that. Reading the mapped ring
directly costs one slice per record and lets a caller take at most N records,
leaving the rest in the ring (where a full ring is counted by the producer)
instead of in a Python list.

The layout is the kernel's (kernel/bpf/ringbuf.c): page 0 holds the consumer
position (the one page user space may write), page 1 the producer position,
then the data area mapped twice in a row so a record that wraps reads as one
slice. Each record starts with an 8-byte header: its length with a busy bit
(still being written) and a discard bit, then the page offset; records are
8-byte aligned. x86's ordering (loads are not reordered with loads, stores not
with stores) gives the acquire/release pairs libbpf spells out; elsewhere we
leave it to libbpf (`supported()`). `RingRecords` is what the engine uses:
this reader where it holds, libbpf's callbacks elsewhere.
"""

from __future__ import annotations

import contextlib
import ctypes as C
import errno
import mmap
import platform
import select
import struct
import threading

from xdp_tui.engine import _lib, bpfsys
from xdp_tui.engine._lib import cfunc
from xdp_tui.engine.closable import Closable
from xdp_tui.errors import XdpTuiError

BPF_MAP_TYPE_RINGBUF = 27
BUSY_BIT = 1 << 31
DISCARD_BIT = 1 << 30
HEADER = 8
_POS = struct.Struct("<Q")
_LEN = struct.Struct("<I")


def supported() -> bool:
    """Whether this reader's memory-ordering argument holds on this CPU."""
    return platform.machine() in ("x86_64", "AMD64")


class RingReader(Closable):
    """Records of one ring-buffer map, oldest first; `wait()` then `take()`."""

    def __init__(self, fd: int, size: int) -> None:
        if size <= 0 or size & (size - 1):
            raise ValueError(f"ring size {size} is not a power of two")
        page = mmap.PAGESIZE
        self._mask = size - 1
        self._consumer = mmap.mmap(fd, page, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        try:
            self._producer = mmap.mmap(
                fd, page + 2 * size, mmap.MAP_SHARED, mmap.PROT_READ, offset=page
            )
        except BaseException:
            self._consumer.close()
            raise
        self._data = page  # where the data area starts in self._producer
        self._poller = select.poll()
        self._poller.register(fd, select.POLLIN)

    def wait(self, timeout_ms: int) -> None:
        """Until the producer signals new records or TIMEOUT_MS pass (EINTR returns early)."""
        if self.pending():
            return
        with contextlib.suppress(InterruptedError):
            self._poller.poll(timeout_ms)

    def pending(self) -> bool:
        produced: int = _POS.unpack_from(self._producer, 0)[0]
        consumed: int = _POS.unpack_from(self._consumer, 0)[0]
        return produced > consumed

    def take(self, limit: int | None = None) -> list[bytes]:
        """Up to LIMIT committed records (all of them when None), each its own bytes.

        The consumer position moves past what was taken (and past discarded
        records), so the producer can reuse that room at once.
        """
        producer, consumer = self._producer, self._consumer
        cons = _POS.unpack_from(consumer, 0)[0]
        prod = _POS.unpack_from(producer, 0)[0]
        out: list[bytes] = []
        base, mask = self._data, self._mask
        while cons < prod and (limit is None or len(out) < limit):
            at = base + (cons & mask)
            length = _LEN.unpack_from(producer, at)[0]
            if length & BUSY_BIT:
                break  # still being written: records after it wait too (order)
            size = length & ~(BUSY_BIT | DISCARD_BIT)
            if not length & DISCARD_BIT:
                out.append(producer[at + HEADER : at + HEADER + size])
            cons += (size + HEADER + 7) & ~7
            if cons >= prod:
                prod = _POS.unpack_from(producer, 0)[0]
        _POS.pack_into(consumer, 0, cons)
        return out

    def close(self) -> None:
        self._producer.close()
        self._consumer.close()


# libbpf's reader, for CPUs where RingReader's ordering argument does not hold.
_SAMPLE_FN = C.CFUNCTYPE(C.c_int, C.c_void_p, C.c_void_p, C.c_size_t)
_ring_new = cfunc("ring_buffer__new", C.c_void_p, C.c_int, _SAMPLE_FN, C.c_void_p, C.c_void_p)
_ring_poll = cfunc("ring_buffer__poll", C.c_int, C.c_void_p, C.c_int)
_ring_consume = cfunc("ring_buffer__consume", C.c_int, C.c_void_p)
_ring_free = cfunc("ring_buffer__free", None, C.c_void_p)


class RingRecords(Closable):
    """The raw records of one BPF_MAP_TYPE_RINGBUF map, for the capture and the samples.

    `poll()` may run in a worker thread while `close()` comes from another:
    a lock orders them. WHAT names the ring in error messages.
    """

    def __init__(self, fd: int, what: str) -> None:
        self._what = what
        self._lock = threading.Lock()
        self._reader: RingReader | None = None
        self._ring: int | None = None  # libbpf's ring_buffer
        self._pending: list[bytes] = []
        info = bpfsys.map_info(fd)
        if info.type != BPF_MAP_TYPE_RINGBUF:
            raise XdpTuiError(
                f"{what}: map {info.name!r} is a {info.type_name} map, not a ring buffer",
                hint="the map must be a BPF_MAP_TYPE_RINGBUF",
            )
        if supported():
            try:
                self._reader = RingReader(fd, info.max_entries)
            except OSError as exc:
                raise _lib.call_error(-(exc.errno or errno.EIO), f"mapping the {what}") from exc
            return
        self._callback = _SAMPLE_FN(self._on_record)  # keep a reference: freed callbacks crash
        self._ring = _ring_new(fd, self._callback, None, None)
        if not self._ring:
            self._ring = None
            raise _lib.call_error(-C.get_errno(), f"opening the {what}")

    def _on_record(self, _ctx: int, data: int, size: int) -> int:
        self._pending.append(C.string_at(data, size))
        return 0

    def poll(self, timeout_ms: int, limit: int | None = None) -> list[bytes]:
        """Wait up to TIMEOUT_MS for records; at most LIMIT of them, oldest first.

        Records past LIMIT stay in the ring (a full ring counts its losses), so
        nothing piles up here. Through libbpf, records already taken wait in a
        list for the next call, and while some wait the ring is not read.
        """
        ret = 0
        with self._lock:
            if self._reader is not None:
                self._reader.wait(timeout_ms)
                return self._reader.take(limit)
            if self._ring is None:
                return []
            if not self._pending:
                ret = _ring_poll(self._ring, timeout_ms)
                if ret >= 0:  # producers may wake us once per many records: take the rest
                    ret = _ring_consume(self._ring)
            cut = len(self._pending) if limit is None else limit
            raw, self._pending = self._pending[:cut], self._pending[cut:]
        if ret < 0 and _lib.errno_of(ret) != errno.EINTR:
            raise _lib.call_error(ret, f"reading the {self._what}")
        return raw

    def close(self) -> None:
        with self._lock:
            reader, self._reader = self._reader, None
            ring, self._ring = self._ring, None
        if reader is not None:
            reader.close()
        if ring is not None:
            _ring_free(ring)
