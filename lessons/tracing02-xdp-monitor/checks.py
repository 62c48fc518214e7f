"""Checks for tracing02-xdp-monitor.

xdp_abort_icmp is judged by what the kernel reports and what gets through:

- the exception monitor (engine/monitor.py, bcc on xdp:xdp_exception)
  counts exceptions per (program id, action, ifindex). We compare its
  counts for OUR program's id before and after sending, so exceptions of
  any other program on the machine (the learner's copy on test01, another
  check) never count;
- pings from inside a private lab say whether echo requests were answered;
- a Tap on the lab's outer end shows which frames got past XDP.

The stats map (xdp_stats_map) tells us when the program has judged every
frame we sent, so a silent result ("no exceptions, nothing arrived") is
read only after the frames were really seen. Its numbers also explain a
failure (e.g. "you dropped them"), but never decide one.

The monitor is started per check: bcc compiles it in about half a second.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from testenv import packets, traffic
from xdp_tui.checks import ACTION_NAMES, CheckContext, CheckResult
from xdp_tui.engine.monitor import ExceptionMonitor
from xdp_tui.errors import XdpTuiError

PROGRAM = "xdp_abort_icmp"
STATS_MAP = "xdp_stats_map"
PINGS = 4
FRAMES = 40  # UDP datagrams per stream
STREAM_PPS = 2000.0  # slow enough for the Tap to see every frame
TCP_FRAMES = 5
DROP_PORT = 9999  # DROP_PORT in the program
SETTLE_S = 1.0  # upper bound for the program to judge what we sent; normally at once
XDP_ABORTED, XDP_DROP, XDP_PASS = 0, 1, 2


# ---- watching the program ----------------------------------------------------


class Watch:
    """Our program attached on a private lab, and the exception monitor beside it."""

    def __init__(self, ctx: CheckContext) -> None:
        self.ctx = ctx
        self.monitor = _start_monitor(ctx)
        loaded = ctx.load(PROGRAM)
        self.prog_id: int = loaded.prog_id
        self.lab = ctx.lab()
        self.has_stats = STATS_MAP in loaded.maps

    def exceptions(self) -> dict[int, int]:
        """{action: count} of OUR program's exceptions since the monitor started."""
        out: dict[int, int] = {}
        for (prog_id, action), n in self.monitor.counts().items():
            if prog_id == self.prog_id:
                out[action] = out.get(action, 0) + n
        return out

    def verdicts(self) -> dict[str, int]:
        """Packets per verdict in the program's stats map ({} without the map)."""
        if not self.has_stats:
            return {}
        return {name: value["packets"] for name, value in self.ctx.stats().items()}

    def wait_judged(self, before: dict[str, int], frames: int) -> dict[str, int]:
        """Wait (bounded) until the stats map counted FRAMES more verdicts; the deltas."""
        if not self.has_stats:
            time.sleep(SETTLE_S / 4)  # the map is gone: a short, fixed wait instead
            return {}
        deadline = time.monotonic() + SETTLE_S
        while True:
            delta = _minus(self.verdicts(), before)
            if sum(delta.values()) >= frames or time.monotonic() >= deadline:
                return delta
            time.sleep(0.01)


def _start_monitor(ctx: CheckContext) -> ExceptionMonitor:
    monitor = ExceptionMonitor()
    try:
        monitor.start()
    except XdpTuiError as exc:
        ctx.fail_because("cannot watch the xdp:xdp_exception tracepoint", exc)
    ctx.defer(monitor.close)
    return monitor


def _minus(after: dict, before: dict) -> dict:
    return {key: after.get(key, 0) - before.get(key, 0) for key in set(after) | set(before)}


def _described(verdicts: dict[str, int]) -> str:
    """'xdp_stats_map counted 4 XDP_DROP' (only the verdicts that moved)."""
    moved = [f"{verdicts[name]} {name}" for name in ACTION_NAMES if verdicts.get(name, 0) > 0]
    return f"xdp_stats_map counted {', '.join(moved)}" if moved else ""


def _with(text: str) -> str:
    return f" ({text})" if text else ""


def _to_port(proto: int, port: int) -> Callable[[bytes], bool]:
    """A Tap filter: frames of PROTO (UDP or TCP) to destination PORT."""

    def matches(frame: bytes) -> bool:
        parsed = packets.parse(frame)
        ports = parsed.udp_ports
        return parsed.proto == proto and ports is not None and ports[1] == port

    return matches


