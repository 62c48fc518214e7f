"""AF_XDP sockets in pure Python: raw socket, UMEM, four mmap'ed rings.

An XDP program sends a frame to user space with
`bpf_redirect_map(&xsks_map, ctx->rx_queue_index, XDP_PASS)`: the kernel
copies it into a frame of our UMEM (a memory area we registered) and puts
a descriptor on our RX ring. Sending goes the other way through the TX
ring. Four single-producer single-consumer rings connect us and the kernel:

    FILL        we produce free UMEM addresses, the kernel consumes them for RX
    RX          the kernel produces (addr, len) of received frames, we consume
    TX          we produce (addr, len) of frames to send, the kernel consumes
    COMPLETION  the kernel produces the addresses of frames it has sent

Each ring is a shared mapping: a producer index, a consumer index (both
free-running u32 counters at offsets the kernel tells us through
XDP_MMAP_OFFSETS) and a power-of-two array of descriptors indexed by
`counter & (size - 1)`.

Memory ordering: the kernel pairs its ring updates with barriers. A producer
must write the descriptors *before* publishing the new producer index, and a
consumer must read the producer index *before* the descriptors it covers
(libxdp: smp_wmb / smp_rmb, release/acquire). On x86-64 (TSO) stores are not
reordered with stores nor loads with loads, so those barriers are compiler
barriers only; here every access is a separate call into C (struct
pack/unpack on the mmap) that no compiler reorders, which gives the same
order. A weakly ordered CPU (arm64) would need real fences: see
`_require_tso()`.

We bind in copy mode (XDP_COPY): veth and most lab interfaces have no
zero-copy support, and copy mode works on every driver and in generic XDP.
A socket serves ONE queue of ONE interface; a veth has one RX queue (0)
unless it was created with more, in which case steer with
`ethtool -L <dev> combined 1` or bind one socket per queue.

No Textual here: the TUI and lesson checks use `XskSocket` (and
`XskPump`, a thread that receives and answers) through the engine.
"""

from __future__ import annotations

import contextlib
import ctypes as C
import errno
import mmap
import os
import platform
import select
import socket
import struct
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from xdp_tui.engine.closable import Closable
from xdp_tui.errors import XdpTuiError

# ---- constants from <linux/if_xdp.h> and <bits/socket.h> --------------------------

AF_XDP = 44
SOL_XDP = 283

XDP_SHARED_UMEM = 1 << 0
XDP_COPY = 1 << 1
XDP_ZEROCOPY = 1 << 2
XDP_USE_NEED_WAKEUP = 1 << 3

XDP_MMAP_OFFSETS = 1
XDP_RX_RING = 2
XDP_TX_RING = 3
XDP_UMEM_REG = 4
XDP_UMEM_FILL_RING = 5
XDP_UMEM_COMPLETION_RING = 6
XDP_STATISTICS = 7

XDP_PGOFF_RX_RING = 0
XDP_PGOFF_TX_RING = 0x80000000
XDP_UMEM_PGOFF_FILL_RING = 0x100000000
XDP_UMEM_PGOFF_COMPLETION_RING = 0x180000000

# struct sockaddr_xdp { u16 family; u16 flags; u32 ifindex; u32 queue_id; u32 shared_umem_fd; }
SOCKADDR_XDP = struct.Struct("=HHIII")
# struct xdp_umem_reg { u64 addr; u64 len; u32 chunk_size; u32 headroom; u32 flags;
#                       u32 tx_metadata_len (6.8+; the padding of older headers) }
UMEM_REG = struct.Struct("=QQIIII")
# struct xdp_ring_offset { u64 producer, consumer, desc, flags; } x4 (rx, tx, fill, completion)
RING_OFFSET = struct.Struct("=QQQQ")
MMAP_OFFSETS_SIZE = 4 * RING_OFFSET.size
# struct xdp_desc { u64 addr; u32 len; u32 options; }
XDP_DESC = struct.Struct("=QII")
UMEM_ADDR = struct.Struct("=Q")  # fill and completion descriptors are bare addresses
# struct xdp_statistics: six u64 counters
XDP_STATS = struct.Struct("=6Q")
U32 = struct.Struct("=I")

DEFAULT_FRAME_SIZE = 2048  # aligned mode: a power of two from 2048 to the page size
DEFAULT_FRAMES = 1024  # half for receiving (fill ring), half for sending
DEFAULT_RING_SIZE = 512  # descriptors per ring, a power of two

