"""maps: batch reads and the held reader's reuse of unchanged entries.

Every map shape of progs/batch_maps.c is filled from user space, then read
by batch (compiled or BTF decoders) and compared with a key-by-key read
decoded by the BTF decoders alone.
"""

from __future__ import annotations

import json
import random
import struct
from collections.abc import Callable
from typing import Any

import pytest

from xdp_tui.engine import bpfsys, maps

BIG = 5000  # entries in big_array / big_hash: more than one batch chunk (4096)


def _key_by_key(fd: int) -> list[dict[str, Any]]:
    """The reference: get_next_key + lookup for each key, decoded by the BTF decoders."""
    reader = maps.MapReader(fd)
    info = reader.info
    return [
        maps._entry(reader.decoder, key, bpfsys.lookup(fd, key, info.value_size, info.per_cpu))  # type: ignore[arg-type]
        for key in bpfsys.map_keys(fd, info.key_size)
    ]


def _sorted(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(entries, key=lambda e: json.dumps(e["key"], sort_keys=True))


def _padded(rnd: random.Random) -> bytes:
    """A `struct padded` value: u8, 3 pad, s32, u64, u16, 6 pad."""
    return struct.pack(
        "<BxxxiQH6x",
        rnd.getrandbits(8),
        rnd.randint(-(2**31), 2**31 - 1),
        rnd.getrandbits(64),
        rnd.getrandbits(16),
    )


def _tagged(i: int, count: int) -> bytes:
    """A `struct tagged` value: char tag[4]; level:3, count:29."""
    tag = b"ab\0\0" if i % 2 else bytes([255, 1, 2, 3])  # text, then not text
    return tag + struct.pack("<I", (i & 7) | (count << 3))


@pytest.fixture
def filled(lab: object, load_on_lab: Callable[..., object]) -> dict[str, int]:
    """progs/batch_maps.c loaded, every map filled; map name -> fd."""
    lp = load_on_lab(lab, "xdp_touch_maps", source="batch_maps")
    fds: dict[str, int] = lp.maps  # type: ignore[attr-defined]
    ncpus = bpfsys.possible_cpus()
    rnd = random.Random(7)
    for i in range(40):
        key = struct.pack("<HBB", i, 17, i % 2)
        values = [struct.pack("<Q", rnd.getrandbits(40)) for _ in range(ncpus)]
        bpfsys.update(fds["pcpu_hash"], key, values)
    for i in range(3):
        values = [struct.pack("<I", 1000 * i + cpu) for cpu in range(ncpus)]
        bpfsys.update(fds["pcpu_small"], struct.pack("<I", i), values)
    for i in range(4):
        bpfsys.update(
            fds["pcpu_tagged"], struct.pack("<I", i), [_tagged(i, cpu) for cpu in range(ncpus)]
        )
    for i in range(20):
        bpfsys.update(fds["lru_pcpu"], struct.pack("<I", i), [_padded(rnd) for _ in range(ncpus)])
    for i in range(BIG - 500):
        bpfsys.update(fds["big_hash"], struct.pack("<Q", i * 7919), _padded(rnd))
    for i in range(BIG):
        bpfsys.update(
            fds["big_array"],
            struct.pack("<I", i),
            struct.pack("<q", rnd.randint(-(2**63), 2**63 - 1)),
        )
    return fds


@pytest.mark.kernel
def test_batch_read_agrees_with_key_by_key_on_every_shape(filled: dict[str, int]) -> None:
    for name, fd in filled.items():
        reader = maps.MapReader(fd, limit=2 * BIG)  # big maps too: read in two batches
        assert reader._batch is not None, name
        got = reader.read()
        assert got.note == "" and not got.truncated, name
        assert _sorted(got.entries) == _sorted(_key_by_key(fd)), name
        assert json.dumps(got.to_dict())  # still plain JSON
    # the per-CPU values sit in 8-byte slots even when the value is 4 bytes
    small = maps.read_map(filled["pcpu_small"])
    ncpus = bpfsys.possible_cpus()
    assert small.entries[2]["per_cpu"] == [2000 + cpu for cpu in range(ncpus)]
    assert small.entries[2]["value"] == sum(2000 + cpu for cpu in range(ncpus))
    tagged = maps.read_map(filled["pcpu_tagged"]).entries
    assert tagged[1]["per_cpu"][0] == {"tag": "ab", "level": 1, "count": 0}
    assert tagged[0]["value"]["tag"] == [b * ncpus for b in (255, 1, 2, 3)]  # lists add up too
    assert tagged[1]["value"]["count"] == sum(range(ncpus))


@pytest.mark.kernel
def test_big_maps_are_cut_at_the_limit(filled: dict[str, int]) -> None:
    array = maps.read_map(filled["big_array"])
    assert len(array.entries) == maps.DEFAULT_LIMIT and array.truncated
    assert [e["key"] for e in array.entries] == list(range(maps.DEFAULT_LIMIT))
    whole = maps.read_map(filled["big_array"], limit=2 * BIG)
    assert [e["key"] for e in whole.entries] == list(range(BIG)) and not whole.truncated
    assert whole.entries[: maps.DEFAULT_LIMIT] == array.entries


@pytest.mark.kernel
def test_held_reader_follows_deletes_and_updates(filled: dict[str, int]) -> None:
    fd = filled["big_hash"]
    with maps.MapReader(fd, limit=2 * BIG) as reader:
        before = reader.read().entries
        gone = [struct.pack("<Q", i * 7919) for i in range(0, BIG - 500, 3)]
        for key in gone:
            bpfsys.delete(fd, key)
        bpfsys.update(fd, struct.pack("<Q", 1), struct.pack("<BxxxiQH6x", 9, -9, 99, 999))
        after = reader.read().entries
    assert len(after) == len(before) - len(gone) + 1
    assert not {struct.unpack("<Q", k)[0] for k in gone} & {e["key"] for e in after}
    assert {"key": 1, "value": {"flag": 9, "delta": -9, "total": 99, "tail": 999}} in after
    assert _sorted(after) == _sorted(_key_by_key(fd))


@pytest.mark.kernel
@pytest.mark.parametrize("name", ["pcpu_hash", "pcpu_tagged"])  # compiled, BTF decoders
def test_held_reader_decodes_only_what_changed(filled: dict[str, int], name: str) -> None:
    fd = filled[name]
    ncpus = bpfsys.possible_cpus()
    with maps.MapReader(fd) as reader:
        first = reader.read()
        again = reader.read()
        assert again.entries == first.entries and again.entries is not first.entries
        assert all(a is b for a, b in zip(again.entries, first.entries, strict=True))
        changed = struct.pack("<I", 1) if name == "pcpu_tagged" else struct.pack("<HBB", 1, 17, 1)
        value = (
            [_tagged(1, 50)] * ncpus if name == "pcpu_tagged" else [struct.pack("<Q", 5)] * ncpus
        )
        bpfsys.update(fd, changed, value)
        third = reader.read()
        reader.forget()
        fresh = reader.read()
    assert _sorted(third.entries) == _sorted(_key_by_key(fd)) == _sorted(fresh.entries)
    new = [e for e in third.entries if e not in first.entries]
    assert len(new) == 1 and new[0]["value"] == (
        {"tag": "ab", "level": ncpus, "count": 50 * ncpus} if name == "pcpu_tagged" else 5 * ncpus
    )
    if name == "pcpu_tagged":  # decoded entry by entry: the unchanged ones are kept
        kept = [e for e in third.entries if any(e is f for f in first.entries)]
        assert len(kept) == len(first.entries) - 1
    assert not any(e is f for e in fresh.entries for f in third.entries)  # forget(): all new


def test_char_buffers_show_as_text_only_when_printable() -> None:
    from xdp_tui.engine.btf import _printable_text

    assert _printable_text(b"eth0\0\0\0\0") == "eth0"
    assert _printable_text(b"a b~") == "a b~"
    assert _printable_text(b"") == ""
    assert _printable_text(b"ab\0c") is None  # bytes after the end of the text
    assert _printable_text(b"a\tb") is None
    assert _printable_text(b"a\x7f") is None
    assert _printable_text(bytes([0xC3, 0xA9])) is None  # not ASCII
