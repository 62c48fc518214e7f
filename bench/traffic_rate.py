"""How fast does our built-in generator send minimal UDP frames, next to trafgen?

Both generators run pinned to one CPU inside a private lab's namespace and
send the same minimal IPv6/UDP frame out of veth0; the outer interface's
rx_packets counter, sampled over the same window after a warm-up, gives
each one's rate. Rounds alternate so drift on a shared VM hits both alike.

Two receivers: "host" (the frames go up the host's IPv6/UDP stack, which
answers port-unreachable) and "xdp-drop" (a native XDP program drops them
on arrival; XDP_DROP still counts in rx_packets). On veth the receive work
runs on the sending CPU, so the cheaper receiver shows more of the
generator's own speed. Ours has two engines (testenv.traffic.stream_frame):
"socket" (one AF_PACKET send per frame) everywhere, and "kernel" (XDP live
frames, several Mpps) where the receiving end runs native XDP, so only with
the xdp-drop receiver; `xdp-tui env traffic` picks the kernel one there.

    python bench/traffic_rate.py [--duration 2] [--rounds 3] [--cpu 1]

Writes bench/results/traffic_rate.json. Targets: >= 1 Mpps, >= 0.5x trafgen.
Needs root; trafgen comes from Debian's netsniff-ng package.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness import lab_name, lacks_root
from results_file import save_results  # bench/ is on sys.path when run as a script

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
WARMUP_S = 0.2


def rx_packets(ifname: str) -> int:
    return int(Path(f"/sys/class/net/{ifname}/statistics/rx_packets").read_text())


def measure(ifname: str, command: list[str], duration: float) -> float:
    """Start a generator, let it warm up, count what arrives for `duration` seconds."""
    proc = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=REPO, env=_child_env()
    )
    try:
        _wait_until_sending(ifname, proc)
        time.sleep(WARMUP_S)
        start_count, start = rx_packets(ifname), time.perf_counter()
        time.sleep(duration)
        end_count, end = rx_packets(ifname), time.perf_counter()
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return (end_count - start_count) / (end - start)


def _child_env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(REPO))


def _wait_until_sending(ifname: str, proc: subprocess.Popen, limit_s: float = 10.0) -> None:
    """Interpreter start-up and ring set-up must not count: wait for the flood."""
    deadline = time.monotonic() + limit_s
    last = rx_packets(ifname)
    while time.monotonic() < deadline:
        time.sleep(0.05)
        if proc.poll() is not None:
            raise RuntimeError(f"generator stopped early: {proc.stderr.read().decode()}")
        now = rx_packets(ifname)
        if now - last > 1000:
            return
        last = now
    raise RuntimeError("generator did not start sending")


def ours_command(lab_name: str, duration: float, cpu: int, engine: str) -> list[str]:
    """A child process running udp_stream pinned to `cpu` (the rate is counted outside)."""
    code = (
        "import os, testenv\n"
        "from testenv import traffic\n"
        f"os.sched_setaffinity(0, {{{cpu}}})\n"
        f"traffic.udp_stream(testenv.get({lab_name!r}), size=0, duration={duration + 5.0},"
        f" engine={engine!r})\n"
    )
    return [sys.executable, "-c", code]


def trafgen_command(lab_name: str, config: Path, cpu: int) -> list[str]:
    return [
        "taskset", "-c", str(cpu),
        "ip", "netns", "exec", lab_name,
        "trafgen", "--dev", "veth0", "--conf", str(config), "--cpus", "1",
        "--no-sock-mem",
    ]  # fmt: skip


XDP_DROP_C = """
#include <linux/bpf.h>
#define SEC(name) __attribute__((section(name), used))
SEC("xdp") int bench_drop(struct xdp_md *ctx) { return XDP_DROP; }
char LICENSE[] SEC("license") = "GPL";
"""


def _run(*command: str) -> None:
    subprocess.run(command, check=True, capture_output=True)


def attach_xdp_drop(ifname: str, pin_dir: Path, workdir: Path) -> None:
    """Compile, load (pinned in the lab's folder, so teardown removes it) and attach."""
    source, obj, pin = workdir / "drop.c", workdir / "drop.o", pin_dir / "bench_drop"
    source.write_text(XDP_DROP_C)
    _run("clang", "-O2", "-target", "bpf", f"-I/usr/include/{_multiarch()}", "-c", str(source), "-o", str(obj))  # fmt: skip
    pin_dir.mkdir(parents=True, exist_ok=True)
    _run("bpftool", "prog", "load", str(obj), str(pin), "type", "xdp")
    _run("bpftool", "net", "attach", "xdpdrv", "pinned", str(pin), "dev", ifname)


def _multiarch() -> str:
    done = subprocess.run(["gcc", "-print-multiarch"], capture_output=True, text=True)
    return done.stdout.strip() or "x86_64-linux-gnu"


def detach_xdp(ifname: str) -> None:
    subprocess.run(["bpftool", "net", "detach", "xdpdrv", "dev", ifname], capture_output=True)


def write_trafgen_config(frame: bytes, path: Path) -> None:
    path.write_text("{ " + ", ".join(f"0x{b:02x}" for b in frame) + " }\n")


def compare(
    name: str, config: Path, engines: list[str], args: argparse.Namespace
) -> dict[str, object]:
    """Alternate trafgen and each of our engines; medians of `args.rounds` runs each."""
    ours: dict[str, list[float]] = {engine: [] for engine in engines}
    theirs = []
    for _ in range(args.rounds):
        theirs.append(measure(name, trafgen_command(name, config, args.cpu), args.duration))
        for engine, runs in ours.items():
            command = ours_command(name, args.duration, args.cpu, engine)
            runs.append(measure(name, command, args.duration))
    trafgen_pps = statistics.median(theirs)
    engine_figures = {
        engine: {
            "pps_runs": [round(x) for x in runs],
            "pps": round(statistics.median(runs)),
            "ratio": round(statistics.median(runs) / trafgen_pps, 3) if trafgen_pps else None,
        }
        for engine, runs in ours.items()
    }
    best = max(engine_figures, key=lambda engine: engine_figures[engine]["pps"])
    return {
        "trafgen_pps_runs": [round(x) for x in theirs],
        "trafgen_pps": round(trafgen_pps),
        "engines": engine_figures,
        "ours_engine": best,  # what `xdp-tui env traffic` picks on this receiver
        "ours_pps": engine_figures[best]["pps"],
        "ratio": engine_figures[best]["ratio"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=2.0, help="seconds counted per run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cpu", type=int, default=max(os.sched_getaffinity(0)))
    parser.add_argument(
        "--receivers", nargs="+", choices=("host", "xdp-drop"), default=["host", "xdp-drop"]
    )
    args = parser.parse_args()
    if lacks_root("traffic_rate: needs root (it creates a lab)"):
        return 2
    if shutil.which("trafgen") is None:
        print("traffic_rate: trafgen not found (apt-get install netsniff-ng)", file=sys.stderr)
        return 2

    with tempfile.TemporaryDirectory(prefix="xdp-tui-bench-") as tmp:
        # A private state directory: the user's labs and current lab stay untouched.
        os.environ["XDP_TUI_RUN_DIR"] = str(Path(tmp) / "run")
        import testenv
        from testenv import traffic
        from xdp_tui import paths

        name = lab_name("bench")
        lab = testenv.setup(name)
        receivers = {}
        try:
            frame = traffic.build_udp_frame(lab, 9)  # headers only: 62 bytes
            config = Path(tmp) / "udp.cfg"
            write_trafgen_config(frame, config)
            for receiver in args.receivers:
                # The kernel engine needs native XDP on the receiving end (see
                # testenv/live_frames.py), so the host receiver only has the socket one.
                engines = ["socket"]
                if receiver == "xdp-drop":
                    attach_xdp_drop(name, paths.pin_dir(name), Path(tmp))
                    engines = ["kernel", "socket"]
                try:
                    receivers[receiver] = compare(name, config, engines, args)
                finally:
                    detach_xdp(name)
        finally:
            testenv.teardown(name)

    result = {
        "frame_bytes": len(frame),
        "duration_s": args.duration,
        "rounds": args.rounds,
        "cpu": args.cpu,
        "target_pps": 1_000_000,
        "target_ratio": 0.5,
        "receivers": receivers,
    }
    save_results("traffic_rate", result)
    for receiver, numbers in receivers.items():
        ours = "   ".join(
            f"ours/{engine} {figures['pps']:,} pps ({figures['ratio']}x)"
            for engine, figures in numbers["engines"].items()
        )
        print(
            f"{receiver:>8}: trafgen {numbers['trafgen_pps']:,} pps   {ours}   "
            f"({len(frame)}-byte frames, median of {args.rounds})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