_libc = C.CDLL(None, use_errno=True)
_libc.bind.argtypes = [C.c_int, C.c_char_p, C.c_uint32]
_libc.bind.restype = C.c_int


@dataclass(frozen=True)
class XskCounters:
    """What one socket moved, from user space's side, plus the kernel's drop counters."""

    rx_packets: int
    rx_bytes: int
    tx_packets: int
    tx_bytes: int
    rx_dropped: int = 0  # XDP_STATISTICS: the kernel's view
    rx_ring_full: int = 0
    rx_fill_ring_empty: int = 0


@dataclass(frozen=True)
class XskRates:
    """Packets per second in each direction between two readings of one socket."""

    rx_pps: float
    tx_pps: float
    rx_packets: int
    tx_packets: int


def rates_between(before: XskCounters, after: XskCounters, seconds: float) -> XskRates:
    span = max(seconds, 1e-9)
    return XskRates(
        rx_pps=(after.rx_packets - before.rx_packets) / span,
        tx_pps=(after.tx_packets - before.tx_packets) / span,
        rx_packets=after.rx_packets,
        tx_packets=after.tx_packets,
    )


def _require_tso() -> None:
    """Our ring accesses rely on x86's store and load ordering (see the module notes)."""
    if platform.machine() not in ("x86_64", "AMD64", "i686", "i386"):
        raise XdpTuiError(
            f"AF_XDP rings from Python need a TSO CPU (x86); this is {platform.machine()}",
            hint="use libxdp's xsk API from C on weakly ordered CPUs",
        )


class _Ring:
    """One mmap'ed ring: producer and consumer indexes and a descriptor array."""

    def __init__(
        self,
        fd: int,
        size: int,
        offsets: tuple[int, int, int, int],
        pgoff: int,
        desc: struct.Struct,
    ) -> None:
        producer, consumer, desc_off, flags = offsets
        self.size = size
        self.mask = size - 1
        self.desc = desc
        self.producer_off, self.consumer_off, self.desc_off = producer, consumer, desc_off
        self.flags_off = flags
        length = desc_off + size * desc.size
        try:
            self.map = mmap.mmap(
                fd,
                length,
                flags=mmap.MAP_SHARED | getattr(mmap, "MAP_POPULATE", 0),
                prot=mmap.PROT_READ | mmap.PROT_WRITE,
                offset=pgoff,
            )
        except OSError as exc:
            raise XdpTuiError(f"mapping an AF_XDP ring: {exc.strerror}") from exc

    # Index reads and writes are single aligned u32 accesses (atomic on x86).
    @property
    def producer(self) -> int:
        return int(U32.unpack_from(self.map, self.producer_off)[0])

    @producer.setter
    def producer(self, value: int) -> None:
        U32.pack_into(self.map, self.producer_off, value & 0xFFFFFFFF)

    @property
    def consumer(self) -> int:
        return int(U32.unpack_from(self.map, self.consumer_off)[0])

    @consumer.setter
    def consumer(self, value: int) -> None:
        U32.pack_into(self.map, self.consumer_off, value & 0xFFFFFFFF)

    def slot(self, index: int) -> int:
        return self.desc_off + (index & self.mask) * self.desc.size

    def close(self) -> None:
        with contextlib.suppress(BufferError, ValueError):
            self.map.close()


class _ProducerRing(_Ring):
    """A ring we fill (FILL, TX): write descriptors, then publish the producer index."""

    def free(self) -> int:
        # Indexes are free-running u32s: their difference modulo 2**32 is the fill level.
        return self.size - ((self.producer - self.consumer) & 0xFFFFFFFF)

    def produce(self, items: Sequence[tuple[int, ...]]) -> int:
        count = min(len(items), self.free())
        start = self.producer
        for i in range(count):
            self.desc.pack_into(self.map, self.slot(start + i), *items[i])
        # Release: descriptors are written before the index that hands them over.
        self.producer = start + count
        return count


class _ConsumerRing(_Ring):
    """A ring the kernel fills (RX, COMPLETION): read the producer index, then descriptors."""

    def consume(self, limit: int) -> list[tuple[int, ...]]:
        start = self.consumer
        # Acquire: the producer index is read before the descriptors it covers.
        ready = (self.producer - start) & 0xFFFFFFFF
        count = min(ready, limit)
        items = [self.desc.unpack_from(self.map, self.slot(start + i)) for i in range(count)]
        # Release: we have copied the descriptors before the kernel may overwrite them.
        self.consumer = start + count
        return items


