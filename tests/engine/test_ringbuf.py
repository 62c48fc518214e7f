"""The mmap ring-buffer reader (engine/ringbuf.py) on a real BPF ring buffer.

A syscall-type program of ours, run with BPF_PROG_TEST_RUN, writes numbered
records of varied lengths (some discarded) into a small ring; the reader
must return exactly the committed ones, in order, wrap around the ring's
end, and leave what a limit cuts off in the ring.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path

import pytest

from xdp_tui.engine import bpfsys, ringbuf
from xdp_tui.engine.build import build_or_raise
from xdp_tui.engine.libbpf import BpfObject

pytestmark = [
    pytest.mark.kernel,
    pytest.mark.skipif(not ringbuf.supported(), reason="the mmap reader is for x86"),
]

RING_BYTES = 4096
SOURCE = r"""
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 4096);
} ring SEC(".maps");

struct emit_args {
    __u32 first;         /* the first record's number */
    __u32 count;         /* how many records (at most 64) */
    __u32 discard_every; /* discard numbers divisible by this (0: none) */
};

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct emit_args);
} args SEC(".maps");

SEC("syscall")
int emit(void *ctx)
{
    __u32 zero = 0;
    struct emit_args *a = bpf_map_lookup_elem(&args, &zero);

    if (!a)
        return -1;
    for (__u32 i = 0; i < a->count && i < 64; i++) {
        __u32 n = a->first + i;
        __u32 size = 4 + (n % 5) * 4; /* 4..20 bytes: headers land on varied offsets */
        __u32 *rec = bpf_ringbuf_reserve(&ring, 20, 0);
        if (!rec)
            return i;
        rec[0] = n;
        rec[1] = rec[2] = rec[3] = rec[4] = size;
        if (a->discard_every && n % a->discard_every == 0)
            bpf_ringbuf_discard(rec, 0);
        else
            bpf_ringbuf_submit(rec, 0);
    }
    return a->count;
}

char LICENSE[] SEC("license") = "GPL";
"""


class Emitter:
    def __init__(self, obj: BpfObject) -> None:
        self.obj = obj
        self.prog_fd = obj.program_fd("emit")
        self.args_fd = obj.map_fd("args")

    def emit(self, first: int, count: int, discard_every: int = 0) -> int:
        bpfsys.update(
            self.args_fd, struct.pack("<I", 0), struct.pack("<III", first, count, discard_every)
        )
        opts = bpfsys.TestRunOpts()
        assert bpfsys.prog_test_run(self.prog_fd, opts) == 0
        return int(opts.retval)


@pytest.fixture
def emitter(tmp_path: Path) -> Iterator[Emitter]:
    source = tmp_path / "emit.bpf.c"
    source.write_text(SOURCE)
    obj = BpfObject.open(build_or_raise(source, tmp_path / "emit.o", warm_next=False).obj)
    try:
        obj.load("emit", prog_type=31)  # BPF_PROG_TYPE_SYSCALL
        yield Emitter(obj)
    finally:
        obj.close()


def _numbers(records: list[bytes]) -> list[int]:
    return [struct.unpack_from("<I", r)[0] for r in records]


def test_reads_committed_records_in_order_and_skips_discarded(emitter: Emitter) -> None:
    with ringbuf.RingReader(emitter.obj.map_fd("ring"), RING_BYTES) as reader:
        assert not reader.pending() and reader.take() == []
        assert emitter.emit(100, 30, discard_every=7) == 30
        got = reader.take()
        assert _numbers(got) == [n for n in range(100, 130) if n % 7]
        assert all(len(r) == 20 for r in got)
        assert not reader.pending()


def test_limit_leaves_the_rest_in_the_ring(emitter: Emitter) -> None:
    with ringbuf.RingReader(emitter.obj.map_fd("ring"), RING_BYTES) as reader:
        emitter.emit(0, 10)
        assert _numbers(reader.take(limit=4)) == [0, 1, 2, 3]
        assert reader.pending()
        assert _numbers(reader.take(limit=100)) == list(range(4, 10))


def test_wraps_around_the_end_of_the_ring(emitter: Emitter) -> None:
    # 28-byte records (8 header + 20) in a 4096-byte ring: 146 fit; 3 x 60 wrap.
    with ringbuf.RingReader(emitter.obj.map_fd("ring"), RING_BYTES) as reader:
        seen: list[int] = []
        for round_ in range(6):
            assert emitter.emit(round_ * 60, 60) == 60
            reader.wait(0)
            seen += _numbers(reader.take())
        assert seen == list(range(360))


def test_a_full_ring_refuses_records_until_read(emitter: Emitter) -> None:
    with ringbuf.RingReader(emitter.obj.map_fd("ring"), RING_BYTES) as reader:
        written = sum(emitter.emit(i * 64, 64) for i in range(4))
        assert written < 4 * 64  # the ring filled up
        got = _numbers(reader.take())
        assert got == list(range(len(got))) and len(got) == written
        assert emitter.emit(1000, 10) == 10 and _numbers(reader.take()) == list(range(1000, 1010))


def test_rejects_a_size_that_is_not_a_power_of_two() -> None:
    with pytest.raises(ValueError, match="power of two"):
        ringbuf.RingReader(-1, 3000)


@pytest.mark.parametrize("mmap_reader", [True, False], ids=["mmap", "libbpf"])
def test_ring_records_read_the_same_through_both_readers(
    emitter: Emitter, mmap_reader: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ringbuf, "supported", lambda: mmap_reader)
    with ringbuf.RingRecords(emitter.obj.map_fd("ring"), "test ring") as records:
        emitter.emit(0, 40, discard_every=9)
        first = records.poll(100, limit=5)
        rest = records.poll(100)
        assert _numbers(first + rest) == [n for n in range(40) if n % 9]
        assert len(first) == 5
        assert records.poll(0) == []
    assert records.poll(0) == []  # closed: nothing, no crash


def test_ring_records_refuse_a_map_that_is_not_a_ring(emitter: Emitter) -> None:
    from xdp_tui.errors import XdpTuiError

    with pytest.raises(XdpTuiError, match="not a ring buffer") as caught:
        ringbuf.RingRecords(emitter.obj.map_fd("args"), "samples ring buffer")
    assert caught.value.hint and "RINGBUF" in caught.value.hint
