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

import struct
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from xdp_tui.engine.capture import NO_CPU, NO_VERDICT, CapturedPacket, PcapngWriter
from xdp_tui.engine.closable import Closable
from xdp_tui.engine.ringbuf import RingRecords

SAMPLE_COOKIE = 0xDEAD
SAMPLE_HEADER = struct.Struct("<HHHH")  # cookie, pkt_len, cap_len, pad


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
        """The capture's packet type marked as a sample, for its pcapng writer and packet
        list: no verdict, CPU or exit bytes (a sample has none), nothing invented."""
        return CapturedPacket(
            time=self.time,
            seq=seq,
            cpu=NO_CPU,
            ifindex=ifindex,
            verdict=NO_VERDICT,
            len_in=self.length,
            len_out=0,
            data_in=self.data,
            data_out=b"",
            sample=True,
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
        self._records = RingRecords(map_fd, "samples ring buffer")

    def poll(self, timeout_ms: int = 100) -> list[PacketSample]:
        """Wait up to TIMEOUT_MS for records; return the samples that arrived, oldest first."""
        raw = self._records.poll(timeout_ms)
        now = time.time()
        samples = [decode_sample(record, now) for record in raw]
        self.malformed += sum(1 for s in samples if s is None)
        return [s for s in samples if s is not None]

    def close(self) -> None:
        self._records.close()


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
