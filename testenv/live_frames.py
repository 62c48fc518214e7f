"""Full-speed streams sent by the kernel itself: XDP "live frames" test runs.

`bpf(BPF_PROG_TEST_RUN)` with `BPF_F_TEST_XDP_LIVE_FRAMES` (Linux 5.18+) runs
an XDP program `repeat` times on copies of one frame, inside the kernel, and
really transmits what the program returns XDP_TX for. Our program is two
instructions (`return XDP_TX`) and the frame's ingress interface is veth0, so
every run puts the frame on veth0's wire towards the lab's outer end: no
system call, no socket buffer, no Python per frame. That is what takes a
stream from ~0.4 Mpps (one AF_PACKET send per frame) to several Mpps on one
core.

The catch, from the veth driver: frames that XDP transmits on veth0 land in
the outer end's XDP ring, which exists only while the outer end runs NAPI,
i.e. while a native-mode XDP program is attached there. Without one the
driver drops them silently, so `ready()` must be true before this path is
used (`traffic.stream_frame` checks). Frames the ring had no room for are
counted by the kernel in the outer end's `rx_dropped`; `send()` subtracts
them, so `sent` is what reached the outer end.
"""

from __future__ import annotations

import contextlib
import ctypes as C
import errno
import os
import socket
import struct
import time
from pathlib import Path

from xdp_tui.engine import _lib, bpfsys
from xdp_tui.engine.attach import query
from xdp_tui.labs import Lab, netns_thread

BPF_PROG_TYPE_XDP = 6
BPF_F_TEST_XDP_LIVE_FRAMES = 1 << 1
XDP_TX = 3
# Frames handed to the driver per kernel batch: NAPI's weight, the kernel's default.
KERNEL_BATCH = 64
# Each test-run call costs ~25-30 ms of set-up and tear-down in the kernel
# (a page pool per call) on top of ~0.25 us per frame, so calls must be big:
# the first sends this many frames, later ones last about _CALL_S.
_FIRST_CALL_FRAMES = 1 << 16
_CALL_S = 0.25
_MAX_CALL_FRAMES = 1 << 24

# struct bpf_insn: code, dst/src registers, offset, immediate.
_INSN = struct.Struct("<BBhi")
_PROGRAM = _INSN.pack(0xB7, 0, 0, XDP_TX) + _INSN.pack(0x95, 0, 0, 0)  # r0 = XDP_TX; exit
# struct xdp_md as a test-run context: data, data_end, data_meta, ingress_ifindex,
# rx_queue_index, egress_ifindex.
_XDP_MD = struct.Struct("<6I")


_prog_load = _lib.cfunc(
    "bpf_prog_load", C.c_int, C.c_int, C.c_char_p, C.c_char_p, C.c_char_p, C.c_size_t, C.c_void_p
)


class Unsupported(Exception):
    """This kernel cannot send live frames (too old, or refused): use sockets."""


def ready(lab: Lab) -> bool:
    """True when the lab's outer end runs native XDP, so live frames reach it."""
    try:
        return query(lab.outer).mode in ("native", "multi")
    except Exception:  # noqa: BLE001 - any doubt means "use the socket path"
        return False


def _rx_dropped(lab: Lab) -> int:
    path = Path("/sys/class/net") / lab.outer / "statistics" / "rx_dropped"
    try:
        return int(path.read_text())
    except (OSError, ValueError):
        return 0


class LiveFrameSender:
    """Sends one frame over and over from veth0 with kernel test runs.

    Use as a context manager; all sending must happen inside the lab's
    namespace (the kernel resolves the ingress interface there), which
    `stream()` arranges.
    """

    def __init__(self, lab: Lab, frame: bytes) -> None:
        self.lab = lab
        self._frame = C.create_string_buffer(frame, len(frame))
        self._ctx = C.create_string_buffer(_XDP_MD.size)
        self._size = len(frame)
        self._prog_fd = -1

    def __enter__(self) -> LiveFrameSender:
        code = C.create_string_buffer(_PROGRAM, len(_PROGRAM))
        with _lib.capture_libbpf_log():  # a refusal is handled here, not printed
            fd = _prog_load(BPF_PROG_TYPE_XDP, b"xdptui_sender", b"GPL", code, 2, None)
        if fd < 0:
            raise Unsupported(_lib.describe_errno(_lib.errno_of(fd)))
        self._prog_fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        if self._prog_fd >= 0:
            os.close(self._prog_fd)
            self._prog_fd = -1

    def _run(self, ifindex: int, frames: int) -> None:
        _XDP_MD.pack_into(self._ctx, 0, 0, self._size, 0, ifindex, 0, 0)
        opts = bpfsys.TestRunOpts(
            data_in=C.addressof(self._frame),
            data_size_in=self._size,
            ctx_in=C.addressof(self._ctx),
            ctx_size_in=_XDP_MD.size,
            repeat=frames,
            flags=BPF_F_TEST_XDP_LIVE_FRAMES,
            batch_size=KERNEL_BATCH,
        )
        ret = bpfsys.prog_test_run(self._prog_fd, opts)
        if ret == 0:
            return
        err = _lib.errno_of(ret)
        if err == errno.EINTR:
            raise InterruptedError
        raise Unsupported(_lib.describe_errno(err))

    def stream(self, duration: float | None, count: int | None) -> tuple[int, float]:
        """Send until `count` frames or `duration` seconds; returns (sent, seconds)."""
        return netns_thread(self.lab.netns, self._stream, duration, count)

    def _stream(self, duration: float | None, count: int | None) -> tuple[int, float]:
        ifindex = socket.if_nametoindex(self.lab.inner)  # in the lab's namespace
        dropped_before = _rx_dropped(self.lab)
        clock = time.perf_counter
        limit = count if count is not None else 1 << 62
        end = float("inf") if duration is None else duration
        rate = 0.0  # frames per second of one whole call, set-up included
        pushed = 0
        start = clock()
        with contextlib.suppress(InterruptedError):
            while pushed < limit and (left := end - (clock() - start)) > 0:
                frames = _call_size(rate, left, limit - pushed)
                call_start = clock()
                self._run(ifindex, frames)
                rate = frames / max(clock() - call_start, 1e-6)
                pushed += frames
        seconds = clock() - start
        lost = max(0, _rx_dropped(self.lab) - dropped_before)
        return max(0, pushed - lost), seconds


def _call_size(rate: float, seconds_left: float, frames_left: int) -> int:
    """Frames for the next call: about _CALL_S long, never past the end.

    `rate` includes the call's fixed cost, so it underestimates the kernel's
    pace and a call sized from it overruns the end by at most that fixed cost.
    """
    frames = _FIRST_CALL_FRAMES if rate == 0 else int(rate * min(_CALL_S, seconds_left))
    return max(1, min(frames, frames_left, _MAX_CALL_FRAMES))


def send(lab: Lab, frame: bytes, duration: float | None, count: int | None) -> tuple[int, float]:
    """One full-speed live-frames stream; raises Unsupported if the kernel refuses."""
    with LiveFrameSender(lab, frame) as sender:
        return sender.stream(duration, count)