class XskSocket(Closable):
    """An AF_XDP socket bound to queue QUEUE of interface IFNAME (copy mode).

    Frames 0..frames/2-1 of the UMEM are for receiving (they cycle through
    the fill and RX rings), the rest for sending (TX, then back from the
    completion ring). Use `register(xskmap_fd)` to let an XDP program
    redirect to it, `receive()` and `send()` to move frames, `close()`
    (or `with`) to let everything go.
    """

    def __init__(
        self,
        ifname: str,
        queue: int = 0,
        *,
        frames: int = DEFAULT_FRAMES,
        frame_size: int = DEFAULT_FRAME_SIZE,
        ring_size: int = DEFAULT_RING_SIZE,
    ) -> None:
        _require_tso()
        if ring_size & (ring_size - 1) or frames < 2 * ring_size:
            raise XdpTuiError(
                f"AF_XDP: ring size {ring_size} must be a power of two and frames ({frames})"
                " at least twice as many"
            )
        self.ifname, self.queue = ifname, queue
        try:
            self.ifindex = socket.if_nametoindex(ifname)
        except OSError as exc:
            raise XdpTuiError(f"no interface {ifname!r}", location=ifname) from exc
        self.frame_size, self.frames = frame_size, frames
        self._lock = threading.Lock()  # send() may be called from another thread than receive()
        self._rx_packets = self._rx_bytes = self._tx_packets = self._tx_bytes = 0
        self._sock = open_xdp_socket()
        self._umem: mmap.mmap | None = None
        self._rings: list[_Ring] = []
        try:
            self._setup(ring_size)
        except BaseException:
            self.close()
            raise

    # ---- set-up ----------------------------------------------------------------

    def _setup(self, ring_size: int) -> None:
        sock = self._sock
        self._umem = mmap.mmap(-1, self.frames * self.frame_size)  # anonymous, page aligned
        addr = C.addressof(C.c_char.from_buffer(self._umem))
        reg = UMEM_REG.pack(addr, len(self._umem), self.frame_size, 0, 0, 0)
        _setsockopt(sock, XDP_UMEM_REG, reg, "registering the UMEM")
        for option, what in (
            (XDP_UMEM_FILL_RING, "the fill ring"),
            (XDP_UMEM_COMPLETION_RING, "the completion ring"),
            (XDP_RX_RING, "the RX ring"),
            (XDP_TX_RING, "the TX ring"),
        ):
            _setsockopt(sock, option, U32.pack(ring_size), f"sizing {what}")
        raw = sock.getsockopt(SOL_XDP, XDP_MMAP_OFFSETS, MMAP_OFFSETS_SIZE)
        rx, tx, fill, comp = (RING_OFFSET.unpack_from(raw, i * RING_OFFSET.size) for i in range(4))
        fd = sock.fileno()
        self._rx = _ConsumerRing(fd, ring_size, rx, XDP_PGOFF_RX_RING, XDP_DESC)
        self._tx = _ProducerRing(fd, ring_size, tx, XDP_PGOFF_TX_RING, XDP_DESC)
        self._fill = _ProducerRing(fd, ring_size, fill, XDP_UMEM_PGOFF_FILL_RING, UMEM_ADDR)
        self._comp = _ConsumerRing(fd, ring_size, comp, XDP_UMEM_PGOFF_COMPLETION_RING, UMEM_ADDR)
        self._rings = [self._rx, self._tx, self._fill, self._comp]
        half = self.frames // 2
        # Give the kernel frames to receive into before it may need them.
        self._fill.produce([(i * self.frame_size,) for i in range(min(half, ring_size))])
        self._spare_rx = [i * self.frame_size for i in range(min(half, ring_size), half)]
        self._free_tx = [i * self.frame_size for i in range(half, self.frames)]
        self._bind()

    def _bind(self) -> None:
        address = SOCKADDR_XDP.pack(AF_XDP, XDP_COPY, self.ifindex, self.queue, 0)
        if _libc.bind(self._sock.fileno(), address, len(address)) != 0:
            err = C.get_errno()
            hint = None
            if err == errno.EINVAL:
                hint = f"does {self.ifname} have a queue {self.queue}? (ls /sys/class/net/{self.ifname}/queues)"
            elif err == errno.EBUSY:
                hint = f"another AF_XDP socket is bound to {self.ifname} queue {self.queue}"
            raise XdpTuiError(
                f"binding an AF_XDP socket to {self.ifname} queue {self.queue}: {os.strerror(err)}",
                location=self.ifname,
                hint=hint,
            )

    def register(self, xskmap_fd: int, key: int | None = None) -> None:
        """Put this socket into an XSKMAP at KEY (default: our queue), where the program looks."""
        from xdp_tui.engine import bpfsys

        slot = self.queue if key is None else key
        bpfsys.update(xskmap_fd, U32.pack(slot), U32.pack(self.fileno()))

    # ---- moving frames -----------------------------------------------------------

    def fileno(self) -> int:
        return self._sock.fileno()

    def receive(self, timeout: float = 0.0, limit: int = 64) -> list[bytes]:
        """Frames the kernel put on the RX ring (waiting up to TIMEOUT seconds for the first)."""
        items = self._rx.consume(limit)
        if not items and timeout > 0:
            poller = select.poll()
            poller.register(self.fileno(), select.POLLIN)
            poller.poll(int(timeout * 1000))
            items = self._rx.consume(limit)
        assert self._umem is not None
        frames = [bytes(self._umem[addr : addr + length]) for addr, length, _options in items]
        with self._lock:
            self._rx_packets += len(frames)
            self._rx_bytes += sum(len(f) for f in frames)
        # The copies are ours: hand the UMEM frames back for the next arrivals.
        self._spare_rx.extend(addr for addr, _length, _options in items)
        taken = self._fill.produce([(addr,) for addr in self._spare_rx])
        del self._spare_rx[:taken]
        return frames

    def send(self, frames: list[bytes]) -> int:
        """Queue FRAMES on the TX ring and kick the kernel; how many it accepted."""
        too_big = next((len(f) for f in frames if len(f) > self.frame_size), None)
        if too_big is not None:  # before any UMEM frame is taken
            raise XdpTuiError(
                f"AF_XDP: a {too_big}-byte frame does not fit a {self.frame_size}-byte UMEM frame"
            )
        with self._lock:
            self._reap_completions()
            count = min(len(frames), len(self._free_tx))
            descs = []
            assert self._umem is not None
            for frame in frames[:count]:
                addr = self._free_tx.pop()
                self._umem[addr : addr + len(frame)] = frame
                descs.append((addr, len(frame), 0))
            queued = self._tx.produce(descs)
            self._free_tx.extend(addr for addr, _length, _opt in descs[queued:])
            self._kick()
            self._reap_completions()
            self._tx_packets += queued
            self._tx_bytes += sum(len(f) for f in frames[:queued])
        return queued

    def _kick(self) -> None:
        # Copy mode transmits inside sendto(): an empty, non-blocking send starts it.
        try:
            self._sock.send(b"", socket.MSG_DONTWAIT)
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EBUSY, errno.ENOBUFS, errno.ENETDOWN):
                raise XdpTuiError(f"AF_XDP transmit on {self.ifname}: {exc.strerror}") from exc

    def _reap_completions(self) -> None:
        self._free_tx.extend(addr for (addr,) in self._comp.consume(self._comp.size))

    def counters(self) -> XskCounters:
        raw = self._sock.getsockopt(SOL_XDP, XDP_STATISTICS, XDP_STATS.size)
        rx_dropped, _inv_rx, _inv_tx, ring_full, fill_empty, _tx_empty = XDP_STATS.unpack(raw)
        with self._lock:
            return XskCounters(
                self._rx_packets,
                self._rx_bytes,
                self._tx_packets,
                self._tx_bytes,
                rx_dropped,
                ring_full,
                fill_empty,
            )

    # ---- the end -----------------------------------------------------------------

    def close(self) -> None:
        """Unmap the rings, close the socket (the XSKMAP slot empties itself), free the UMEM."""
        for ring in self._rings:
            ring.close()
        self._rings = []
        self._sock.close()
        if self._umem is not None:
            with contextlib.suppress(BufferError):
                self._umem.close()
            self._umem = None


