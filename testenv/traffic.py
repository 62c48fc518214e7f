"""Traffic sent from inside a lab's namespace, and a tap on its outer end.

Everything is built in (no ping, no trafgen): raw ICMP sockets for echo
requests, AF_PACKET sockets on veth0 for crafted frames (UDP, TCP SYN,
802.1Q-tagged echo requests), and an AF_PACKET tap on the outer interface
that sees what XDP let through. Sockets are created inside the namespace
by a short-lived thread (see `netns_thread`) and then used from here.
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import itertools
import os
import select
import socket
import struct
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from testenv import live_frames, packets
from xdp_tui.errors import XdpTuiError
from xdp_tui.labs import Lab, netns_thread

SOL_PACKET = getattr(socket, "SOL_PACKET", 263)  # missing from Python 3.11's socket module
PACKET_AUXDATA = 8
SO_RCVBUFFORCE = 33  # not exported by the socket module
PACKET_QDISC_BYPASS = 20
PACKET_IGNORE_OUTGOING = 23
PACKET_OUTGOING = 4
ETH_P_ALL = 0x0003
TP_STATUS_VLAN_VALID = 1 << 4
TP_STATUS_VLAN_TPID_VALID = 1 << 6
_AUXDATA = struct.Struct("IIIHHHH")  # struct tpacket_auxdata

# How many frames the send loop pushes between two clock reads.
_BATCH = 256
# After ENOBUFS (the peer's XDP ring is full) give the receiver a moment.
_ENOBUFS_BACKOFF_S = 0.00005
# sendto() errors that mean "no way to that address": the request is lost, not a bug.
_UNREACHABLE_ERRNOS = frozenset({errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EADDRNOTAVAIL})


@dataclass
class PingResult:
    sent: int
    received: int
    answered_seqs: list[int]
    rtts_ms: list[float] = field(default_factory=list)
    dst: str = ""  # the address pinged
    frame_size: int = 0  # bytes of each request's Ethernet frame (no FCS)
    unreachable: str = ""  # why requests could not leave the namespace, if they could not

    @property
    def lost(self) -> int:
        return self.sent - self.received

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class StreamResult:
    sent: int
    pps: float
    duration_s: float
    enobufs: int = 0
    engine: str = "socket"  # "socket" (AF_PACKET) or "kernel" (XDP live frames)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# ---------------------------------------------------------------- sockets


def _family_check(lab: Lab, family: int) -> None:
    if family not in (4, 6):
        raise XdpTuiError(f"unknown IP family {family}", hint="use 6 (IPv6) or 4 (IPv4)")
    if family == 4 and not lab.legacy_ip:
        raise XdpTuiError(
            f"lab {lab.name} has no IPv4 addresses",
            location=f"lab {lab.name}",
            hint=f"rebuild it with IPv4: `xdp-tui env setup --legacy-ip --name {lab.name}`",
            tui_hint="from a shell, add IPv4 to the lab: "
            f"`xdp-tui env setup --legacy-ip --name {lab.name}`",
        )


def _addresses(lab: Lab, family: int) -> tuple[str, str]:
    """(source inside, destination outside) for the family."""
    if family == 6:
        return lab.inner_ipv6, lab.outer_ipv6
    return lab.inner_ipv4 or "", lab.outer_ipv4 or ""


def family_of(address: str) -> int:
    """6 or 4 for an IP address in text form; a located error for anything else."""
    try:
        return ipaddress.ip_address(address.strip()).version
    except (ValueError, AttributeError):
        raise XdpTuiError(
            f"{address!r} is not an IP address",
            location="ping destination",
            hint="give an IPv6 address such as fc00:dead:cafe:2::2 or an IPv4 one such as 10.11.2.2",
        ) from None


def _make_socket(family: int, kind: int, proto: int) -> socket.socket:
    return socket.socket(family, kind, proto)


def inner_socket(lab: Lab, family: int, kind: int, proto: int) -> socket.socket:
    """A socket living in the lab's namespace, usable from any thread."""
    return netns_thread(lab.netns, _make_socket, family, kind, proto)


