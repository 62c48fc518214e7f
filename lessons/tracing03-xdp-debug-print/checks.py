"""Checks for tracing03-xdp-debug-print.

xdp_prog_simple prints one line per frame with bpf_printk:

    xdp-debug src=<hex> dst=<hex> proto=<number>

We ping from inside a private lab and read what the program printed.
bpf_printk output is global: other programs (or the learner's own copy on
test01) may print at the same moment. So a line counts only when it has
the "xdp-debug" marker and names exactly our lab's two MAC addresses (in
either byte order, so the starter's back-to-front addresses are still
recognised as ours and can be judged).

Where we read: `open_printk_reader()`, a tracefs instance of our own with
the bpf_trace_printk event on (engine/monitor.py), so we neither take lines
from whoever reads the global trace_pipe nor get refused by them. Kernels
without instances fall back to the global trace_pipe, and a busy one fails
the check with the reason.
"""

from __future__ import annotations

import contextlib
import re
import time
from dataclasses import dataclass

from xdp_tui.checks import CheckContext, CheckResult
from xdp_tui.engine.monitor import TracePipe, open_printk_reader
from xdp_tui.errors import XdpTuiError

PROGRAM = "xdp_prog_simple"
MARKER = "xdp-debug"
PINGS = 3
ETH_P_IPV6 = 0x86DD
ETH_P_IP = 0x0800
READ_WAIT_S = 3.0  # upper bound for the lines to show up; normally they are there at once

_FIELD = {
    "src": re.compile(r"\bsrc=([0-9a-fA-F:]+)"),
    "dst": re.compile(r"\bdst=([0-9a-fA-F:]+)"),
    "proto": re.compile(r"\bproto=(0[xX][0-9a-fA-F]+|\d+)"),
}


@dataclass(frozen=True)
class DebugLine:
    """One parsed `xdp-debug` line; a field the line lacks is None."""

    src: int | None
    dst: int | None
    proto: int | None
    text: str


# ---- reading the program's lines --------------------------------------------


def _printk_reader(ctx: CheckContext) -> TracePipe:
    """Where the program's lines can be read, drained of anything older."""
    try:
        pipe = open_printk_reader()
    except XdpTuiError as exc:
        ctx.fail_because("cannot read the bpf_printk output", exc)
    ctx.defer(pipe.close)
    for _ in range(100):  # bounded: a busy global pipe never runs dry
        if not pipe.read(timeout=0):
            break  # lines printed before the pings are not ours to judge
    return pipe


def _parse(text: str) -> DebugLine | None:
    if MARKER not in text:
        return None
    src, dst, proto = (_FIELD[name].search(text) for name in ("src", "dst", "proto"))
    return DebugLine(
        src=_number(src.group(1), hex_digits=True) if src else None,
        dst=_number(dst.group(1), hex_digits=True) if dst else None,
        proto=_number(proto.group(1), hex_digits=False) if proto else None,
        text=text.strip(),
    )


def _number(raw: str, *, hex_digits: bool) -> int | None:
    """RAW as a number: hex digits (colons allowed) for a MAC, "34525" or "0x86dd" otherwise."""
    hexadecimal = hex_digits or raw.lower().startswith("0x")
    with contextlib.suppress(ValueError):
        return int(raw.replace(":", ""), 16) if hexadecimal else int(raw)
    return None


def _mac_value(mac: str) -> int:
    return int(mac.replace(":", ""), 16)


def _reversed_mac(value: int) -> int:
    return int.from_bytes(value.to_bytes(6, "big"), "little")


class LabMacs:
    """Our lab's two addresses, and how to tell which one a printed number means."""

    def __init__(self, inner: str, outer: str) -> None:
        self.inner_text, self.outer_text = inner, outer
        self.inner, self.outer = _mac_value(inner), _mac_value(outer)

    def which(self, value: int | None) -> str | None:
        """Which address VALUE is: "inner", "outer", "inner-reversed", "outer-reversed" or None."""
        for name, mac in (("inner", self.inner), ("outer", self.outer)):
            if value == mac:
                return name
            if value == _reversed_mac(mac):
                return f"{name}-reversed"
        return None

    def owns(self, line: DebugLine) -> bool:
        """The line names both of our addresses (in whatever order)."""
        src, dst = self.which(line.src), self.which(line.dst)
        if src is None or dst is None:
            return False
        return {src.split("-")[0], dst.split("-")[0]} == {"inner", "outer"}


