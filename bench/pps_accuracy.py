"""Is the packet rate xdp-tui shows right? StatsSampler's pps vs the frames really sent.

A lesson's XDP_DROP program (basic04 solution, counting into xdp_stats_map) runs
natively on a lab; a generator inside the lab sends UDP frames at full speed:
our kernel engine by default (testenv.traffic.udp_stream, engine "kernel": XDP
live frames, the only generator here that passes 1 Mpps), or our socket engine
(--generator python) or trafgen. While it runs, StatsSampler.sample() is
called every --interval seconds and, at the same instants, the kernel's own
counter on the sending side (tx_packets of veth0 inside the lab; for frames
XDP transmits, the veth driver adds those its peer's ring took) is read.
Compared, in the same run:
  - rate: the pps StatsSampler shows for XDP_DROP vs the sender's pps over the
    same intervals (intervals fully inside the run), mean and worst error;
  - count: packets StatsSampler counted vs frames the generator says it sent.
Target: within 1 % at ≥ 1 Mpps (the rate reached is recorded: a busy machine
may not reach 1 Mpps).

Run as root:  .venv/bin/python bench/pps_accuracy.py [--seconds 4] [--generator kernel|python|trafgen]
Writes bench/results/pps_accuracy.json.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from harness import lacks_root, own_lab, report  # bench/ is on sys.path as a script

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SOURCE = REPO / "lessons" / "basic04-pinning-maps" / "solution" / "xdp_prog_kern.c"
PROGRAM = "xdp_drop_func"
FRAME_SIZE = 64


def _trafgen(lab: Any, frame: bytes, count: int, cpus: int) -> int:
    """Send COUNT copies of FRAME with trafgen on CPUS processes; returns frames sent."""
    with tempfile.NamedTemporaryFile("w", suffix=".cfg", delete=False) as conf:
        conf.write("{ " + ", ".join(f"0x{b:02x}" for b in frame) + " }\n")
    try:
        out = subprocess.run(
            ["ip", "netns", "exec", lab.netns, "trafgen", "--dev", lab.inner,
             "--conf", conf.name, "--num", str(count), "--cpus", str(cpus), "--no-sock-mem"],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
    finally:
        os.unlink(conf.name)
    m = re.search(r"(\d+) packets outgoing", out.stdout + out.stderr)
    return int(m.group(1)) if m else count


def _ours(lab: Any, seconds: float, engine: str) -> int:
    from testenv import traffic

    return traffic.udp_stream(lab, duration=seconds, size=FRAME_SIZE, engine=engine).sent


class _SenderCounter:
    """tx_packets of the lab's inner veth, read through a netlink socket inside the lab."""

    def __init__(self, lab: Any) -> None:
        from pyroute2 import IPRoute

        self._ipr = IPRoute(netns=lab.netns, flags=0)
        self._index = lab.inner_ifindex

    def read(self) -> int:
        msg = self._ipr.link("get", index=self._index)[0]
        return int(msg.get("IFLA_STATS64")["tx_packets"])

    def close(self) -> None:
        self._ipr.close()


def _measure(
    lab: Any, generator: str, seconds: float, interval: float, cpus: int
) -> dict[str, Any]:
    from testenv import traffic
    from xdp_tui.engine import session
    from xdp_tui.engine.stats import StatsSampler

    rows: list[tuple[float, float, int, int]] = []  # (t, shown pps, map packets, sender tx)
    done = threading.Event()
    sent: dict[str, int] = {}

    def generate() -> None:
        try:
            if generator == "trafgen":
                frame = traffic.build_udp_frame(lab, 9, bytes(FRAME_SIZE - 62))
                sent["n"] = _trafgen(lab, frame, int(seconds * 1_000_000), cpus)
            else:
                engine = "kernel" if generator == "kernel" else "socket"
                sent["n"] = _ours(lab, seconds, engine)
        finally:
            done.set()

    with session.load_program(SOURCE, lab.name, program=PROGRAM, pin_maps=False) as lp:
        sender = _SenderCounter(lab)
        try:
            with StatsSampler(lab.name) as sampler:
                sampler.sample()
                start_packets = sampler.sample()["actions"]["XDP_DROP"]["packets"]
                worker = threading.Thread(target=generate)
                worker.start()
                while not done.is_set():
                    time.sleep(interval)
                    sample = sampler.sample()
                    before = time.monotonic()
                    tx = sender.read()
                    t_tx = (before + time.monotonic()) / 2  # the kernel read it about then
                    drop = sample["actions"]["XDP_DROP"]
                    rows.append((t_tx, drop["pps"], drop["packets"], tx))
                worker.join()
                time.sleep(interval)
                end_packets = sampler.sample()["actions"]["XDP_DROP"]["packets"]
        finally:
            sender.close()
        assert lp.prog_id
    return _compare(rows, sent.get("n", 0), end_packets - start_packets)


def _compare(rows: list[tuple[float, float, int, int]], sent: int, counted: int) -> dict[str, Any]:
    # Intervals fully inside the run: both the previous and this interval carried traffic,
    # and so did the next one (the generator did not stop inside this interval).
    errors, shown_rates, sender_rates = [], [], []
    for i in range(2, len(rows) - 1):
        (t0, _, _, tx0), (t1, shown, _, tx1) = rows[i - 1], rows[i]
        if rows[i - 1][3] - rows[i - 2][3] <= 0 or rows[i + 1][3] - tx1 <= 0:
            continue
        sender_pps = (tx1 - tx0) / (t1 - t0)
        if sender_pps <= 0:
            continue
        shown_rates.append(shown)
        sender_rates.append(sender_pps)
        errors.append(abs(shown - sender_pps) / sender_pps * 100)
    return {
        "intervals": len(errors),
        "sender_pps_mean": statistics.mean(sender_rates) if sender_rates else 0.0,
        "shown_pps_mean": statistics.mean(shown_rates) if shown_rates else 0.0,
        "rate_error_pct_mean": statistics.mean(errors) if errors else None,
        "rate_error_pct_max": max(errors) if errors else None,
        "frames_sent": sent,
        "packets_counted": counted,
        "count_error_pct": abs(counted - sent) / sent * 100 if sent else None,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--interval", type=float, default=0.5)
    parser.add_argument("--generator", choices=("kernel", "python", "trafgen"), default="kernel")
    parser.add_argument("--cpus", type=int, default=1, help="trafgen processes (default 1)")
    args = parser.parse_args()
    if lacks_root("run as root"):
        return 2
    os.environ.setdefault("XDP_TUI_RUN_DIR", "/tmp/xdp-tui-bench/run")
    with own_lab("bpps") as lab:
        measured = _measure(lab, args.generator, args.seconds, args.interval, args.cpus)
    worst = measured["rate_error_pct_mean"]
    result = {
        "bench": "pps_accuracy",
        "generator": args.generator,
        "interval_s": args.interval,
        "generator_cpus": args.cpus if args.generator == "trafgen" else 1,
        "baseline": "sender's kernel tx counter (veth0 in the lab) over the same intervals",
        **measured,
        "target_error_pct_max": 1.0,
        "target_pps_min": 1_000_000,
        "ok": worst is not None
        and worst <= 1.0
        and (measured["count_error_pct"] or 0) <= 1.0
        and measured["sender_pps_mean"] >= 1_000_000,
        "notes": "rate error per interval = |shown pps - sender pps| / sender pps; "
        "`ok` also needs the generator to reach 1 Mpps on this machine",
    }
    return report("pps_accuracy", result)


if __name__ == "__main__":
    raise SystemExit(main())