def packet_socket(lab: Lab, *, receive: bool = False) -> socket.socket:
    """AF_PACKET socket on veth0 inside the namespace; send-only unless `receive`."""
    proto = ETH_P_ALL if receive else 0
    # socket() wants the protocol in network order; bind() converts it itself.
    sock = inner_socket(lab, socket.AF_PACKET, socket.SOCK_RAW, socket.htons(proto))
    try:
        sock.bind((lab.inner, proto))
    except OSError as exc:
        sock.close()
        raise _broken_lab(lab, exc) from None
    if receive:
        sock.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
    return sock


def _broken_lab(lab: Lab, exc: OSError) -> XdpTuiError:
    return XdpTuiError(
        f"lab {lab.name} is not usable: {exc.strerror or exc}",
        location=f"lab {lab.name}",
        hint=f"check `xdp-tui env status`; repair with `xdp-tui env reset --name {lab.name}`",
        tui_hint="press b or p: the TUI repairs its lab (the Lab tab, 5, shows what is wrong)",
    )


# ---------------------------------------------------------------- frames


def build_udp_frame(
    lab: Lab,
    port: int = 9,
    payload: bytes = b"",
    family: int = 6,
    vlan: int | None = None,
    *,
    sport: int = packets.SOURCE_PORT,
) -> bytes:
    """A UDP datagram from inside the lab to its outer address, as an Ethernet frame."""
    _family_check(lab, family)
    src, dst = _addresses(lab, family)
    segment = packets.udp_segment(src, dst, sport, port, payload)
    return packets.frame(lab.outer_mac, lab.inner_mac, src, dst, packets.IPPROTO_UDP, segment, vlan)


def build_tcp_syn_frame(
    lab: Lab, port: int = 80, family: int = 6, vlan: int | None = None, *, sport: int = 40000
) -> bytes:
    _family_check(lab, family)
    src, dst = _addresses(lab, family)
    segment = packets.tcp_syn_segment(src, dst, sport, port)
    return packets.frame(lab.outer_mac, lab.inner_mac, src, dst, packets.IPPROTO_TCP, segment, vlan)


def build_echo_frame(
    lab: Lab,
    seq: int,
    family: int = 6,
    vlan: int | None = None,
    *,
    ident: int = 0x7864,
    payload: bytes = packets.ECHO_PAYLOAD,
) -> bytes:
    """An echo request frame (118 bytes for IPv6, 98 for IPv4, plus 4 with a tag, with
    the default 56-byte payload)."""
    _family_check(lab, family)
    src, dst = _addresses(lab, family)
    segment = packets.icmp_echo(src, dst, ident, seq, payload)
    proto = packets.IPPROTO_ICMPV6 if family == 6 else packets.IPPROTO_ICMP
    return packets.frame(lab.outer_mac, lab.inner_mac, src, dst, proto, segment, vlan)


def _headers_len(family: int, vlan: int | None, l4: int) -> int:
    ip = packets.IPV6_HLEN if family == 6 else packets.IPV4_HLEN
    return packets.ETH_HLEN + (packets.VLAN_HLEN if vlan is not None else 0) + ip + l4


def _send_retrying(send: Callable[[bytes], int], data: bytes) -> int:
    """Send one frame, waiting out ENOBUFS; returns how many ENOBUFS it met."""
    misses = 0
    while True:
        try:
            send(data)
            return misses
        except OSError as exc:
            if exc.errno != errno.ENOBUFS:
                raise
            misses += 1
            time.sleep(_ENOBUFS_BACKOFF_S)


def send_frames(lab: Lab, frames: list[bytes]) -> int:
    """Send the frames in order from veth0 inside the lab; returns how many went out."""
    with packet_socket(lab) as sock:
        for data in frames:
            _send_retrying(sock.send, data)
    return len(frames)


# ---------------------------------------------------------------- streams


