"""Checks for advanced01-xdp-tc-interact.

xdp_classify_func goes on a private lab's outer end, tc_count_func on its
TC ingress (a tcx link, engine/tc.py). We send UDP frames to a few random
ports, a random number each, plus pings (which XDP does not classify), and
read what TC counted per class in tc_classes: the metadata XDP wrote is
the only way a port number can get there, as TC itself parses nothing.
"""

from __future__ import annotations

import random
import time

from xdp_tui.checks import CheckContext, CheckResult
from xdp_tui.engine.maps import read_map
from xdp_tui.engine.tc import TcProgram, attach_tc_program
from xdp_tui.errors import XdpTuiError

XDP_PROGRAM = "xdp_classify_func"
TC_PROGRAM = "tc_count_func"
CLASSES_MAP = "tc_classes"
NO_METADATA = 0
SETTLE_S = 0.1


def _send_and_count(ctx: CheckContext) -> tuple[dict[int, int], int, dict[int, int]]:
    """(frames sent per port, pings sent, what TC counted per class)."""
    ctx.load(XDP_PROGRAM)
    tc = _attach_tc(ctx)
    wanted = {port: random.randint(1, 5) for port in random.sample(range(2000, 30000), 3)}
    frames = [ctx.build_udp_frame(port) for port, n in wanted.items() for _ in range(n)]
    random.shuffle(frames)
    ctx.send_frames(frames)
    pings = ctx.ping(count=random.randint(1, 3)).sent
    time.sleep(SETTLE_S)
    counted = {int(e["key"]): int(e["value"]) for e in read_map(tc.maps[CLASSES_MAP]).entries}
    return wanted, pings, counted


def _attach_tc(ctx: CheckContext) -> TcProgram:
    try:
        tc = attach_tc_program(ctx.obj, TC_PROGRAM, ctx.lab().outer)
    except XdpTuiError as exc:
        if ctx.assignment.id == "1":
            raise
        ctx.fail_because(f"{TC_PROGRAM} must load before TC can see metadata (assignment 1)", exc)
    ctx.defer(tc.close)
    return tc


def _swap16(value: int) -> int:
    return int.from_bytes(value.to_bytes(2, "big"), "little")


def _spell(counts: dict[int, int]) -> str:
    return ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())) or "nothing"


def check_tc_reads_safely(ctx: CheckContext) -> CheckResult:
    wanted, pings, counted = _send_and_count(ctx)
    total = sum(wanted.values()) + pings
    seen = sum(counted.values())
    ctx.expect(
        seen >= total,
        f"sent {total} frames through the lab; tc_count_func counted {seen} ({_spell(counted)})",
    )
    ctx.expect(
        counted.get(NO_METADATA, 0) >= pings,
        f"{pings} pings carry no metadata and should count as class 0;"
        f" TC counted {_spell(counted)}",
    )
    return ctx.passed(
        f"tc_count_func loads and saw all {total} frames; {counted.get(NO_METADATA, 0)}"
        " without metadata counted as class 0"
    )


def check_metadata_arrives(ctx: CheckContext) -> CheckResult:
    wanted, pings, counted = _send_and_count(ctx)
    got = {port: counted.get(port, 0) for port in wanted}
    swapped = {port: counted.get(_swap16(port), 0) for port in wanted}
    if swapped == wanted:
        ctx.fail(
            f"sent UDP to ports {_spell(wanted)} (port: frames); TC counted them under"
            f" {_spell({_swap16(p): n for p, n in wanted.items()})}: the ports with their"
            " two bytes swapped. udph->dest is in network byte order; store bpf_ntohs() of it"
        )
    if not any(got.values()):
        ctx.fail(
            f"sent UDP to ports {_spell(wanted)} (port: frames); TC found no class"
            f" metadata on any of them (it counted {_spell(counted)})"
        )
    ctx.expect(
        got == wanted,
        f"sent UDP to ports {_spell(wanted)} (port: frames); TC counted {_spell(got)}"
        f" under those classes (all classes: {_spell(counted)})",
    )
    return ctx.passed(
        f"every UDP frame reached TC with the class XDP wrote: {_spell(got)}; the"
        f" {pings} pings (not classified) came without"
    )
