"""bigmap: whole-map reads into arrays, rates, top talkers, on a real lab.

progs/bigmap_flows.c counts UDP frames per source port (`flows`, a hash map
with shared counters) and per IPv6 source (`by_src`, a per-CPU hash). Frames
are crafted with distinct source ports and sent through the lab's socket
engine, so every figure is known exactly.
"""

from __future__ import annotations

import json
import random
import struct
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from testenv import traffic
from xdp_tui.engine import bpfsys
from xdp_tui.engine.bigmap import DEFAULT_BATCH, BigMapWatch, fill_map
from xdp_tui.errors import XdpTuiError

FLOW = struct.Struct("<QQ")  # struct flow_stats {packets; bytes}


@pytest.fixture
def flows(lab: object, load_on_lab: Callable[..., object]) -> dict[str, int]:
    """progs/bigmap_flows.c attached on the lab; map name -> fd."""
    lp = load_on_lab(lab, "xdp_count_flows", source="bigmap_flows")
    return lp.maps  # type: ignore[attr-defined,no-any-return]


def _frames_per_port(lab: object, counts: dict[int, int]) -> tuple[list[bytes], int]:
    """Frames from each source port COUNT times, shuffled; and their total length."""
    frames = []
    for port, n in counts.items():
        frames += [traffic.build_udp_frame(lab, sport=port, payload=bytes(port % 7))] * n  # type: ignore[arg-type]
    random.Random(5).shuffle(frames)
    return frames, sum(len(f) for f in frames)


def _fill_flows(fd: int, ports: np.ndarray, packets: np.ndarray) -> None:
    """flows[port] = {packets, 100 * packets}, for every port, in batch updates."""
    values = np.zeros((len(ports), 2), "<u8")
    values[:, 0], values[:, 1] = packets, packets * 100
    fill_map(fd, ports.astype("<u4").view(np.uint8).reshape(-1, 4), values.view(np.uint8))


@pytest.mark.kernel
def test_top_talkers_are_exact_after_real_frames(lab: object, flows: dict[str, int]) -> None:
    counts = {2000 + i: i + 1 for i in range(30)}  # port 2029 sends most: 30 frames
    frames, nbytes = _frames_per_port(lab, counts)
    with BigMapWatch(flows["flows"]) as watch:
        first = watch.refresh()
        assert first.entries_total == 0 and first.interval == 0
        assert traffic.send_frames(lab, frames) == len(frames)  # type: ignore[arg-type]
        table = watch.refresh(top=5, sort="pps")
    assert table.entries_total == len(counts) and table.max_entries == 1 << 20
    assert table.totals.entries == len(counts)
    assert table.totals.values == {"packets": sum(counts.values()), "bytes": nbytes}
    assert table.added == len(counts) and table.removed == 0
    assert [row.key for row in table.rows] == [2029, 2028, 2027, 2026, 2025]
    assert all(row.new for row in table.rows)
    top = table.rows[0]
    assert top.value == {"packets": 30, "bytes": top.values["bytes"]}
    assert top.pps == pytest.approx(30 / table.interval)
    assert top.bps == pytest.approx(top.values["bytes"] * 8 / table.interval)
    assert table.totals.pps == pytest.approx(sum(counts.values()) / table.interval)
    doc = json.loads(json.dumps(table.to_dict()))
    assert doc["entries_total"] == 30 and doc["totals"]["values"]["packets"] == 465
    assert [r["key"] for r in doc["top"]] == [2029, 2028, 2027, 2026, 2025]