def udp_stream(
    lab: Lab,
    *,
    pps: float | None = None,
    duration: float | None = 1.0,
    count: int | None = None,
    port: int = 9,
    size: int = 64,
    family: int = 6,
    vlan: int | None = None,
    engine: str = "auto",
) -> StreamResult:
    """Send one UDP frame of `size` bytes (without FCS) over and over.

    With `count`, exactly that many frames go out (duration is ignored);
    otherwise the stream runs for `duration` seconds. `pps=None` is as fast
    as one core allows. `engine`: see `stream_frame`.
    """
    payload_len = max(0, size - _headers_len(family, vlan, packets.UDP_HLEN))
    data = build_udp_frame(lab, port, bytes(payload_len), family, vlan)
    return stream_frame(lab, data, pps=pps, duration=duration, count=count, engine=engine)


def udp_frames_of_sizes(
    lab: Lab,
    sizes: Sequence[int],
    count: int,
    *,
    port: int,
    family: int = 6,
    vlan: int | None = None,
) -> list[bytes]:
    """COUNT UDP frames to PORT whose lengths (without FCS) go through SIZES in turn."""
    headers = _headers_len(family, vlan, packets.UDP_HLEN)
    return [
        build_udp_frame(lab, port, bytes(max(0, size - headers)), family, vlan)
        for size in itertools.islice(itertools.cycle(sizes), count)
    ]


def tcp_syn_stream(
    lab: Lab,
    *,
    pps: float | None = None,
    duration: float | None = 1.0,
    count: int | None = None,
    port: int = 80,
    family: int = 6,
    vlan: int | None = None,
    engine: str = "auto",
) -> StreamResult:
    """Send TCP SYNs to `port` on the outer address (same rules as udp_stream)."""
    data = build_tcp_syn_frame(lab, port, family, vlan)
    return stream_frame(lab, data, pps=pps, duration=duration, count=count, engine=engine)


def stream_frame(
    lab: Lab,
    data: bytes,
    *,
    pps: float | None = None,
    duration: float | None = 1.0,
    count: int | None = None,
    engine: str = "auto",
) -> StreamResult:
    """Send `data` repeatedly from veth0 inside the lab.

    Two engines put the same frame on the same wire. "socket" sends each frame
    with an AF_PACKET send(): exact and back-pressured, ~0.4 Mpps on one core.
    "kernel" has the kernel repeat it (XDP live frames, see testenv.live_frames):
    several Mpps at full speed only, and only while the outer end runs native
    XDP. "auto" takes the kernel for full-speed streams when it can.
    """
    if count is None and duration is None:
        raise XdpTuiError("a stream needs a duration or a count")
    if pps is not None and pps <= 0:
        raise XdpTuiError(f"rate must be positive, not {pps}", hint="omit --pps for full speed")
    if engine not in ENGINES:
        raise XdpTuiError(f"unknown traffic engine {engine!r}", hint="use auto, kernel or socket")
    duration = None if count is not None else duration
    if _use_kernel(lab, engine, pps):
        with contextlib.suppress(live_frames.Unsupported):
            sent, seconds = live_frames.send(lab, data, duration, count)
            return StreamResult(sent, sent / seconds if seconds > 0 else 0.0, seconds, 0, "kernel")
        if engine == "kernel":
            raise XdpTuiError(
                "this kernel refused to send live XDP frames (Linux 5.18 or later needed)",
                hint="use --engine socket",
            )
    with packet_socket(lab) as sock:
        return _send_loop(sock, data, pps, duration, count)


ENGINES = ("auto", "kernel", "socket")


def _use_kernel(lab: Lab, engine: str, pps: float | None) -> bool:
    if engine == "socket" or (engine == "auto" and pps is not None):
        return False
    if pps is not None:
        raise XdpTuiError(
            "the kernel engine sends at full speed only", hint="drop --pps or use --engine socket"
        )
    if live_frames.ready(lab):
        return True
    if engine == "kernel":
        raise XdpTuiError(
            f"the kernel engine needs a native-mode XDP program on {lab.outer}",
            location=f"lab {lab.name}",
            hint="attach one (`xdp-tui load … --mode native`) or use --engine socket",
        )
    return False


