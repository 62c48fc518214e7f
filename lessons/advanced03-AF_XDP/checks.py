"""Checks for advanced03-AF_XDP.

User space here is xdp-tui's own AF_XDP socket (engine/afxdp.py), bound to
queue 0 of the private lab's outer end and put into slot 0 of the
program's xsks_map. A thread (XskPump) keeps every frame the socket
receives; for assignment 3 it also runs the learner's xdp_echo_reply on each
(BPF_PROG_TEST_RUN) and sends what comes back with XDP_TX through the TX
ring. What we judge: which frames reached user space, which pings were
answered (and by whom), and what went out through the TX ring. Sequence
numbers, ports and counts are new each run, so no constant passes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from testenv import packets
from xdp_tui.checks import ACTION_NAMES, CheckContext, CheckResult
from xdp_tui.engine import afxdp
from xdp_tui.errors import XdpTuiError

ALL = "xdp_sock_all"
SOME = "xdp_sock_some"
REPLY = "xdp_echo_reply"
XSKMAP = "xsks_map"
PING_TIMEOUT_S = 0.5  # requests user space keeps are never answered: don't wait long


def _socket(ctx: CheckContext) -> afxdp.XskSocket:
    """Our AF_XDP socket on the lab's queue 0, in the program's xsks_map (closed after the check)."""
    try:
        sock = afxdp.XskSocket(ctx.lab().outer, queue=0)
    except XdpTuiError as exc:
        ctx.fail_because("cannot open the AF_XDP socket", exc)
    ctx.defer(sock.close)
    sock.register(ctx.map_fd(XSKMAP))
    return sock


def _udp_port(frame: bytes) -> int | None:
    ports = packets.parse(frame).udp_ports
    return ports[1] if ports else None


def _request_seqs(frames: list[bytes]) -> list[int]:
    """Sequence numbers of the ICMPv6 echo requests among FRAMES."""
    seqs = []
    for frame in frames:
        echo = packets.parse(frame).echo()
        if echo is not None and echo[0] == packets.ICMPV6_ECHO_REQUEST:
            seqs.append(echo[2])
    return sorted(seqs)


def _verdicts(ctx: CheckContext, before: dict[str, dict[str, int]]) -> str:
    delta = ctx.stats_delta(before, ctx.stats())
    said = [f"{name} {v['packets']}" for name, v in delta.items() if v["packets"]]
    return ", ".join(said) or "none counted"


# ---- assignment 1 ----------------------------------------------------------------


def check_receive(ctx: CheckContext) -> CheckResult:
    ctx.load(ALL)
    sock = _socket(ctx)
    port = random.randint(1024, 60000)
    count = random.randint(40, 90)
    frames = [ctx.build_udp_frame(port, payload=b"advanced03 %d" % i) for i in range(count)]
    before = ctx.stats()
    with afxdp.XskPump(sock) as pump:
        ctx.send_frames(frames)
        pump.wait_for(count, timeout=3.0, match=lambda frame: _udp_port(frame) == port)
        got = pump.stop()
    ours = [frame for frame in got if _udp_port(frame) == port]
    verdicts = _verdicts(ctx, before)
    ctx.expect(
        len(ours) == count,
        f"sent {count} UDP frames to port {port}; user space received {len(ours)} of them"
        f" (the program's verdicts: {verdicts}). The socket sits in slot 0 of {XSKMAP},"
        " the RX queue the lab's frames arrive on",
    )
    ctx.expect(
        ours == frames,
        "user space received the right number of frames, but not the bytes that were sent",
    )
    counters = sock.counters()
    return ctx.passed(
        f"all {count} UDP frames to port {port} were counted in user space, byte for byte"
        f" (socket: {counters.rx_packets} received, {counters.rx_dropped} dropped)"
    )


# ---- assignment 2 ----------------------------------------------------------------


@dataclass(frozen=True)
class Split:
    """Echo requests FIRST..FIRST+COUNT-1: who got which."""

    seqs: list[int]
    to_user: list[int]  # seen by the AF_XDP socket
    answered: list[int]  # answered by the kernel
    udp_to_user: int
    udp_passed: int

    @property
    def lost(self) -> list[int]:
        return sorted(set(self.seqs) - set(self.to_user) - set(self.answered))

    @property
    def alternates(self) -> bool:
        """Exactly one of each consecutive pair went to user space."""
        mine = set(self.to_user)
        return all((seq in mine) != (seq + 1 in mine) for seq in self.seqs[:-1])


def _split(ctx: CheckContext, sock: afxdp.XskSocket, count: int, udp: int) -> Split:
    first = random.randint(100, 60000)
    port = random.randint(1024, 60000)
    frames = [ctx.build_udp_frame(port, payload=b"to the kernel %d" % i) for i in range(udp)]
    with ctx.tap() as tap, afxdp.XskPump(sock) as pump:
        result = ctx.ping(count=count, first_seq=first, interval=0.05, timeout=PING_TIMEOUT_S)
        ctx.send_frames(frames)
        tap.wait_for(udp, timeout=1.0)
        got = pump.stop()
    return Split(
        seqs=list(range(first, first + count)),
        to_user=_request_seqs(got),
        answered=result.answered_seqs,
        udp_to_user=sum(1 for frame in got if _udp_port(frame) == port),
        udp_passed=sum(1 for frame in tap.frames if _udp_port(frame) == port),
    )


def check_some(ctx: CheckContext) -> CheckResult:
    ctx.load(SOME)
    sock = _socket(ctx)
    count = random.choice((6, 8, 10))
    split = _split(ctx, sock, count, udp=4)
    said = (
        f"echo requests {split.seqs[0]}..{split.seqs[-1]}: user space got"
        f" {split.to_user or 'none'}, the kernel answered {split.answered or 'none'}"
    )
    ctx.expect(bool(split.to_user), f"{said}; every other one should reach user space")
    ctx.expect(not split.lost, f"{said}; {split.lost} went nowhere")
    ctx.expect(
        len(split.to_user) == count // 2 and split.alternates,
        f"{said}; expected every other one in each place (one to user space, the next to"
        " the kernel, and so on)",
    )
    ctx.expect(
        split.udp_to_user == 0 and split.udp_passed == 4,
        f"{split.udp_to_user} of 4 UDP frames went to user space and {split.udp_passed} reached"
        " the kernel; only echo requests should go to user space",
    )
    return ctx.passed(f"{said}; UDP reached the kernel")


# ---- assignment 3 ----------------------------------------------------------------


def _reply_program(ctx: CheckContext) -> afxdp.ProgramResponder:
    """xdp_echo_reply loaded (not attached), run by the pump on every frame received."""
    from xdp_tui.engine.testrun import TestRunner

    runner = TestRunner.open(ctx.obj, program=REPLY)  # a refusal fails with the located log
    ctx.defer(runner.close)
    return afxdp.ProgramResponder(runner.prog_fd)


def _action_names(verdicts: dict[int, int]) -> str:
    return ", ".join(
        f"{ACTION_NAMES[v] if v < len(ACTION_NAMES) else v} x{n}"
        for v, n in sorted(verdicts.items())
    )


def _what_differs(sent: bytes, request: bytes) -> str:
    """How a reply that went out differs from the right reply to REQUEST."""
    right = afxdp.icmpv6_echo_reply(request)
    if right is None:
        return "it answered a frame that is not an echo request"
    eth, ip6, icmp = 0, afxdp.ETH_HLEN, afxdp.ETH_HLEN + afxdp.IPV6_HLEN
    problems = []
    if sent[eth : eth + 12] != right[eth : eth + 12]:
        problems.append("the MAC addresses are not swapped")
    if sent[ip6 + 8 : ip6 + 40] != right[ip6 + 8 : ip6 + 40]:
        problems.append("the IPv6 addresses are not swapped")
    if len(sent) > icmp and sent[icmp] != afxdp.ICMPV6_ECHO_REPLY:
        problems.append(f"the ICMPv6 type is {sent[icmp]}, not {afxdp.ICMPV6_ECHO_REPLY}")
    if len(sent) >= icmp + 4 and sent[icmp + 2 : icmp + 4] != right[icmp + 2 : icmp + 4]:
        problems.append(
            f"the ICMPv6 checksum is 0x{sent[icmp + 2 : icmp + 4].hex()}, expected"
            f" 0x{right[icmp + 2 : icmp + 4].hex()}"
        )
    if not problems and sent != right:
        problems.append("other bytes than addresses, type and checksum changed")
    return "; ".join(problems) or "it looks right, yet ping did not take it"


def check_reply(ctx: CheckContext) -> CheckResult:
    ctx.load(ALL)
    sock = _socket(ctx)
    responder = _reply_program(ctx)
    first = random.randint(100, 60000)
    count = random.randint(3, 6)
    with afxdp.XskPump(sock, responder) as pump:
        result = ctx.ping(count=count, first_seq=first, interval=0.05, timeout=PING_TIMEOUT_S)
        pump.stop()
    seqs = list(range(first, first + count))
    seen = _request_seqs(pump.frames)
    ctx.expect(
        bool(seen),
        f"none of {count} echo requests reached user space: {ALL} must send them to the"
        " socket (assignment 1) before user space can answer them",
    )
    if not pump.sent:
        ctx.fail(
            f"user space received echo requests {seen} and ran {REPLY} on each; it returned"
            f" {_action_names(responder.verdicts)}, never XDP_TX, so nothing went out"
            " through the TX ring"
        )
    requests = [f for f in pump.frames if _request_seqs([f])]
    ctx.expect(
        result.answered_seqs == seen == seqs,
        f"{len(pump.sent)} replies left through the TX ring for requests {seen}, but ping"
        f" accepted {result.answered_seqs or 'none'}: {_what_differs(pump.sent[0], requests[0])}",
    )
    tx = sock.counters().tx_packets
    return ctx.passed(
        f"pings {seqs[0]}..{seqs[-1]} answered, exactly the {len(seen)} requests user space"
        f" saw; {tx} replies went out through the TX ring"
    )