def open_xdp_socket() -> socket.socket:
    """A fresh AF_XDP socket; a clear error when the kernel has none (doctor uses this)."""
    try:
        return socket.socket(AF_XDP, socket.SOCK_RAW, 0)
    except OSError as exc:
        hint = (
            "this kernel was built without CONFIG_XDP_SOCKETS"
            if exc.errno in (errno.EAFNOSUPPORT, errno.EINVAL)
            else "run as root (AF_XDP needs CAP_NET_RAW)"
        )
        raise XdpTuiError(f"cannot open an AF_XDP socket: {exc.strerror}", hint=hint) from exc


def _setsockopt(sock: socket.socket, option: int, value: bytes, what: str) -> None:
    try:
        sock.setsockopt(SOL_XDP, option, value)
    except OSError as exc:
        raise XdpTuiError(f"AF_XDP: {what}: {exc.strerror}") from exc


# ---- a thread that receives, and answers what it is told to answer -------------------

Responder = Callable[[bytes], bytes | None]  # a received frame -> the frame to send back, or None


class XskPump:
    """Receive on SOCKET in a thread, keep what arrived, send what RESPONDER makes of it.

    `frames` holds the frames received and `sent` the answers sent (the first
    KEEP of each: memory stays bounded); `stop()` ends the thread and returns
    `frames`. RESPONDER runs for each frame in the thread; a failure ends the
    loop and is kept in `error` (raised by `stop()`).
    """

    def __init__(
        self, sock: XskSocket, responder: Responder | None = None, keep: int = 10000
    ) -> None:
        self.sock, self.responder, self.keep = sock, responder, keep
        self.frames: list[bytes] = []
        self.sent: list[bytes] = []
        self.error: XdpTuiError | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="xsk-pump", daemon=True)

    def start(self) -> XskPump:
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                for frame in self.sock.receive(timeout=0.05):
                    if len(self.frames) < self.keep:
                        self.frames.append(frame)
                    self._answer(frame)
        except XdpTuiError as exc:
            self.error = exc
        except Exception as exc:  # noqa: BLE001 - a thread's traceback would land on the TUI
            self.error = XdpTuiError(f"the AF_XDP receive loop stopped: {exc!r}")

    def _answer(self, frame: bytes) -> None:
        answer = self.responder(frame) if self.responder else None
        if answer is None or self.sock.send([answer]) != 1:
            return
        if len(self.sent) < self.keep:
            self.sent.append(answer)

    def wait_for(
        self, count: int, timeout: float = 2.0, match: Callable[[bytes], bool] | None = None
    ) -> int:
        """Wait until COUNT frames (that MATCH, when given) arrived, or TIMEOUT; how many did."""
        deadline = time.monotonic() + timeout
        seen = looked = 0
        while True:
            arrived = len(self.frames)  # only appended to: read each new frame once
            seen += sum(1 for f in self.frames[looked:arrived] if match is None or match(f))
            looked = arrived
            if seen >= count or time.monotonic() >= deadline or not self._thread.is_alive():
                return seen
            time.sleep(0.01)

    def stop(self) -> list[bytes]:
        self._stop.set()
        self._thread.join(timeout=2.0)
        if self.error is not None:
            raise self.error
        return list(self.frames)

    def __enter__(self) -> XskPump:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=2.0)


