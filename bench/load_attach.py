"""Build + load + attach of a lesson-like program: xdp-tui vs the command-line tools.

Baseline (what the tutorial's workflow does with stock tools), per repetition:
    clang <same flags> -c prog.c -o prog.o
    bpftool prog load prog.o /sys/fs/bpf/<pin>/prog type xdp
    ip link set dev <lab> xdp pinned /sys/fs/bpf/<pin>/prog
xdp-tui: `session.load_program(prog.c, lab, persistent=True)` in process (what
the TUI and the lesson checks call), and the `xdp-tui load` command as a
separate process for reference.

Ours includes the XDP_PASS program put on the lab's inner veth (native mode
needs it for XDP_TX/REDIRECT): it is removed again by `unload` between
repetitions, so every repetition attaches it anew. In process, a build leaves
a clang waiting for the next build in that folder (build.py, "warm
compiler"), as it does in the TUI; "ours_cold" measures the same call with
that turned off, so every build starts clang from scratch like the baseline.

The source gets a new comment every repetition, so both sides really compile
(no cache hits). Teardown between repetitions is not timed. Run as root:
    .venv/bin/python bench/load_attach.py [--reps N]
Writes bench/results/load_attach.json.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import harness
from results_file import save_results  # bench/ is on sys.path when run as a script

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

PROGRAM = r"""
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct datarec {
	__u64 rx_packets;
	__u64 rx_bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct datarec);
	__uint(max_entries, 5);
} xdp_stats_map SEC(".maps");

SEC("xdp")
int xdp_bench_func(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u32 action = XDP_PASS;
	struct datarec *rec;

	if ((void *)(eth + 1) > data_end)
		action = XDP_DROP;
	else if (eth->h_proto == bpf_htons(ETH_P_ARP))
		action = XDP_PASS;
	rec = bpf_map_lookup_elem(&xdp_stats_map, &action);
	if (!rec)
		return XDP_ABORTED;
	rec->rx_packets++;
	rec->rx_bytes += data_end - data;
	return action;
}