@pytest.mark.kernel
def test_sort_by_key_field_and_filter(lab: object, flows: dict[str, int]) -> None:
    counts = {3000 + i: 1 + (i * 7) % 11 for i in range(20)}
    frames, _ = _frames_per_port(lab, counts)
    traffic.send_frames(lab, frames)  # type: ignore[arg-type]
    with BigMapWatch(flows["flows"]) as watch:
        by_key = watch.refresh(top=3, sort="key")
        assert [r.key for r in by_key.rows] == [3000, 3001, 3002]
        by_packets = watch.refresh(top=20, sort="packets")
        assert [r.values["packets"] for r in by_packets.rows] == sorted(counts.values())[::-1]
        one = watch.refresh(sort="pps", key_filter="3005")
        assert one.matched == 1 and [r.key for r in one.rows] == [3005]
        assert one.entries_total == 20 and one.totals.values["packets"] == counts[3005]
        span = watch.refresh(sort="key", key_filter="key=3010..3014")
        assert [r.key for r in span.rows] == list(range(3010, 3015))
        assert span.totals.values["packets"] == sum(counts[p] for p in range(3010, 3015))
        with pytest.raises(XdpTuiError, match="no such column"):
            watch.refresh(sort="nosuch")
        with pytest.raises(XdpTuiError, match="filter"):
            watch.refresh(key_filter="port=zz")
    with BigMapWatch(flows["by_src"]) as watch:
        mine = watch.refresh(key_filter=traffic._addresses(lab, 6)[0])  # type: ignore[arg-type]
        assert mine.matched == 1 and mine.totals.values["packets"] == sum(counts.values())
        assert watch.refresh(key_filter="fc00::1234").matched == 0
        with pytest.raises(XdpTuiError, match="IPv4"):
            watch.refresh(key_filter="10.0.0.1")


@pytest.mark.kernel
def test_entries_added_and_deleted_between_ticks(flows: dict[str, int]) -> None:
    fd = flows["flows"]
    for port in range(100, 110):
        bpfsys.update(fd, struct.pack("<I", port), FLOW.pack(10, 1000))
    with BigMapWatch(fd) as watch:
        watch.refresh()
        for port in (100, 101, 102):
            assert bpfsys.delete(fd, struct.pack("<I", port))
        for port in (500, 501):
            bpfsys.update(fd, struct.pack("<I", port), FLOW.pack(7, 700))
        bpfsys.update(fd, struct.pack("<I", 105), FLOW.pack(60, 6000))  # +50 packets
        bpfsys.update(fd, struct.pack("<I", 106), FLOW.pack(4, 400))  # went down: a reset
        table = watch.refresh(top=50, sort="pps")
    assert table.entries_total == 9 and table.added == 2 and table.removed == 3
    rows = {row.key: row for row in table.rows}
    assert set(rows) == {103, 104, 105, 106, 107, 108, 109, 500, 501}
    assert rows[105].rates["packets"] == pytest.approx(50 / table.interval)
    assert rows[106].pps == 0 and rows[103].pps == 0
    assert rows[500].new and rows[500].pps == pytest.approx(7 / table.interval)
    assert not rows[105].new
    assert [r.key for r in table.rows[:3]] == [105, 500, 501]
    assert table.totals.values["packets"] == 10 * 10 - 30 + 50 - 6 + 14


@pytest.mark.kernel
def test_per_cpu_values_are_summed(lab: object, flows: dict[str, int]) -> None:
    fd = flows["by_src"]
    ncpus = bpfsys.possible_cpus()
    for host in range(1, 4):
        key = bytes(15) + bytes([host])
        per_cpu = [FLOW.pack(host * 10 + cpu, 100 * (cpu + 1)) for cpu in range(ncpus)]
        bpfsys.update(fd, key, per_cpu)
    frames, nbytes = _frames_per_port(lab, {7000: 40, 7001: 2})
    with BigMapWatch(fd) as watch:
        watch.refresh()
        traffic.send_frames(lab, frames)  # type: ignore[arg-type]
        table = watch.refresh(top=10, sort="pps")  # the lab address first: it alone has a rate
    assert table.per_cpu and table.entries_total == 4
    summed = {host: sum(host * 10 + c for c in range(ncpus)) for host in range(1, 4)}
    assert table.rows[0].values["packets"] == 42 and table.rows[0].pps > 0
    for packets in summed.values():
        row = next(r for r in table.rows if r.values["packets"] == packets)
        assert row.values["bytes"] == sum(100 * (c + 1) for c in range(ncpus)) and row.pps == 0
    assert table.totals.values == {
        "packets": 42 + sum(summed.values()),
        "bytes": nbytes + 3 * sum(100 * (c + 1) for c in range(ncpus)),
    }


