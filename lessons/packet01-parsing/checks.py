"""Checks for packet01-parsing.

The program under test is xdp_parser_func. What we can observe from outside:
which echo requests got an answer (ping from inside the lab), how the stats
map counted the verdicts, and which frames made it past XDP (a tap on the
outer interface). Each run starts its echo sequence numbers, UDP port and
VLAN ids somewhere new, so a program that drops fixed numbers cannot pass:
"drop the even ones" must really read the sequence number.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from testenv import packets, traffic
from xdp_tui.checks import CheckContext, CheckResult

PROGRAM = "xdp_parser_func"
PINGS = 6
UDP_FRAMES = 5


@dataclass(frozen=True)
class Pings:
    """Echo requests first..first+PINGS-1 (first chosen afresh each run) and what came back."""

    first: int
    answered: list[int]
    dropped: int
    passed: int

    @property
    def seqs(self) -> list[int]:
        return list(range(self.first, self.first + PINGS))

    @property
    def odd(self) -> list[int]:
        return [seq for seq in self.seqs if seq % 2]

    @property
    def even(self) -> list[int]:
        return [seq for seq in self.seqs if not seq % 2]

    @property
    def answered_even(self) -> list[int]:
        return [seq for seq in self.answered if not seq % 2]


def _ping(ctx: CheckContext, family: int = 6) -> Pings:
    first = random.randint(100, 60000)
    before = ctx.stats()
    result = ctx.ping(count=PINGS, family=family, first_seq=first)
    dropped, passed = _verdicts(ctx, before, ctx.stats())
    return Pings(first, result.answered_seqs, dropped, passed)


def _verdicts(ctx: CheckContext, before: dict, after: dict) -> tuple[int, int]:
    """(dropped, passed) packets between two stats readings."""
    delta = ctx.stats_delta(before, after)
    return delta["XDP_DROP"]["packets"], delta["XDP_PASS"]["packets"]


def check_bounds(ctx: CheckContext) -> CheckResult:
    # A verifier refusal makes ctx.load raise: the check fails with the located log.
    ctx.load(PROGRAM)
    pings = _ping(ctx)
    ctx.expect(
        not pings.answered_even and pings.dropped >= len(pings.even),
        f"the program loads, but it dropped {pings.dropped} packets and echo requests"
        f" {pings.answered_even or 'none'} with even numbers were answered; after the Ethernet"
        " header it should still drop IPv6 echo requests",
    )
    return ctx.passed(
        f"the verifier accepts the program; {pings.dropped} of {PINGS} IPv6 echo requests dropped"
    )


def check_ipv6(ctx: CheckContext) -> CheckResult:
    ctx.load(PROGRAM)
    port = random.randint(1024, 60000)
    before = ctx.stats()
    with ctx.tap() as tap:
        frames = [ctx.build_udp_frame(port, payload=b"packet01 %d" % i) for i in range(UDP_FRAMES)]
        ctx.send_frames(frames)
        tap.wait_for(UDP_FRAMES)
    udp_seen = sum(1 for f in tap.frames if _udp_port(f) == port)
    udp_dropped, _ = _verdicts(ctx, before, ctx.stats())
    pings = _ping(ctx)
    ctx.expect(
        udp_seen == UDP_FRAMES,
        f"{UDP_FRAMES} UDP/IPv6 datagrams to port {port} were sent, {udp_seen} got past XDP"
        f" ({udp_dropped} dropped); only ICMPv6 should be dropped now",
    )
    ctx.expect(
        pings.dropped >= len(pings.even) and not pings.answered_even,
        f"UDP passes, but only {pings.dropped} of {PINGS} ICMPv6 echo requests were dropped"
        f" (answered: {pings.answered}); parse_ip6hdr must return the next header"
        " so that ICMPv6 is still dropped",
    )
    return ctx.passed(
        f"all {UDP_FRAMES} UDP datagrams passed; {pings.dropped} of {PINGS} ICMPv6 echo"
        " requests dropped"
    )


def check_icmpv6_seq(ctx: CheckContext) -> CheckResult:
    ctx.load(PROGRAM)
    pings = _ping(ctx)
    ctx.expect(
        pings.answered == pings.odd,
        f"sent echo requests {pings.first}..{pings.seqs[-1]}; answered:"
        f" {pings.answered or 'none'}; expected exactly the odd ones {pings.odd}",
    )
    ctx.expect(
        pings.dropped >= len(pings.even) and pings.passed >= len(pings.odd),
        f"the stats map counted {pings.dropped} drops and {pings.passed} passes; expected at"
        f" least {len(pings.even)} of each (is every verdict recorded?)",
    )
    _expect_truncated_echo_passes(ctx)
    return ctx.passed(
        f"answered {pings.odd}, dropped {pings.even};"
        f" stats: {pings.dropped} drop, {pings.passed} pass"
    )


# An even echo request cut inside its ICMPv6 header (57 of the 62 bytes up to
# the sequence number): the sequence cannot be read, so the program must not
# guess a drop. No ping can send such a frame; a test run can.
TRUNCATED_ECHO = "icmp6-echo:seq=2,truncate=57"


def _expect_truncated_echo_passes(ctx: CheckContext) -> None:
    result = ctx.test_run(PROGRAM, TRUNCATED_ECHO)
    ctx.expect(
        result.verdict_name == "XDP_PASS",
        f"an echo request cut short inside its ICMPv6 header got {result.verdict_name};"
        " it should pass untouched: without a whole header there is no sequence number"
        f" to judge (try it: xdp-tui run FILE --packet {TRUNCATED_ECHO})",
    )


def _udp_port(frame: bytes) -> int | None:
    ports = packets.parse(frame).udp_ports
    return ports[1] if ports else None


def _echo_request_seq(frame: bytes) -> int | None:
    echo = packets.parse(frame).echo()
    if echo is None or echo[0] not in (packets.ICMPV6_ECHO_REQUEST, packets.ICMP_ECHO_REQUEST):
        return None
    return echo[2]


def _tagged_echo_frames(ctx: CheckContext, first: int) -> list[bytes]:
    """Echo requests FIRST..FIRST+3 with one 802.1Q tag, the next 4 with two (802.1AD outside)."""
    lab = ctx.lab()
    inner, outer = random.sample(range(2, 4095), 2)
    single = [traffic.build_echo_frame(lab, seq, vlan=inner) for seq in range(first, first + 4)]
    double = [
        packets.insert_vlan_tag(
            traffic.build_echo_frame(lab, seq, vlan=inner), outer, packets.ETH_P_8021AD
        )
        for seq in range(first + 4, first + 8)
    ]
    return single + double


def check_vlan(ctx: CheckContext) -> CheckResult:
    # No VLAN devices in this kernel: nobody answers tagged pings, so we judge
    # by the verdicts and by which tagged requests got past XDP.
    ctx.load(PROGRAM)
    first = random.randint(100, 60000)
    frames = _tagged_echo_frames(ctx, first)
    before = ctx.stats()
    with ctx.tap() as tap:
        ctx.send_frames(frames)
        tap.wait_for(len(frames) // 2)
    dropped, _ = _verdicts(ctx, before, ctx.stats())
    seen = sorted(seq for f in tap.frames if (seq := _echo_request_seq(f)) is not None)
    expected = [seq for seq in range(first, first + 8) if seq % 2]
    ctx.expect(
        seen == expected and dropped >= 4,
        f"sent tagged echo requests {first}-{first + 3} (one tag) and {first + 4}-{first + 7}"
        f" (two tags); past XDP came {seen or 'none'} and {dropped} were dropped; expected"
        f" {expected} to pass and the even ones to be dropped",
    )
    return ctx.passed(
        f"tagged requests (one and two tags): {expected} passed, {dropped} even ones dropped"
    )


def check_ipv4(ctx: CheckContext) -> CheckResult:
    ctx.lab(legacy_ip=True)
    ctx.load(PROGRAM)
    pings = _ping(ctx, family=4)
    ctx.expect(
        pings.answered == pings.odd,
        f"IPv4 echo requests {pings.first}..{pings.seqs[-1]} answered:"
        f" {pings.answered or 'none'}; expected exactly the odd ones {pings.odd}",
    )
    return ctx.passed(f"IPv4: answered {pings.odd}, dropped {pings.dropped} even requests")
