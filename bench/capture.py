"""What capture at the hook costs, and whether the workbench's ns/run matches bpftool's.

1. Capture overhead: a private lab runs packet01's solution in native mode and
   the kernel traffic engine sends one UDP frame at full speed (on veth the
   receive work runs on the sending CPU, so whatever the XDP program costs
   shows in the rate). Rounds alternate: capture off, capture on with the
   default rate cap, capture on with no cap (every packet recorded while a
   thread drains the ring). Reported: pps and, for capture, packets recorded
   per second and losses (ring full). xdpdump on the same stream is the
   baseline where the kernel allows fentry; where it refuses (EPERM on every
   BPF trampoline, as on some locked-down VMs) that is recorded instead.
2. Test run: ns/run of the workbench (BPF_PROG_TEST_RUN with repeat N) next to
   `bpftool prog run id ID data_in FILE repeat N` on the same loaded program
   and frame.

    python bench/capture.py [--duration 2] [--rounds 3] [--run-rounds 9] [--repeat 1000000]

Writes bench/results/capture.json. Targets (issue 14): capture of every packet
at >= 0.5x xdpdump's lossless rate; with the rate cap, throughput >= 0.9x of
capture off; workbench ns/run within 10 % of bpftool's.
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from results_file import save_results  # bench/ is on sys.path when run as a script

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from xdp_tui import paths  # noqa: E402
from xdp_tui.engine.capture import DEFAULT_RATE  # noqa: E402

LESSON = "packet01-parsing"


def solution_copy(folder: Path) -> Path:
    target = folder / "xdp_prog_kern.c"
    shutil.copy(paths.lessons_dir() / LESSON / "solution" / "xdp_prog_kern.c", target)
    return target


# ---- 1. capture overhead -------------------------------------------------------


def stream_pps(lab: Any, duration: float) -> float:
    from testenv import traffic

    return traffic.udp_stream(lab, duration=duration, engine="kernel").pps


def with_capture(lab: Any, duration: float, rate: int) -> dict[str, Any]:
    """Stream at full speed while a capture runs and a thread drains it."""
    from xdp_tui.engine.capture import Capture

    with Capture.start(lab.name, rate=rate) as cap:
        stop = threading.Event()
        recorded = [0]

        def drain() -> None:
            while not stop.is_set():
                recorded[0] += len(cap.poll(50, limit=100_000))

        reader = threading.Thread(target=drain)
        reader.start()
        try:
            start = time.perf_counter()
            pps = stream_pps(lab, duration)
            elapsed = time.perf_counter() - start
        finally:
            stop.set()
            reader.join()
        counters = cap.counters()
        return {
            "pps": round(pps),
            "method": cap.method,
            "recorded_per_s": round(recorded[0] / elapsed),
            "seen": counters.seen,
            "recorded": counters.recorded,
            "ring_full": counters.ring_full,
            "rate_skipped": counters.rate_skipped,
        }


def xdpdump_baseline(lab: Any, duration: float) -> dict[str, Any]:
    """xdpdump --rx-capture entry,exit on the same stream, or why it cannot run."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "dump.pcapng"
        proc = subprocess.Popen(
            ["xdpdump", "-i", lab.name, "--rx-capture", "entry,exit", "-w", str(out)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(1.0)
        if proc.poll() is not None:
            return {
                "available": False,
                "error": (proc.stderr.read() if proc.stderr else "").strip(),
            }
        start = time.perf_counter()
        pps = stream_pps(lab, duration)
        elapsed = time.perf_counter() - start
        proc.send_signal(2)
        err = proc.communicate(timeout=10)[1]
        counts = re.findall(r"(\d+) packets? captured", err)
        captured = int(counts[0]) if counts else 0
        return {"available": True, "pps": round(pps), "captured_per_s": round(captured / elapsed)}


def capture_bench(duration: float, rounds: int) -> dict[str, Any]:
    import testenv
    from xdp_tui.engine import session

    lab = testenv.setup("hEbench", make_current=False)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            source = solution_copy(Path(tmp))
            with session.load_program(source, lab.name, mode="native", pin_maps=False):
                stream_pps(lab, 0.5)  # warm-up
                off, capped, uncapped = [], [], []
                for _ in range(rounds):
                    off.append(stream_pps(lab, duration))
                    capped.append(with_capture(lab, duration, rate=DEFAULT_RATE))
                    uncapped.append(with_capture(lab, duration, rate=0))
                baseline = xdpdump_baseline(lab, duration)
    finally:
        testenv.teardown(lab.name)
    off_pps = statistics.median(off)
    capped_pps = statistics.median(r["pps"] for r in capped)
    return {
        "off_pps": [round(p) for p in off],
        "capped": capped,
        "uncapped": uncapped,
        "capped_ratio": round(capped_pps / off_pps, 3),  # medians of alternating rounds
        "uncapped_ratio": round(statistics.median(r["pps"] for r in uncapped) / off_pps, 3),
        "uncapped_recorded_per_s": round(statistics.median(r["recorded_per_s"] for r in uncapped)),
        "xdpdump": baseline,
    }


# ---- 2. test run vs bpftool ------------------------------------------------------


def bpftool_run_ns(prog_id: int, data: Path, repeat: int) -> int:
    """bpftool's average ns/run of PROG_ID on the frame in DATA, REPEAT times."""
    done = subprocess.run(
        ["bpftool", "prog", "run", "id", str(prog_id), "data_in", str(data), "repeat", str(repeat)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    found = re.search(r"duration \(average\): (\d+)ns", done.stdout)
    if found is None:
        raise SystemExit(f"bpftool printed no duration: {done.stdout!r}")
    return int(found.group(1))


def testrun_bench(repeat: int, rounds: int) -> dict[str, Any]:
    """Ours vs bpftool on one loaded program and frame, in pairs whose order alternates.

    Both figures are the kernel's own average (BPF_PROG_TEST_RUN's duration / repeat),
    a few tens of ns: a neighbour's burst moves one run by more than the 10 % asked,
    so each round runs both back to back (ours first in even rounds, bpftool first in
    odd ones) and the ratio reported is the median of the rounds' ratios.
    """
    from xdp_tui.engine import bpfsys
    from xdp_tui.engine.packetspec import frame_from_spec
    from xdp_tui.engine.testrun import TestRunner

    frame = frame_from_spec("icmp6-echo:seq=2")
    ours, theirs = [], []
    with tempfile.TemporaryDirectory() as tmp, TestRunner.open(solution_copy(Path(tmp))) as runner:
        data = Path(tmp) / "frame.bin"
        data.write_bytes(frame)
        prog_id = bpfsys.prog_info(runner.prog_fd).id
        runner.run(frame, repeat)  # warm-up: caches and the JIT image
        for turn in range(rounds):
            if turn % 2:
                theirs.append(bpftool_run_ns(prog_id, data, repeat))
                ours.append(runner.run(frame, repeat).duration_ns)
            else:
                ours.append(runner.run(frame, repeat).duration_ns)
                theirs.append(bpftool_run_ns(prog_id, data, repeat))
    ratios = [o / t for o, t in zip(ours, theirs, strict=True) if t]
    ratio = statistics.median(ratios)
    return {
        "repeat": repeat,
        "frame": "icmp6-echo:seq=2",
        "ours_ns": ours,
        "bpftool_ns": theirs,
        "round_ratios": [round(r, 3) for r in ratios],
        "ratio": round(ratio, 3),  # median of the rounds' ratios
        "ratio_best_of": round(min(ours) / min(theirs), 3),
        "met_within_10pct": abs(ratio - 1.0) <= 0.10,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=3, help="capture rounds")
    parser.add_argument("--run-rounds", type=int, default=9, help="test-run pairs")
    parser.add_argument("--repeat", type=int, default=1_000_000)
    args = parser.parse_args()
    result = {
        "testrun": testrun_bench(args.repeat, args.run_rounds),
        "capture": capture_bench(args.duration, args.rounds),
    }
    path = save_results("capture", result)
    import json

    print(json.dumps(result, indent=1))
    print(f"written to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