@pytest.mark.kernel
@pytest.mark.parametrize("batch", [DEFAULT_BATCH, 4096])
def test_map_larger_than_one_batch(flows: dict[str, int], batch: int) -> None:
    fd = flows["flows"]
    n = DEFAULT_BATCH * 2 + 1234  # more entries than one batch call takes
    ports = np.arange(n, dtype=np.uint64) + 10
    packets = (ports * 2654435761) % 1000003  # distinct, scattered
    _fill_flows(fd, ports, packets)
    with BigMapWatch(fd, batch=batch) as watch:
        table = watch.refresh(top=20, sort="packets")
        assert table.entries_total == n and not table.truncated
        assert table.totals.values == {
            "packets": int(packets.sum()),
            "bytes": int(packets.sum()) * 100,
        }
        best = np.argsort(-packets.astype(np.int64), kind="stable")[:20]
        assert [r.key for r in table.rows] == [int(p) for p in ports[best]]
        assert [r.values["packets"] for r in table.rows] == [int(v) for v in packets[best]]
        # a churned tick: the join by sorted keys, not the same-order shortcut
        gone = [int(p) for p in ports[::1000]]
        for port in gone:
            bpfsys.delete(fd, struct.pack("<I", port))
        bpfsys.update(fd, struct.pack("<I", 10_000_000), FLOW.pack(5, 500))
        bpfsys.update(fd, struct.pack("<I", 77), FLOW.pack(int(packets[67]) + 999, 0))
        later = watch.refresh(top=2, sort="pps")
    assert later.entries_total == n - len(gone) + 1
    assert later.added == 1 and later.removed == len(gone)
    assert [r.key for r in later.rows] == [77, 10_000_000]
    assert later.rows[0].rates["packets"] == pytest.approx(999 / later.interval)


@pytest.mark.kernel
def test_all_rows_streams_every_entry_in_order(flows: dict[str, int]) -> None:
    fd = flows["flows"]
    ports = np.arange(5000, dtype=np.uint64)
    _fill_flows(fd, ports, ports % 97)
    with BigMapWatch(fd) as watch:
        watch.refresh(top=1, sort="key", key_filter="100..199")
        rows = list(watch.all_rows())
    assert [r.key for r in rows] == list(range(100, 200))
    assert [r.value["packets"] for r in rows] == [p % 97 for p in range(100, 200)]


# ---- the CLI -----------------------------------------------------------------


def _top_cli(lab: object, *args: str) -> Any:
    from tests.engine.test_stats import _cli

    return _cli(["stats", "--dev", lab.name, "--interval", "0.2", *args])  # type: ignore[attr-defined]


@pytest.mark.kernel
def test_cli_top_json(lab: object, flows: dict[str, int]) -> None:
    frames, _ = _frames_per_port(lab, {4000 + i: i + 1 for i in range(12)})
    traffic.send_frames(lab, frames)  # type: ignore[arg-type]
    res = _top_cli(lab, "--top", "3", "--sort", "packets", "--map", "flows", "--json",
                   "--count", "1")  # fmt: skip
    assert res.returncode == 0, res.stderr
    sample = json.loads(res.stdout.splitlines()[-1])
    flows_map = sample["maps"]["flows"]
    assert set(sample["maps"]) == {"flows"}
    assert flows_map["entries_total"] == 12 and flows_map["max_entries"] == 1 << 20
    assert flows_map["value_format"] == "btf"  # as plain `stats --json` says it
    assert [r["key"] for r in flows_map["top"]] == [4011, 4010, 4009]
    assert flows_map["totals"]["values"]["packets"] == sum(range(1, 13))
    every = _top_cli(lab, "--all", "--sort", "key", "--map", "flows", "--json", "--count", "1")
    lines = [json.loads(line) for line in every.stdout.splitlines()]
    entries = [line for line in lines if "key" in line]
    assert [e["key"] for e in entries] == list(range(4000, 4012))
    bad = _top_cli(lab, "--top", "3", "--sort", "nosuch", "--map", "flows", "--count", "1")
    assert bad.returncode != 0 and "Traceback" not in bad.stderr
    assert "nosuch" in bad.stderr and len(bad.stderr.strip().splitlines()) <= 2
    time.sleep(0)  # keep the lab up until here