char _license[] SEC("license") = "GPL";
"""


def _touch_source(source: Path, rep: int) -> None:
    source.write_text(PROGRAM + f"\n/* repetition {rep} */\n")


def _run(cmd: list[str]) -> None:
    subprocess.run(cmd, check=True, capture_output=True)


def baseline_once(source: Path, dev: str, pin: Path) -> float:
    from xdp_tui.engine.build import CLANG, compile_flags

    obj = source.with_suffix(".base.o")
    start = time.perf_counter()
    _run([CLANG, *compile_flags(), "-c", str(source), "-o", str(obj)])
    _run(["bpftool", "prog", "load", str(obj), str(pin / "prog"), "type", "xdp"])
    _run(["ip", "link", "set", "dev", dev, "xdp", "pinned", str(pin / "prog")])
    elapsed = time.perf_counter() - start
    _run(["ip", "link", "set", "dev", dev, "xdp", "off"])
    shutil.rmtree(pin, ignore_errors=True)
    pin.mkdir(parents=True)
    return elapsed


def ours_once(source: Path, dev: str, *, warm: bool = True) -> float:
    from xdp_tui.engine.build import keep_compiler_warm
    from xdp_tui.engine.session import load_program, unload

    keep_compiler_warm(warm)
    start = time.perf_counter()
    loaded = load_program(source, dev, persistent=True)
    elapsed = time.perf_counter() - start
    loaded.close()
    unload(dev)
    return elapsed


def cli_env(work: Path) -> dict[str, str]:
    """The command's environment with compiled bytecode, as an installed copy has.

    Bytecode goes to a private folder (PYTHONPYCACHEPREFIX), not into the
    checkout; PYTHONDONTWRITEBYTECODE (set in some sandboxes) would make every
    run compile every module again, which no installed xdp-tui does.
    """
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
    return env


def cli_once(source: Path, dev: str, env: dict[str, str]) -> float:
    from xdp_tui.engine.session import unload

    cmd = [sys.executable, "-m", "xdp_tui", "load", str(source), "--dev", dev]
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, cwd=REPO, env=env)
    elapsed = time.perf_counter() - start
    unload(dev)
    return elapsed


def measure(reps: int, fn: Callable[[int], float]) -> list[float]:
    return [fn(rep) for rep in range(reps)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=9)
    args = parser.parse_args()
    if harness.lacks_root("run as root (loads BPF programs)"):
        return 2

    import testenv

    lab_name = harness.lab_name("bnch")
    testenv.setup(lab_name)
    work = Path(tempfile.mkdtemp(prefix="xdp-tui-bench-"))
    pin = Path("/sys/fs/bpf") / f"{lab_name}-base"
    pin.mkdir(parents=True, exist_ok=True)
    source = work / "xdp_prog_kern.c"
    counter = iter(range(10**6))
    try:
        # Warm up both sides once (page cache, clang binary, Python imports).
        _touch_source(source, next(counter))
        baseline_once(source, lab_name, pin)
        _touch_source(source, next(counter))
        ours_once(source, lab_name)
        env = cli_env(work)
        _touch_source(source, next(counter))
        cli_once(source, lab_name, env)  # also writes the bytecode
        base, ours, cold, cli = [], [], [], []
        for _ in range(args.reps):  # interleaved, so drift hits both sides alike
            _touch_source(source, next(counter))
            base.append(baseline_once(source, lab_name, pin))
            _touch_source(source, next(counter))
            cold.append(ours_once(source, lab_name, warm=False))
            _touch_source(source, next(counter))
            ours_once(source, lab_name)  # untimed: leaves the clang the next one uses
            _touch_source(source, next(counter))
            ours.append(ours_once(source, lab_name))
            _touch_source(source, next(counter))
            cli.append(cli_once(source, lab_name, env))
    finally:
        subprocess.run(["ip", "link", "set", "dev", lab_name, "xdp", "off"], capture_output=True)
        shutil.rmtree(pin, ignore_errors=True)
        testenv.teardown(lab_name)
        shutil.rmtree(work, ignore_errors=True)

    result = {
        "bench": "load_attach",
        "reps": args.reps,
        "baseline": "clang && bpftool prog load && ip link set dev X xdp pinned",
        "baseline_median_s": statistics.median(base),
        "ours_median_s": statistics.median(ours),
        "ratio": statistics.median(ours) / statistics.median(base),
        "ours_cold_median_s": statistics.median(cold),
        "cold_ratio": statistics.median(cold) / statistics.median(base),
        "load_average": os.getloadavg(),
        "cli_median_s": statistics.median(cli),
        "cli_ratio": statistics.median(cli) / statistics.median(base),
        "target_ratio_max": 1.0,
        "notes": (
            "ours = session.load_program (build, load, pin maps, attach with a pinned link, "
            "plus the XDP_PASS program on the lab's inner veth in native mode) with the "
            "clang the previous build left waiting; ours_cold = the same with every clang "
            "started from scratch; cli = the `xdp-tui load` command as a new process, "
            "including Python start-up (with compiled bytecode, as installed)"
        ),
    }
    out = save_results("load_attach", result)
    print(f"baseline (clang+bpftool+ip) median {result['baseline_median_s'] * 1000:.1f} ms")
    print(f"xdp-tui load_program       median {result['ours_median_s'] * 1000:.1f} ms")
    print(f"  same, clang not warm     median {result['ours_cold_median_s'] * 1000:.1f} ms")
    print(f"xdp-tui load (CLI process) median {result['cli_median_s'] * 1000:.1f} ms")
    print(
        f"ratio ours/baseline {result['ratio']:.2f}x (target <= 1.0x); "
        f"not warm {result['cold_ratio']:.2f}x; CLI {result['cli_ratio']:.2f}x"
    )
    print("load average " + " ".join(f"{x:.2f}" for x in result["load_average"]))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