def _send_loop(
    sock: socket.socket, data: bytes, pps: float | None, duration: float | None, count: int | None
) -> StreamResult:
    """The hot loop: bound methods in locals, the clock read once per batch."""
    send = sock.send
    clock = time.perf_counter
    limit = count if count is not None else 1 << 62
    sent = enobufs = 0
    start = clock()
    end = start + duration if duration is not None else float("inf")
    while sent < limit:
        now = clock()
        if now >= end:
            break
        batch = min(_BATCH, limit - sent)
        if pps is not None:
            due = int((now - start) * pps) + 1
            batch = min(batch, due - sent)
            if batch <= 0:
                time.sleep(min(0.001, (sent + 1) / pps - (now - start)))
                continue
        done = 0
        try:
            for done in range(batch):  # noqa: B007 - `done` counts sends when one fails
                send(data)
            done = batch
        except OSError as exc:
            if exc.errno != errno.ENOBUFS:
                raise
            enobufs += 1
            time.sleep(_ENOBUFS_BACKOFF_S)
        sent += done
    elapsed = clock() - start
    return StreamResult(sent, sent / elapsed if elapsed > 0 else 0.0, elapsed, enobufs)


# ---------------------------------------------------------------- ping


def ping(
    lab: Lab,
    count: int | None = 5,
    *,
    family: int = 6,
    interval: float = 0.1,
    timeout: float = 1.0,
    vlan: int | None = None,
    on_reply: Callable[[int, float], None] | None = None,
    dst: str | None = None,
    size: int | None = None,
    first_seq: int = 1,
) -> PingResult:
    """Echo requests from inside the lab to its outer address, sequence numbers 1..count.

    With `dst`, they go to that address instead: anything the namespace
    has a route to (every lab's prefix goes out through the outer end), and
    `family` follows the address. A destination with no route counts as
    unanswered requests, with the reason in `unreachable`.

    Without `vlan` a raw ICMP(v6) socket in the namespace sends them and the
    kernel's own stack answers. With `vlan`, tagged frames go out on veth0;
    with no VLAN devices in this kernel, only an XDP program that removes
    the tag makes the outer side answer. Replies are matched by id and seq;
    `on_reply(seq, rtt_ms)` hears of each as it arrives. `count=None` pings
    until KeyboardInterrupt and then returns what happened so far.
    `size`: payload bytes of each request (default 56, like ping(8));
    `first_seq`: the first sequence number (then first_seq+1, ...).
    """
    if dst is not None:
        family = family_of(dst)
        dst = str(ipaddress.ip_address(dst.strip()))
        if vlan is not None:
            raise XdpTuiError(
                "tagged echo requests only go to the lab's own outer address",
                location="ping",
                hint="drop either the VLAN id or the destination",
            )
    _family_check(lab, family)
    if count is not None and count < 0:
        raise XdpTuiError(f"count must be 0 or more, not {count}")
    if not 0 <= first_seq <= 0xFFFF - (count or 0):
        raise XdpTuiError(f"sequence numbers from {first_seq} do not fit 16 bits", location="ping")
    payload = _echo_payload(size)
    ident = (os.getpid() ^ threading.get_ident()) & 0xFFFF
    if vlan is None:
        pinger: _Pinger = _SocketPinger(lab, family, ident, dst)
    else:
        pinger = _FramePinger(lab, family, ident, vlan)
    pinger.on_reply = on_reply
    pinger.payload = payload
    with pinger:
        result = pinger.run(count, interval, timeout, first_seq)
    result.dst = getattr(pinger, "dst", "") or _addresses(lab, family)[1]
    result.unreachable = getattr(pinger, "unreachable", "")
    result.frame_size = _headers_len(family, vlan, packets.ICMP_HLEN) + len(payload)
    return result


# An echo request must fit one frame of the lab's 1500-byte MTU.
MAX_ECHO_PAYLOAD = 1500 - packets.IPV6_HLEN - packets.ICMP_HLEN


def _echo_payload(size: int | None) -> bytes:
    if size is None:
        return packets.ECHO_PAYLOAD
    if not 0 <= size <= MAX_ECHO_PAYLOAD:
        raise XdpTuiError(
            f"a ping payload of {size} bytes does not fit one frame",
            location="ping",
            hint=f"use 0 to {MAX_ECHO_PAYLOAD} bytes",
        )
    return bytes(i & 0xFF for i in range(size))