@pytest.mark.kernel
def test_live_sampler_leaves_big_maps_to_the_top_talkers_view(
    lab: object, flows: dict[str, int]
) -> None:
    from xdp_tui.engine.bigmap import TopSampler
    from xdp_tui.engine.stats import StatsSampler

    with StatsSampler(lab.name, skip_maps_over=1024) as sampler:  # type: ignore[attr-defined]
        assert set(sampler.sample()["maps"]) == {"by_src"}  # flows: 1M slots, not read here
    with StatsSampler(lab.name) as sampler:  # type: ignore[attr-defined]
        assert set(sampler.sample()["maps"]) == {"flows", "by_src"}  # the CLI's view: unchanged
    with TopSampler(lab.name, min_entries=1025, counters_only=True) as top:  # type: ignore[attr-defined]
        assert set(top.sample().maps) == {"flows"}


@pytest.mark.kernel
def test_key_by_key_read_agrees_with_batches(lab: object, flows: dict[str, int]) -> None:
    """Map types with no batch lookup are read key by key into the same arrays."""
    ncpus = bpfsys.possible_cpus()
    for host in range(5):
        per_cpu = [FLOW.pack(host + cpu, 7) for cpu in range(ncpus)]
        bpfsys.update(flows["by_src"], bytes(15) + bytes([host]), per_cpu)
    tables = []
    for batches in (True, False):
        with BigMapWatch(flows["by_src"]) as watch:
            assert watch.arrays is not None
            watch.arrays._batch_ok = batches  # the path a devmap or LPM trie takes
            tables.append(watch.refresh(top=10, sort="key"))
    by_batch, by_key = tables
    assert by_key.entries_total == by_batch.entries_total == 5
    assert [r.to_dict() for r in by_key.rows] == [r.to_dict() for r in by_batch.rows]
    assert by_key.totals.values == {"packets": sum(h + c for h in range(5) for c in range(ncpus)),
                                    "bytes": 5 * 7 * ncpus}  # fmt: skip


