"""One refresh of a program's maps: xdp-tui's BTF-decoded read vs `bpftool map dump -j`.

Both sides read the same maps of the same attached program in the same run,
after some traffic so the hash maps have entries:
    baseline: `bpftool map dump -j id N` for every map of the program (a process each,
              which is how a script or the tutorial's workflow reads a map)
    ours:     `ProgMaps.refresh()` (fds, decoders and buffers kept, what the TUI and
              `xdp-tui stats` do each tick) and, for reference, the same refresh with
              every entry treated as changed (`ProgMaps.forget()` first: nothing reused
              from the previous tick, the worst case under traffic) and `read_prog_maps()`
              (open, read, decode, close every map: a cold one-shot read)
Programs: a lesson solution (basic04: the stats map) and the engine's test program
(a per-CPU array, two hashes with struct and MAC keys, an array of structs).

Run as root:  .venv/bin/python bench/map_refresh.py [--reps N]
Writes bench/results/map_refresh.json. Target: ours ≥ 100× cheaper.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness import lacks_root, own_lab, report  # bench/ is on sys.path as a script

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

CASES = {
    "basic04 solution (xdp_stats_map)": (
        REPO / "lessons" / "basic04-pinning-maps" / "solution" / "xdp_prog_kern.c",
        "xdp_pass_func",
    ),
    "engine test program (4 maps)": (
        REPO / "tests" / "engine" / "progs" / "maps_kern.c",
        "xdp_pass_count",
    ),
}


def _median_s(fn: Callable[[], object], reps: int) -> float:
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _bpftool_dump(map_ids: list[int]) -> None:
    for map_id in map_ids:
        subprocess.run(
            ["bpftool", "map", "dump", "-j", "id", str(map_id)],
            check=True,
            capture_output=True,
        )


def _run_case(lab: Any, source: Path, program: str, reps: int) -> dict[str, Any]:
    from testenv import traffic
    from xdp_tui.engine import session
    from xdp_tui.engine.maps import ProgMaps, read_prog_maps

    with session.load_program(source, lab.name, program=program, pin_maps=False) as lp:
        traffic.udp_stream(lab, count=2000)
        with ProgMaps(lp.prog_id) as held:
            map_ids = held.map_ids
            entries = sum(len(m.entries) for m in held.refresh().values())

            def refresh_all_changed() -> object:
                held.forget()
                return held.refresh()

            _bpftool_dump(map_ids)  # warm-up: page cache for bpftool, decoders for us
            read_prog_maps(lp.prog_id)
            # Interleaved rounds, so a busy moment of the machine hits both sides alike.
            base_t, held_t, changed_t, cold_t = [], [], [], []
            for _ in range(reps):
                base_t.append(_median_s(lambda: _bpftool_dump(map_ids), 1))
                held_t.append(_median_s(held.refresh, 50))
                changed_t.append(_median_s(refresh_all_changed, 50))
                cold_t.append(_median_s(lambda: read_prog_maps(lp.prog_id), 50))
            baseline = statistics.median(base_t)
            ours_held = statistics.median(held_t)
            ours_changed = statistics.median(changed_t)
            ours_cold = statistics.median(cold_t)
    return {
        "program": program,
        "maps": len(map_ids),
        "entries": entries,
        "baseline_median_s": baseline,
        "ours_median_s": ours_held,
        "ratio": baseline / ours_held,
        "ours_all_changed_median_s": ours_changed,
        "all_changed_ratio": baseline / ours_changed,
        "ours_cold_median_s": ours_cold,
        "cold_ratio": baseline / ours_cold,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=31)
    args = parser.parse_args()
    if lacks_root("run as root"):
        return 2
    os.environ.setdefault("XDP_TUI_RUN_DIR", "/tmp/xdp-tui-bench/run")
    with own_lab("bmr") as lab:
        cases = {
            name: _run_case(lab, source, program, args.reps)
            for name, (source, program) in CASES.items()
        }
    worst = min(c["ratio"] for c in cases.values())
    result = {
        "bench": "map_refresh",
        "reps": args.reps,
        "baseline": "bpftool map dump -j id N, for each map of the program",
        "ours": "ProgMaps.refresh() (held fds + BTF decoders: the live view's tick)",
        "cases": cases,
        "ratio": worst,
        "target_ratio_min": 100.0,
        "ok": worst >= 100.0,
        "all_changed_ratio": min(c["all_changed_ratio"] for c in cases.values()),
        "notes": "ratio = baseline time / ours (higher is better); all_changed = the refresh "
        "decoding every entry again (nothing reused from the last tick); cold = read_prog_maps() "
        "opening and closing every map fd and building decoders from the BTF cache",
    }
    return report("map_refresh", result)


if __name__ == "__main__":
    raise SystemExit(main())