def _lines_of_our_pings(ctx: CheckContext, family: int = 6) -> tuple[list[DebugLine], int, LabMacs]:
    """Attach, ping from inside the lab, and return (our lab's debug lines, pings sent, MACs)."""
    ctx.load(PROGRAM)
    lab = ctx.lab()
    macs = LabMacs(lab.inner_mac, lab.outer_mac)
    pipe = _printk_reader(ctx)
    sent = ctx.ping(count=PINGS, family=family).sent
    ours: list[DebugLine] = []
    deadline = time.monotonic() + READ_WAIT_S
    while len(ours) < sent and time.monotonic() < deadline:
        for trace_line in pipe.read(timeout=0.2):
            line = _parse(trace_line.message)
            if line is not None and macs.owns(line):
                ours.append(line)
    if not ours:
        ctx.fail(
            f"after {sent} pings no '{MARKER}' line named this lab's addresses"
            f" ({lab.inner_mac} inside, {lab.outer_mac} outside). Keep one bpf_printk per"
            f" frame in the form '{MARKER} src=%012llx dst=%012llx proto=%u'"
        )
    return ours, sent, macs


def _example(lines: list[DebugLine]) -> str:
    return f"e.g. '{lines[0].text}'"


# ---- the checks ---------------------------------------------------------------


def check_ethertype(ctx: CheckContext) -> CheckResult:
    # IPv6 and IPv4 pings: one constant printed for every frame cannot pass.
    ctx.lab(legacy_ip=True)
    said = []
    for family, proto in ((6, ETH_P_IPV6), (4, ETH_P_IP)):
        lines, sent, _macs = _lines_of_our_pings(ctx, family)
        right = [line for line in lines if line.proto == proto]
        if len(right) < sent:
            _fail_ethertype(ctx, lines, sent, family, proto)
        said.append(f"{sent} IPv{family} pings printed proto={proto} (0x{proto:04x})")
    return ctx.passed("; ".join(said) + f" {_example(right)}")


def _fail_ethertype(
    ctx: CheckContext, lines: list[DebugLine], sent: int, family: int, proto: int
) -> None:
    values = sorted({line.proto for line in lines if line.proto is not None})
    if not values:
        ctx.fail(f"the lines have no 'proto=<number>' field ({_example(lines)})")
    swapped = int.from_bytes(proto.to_bytes(2, "big"), "little")
    why = (
        f"; {swapped} is 0x{swapped:04x}, the two bytes of 0x{proto:04x} swapped: h_proto is"
        " in network byte order, convert it with bpf_ntohs()"
        if swapped in values
        else ""
    )
    ctx.fail(
        f"{sent} IPv{family} pings printed proto={', '.join(map(str, values))}; IPv{family} is"
        f" {proto} (0x{proto:04x}){why}"
    )


def check_macs(ctx: CheckContext) -> CheckResult:
    lines, sent, macs = _lines_of_our_pings(ctx)
    right = [
        line
        for line in lines
        if macs.which(line.src) == "inner" and macs.which(line.dst) == "outer"
    ]
    if len(right) >= sent:
        return ctx.passed(
            f"{len(right)} lines with src={macs.inner_text} (veth0 inside)"
            f" dst={macs.outer_text} (outside) {_example(right)}"
        )
    wrong = lines[0]
    src, dst = macs.which(wrong.src) or "", macs.which(wrong.dst) or ""
    if src.endswith("reversed") or dst.endswith("reversed"):
        problem = (
            "the addresses are printed back to front (last byte first): build the number"
            " with the MAC's first byte most significant"
        )
    else:
        problem = "source and destination are swapped"
    ctx.fail(
        f"{problem}. Printed {_example(lines)}; the echo requests go from"
        f" {macs.inner_text} (veth0 inside the lab) to {macs.outer_text} (the outer end),"
        f" so expected src={macs.inner:012x} dst={macs.outer:012x}"
    )