@pytest.mark.kernel
def test_dense_maps_are_walked_with_the_same_figures(
    flows: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past one entry per 16 buckets `flows` is read by the BPF walk (engine/mapwalk.py):
    the same figures as batch lookups, churn included; sparse again, batch lookups again."""
    from xdp_tui.engine import mapwalk

    fd = flows["flows"]
    n = (1 << 20) // 16 + 100
    ports = np.arange(n, dtype=np.uint64) + 1

    def two_ticks(watch: BigMapWatch) -> list[dict[str, Any]]:
        _fill_flows(fd, ports, (ports * 2654435761) % 1000003)  # the same map for each reader
        bpfsys.delete(fd, struct.pack("<I", 9_000_000))
        watch.refresh()  # the first read is a batch read; it finds whether the map is dense
        first = watch.refresh(top=30, sort="packets")
        for port in range(1, 2001, 10):
            bpfsys.delete(fd, struct.pack("<I", port))
        bpfsys.update(fd, struct.pack("<I", 9_000_000), FLOW.pack(3, 300))
        bpfsys.update(fd, struct.pack("<I", 5000), FLOW.pack(10_000_000, 0))
        second = watch.refresh(top=30, sort="pps")
        figures = []
        for table in (first, second):
            out = table.to_dict()
            for key in ("interval", "read_seconds"):
                out.pop(key)
            for row in out["top"]:
                row.pop("rates"), row.pop("pps"), row.pop("bps")
            out["totals"] = out["totals"]["values"]
            figures.append(out)
        return figures

    with BigMapWatch(fd) as watch:
        walked = two_ticks(watch)
        assert watch.arrays is not None
        assert watch.arrays.walking, watch.arrays.walk_note
    monkeypatch.setattr(mapwalk, "MIN_DENSITY", 2.0)  # never dense: batch lookups only
    with BigMapWatch(fd) as watch:
        batched = two_ticks(watch)
        assert watch.arrays is not None and not watch.arrays.walking
    assert walked == batched
    assert walked[0]["entries_total"] == n and walked[1]["added"] == 1
    assert walked[1]["removed"] == 200 and walked[1]["top"][0]["key"] == 5000
    monkeypatch.undo()
    _fill_flows(fd, ports, ports)
    with BigMapWatch(fd) as watch:
        watch.refresh()
        assert watch.arrays is not None and watch.arrays.walking
        for port in range(1, n + 1):  # under one entry per 32 buckets: batch lookups again
            if port % 40:
                bpfsys.delete(fd, struct.pack("<I", port))
        table = watch.refresh()
        assert not watch.arrays.walking
        assert table.entries_total == len(range(40, n + 1, 40)) + 1  # and 9,000,000


@pytest.mark.kernel
def test_a_map_declared_for_its_flows_is_walked_and_rates_move_in_place(
    lab: object, load_on_lab: Callable[..., object]
) -> None:
    """100k flows in a map declared for them (131,072 slots: dense) are read by the walk;
    frames to a few of them change those counters in place (same keys, same order):
    exact rates for the busy ones, none for the rest, the busy ones on top."""
    lp = load_on_lab(lab, "xdp_count_flows", source="bigmap_flows_100k")
    fd = lp.maps["flows"]  # type: ignore[attr-defined]
    n = 100_000
    ports = np.arange(1, n + 1, dtype=np.uint64)
    _fill_flows(fd, ports, ports % 1000)
    counts = {60_000 + i: 3 * i + 1 for i in range(8)}
    frames, nbytes = _frames_per_port(lab, counts)
    with BigMapWatch(fd) as watch:
        assert watch.info.max_entries == 1 << 17
        watch.refresh()  # a batch read finds the map dense
        before = watch.refresh(top=5, sort="pps")
        assert watch.arrays is not None and watch.arrays.walking, watch.arrays.walk_note
        assert before.totals.pps == 0 and before.entries_total == n
        assert traffic.send_frames(lab, frames) == len(frames)  # type: ignore[arg-type]
        table = watch.refresh(top=5, sort="pps")
    assert table.added == table.removed == 0 and table.entries_total == n
    assert [r.key for r in table.rows] == [60_007, 60_006, 60_005, 60_004, 60_003]
    assert not any(r.new for r in table.rows)
    top = table.rows[0]
    assert top.values["packets"] == 60_007 % 1000 + counts[60_007]
    assert top.pps == pytest.approx(counts[60_007] / table.interval)
    assert table.totals.pps == pytest.approx(sum(counts.values()) / table.interval)
    assert table.totals.values["packets"] == int((ports % 1000).sum()) + sum(counts.values())
    assert table.totals.values["bytes"] == int((ports % 1000).sum()) * 100 + nbytes
    rows = {r.key: r for r in watch.all_rows()}
    assert len(rows) == n and rows[60_000].pps > 0 and rows[59_999].pps == 0


@pytest.mark.kernel
def test_the_reader_is_the_cheaper_one_for_the_density(
    lab: object, load_on_lab: Callable[..., object]
) -> None:
    """100k entries are walked in a map of 1,048,576 buckets (0.095 per bucket, over
    one per 16) and in one of 131,072 (0.76); 50k in the 1M one stay on batch lookups
    (0.048 per bucket: the walk's ~14 ns per empty bucket would cost more)."""
    ports = np.arange(1, 100_001, dtype=np.uint64)

    def reader(fd: int, entries: int) -> bool:
        with BigMapWatch(fd) as watch:
            watch.refresh()
            assert watch.refresh().entries_total == entries
            assert watch.arrays is not None
            return watch.arrays.walking

    big = load_on_lab(lab, "xdp_count_flows", source="bigmap_flows")
    fd = big.maps["flows"]  # type: ignore[attr-defined]
    _fill_flows(fd, ports, ports)
    assert reader(fd, 100_000)
    for port in range(50_001, 100_001):
        bpfsys.delete(fd, struct.pack("<I", port))
    assert not reader(fd, 50_000)
    big.close()  # type: ignore[attr-defined]
    sized = load_on_lab(lab, "xdp_count_flows", source="bigmap_flows_100k")
    fd = sized.maps["flows"]  # type: ignore[attr-defined]
    _fill_flows(fd, ports, ports)
    assert reader(fd, 100_000)


@pytest.mark.kernel
def test_fewer_busy_entries_than_rows_rank_first_then_totals(
    lab: object, flows: dict[str, int]
) -> None:
    """Same keys between reads (rates only where counters moved), a filter, and fewer
    busy entries than rows asked: the busy ones by rate, then the idle ones by total."""
    fd = flows["flows"]
    ports = np.arange(1, 3001, dtype=np.uint64)
    _fill_flows(fd, ports, ports % 50)
    frames, _ = _frames_per_port(lab, {1010: 4, 1020: 9, 2500: 30})
    with BigMapWatch(fd) as watch:
        watch.refresh()
        traffic.send_frames(lab, frames)  # type: ignore[arg-type]
        table = watch.refresh(top=4, sort="pps", key_filter="1000..1099")
    assert table.added == table.removed == 0 and table.matched == 100
    keys = [r.key for r in table.rows]
    assert keys[:2] == [1020, 1010]  # busy, by rate (port 2500 is filtered out)
    assert keys[2:] == [1049, 1099]  # idle: the biggest totals (49 packets), then by key
    assert table.rows[0].pps == pytest.approx(9 / table.interval)
    assert table.rows[2].pps == 0 and table.rows[2].rates == {"packets": 0.0, "bytes": 0.0}
    assert table.totals.pps == pytest.approx(13 / table.interval)


@pytest.mark.kernel
def test_an_idle_map_keeps_its_ranking_and_a_change_ranks_again(
    lab: object, flows: dict[str, int]
) -> None:
    """Ticks where nothing moved reuse the last ranking (by totals); frames rank their
    flows first; the next idle tick ranks by totals again, the new totals included."""
    fd = flows["flows"]
    ports = np.arange(1, 3001, dtype=np.uint64)
    _fill_flows(fd, ports, ports % 50)
    with BigMapWatch(fd) as watch:
        watch.refresh()
        idle = [watch.refresh(top=3).rows for _ in range(2)]
        assert [[r.key for r in rows] for rows in idle] == [[49, 99, 149]] * 2
        frames, _ = _frames_per_port(lab, {7: 80})
        traffic.send_frames(lab, frames)  # type: ignore[arg-type]
        busy = watch.refresh(top=3)
        still = watch.refresh(top=3)
        by_key = watch.refresh(top=3, sort="key")
    assert busy.rows[0].key == 7 and busy.rows[0].pps > 0
    assert [r.key for r in still.rows] == [7, 49, 99] and still.totals.pps == 0
    assert still.rows[0].values["packets"] == 87
    assert [r.key for r in by_key.rows] == [1, 2, 3]
