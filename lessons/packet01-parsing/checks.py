"""Checks for packet01-parsing.

The program under test is xdp_parser_func. What we can observe from outside:
which echo requests got an answer (ping from inside the lab), how the stats
map counted the verdicts, and which frames made it past XDP (a tap on the
outer interface). Echo sequence numbers start at 1, so "drop the even ones"
means the odd ones are answered.
"""

from __future__ import annotations

from testenv import packets, traffic
from xdp_tui.checks import CheckContext, CheckResult

PROGRAM = "xdp_parser_func"
PINGS = 6  # sequence numbers 1..6
EVEN = [seq for seq in range(1, PINGS + 1) if seq % 2 == 0]
ODD = [seq for seq in range(1, PINGS + 1) if seq % 2 == 1]
UDP_FRAMES = 5
UDP_PORT = 7777
VLAN_ID = 7
OUTER_VLAN_ID = 8  # the outer tag of the QinQ frames


def _verdicts(ctx: CheckContext, before: dict, after: dict) -> tuple[int, int]:
    """(dropped, passed) packets between two stats readings."""
    delta = ctx.stats_delta(before, after)
    return delta["XDP_DROP"]["packets"], delta["XDP_PASS"]["packets"]


def check_bounds(ctx: CheckContext) -> CheckResult:
    # A verifier refusal makes ctx.load raise: the check fails with the located log.
    ctx.load(PROGRAM)
    before = ctx.stats()
    result = ctx.ping(count=PINGS)
    dropped, _passed = _verdicts(ctx, before, ctx.stats())
    answered_even = [seq for seq in result.answered_seqs if seq % 2 == 0]
    ctx.expect(
        not answered_even and dropped >= len(EVEN),
        f"the program loads, but it dropped {dropped} packets and echo requests"
        f" {answered_even or 'none'} with even numbers were answered; after the Ethernet"
        " header it should still drop IPv6 echo requests",
    )
    return ctx.passed(
        f"the verifier accepts the program; {dropped} of {PINGS} IPv6 echo requests dropped"
    )


def check_ipv6(ctx: CheckContext) -> CheckResult:
    ctx.load(PROGRAM)
    before = ctx.stats()
    with ctx.tap() as tap:
        frames = [
            ctx.build_udp_frame(UDP_PORT, payload=b"packet01 %d" % i) for i in range(UDP_FRAMES)
        ]
        ctx.send_frames(frames)
        tap.wait_for(UDP_FRAMES)
    udp_seen = sum(1 for f in tap.frames if _udp_port(f) == UDP_PORT)
    middle = ctx.stats()
    result = ctx.ping(count=PINGS)
    dropped, _ = _verdicts(ctx, middle, ctx.stats())
    udp_dropped, _ = _verdicts(ctx, before, middle)
    ctx.expect(
        udp_seen == UDP_FRAMES,
        f"{UDP_FRAMES} UDP/IPv6 datagrams were sent, {udp_seen} got past XDP"
        f" ({udp_dropped} dropped); only ICMPv6 should be dropped now",
    )
    answered_even = [seq for seq in result.answered_seqs if seq % 2 == 0]
    ctx.expect(
        dropped >= len(EVEN) and not answered_even,
        f"UDP passes, but only {dropped} of {PINGS} ICMPv6 echo requests were dropped"
        f" (answered: {result.answered_seqs}); parse_ip6hdr must return the next header"
        " so that ICMPv6 is still dropped",
    )
    return ctx.passed(
        f"all {UDP_FRAMES} UDP datagrams passed; {dropped} of {PINGS} ICMPv6 echo requests dropped"
    )


def check_icmpv6_seq(ctx: CheckContext) -> CheckResult:
    ctx.load(PROGRAM)
    before = ctx.stats()
    result = ctx.ping(count=PINGS)
    dropped, passed = _verdicts(ctx, before, ctx.stats())
    ctx.expect(
        result.answered_seqs == ODD,
        f"answered echo requests: {result.answered_seqs or 'none'}; expected exactly the"
        f" odd ones {ODD}",
    )
    ctx.expect(
        dropped >= len(EVEN) and passed >= len(ODD),
        f"the stats map counted {dropped} drops and {passed} passes; expected at least"
        f" {len(EVEN)} of each (is every verdict recorded?)",
    )
    _expect_truncated_echo_passes(ctx)
    return ctx.passed(f"answered {ODD}, dropped {EVEN}; stats: {dropped} drop, {passed} pass")


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


def _tagged_echo_frames(ctx: CheckContext) -> list[bytes]:
    """Echo requests 1..4 with one 802.1Q tag, 5..8 with two tags (802.1AD outside)."""
    lab = ctx.lab()
    single = [traffic.build_echo_frame(lab, seq, vlan=VLAN_ID) for seq in range(1, 5)]
    double = [
        packets.insert_vlan_tag(
            traffic.build_echo_frame(lab, seq, vlan=VLAN_ID), OUTER_VLAN_ID, packets.ETH_P_8021AD
        )
        for seq in range(5, 9)
    ]
    return single + double


def check_vlan(ctx: CheckContext) -> CheckResult:
    # No VLAN devices in this kernel: nobody answers tagged pings, so we judge
    # by the verdicts and by which tagged requests got past XDP.
    ctx.load(PROGRAM)
    frames = _tagged_echo_frames(ctx)
    before = ctx.stats()
    with ctx.tap() as tap:
        ctx.send_frames(frames)
        tap.wait_for(len(frames) // 2)
    dropped, _ = _verdicts(ctx, before, ctx.stats())
    seen = sorted(seq for f in tap.frames if (seq := _echo_request_seq(f)) is not None)
    expected = [1, 3, 5, 7]
    ctx.expect(
        seen == expected and dropped >= 4,
        f"sent tagged echo requests 1-4 (one tag) and 5-8 (two tags); past XDP came"
        f" {seen or 'none'} and {dropped} were dropped; expected {expected} to pass and the"
        " even ones to be dropped",
    )
    return ctx.passed(
        f"tagged requests (one and two tags): {expected} passed, {dropped} even ones dropped"
    )


def check_ipv4(ctx: CheckContext) -> CheckResult:
    ctx.lab(legacy_ip=True)
    ctx.load(PROGRAM)
    before = ctx.stats()
    result = ctx.ping(count=PINGS, family=4)
    dropped, _ = _verdicts(ctx, before, ctx.stats())
    ctx.expect(
        result.answered_seqs == ODD,
        f"IPv4 echo requests answered: {result.answered_seqs or 'none'}; expected exactly"
        f" the odd ones {ODD}",
    )
    return ctx.passed(f"IPv4: answered {ODD}, dropped {dropped} even requests")
