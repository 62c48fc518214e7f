"""`xdp-tui capture` and `xdp-tui run`: every packet at the hook, and one crafted frame.

xdp-tui capture [--dev D] [--count N] [--verdict V] [--json] [-w FILE.pcapng]
    each packet the attached XDP program handles, at entry and exit, with
    its verdict; --json prints one object per packet, -w writes pcapng.
xdp-tui run FILE [--prog NAME] --packet SPEC [--repeat N] [--json]
    run the program on one frame with BPF_PROG_TEST_RUN (a private copy:
    nothing attached changes); verdict, output frame, map changes, ns/run.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xdp_tui.cli.output import (
    MAX_PPS,
    add_command,
    default_lab,
    number,
    positive_int,
    positive_seconds,
    print_json,
)
from xdp_tui.engine.actions import XDP_ACTIONS

if TYPE_CHECKING:
    from xdp_tui.engine.capture import Capture, CapturedPacket, PcapngWriter
    from xdp_tui.engine.testrun import TestRunResult

POLL_MS = 200
DEFAULT_RATE = 5_000  # as engine.capture.DEFAULT_RATE (not imported: --help stays light)


def register(sub: Any) -> None:
    capture = add_command(
        sub, "capture", _capture, help="each packet at the XDP hook: verdict, bytes in and out"
    )
    capture.add_argument("--dev", help="interface (default: the current lab, else test01)")
    capture.add_argument("--count", type=positive_int, help="stop after N packets")
    capture.add_argument(
        "--verdict", type=_verdict, help="only packets with this verdict (e.g. DROP or XDP_DROP)"
    )
    capture.add_argument("--json", action="store_true", help="one JSON object per packet")
    capture.add_argument("-w", "--write", type=Path, metavar="FILE", help="write pcapng to FILE")
    capture.add_argument("--snaplen", type=positive_int, default=256, help="bytes kept (256)")
    capture.add_argument(
        "--rate",
        type=_capture_rate,
        default=DEFAULT_RATE,
        help=f"record at most this many packets a second ({DEFAULT_RATE}; 0: every packet)",
    )
    capture.add_argument("--duration", type=positive_seconds, help="stop after S seconds")
    capture.add_argument("--force", action="store_true", help="allow a non-lab interface")

    run = add_command(sub, "run", _run, help="run an XDP program on one crafted frame (test run)")
    run.add_argument("file", type=Path, help="C source (.c) or BPF object (.o)")
    run.add_argument("--prog", help="the XDP function (needed when the file has several)")
    run.add_argument("--packet", required=True, metavar="SPEC", help=_spec_help())
    run.add_argument("--repeat", type=positive_int, default=1, help="run N times (1)")
    run.add_argument("--json", action="store_true", help="one JSON object")


def _spec_help() -> str:
    from xdp_tui.engine.packetspec import SPEC_HELP

    return SPEC_HELP


def _verdict(text: str) -> str:
    name = text.upper()
    name = name if name.startswith("XDP_") else f"XDP_{name}"
    if name not in XDP_ACTIONS:
        raise argparse.ArgumentTypeError(f"{text!r} is not one of {', '.join(XDP_ACTIONS)}")
    return name


# ---- capture -------------------------------------------------------------------


def _capture(args: argparse.Namespace) -> int:
    from xdp_tui.engine.capture import Capture, PcapngWriter

    dev = default_lab(args.dev)
    deadline = time.monotonic() + args.duration if args.duration else None
    try:
        with Capture.start(dev, snaplen=args.snaplen, rate=args.rate, force=args.force) as cap:
            # Opened once the interface is known good: a refusal names the interface,
            # not the file (closing an unwritable file raised over it).
            writer = PcapngWriter(args.write, learner_file=True) if args.write else None
            try:
                _capture_until_done(cap, args, deadline, writer)
            finally:
                if writer is not None:
                    writer.close()
    except KeyboardInterrupt:
        pass
    return 0


def _capture_until_done(
    cap: Capture, args: argparse.Namespace, deadline: float | None, writer: PcapngWriter | None
) -> None:
    shown = 0
    looked = time.monotonic()
    while args.count is None or shown < args.count:
        if deadline is not None and time.monotonic() >= deadline:
            break
        packets = cap.poll(POLL_MS)
        for packet in packets:
            if args.verdict and packet.verdict_name != args.verdict:
                continue
            _emit(packet, args.json, writer)
            shown += 1
            if args.count is not None and shown >= args.count:
                break
        # Once a quiet second: an unload (or another load) ends what this capture watched.
        if not packets and time.monotonic() - looked >= 1.0:
            looked = time.monotonic()
            if cap.target_replaced():
                print(
                    f"capture: the program on {cap.target.dev} was unloaded or replaced; stopping",
                    file=sys.stderr,
                )
                break
    _report_losses(cap.counters().to_dict(), writer)


def _emit(packet: CapturedPacket, as_json: bool, writer: PcapngWriter | None) -> None:
    if writer is not None:
        writer.write(packet)
        return
    if as_json:
        print_json(packet.to_dict())
        return
    data = packet.to_dict()
    change = " (changed)" if packet.changed else ""
    stamp = (
        time.strftime("%H:%M:%S", time.localtime(packet.time))
        + f".{int(packet.time % 1 * 1e6):06d}"
    )
    print(
        f"{stamp} {packet.verdict_name:<12} cpu{packet.cpu} {packet.len_in:>5}B {data['summary']}{change}"
    )
    sys.stdout.flush()


def _report_losses(counters: dict[str, int], writer: PcapngWriter | None) -> None:
    """Capture losses on stderr (stdout stays one JSON object per packet)."""
    parts = [f"{n} {name.replace('_', ' ')}" for name, n in counters.items()]
    written = f"; {writer.count} packets written to {writer.path}" if writer else ""
    print(f"capture: {', '.join(parts)}{written}", file=sys.stderr)


# ---- run -----------------------------------------------------------------------


def _run(args: argparse.Namespace) -> int:
    from xdp_tui.engine.build import one_shot_builds

    with one_shot_builds():  # a one-shot command: no clang waiting for a next build
        return _run_now(args)


def _run_now(args: argparse.Namespace) -> int:
    from xdp_tui.engine.packetspec import frame_from_spec
    from xdp_tui.engine.testrun import TestRunner

    frame = frame_from_spec(args.packet)
    with TestRunner.open(args.file, program=args.prog) as runner:
        result = runner.run(frame, repeat=args.repeat)
    if args.json:
        print_json(result.to_dict())
    else:
        _print_result(result)
    return 0


def _print_result(result: TestRunResult) -> None:
    from xdp_tui.engine.dissect import byte_diff, summary

    print(f"verdict: {result.verdict_name} (retval {result.retval})")
    print(f"in:  {len(result.data_in):>5} B  {summary(result.data_in)}")
    print(f"out: {len(result.data_out):>5} B  {summary(result.data_out)}")
    for change in byte_diff(result.data_in, result.data_out):
        print(f"  {change.describe()}")
    for mc in result.map_changes:
        print(f"map {mc.describe()}")
    print(f"{result.duration_ns} ns/run over {result.repeat} run(s)")


def _capture_rate(text: str) -> int:
    """argparse type: packets a second to record, 0 for every packet."""
    limit = int(MAX_PPS)
    return int(number(text, int, lambda v: 0 <= v <= limit, f"a whole number in 0..{limit}"))
