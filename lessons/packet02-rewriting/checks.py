"""Checks for packet02-rewriting.

A rewrite is judged by what comes out of XDP: a UDP socket in the root
namespace that only hears port P-1 (so the checksum must be right, or the
kernel throws the datagram away), and a tap on the lab's outer interface
that shows the frames after XDP, VLAN tags included.
"""

from __future__ import annotations

import contextlib
import random
import select
import socket
from collections.abc import Iterator

from testenv import packets, traffic
from xdp_tui.checks import CheckContext, CheckResult

PUSHED_VLAN_ID = 1  # what xdp_vlan_swap_func puts on untagged frames
PINGS = 3
RECEIVE_TIMEOUT_S = 1.0


@contextlib.contextmanager
def _udp_listener(address: str, port: int) -> Iterator[socket.socket]:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        sock.bind((address, port))
        yield sock
    finally:
        sock.close()


def _received(sock: socket.socket, first_wait: float) -> list[bytes]:
    """Every datagram that arrives within FIRST_WAIT and then until the line is quiet."""
    got: list[bytes] = []
    while select.select([sock], [], [], first_wait if not got else 0.05)[0]:
        got.append(sock.recv(65535))
    return got


def _without_udp_checksum(frame: bytes) -> bytes:
    """An IPv4 UDP frame whose sender computed no checksum (the field is 0)."""
    offset = packets.ETH_HLEN + (frame[packets.ETH_HLEN] & 0x0F) * 4 + 6
    return frame[:offset] + b"\0\0" + frame[offset + 2 :]


def _pick_port() -> int:
    """The port traffic goes to (the rewrite must deliver it to one below), new each run
    so no fixed number passes; below the ephemeral range, so nothing else holds it."""
    return random.randint(2000, 30000)


def _udp_through(
    ctx: CheckContext, family: int, port: int, *, zero_checksum: bool = False
) -> tuple[list[bytes], list[bytes], bytes]:
    """Send one datagram to PORT; what (PORT - 1, PORT) heard, and the payload sent."""
    lab = ctx.lab()
    address = lab.outer_ipv6 if family == 6 else lab.outer_ipv4
    payload = b"xdp-tui packet02 IPv%d%s" % (family, b" no checksum" if zero_checksum else b"")
    frame = ctx.build_udp_frame(port, payload=payload, family=family)
    if zero_checksum:
        frame = _without_udp_checksum(frame)
    with _udp_listener(address, port - 1) as lowered, _udp_listener(address, port) as original:
        ctx.send_frames([frame])
        # By the time the first wait ends, a datagram for PORT has arrived too if at all.
        return _received(lowered, RECEIVE_TIMEOUT_S), _received(original, 0.05), payload


def _check_udp(ctx: CheckContext, family: int, port: int, *, zero_checksum: bool = False) -> None:
    lowered, original, payload = _udp_through(ctx, family, port, zero_checksum=zero_checksum)
    what = f"IPv{family} UDP datagram" + (" without a checksum (0)" if zero_checksum else "")
    if payload in lowered:
        return
    if payload in original:
        ctx.fail(f"the {what} to port {port} still arrived on port {port}")
    if zero_checksum:
        ctx.fail(
            f"the {what} sent to port {port} arrived on neither {port - 1} nor {port}:"
            " an IPv4 UDP checksum of 0 means 'none'; leave it 0 instead of updating it"
        )
    ctx.fail(
        f"the {what} sent to port {port} arrived on neither {port - 1} nor"
        f" {port}: the kernel drops datagrams whose checksum is wrong; fix udp->check"
        " with csum_replace2() after changing the port"
    )


def _tcp_frames(ctx: CheckContext, port: int) -> list[packets.ParsedFrame]:
    frame = traffic.build_tcp_syn_frame(ctx.lab(), port)
    with ctx.tap() as tap:
        ctx.send_frames([frame])
        tap.wait_for(1)
    parsed = [packets.parse(f) for f in tap.frames]
    return [p for p in parsed if p.proto == packets.IPPROTO_TCP]


def _tcp_checksum_ok(frame: packets.ParsedFrame) -> bool:
    # Summed over a segment that includes a correct checksum, the result is 0.
    assert frame.src is not None and frame.dst is not None
    src, dst = packets.ip_bytes(frame.src), packets.ip_bytes(frame.dst)
    return packets.l4_checksum(src, dst, packets.IPPROTO_TCP, frame.l4) == 0


def check_port_rewrite(ctx: CheckContext) -> CheckResult:
    ctx.lab(legacy_ip=True)
    ctx.load("xdp_port_rewrite_func")
    port = _pick_port()
    _check_udp(ctx, 6, port)
    _check_udp(ctx, 4, port)
    _check_udp(ctx, 4, port, zero_checksum=True)
    tcp = _tcp_frames(ctx, port)
    ctx.expect(bool(tcp), "the TCP SYN sent to the lab's outer address never got past XDP")
    dport = tcp[0].udp_ports[1] if tcp[0].udp_ports else None
    ctx.expect(
        dport == port - 1,
        f"a TCP SYN sent to port {port} left XDP with destination port {dport};"
        f" expected {port - 1}",
    )
    ctx.expect(
        _tcp_checksum_ok(tcp[0]),
        "the TCP destination port is right but the TCP checksum is not: fix tcph->check",
    )
    return ctx.passed(
        f"UDP (IPv6, IPv4, IPv4 without checksum) to port {port} was received on {port - 1};"
        " the TCP SYN left XDP"
        f" for port {port - 1} with a valid checksum"
    )


def _echo_requests(frames: list[bytes]) -> list[packets.ParsedFrame]:
    parsed = [packets.parse(f) for f in frames]
    return [p for p in parsed if (e := p.echo()) and e[0] == packets.ICMPV6_ECHO_REQUEST]


def check_vlan_pop(ctx: CheckContext) -> CheckResult:
    ctx.load("xdp_vlan_swap_func")
    vlan_id = random.randint(2, 4094)  # any id must be taken off, not one we always use
    with ctx.tap() as tap:
        result = ctx.ping(count=PINGS, vlan=vlan_id, timeout=0.5)
    requests = _echo_requests(tap.frames)
    still_tagged = [p.vlans for p in requests if p.vlans]
    ctx.expect(
        bool(requests) and not still_tagged,
        f"sent {PINGS} echo requests tagged with VLAN {vlan_id}; after XDP"
        f" {len(still_tagged)} of {len(requests)} still carried tags {still_tagged[:3]}",
    )
    ctx.expect(
        result.received == PINGS,
        f"the tags are gone, but only {result.received} of {PINGS} pings were answered;"
        " is the EtherType after the pop the inner one (IPv6)?",
    )
    return ctx.passed(
        f"{len(requests)} tagged echo requests left XDP untagged; {result.received} answered"
    )


def check_vlan_push(ctx: CheckContext) -> CheckResult:
    ctx.load("xdp_vlan_swap_func")
    with ctx.tap() as tap:
        ctx.ping(count=PINGS, timeout=0.3)  # tagged now: nobody will answer
    requests = _echo_requests(tap.frames)
    tags = [p.vlans for p in requests]
    ctx.expect(
        bool(requests) and all(t == [PUSHED_VLAN_ID] for t in tags),
        f"sent {PINGS} untagged echo requests; after XDP they carried VLAN tags"
        f" {tags or 'none (no request got through)'}; expected each to carry"
        f" [{PUSHED_VLAN_ID}]",
    )
    return ctx.passed(f"{len(requests)} untagged echo requests left XDP with VLAN id 1")
