"""Packet samples a learner's XDP program sends to user space (tracing04).

The program writes one record per frame into a BPF ring buffer map:

    struct sample { __u16 cookie /* 0xdead */; __u16 pkt_len; __u16 cap_len; __u16 pad;
                    __u8 data[]; /* cap_len bytes of the frame follow */ };

    with SampleReader(map_fd, ifindex) as reader:
        for sample in reader.poll(timeout_ms=200):   # list[PacketSample]
            sample.length, sample.data
    write_pcapng(samples, Path("samples.pcapng"))     # tcpdump -r reads it

Records that do not follow the layout (wrong cookie, cap_len longer than the
record) are counted in `reader.malformed`, not raised: the learner's
program is still being written. The pcapng writer is the packet capture's
(engine/capture.PcapngWriter), so a sample and a capture land in files
that look alike.
"""

from __future__ import annotations

import ctypes as C
import errno
import struct
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from xdp_tui.engine import _lib
from xdp_tui.engine._lib import cfunc
from xdp_tui.engine.actions import XDP_ACTIONS
from xdp_tui.engine.capture import CapturedPacket, PcapngWriter
from xdp_tui.engine.closable import Closable

SAMPLE_COOKIE = 0xDEAD
SAMPLE_HEADER = struct.Struct("<HHHH")  # cookie, pkt_len, cap_len, pad
XDP_PASS = XDP_ACTIONS.index("XDP_PASS")


_SAMPLE_FN = C.CFUNCTYPE(C.c_int, C.c_void_p, C.c_void_p, C.c_size_t)
_ring_new = cfunc("ring_buffer__new", C.c_void_p, C.c_int, _SAMPLE_FN, C.c_void_p, C.c_void_p)
_ring_poll = cfunc("ring_buffer__poll", C.c_int, C.c_void_p, C.c_int)
_ring_free = cfunc("ring_buffer__free", None, C.c_void_p)


@dataclass(frozen=True)
class PacketSample:
    """One frame as the program reported it: its true length and the bytes it copied."""

    time: float  # wall clock when user space read it, seconds
    length: int  # the frame's length on the wire
    data: bytes  # its first bytes (at most the program's SAMPLE_MAX)

    @property
    def truncated(self) -> bool:
        return len(self.data) < self.length

    def as_captured(self, seq: int, ifindex: int) -> CapturedPacket:
        """The capture's packet type, for its pcapng writer and packet list."""
        return CapturedPacket(
            time=self.time,
            seq=seq,
            cpu=0,
            ifindex=ifindex,
            verdict=XDP_PASS,
            len_in=self.length,
            len_out=self.length,
            data_in=self.data,
            data_out=self.data,
        )


def decode_sample(raw: bytes, when: float) -> PacketSample | None:
    """RAW as a PacketSample, or None when it does not follow the layout."""
    if len(raw) < SAMPLE_HEADER.size:
        return None
    cookie, length, cap_len, _pad = SAMPLE_HEADER.unpack_from(raw)
    start = SAMPLE_HEADER.size
    if cookie != SAMPLE_COOKIE or start + cap_len > len(raw):
        return None
    return PacketSample(time=when, length=length, data=raw[start : start + cap_len])


class SampleReader(Closable):
    """Reads the sample records of one BPF_MAP_TYPE_RINGBUF map (by fd)."""

    def __init__(self, map_fd: int) -> None:
        self.malformed = 0
        self._pending: list[bytes] = []
        self._lock = threading.Lock()
        self._callback = _SAMPLE_FN(self._on_record)  # keep a reference: freed callbacks crash
        self._ring: int | None = _ring_new(map_fd, self._callback, None, None)
        if not self._ring:
            self._ring = None
            raise _lib.call_error(
                -C.get_errno(),
                "opening the samples ring buffer",
                hint="the map must be a BPF_MAP_TYPE_RINGBUF",
            )

    def _on_record(self, _ctx: int, data: int, size: int) -> int:
        self._pending.append(C.string_at(data, size))
        return 0

    def poll(self, timeout_ms: int = 100) -> list[PacketSample]:
        """Wait up to TIMEOUT_MS for records; return the samples that arrived, oldest first."""
        with self._lock:
            if self._ring is None:
                return []
            ret = _ring_poll(self._ring, timeout_ms)
            raw, self._pending = self._pending, []
        if ret < 0 and _lib.errno_of(ret) != errno.EINTR:
            raise _lib.call_error(ret, "reading the samples ring buffer")
        now = time.time()
        samples = [decode_sample(record, now) for record in raw]
        self.malformed += sum(1 for s in samples if s is None)
        return [s for s in samples if s is not None]

    def close(self) -> None:
        with self._lock:
            ring, self._ring = self._ring, None
        if ring is not None:
            _ring_free(ring)


def write_pcapng(
    samples: Iterable[PacketSample], path: Path, ifindex: int = 0, *, learner_file: bool = False
) -> int:
    """Write SAMPLES to a pcapng file (true lengths kept); returns how many.

    learner_file: PATH is the learner's choice, opened as them (see PcapngWriter)."""
    writer = PcapngWriter(path, learner_file=learner_file)
    try:
        for seq, sample in enumerate(samples, start=1):
            writer.write(sample.as_captured(seq, ifindex))
    finally:
        writer.close()
    return writer.count