# ---- the checks ----------------------------------------------------------------


def check_abort_pings(ctx: CheckContext) -> CheckResult:
    watch = Watch(ctx)
    before, stats_before = watch.exceptions(), watch.verdicts()
    result = ctx.ping(count=PINGS)
    verdicts = watch.wait_judged(stats_before, result.sent)
    aborted = _minus(watch.exceptions(), before).get(XDP_ABORTED, 0)
    ctx.expect(
        not result.received,
        f"{result.received} of {result.sent} pings were answered"
        f" (seq {result.answered_seqs}); echo requests must not get past XDP",
    )
    if aborted < result.sent:
        dropped = verdicts.get("XDP_DROP", 0)
        why = (
            ": the program dropped them (XDP_DROP), which the kernel does not report"
            if dropped >= result.sent
            else ""
        )
        ctx.fail(
            f"{result.sent} pings went unanswered, but the monitor counted only {aborted}"
            f" XDP_ABORTED exceptions of program {watch.prog_id}{why}"
            f"{_with(_described(verdicts))}"
        )
    return ctx.passed(
        f"{result.sent} pings unanswered, {aborted} XDP_ABORTED exceptions of program"
        f" {watch.prog_id} on {watch.lab.outer} (xdp:xdp_exception)"
    )


def check_others_pass(ctx: CheckContext) -> CheckResult:
    watch = Watch(ctx)
    lab = watch.lab
    before, stats_before = watch.exceptions(), watch.verdicts()
    # Ports new each run (never DROP_PORT): "pass port 9 and 80" cannot pass.
    udp_port, tcp_port = random.sample([p for p in range(1, 65536) if p != DROP_PORT], 2)
    udp = _to_port(packets.IPPROTO_UDP, udp_port)
    tcp = _to_port(packets.IPPROTO_TCP, tcp_port)
    with traffic.Tap(lab, filter=lambda f: udp(f) or tcp(f)) as tap:
        sent = ctx.udp_stream(count=FRAMES, pps=STREAM_PPS, port=udp_port).sent
        syns = [
            traffic.build_tcp_syn_frame(lab, tcp_port, sport=40000 + i) for i in range(TCP_FRAMES)
        ]
        sent += ctx.send_frames(syns)
        tap.wait_for(sent, timeout=SETTLE_S)
        verdicts = watch.wait_judged(stats_before, sent)
    exceptions = sum(_minus(watch.exceptions(), before).values())
    what = f"{FRAMES} UDP datagrams to port {udp_port} and {TCP_FRAMES} TCP SYNs to port {tcp_port}"
    if exceptions:
        ctx.fail(
            f"of {what}, {tap.count} got past XDP and the monitor counted {exceptions}"
            f" exceptions of program {watch.prog_id}: ordinary traffic is being aborted"
            f"{_with(_described(verdicts))}. Let what you do not decide about pass"
        )
    ctx.expect(
        tap.count >= sent,
        f"of {what}, only {tap.count} got past XDP (no exceptions, so the rest was"
        f" dropped){_with(_described(verdicts))}; they should all pass",
    )
    return ctx.passed(f"all {what} got past XDP, with no exceptions")


def check_silent_drop(ctx: CheckContext) -> CheckResult:
    watch = Watch(ctx)
    before, stats_before = watch.exceptions(), watch.verdicts()
    with traffic.Tap(watch.lab, filter=_to_port(packets.IPPROTO_UDP, DROP_PORT)) as tap:
        sent = ctx.udp_stream(count=FRAMES, pps=STREAM_PPS, port=DROP_PORT).sent
        verdicts = watch.wait_judged(stats_before, sent)
    exceptions = _minus(watch.exceptions(), before)
    aborted = sum(exceptions.values())
    what = f"{sent} UDP datagrams to port {DROP_PORT}"
    ctx.expect(
        tap.count == 0,
        f"{tap.count} of {what} got past XDP{_with(_described(verdicts))}; drop them",
    )
    ctx.expect(
        aborted == 0,
        f"{what} were stopped, but the monitor counted {aborted} exceptions of program"
        f" {watch.prog_id}: they were aborted. Unwanted traffic is no bug: use XDP_DROP,"
        " which the kernel does not report",
    )
    return ctx.passed(
        f"none of {what} got past XDP and the monitor saw no exception{_with(_described(verdicts))}"
    )