# ---- answering with an XDP program run from user space ----------------------------

XDP_ACTION_TX = 3


class ProgramResponder:
    """A Responder that runs an XDP program on each received frame (BPF_PROG_TEST_RUN).

    The program rewrites its copy of the frame in place; when it returns
    XDP_TX the rewritten frame is the answer, anything else means "none".
    So the per-frame logic of a user-space AF_XDP program can be written in
    restricted C (and checked by the verifier) while the rings stay here.
    `verdicts` counts what the program returned.
    """

    def __init__(self, prog_fd: int) -> None:
        self.prog_fd = prog_fd
        self.verdicts: dict[int, int] = {}

    def __call__(self, frame: bytes) -> bytes | None:
        from xdp_tui.engine.testrun import run_frame

        verdict, _ns, out = run_frame(self.prog_fd, frame)
        self.verdicts[verdict] = self.verdicts.get(verdict, 0) + 1
        return out if verdict == XDP_ACTION_TX else None


# ---- the workshop's socket for an attached program ------------------------------------

XSKMAP_NAME = "xsks_map"  # a program with a map of this name gets a socket in the TUI
REPLY_PROGRAM = "xdp_echo_reply"  # when the object has it, the socket answers with it


class XskService(Closable):
    """The socket the workshop opens for an attached program that has an `xsks_map`.

    Bound to queue 0 of DEV, put into slot 0, drained by a pump that keeps no
    frames (so memory stays flat) and answers with the object's
    `xdp_echo_reply` when it has one that loads. `rates()` gives the Live
    view its RX/TX line; `close()` ends it all (the map slot empties itself).
    """

    def __init__(self, sock: XskSocket, pump: XskPump, note: str = "") -> None:
        self.sock, self.pump, self.note = sock, pump, note
        self._closers: list[Callable[[], None]] = []
        self._last = (time.monotonic(), sock.counters())

    @classmethod
    def for_program(cls, dev: str, maps: dict[str, int], obj: Path | None) -> XskService | None:
        """A running service when MAPS has an XSKMAP named `xsks_map`, else None."""
        xskmap = maps.get(XSKMAP_NAME)
        if xskmap is None:
            return None
        sock = XskSocket(dev, queue=0)
        closers: list[Callable[[], None]] = []
        try:
            sock.register(int(xskmap))
            responder, note = _reply_from(obj, closers)
            service = cls(sock, XskPump(sock, responder, keep=0).start(), note)
        except BaseException:
            for close in closers:
                close()
            sock.close()
            raise
        service._closers = closers
        return service

    @property
    def answering(self) -> bool:
        return self.pump.responder is not None

    @property
    def problem(self) -> str:
        """Why the socket stopped receiving (its loop failed), or why it does not answer."""
        return self.pump.error.message if self.pump.error is not None else self.note

    def rates(self) -> XskRates:
        """Packets per second since the previous call, and the totals."""
        now, counters = time.monotonic(), self.sock.counters()
        then, before = self._last
        self._last = (now, counters)
        return rates_between(before, counters, now - then)

    def close(self) -> None:
        self.pump.__exit__()
        self.sock.close()
        for close in self._closers:
            close()
        self._closers = []


