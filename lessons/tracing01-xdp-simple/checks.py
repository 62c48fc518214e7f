"""Checks for tracing01-xdp-simple.

The lesson file holds both sides: xdp_abort_func fails on purpose (ABORTED
for IPv6 ICMP, a number that is no action for IPv6 UDP) and
trace_xdp_exception counts, from the xdp:xdp_exception tracepoint, the
aborts per interface. We attach the aborter to two private labs, the
tracepoint program beside them (engine/tracepoint.py), send a different,
random number of frames into each lab, and compare the per-interface
counts (summed over the CPUs) with what was sent.

The tracepoint is machine-wide: other programs aborting elsewhere at the
same time add keys of their own interfaces, which we leave out.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

from xdp_tui.checks import CheckContext, CheckResult
from xdp_tui.engine.ifnames import counts_by_interface
from xdp_tui.engine.maps import read_map
from xdp_tui.engine.tracepoint import TracepointProgram, attach_tracepoint_program

ABORTER = "xdp_abort_func"
TRACER = "trace_xdp_exception"
STATS_MAP = "xdp_stats_map"
ROLES = ("test01", "test02")
SETTLE_S = 0.1  # the last frame's tracepoint run, before we read


@dataclass(frozen=True)
class Sent:
    role: str
    ifindex: int
    name: str
    pings: int
    udp: int


def _tracer(ctx: CheckContext) -> TracepointProgram:
    tracer = attach_tracepoint_program(ctx.obj, TRACER)
    ctx.defer(tracer.close)
    return tracer


def _send(ctx: CheckContext, role: str, pings: int, udp: int) -> Sent:
    lab = ctx.lab(role)
    ctx.ping(role=role, count=pings, timeout=0.05, interval=0.01)
    port = random.randint(2000, 30000)
    ctx.send_frames([ctx.build_udp_frame(port, role=role) for _ in range(udp)], role=role)
    return Sent(role, lab.outer_ifindex, lab.outer, pings, udp)


def _counts(ctx: CheckContext, tracer: TracepointProgram, sent: list[Sent]) -> dict[int, int]:
    time.sleep(SETTLE_S)
    if STATS_MAP not in tracer.maps:
        ctx.fail(f"{TRACER} has no map named {STATS_MAP}")
    ours = {s.ifindex for s in sent}
    found = counts_by_interface(read_map(tracer.maps[STATS_MAP]))
    return {row.ifindex: row.count for row in found if row.ifindex in ours}


def _run(ctx: CheckContext, *, with_udp: bool) -> tuple[list[Sent], dict[int, int]]:
    for role in ROLES:
        ctx.load(ABORTER, role=role)
    tracer = _tracer(ctx)
    first, second = random.sample(range(2, 8), 2)
    sent = [
        _send(ctx, ROLES[0], first, random.randint(2, 6) if with_udp else 0),
        _send(ctx, ROLES[1], second, random.randint(2, 6) if with_udp else 0),
    ]
    return sent, _counts(ctx, tracer, sent)


def _spell(sent: list[Sent], counts: dict[int, int]) -> str:
    return ", ".join(f"{s.name} (ifindex {s.ifindex}): {counts.get(s.ifindex, 0)}" for s in sent)


def check_counts_per_interface(ctx: CheckContext) -> CheckResult:
    sent, counts = _run(ctx, with_udp=False)
    if not counts:
        ctx.fail(
            f"sent {' and '.join(str(s.pings) for s in sent)} aborted pings into two labs;"
            f" {STATS_MAP} has no entry for either interface (the first abort of an"
            " interface must insert its entry)"
        )
    wrong = [s for s in sent if counts.get(s.ifindex, 0) != s.pings]
    ctx.expect(
        not wrong,
        f"expected {', '.join(f'{s.name}: {s.pings}' for s in sent)} aborts;"
        f" {STATS_MAP} says {_spell(sent, counts)}",
    )
    return ctx.passed(f"aborts counted per interface, as sent: {_spell(sent, counts)}")


def check_only_aborts(ctx: CheckContext) -> CheckResult:
    sent, counts = _run(ctx, with_udp=True)
    for s in sent:
        got = counts.get(s.ifindex, 0)
        if got == s.pings + s.udp:
            ctx.fail(
                f"{s.name}: {s.pings} aborted pings and {s.udp} UDP frames that got a"
                f" non-action; counted {got}: the non-actions were counted as aborts"
                " (look at ctx->act)"
            )
        ctx.expect(
            got == s.pings,
            f"{s.name}: {s.pings} aborted pings and {s.udp} non-action UDP frames;"
            f" counted {got}, expected {s.pings}",
        )
    return ctx.passed(
        "only real aborts counted: "
        + ", ".join(f"{s.name}: {s.pings} (and {s.udp} non-actions left out)" for s in sent)
    )