class _Pinger:
    """Send requests and collect replies; subclasses say how."""

    def __init__(self, lab: Lab, family: int, ident: int) -> None:
        self.lab, self.family, self.ident = lab, family, ident
        self.sock: socket.socket | None = None
        self.on_reply: Callable[[int, float], None] | None = None
        self.payload = packets.ECHO_PAYLOAD

    def __enter__(self) -> _Pinger:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.sock is not None:
            self.sock.close()

    def send(self, seq: int) -> None:
        raise NotImplementedError

    def replies(self, data: bytes) -> int | None:
        """The sequence number if `data` answers one of our requests."""
        raise NotImplementedError

    def run(
        self, count: int | None, interval: float, timeout: float, first_seq: int = 1
    ) -> PingResult:
        sent_at: dict[int, float] = {}
        rtts: dict[int, float] = {}
        seqs = itertools.count(first_seq) if count is None else range(first_seq, first_seq + count)
        try:
            for number in seqs:
                seq = number & 0xFFFF  # an endless ping wraps, as ping(8) does
                sent_at.pop(seq, None)
                rtts.pop(seq, None)
                sent_at[seq] = time.perf_counter()
                self.send(seq)
                last = count is not None and number == first_seq + count - 1
                wait_until = sent_at[seq] + (timeout if last else interval)
                self._collect(sent_at, rtts, wait_until, stop_when_all=last)
        except KeyboardInterrupt:
            if count is not None:
                raise
        answered = sorted(rtts)
        return PingResult(
            sent=len(sent_at),
            received=len(answered),
            answered_seqs=answered,
            rtts_ms=[round(rtts[s] * 1000, 3) for s in answered],
        )

    def _collect(
        self, sent_at: dict[int, float], rtts: dict[int, float], until: float, stop_when_all: bool
    ) -> None:
        assert self.sock is not None
        while True:
            if stop_when_all and len(rtts) == len(sent_at):
                return
            left = until - time.perf_counter()
            if left <= 0:
                return
            ready, _, _ = select.select([self.sock], [], [], left)
            if not ready:
                return
            data = self.sock.recv(65535)
            seq = self.replies(data)
            if seq in sent_at and seq not in rtts:
                rtts[seq] = time.perf_counter() - sent_at[seq]
                if self.on_reply is not None:
                    self.on_reply(seq, round(rtts[seq] * 1000, 3))