def _reply_from(
    obj: Path | None, closers: list[Callable[[], None]]
) -> tuple[Responder | None, str]:
    """(a responder running OBJ's xdp_echo_reply, "") or (None, why not) when it has none."""
    from xdp_tui.engine.libbpf import BpfObject
    from xdp_tui.engine.testrun import TestRunner

    if obj is None:
        return None, ""
    with BpfObject.open(obj) as listing:
        if REPLY_PROGRAM not in listing.xdp_programs:
            return None, ""
    try:
        runner = TestRunner.open(obj, program=REPLY_PROGRAM)
    except XdpTuiError as exc:
        return None, f"{REPLY_PROGRAM} did not load: {exc.message}"
    closers.append(runner.close)
    return ProgramResponder(runner.prog_fd), ""


# ---- answering ICMPv6 echo requests in Python (the reference for the lesson) --------

ETH_HLEN, IPV6_HLEN = 14, 40
ETH_P_IPV6 = 0x86DD
IPPROTO_ICMPV6 = 58
ICMPV6_ECHO_REQUEST, ICMPV6_ECHO_REPLY = 128, 129


def _fold(total: int) -> int:
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total


def icmpv6_echo_reply(frame: bytes) -> bytes | None:
    """The echo reply to an Ethernet/IPv6/ICMPv6 echo request, or None for anything else.

    Swap the MAC and IPv6 addresses, turn type 128 into 129 and patch the
    checksum incrementally (RFC 1624: only the type byte changed).
    """
    icmp = ETH_HLEN + IPV6_HLEN
    if len(frame) < icmp + 8 or struct.unpack_from("!H", frame, 12)[0] != ETH_P_IPV6:
        return None
    if frame[ETH_HLEN + 6] != IPPROTO_ICMPV6 or frame[icmp] != ICMPV6_ECHO_REQUEST:
        return None
    out = bytearray(frame)
    out[0:6], out[6:12] = frame[6:12], frame[0:6]
    src, dst = ETH_HLEN + 8, ETH_HLEN + 24
    out[src : src + 16], out[dst : dst + 16] = frame[dst : dst + 16], frame[src : src + 16]
    old_word = struct.unpack_from("!H", frame, icmp)[0]
    out[icmp] = ICMPV6_ECHO_REPLY
    new_word = struct.unpack_from("!H", out, icmp)[0]
    check = struct.unpack_from("!H", frame, icmp + 2)[0]
    # HC' = ~(~HC + ~m + m')
    patched = ~_fold((~check & 0xFFFF) + (~old_word & 0xFFFF) + new_word) & 0xFFFF
    struct.pack_into("!H", out, icmp + 2, patched)
    return bytes(out)