class _SocketPinger(_Pinger):
    def __init__(self, lab: Lab, family: int, ident: int, dst: str | None = None) -> None:
        super().__init__(lab, family, ident)
        src, outer = _addresses(lab, family)
        self.dst = dst or outer
        self.unreachable = ""  # the kernel's reason, once a request found no route
        if family == 6:
            self.sock = inner_socket(lab, socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
        else:
            self.sock = inner_socket(lab, socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
        self.src = src

    def send(self, seq: int) -> None:
        assert self.sock is not None
        # ICMPv6 raw sockets get their checksum from the kernel; ours is right anyway.
        message = packets.icmp_echo(self.src, self.dst, self.ident, seq, self.payload)
        try:
            self.sock.sendto(message, (self.dst, 0))
        except OSError as exc:
            if exc.errno not in _UNREACHABLE_ERRNOS:
                raise
            self.unreachable = exc.strerror or str(exc)  # counted as sent, never answered

    def replies(self, data: bytes) -> int | None:
        if self.family == 4:  # IPv4 raw sockets hand us the IP header too
            data = data[(data[0] & 0x0F) * 4 :] if data else b""
        if len(data) < packets.ICMP_HLEN:
            return None
        kind, _code, _csum, ident, seq = struct.unpack("!BBHHH", data[: packets.ICMP_HLEN])
        reply = packets.ICMPV6_ECHO_REPLY if self.family == 6 else packets.ICMP_ECHO_REPLY
        return seq if (kind == reply and ident == self.ident) else None


class _FramePinger(_Pinger):
    def __init__(self, lab: Lab, family: int, ident: int, vlan: int) -> None:
        super().__init__(lab, family, ident)
        self.vlan = vlan
        self.sock = packet_socket(lab, receive=True)

    def send(self, seq: int) -> None:
        assert self.sock is not None
        data = build_echo_frame(
            self.lab, seq, self.family, self.vlan, ident=self.ident, payload=self.payload
        )
        _send_retrying(self.sock.send, data)

    def replies(self, data: bytes) -> int | None:
        echo = packets.parse(data).echo()  # tagged or not: whatever came back
        if echo is None:
            return None
        kind, ident, seq = echo
        reply = packets.ICMPV6_ECHO_REPLY if self.family == 6 else packets.ICMP_ECHO_REPLY
        return seq if (kind == reply and ident == self.ident) else None


# ---------------------------------------------------------------- tap


class Tap:
    """Capture frames arriving on the lab's outer interface, after XDP.

        with Tap(lab) as tap:
            send_frames(lab, [...])
        tap.frames  # bytes of each frame, VLAN tags restored as on the wire

    Only received frames count (not what the host sends back). `filter`
    keeps the frames for which it returns True; at most `limit` are kept,
    `count` says how many matched in all.
    """

    def __init__(
        self,
        lab: Lab,
        *,
        filter: Callable[[bytes], bool] | None = None,  # noqa: A002 - the natural name
        limit: int = 100_000,
        settle: float = 0.05,
    ) -> None:
        self.lab = lab
        self.filter = filter
        self.limit = limit
        self.settle = settle
        self.frames: list[bytes] = []
        self.count = 0
        self._sock: socket.socket | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Tap:
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        try:
            sock.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
            sock.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
            sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 16 << 20)
            sock.bind((self.lab.outer, ETH_P_ALL))  # bind() converts to network order
        except OSError as exc:
            sock.close()
            raise _broken_lab(self.lab, exc) from None
        self._sock = sock
        self._thread = threading.Thread(target=self._reader, name=f"tap-{self.lab.name}")
        self._thread.daemon = True
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        # Frames still crossing the veth need a moment to reach the socket.
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self._sock is not None:
            self._sock.close()

    def _reader(self) -> None:
        assert self._sock is not None
        sock = self._sock
        idle_since: float | None = None
        stopped_at: float | None = None
        while True:
            ready, _, _ = select.select([sock], [], [], 0.01)
            if ready:
                idle_since = None
                self._take(sock)
            if not self._stop.is_set():
                continue
            # Stopping: drain until the link stays idle for `settle` (at most 1 s more).
            now = time.monotonic()
            stopped_at = stopped_at or now
            if not ready:
                idle_since = idle_since or now
            if (idle_since and now - idle_since >= self.settle) or now - stopped_at > 1.0:
                return

    def _take(self, sock: socket.socket) -> None:
        data, ancdata, _flags, _addr = sock.recvmsg(65535, socket.CMSG_SPACE(_AUXDATA.size))
        for level, kind, payload in ancdata:
            if level == SOL_PACKET and kind == PACKET_AUXDATA and len(payload) >= _AUXDATA.size:
                status, _len, _snap, _mac, _net, tci, tpid = _AUXDATA.unpack_from(payload)
                if status & TP_STATUS_VLAN_VALID:
                    if not status & TP_STATUS_VLAN_TPID_VALID:
                        tpid = packets.ETH_P_8021Q
                    data = packets.insert_vlan_tag(data, tci, tpid)
        if self.filter is not None and not self.filter(data):
            return
        self.count += 1
        if len(self.frames) < self.limit:
            self.frames.append(data)

    def wait_for(self, n: int, timeout: float = 1.0) -> bool:
        """Wait until at least n frames matched (polls; for use inside the `with`)."""
        deadline = time.monotonic() + timeout
        while self.count < n and time.monotonic() < deadline:
            time.sleep(0.005)
        return self.count >= n


__all__ = [
    "PingResult",
    "StreamResult",
    "Tap",
    "build_echo_frame",
    "build_tcp_syn_frame",
    "build_udp_frame",
    "family_of",
    "inner_socket",
    "packet_socket",
    "ping",
    "send_frames",
    "stream_frame",
    "tcp_syn_stream",
    "udp_stream",
]
