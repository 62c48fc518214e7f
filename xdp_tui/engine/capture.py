"""Capture at the hook: each packet's bytes at entry to and exit from the XDP
program attached on an interface, with its verdict and CPU.

    with Capture.start("lab01", snaplen=256) as cap:
        packets = cap.poll(timeout_ms=200)      # list[CapturedPacket]
        cap.counters()                          # seen / recorded / rate-capped / lost

How: two tracing programs (fentry and fexit, bpf/capture/xdp_capture.bpf.c)
are attached to the XDP program itself, the way xdpdump does it. The kernel
runs them around every run of that program, whoever loaded it, and they
write one record per packet into a BPF ring buffer that `poll()` drains
through its mmap (engine/ringbuf.py; libbpf's ring_buffer API off x86). The C is built with our build layer on
first use into a root-owned cache under run_dir().

Nothing on the interface changes: closing the capture (or dying) drops the
two links and the XDP program runs on as before.
"""

from __future__ import annotations

import contextlib
import ctypes as C
import errno
import functools
import logging
import os
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xdp_tui import paths, userfiles
from xdp_tui.engine import _lib, bpfsys, ringbuf
from xdp_tui.engine._lib import capture_libbpf_log, cfunc
from xdp_tui.engine.actions import action_name
from xdp_tui.engine.closable import Closable
from xdp_tui.errors import XdpTuiError

P = C.c_void_p

_set_attach_target = cfunc("bpf_program__set_attach_target", C.c_int, P, C.c_int, C.c_char_p)
_attach_trace = cfunc("bpf_program__attach_trace", P, P)
_link_destroy = cfunc("bpf_link__destroy", C.c_int, P)
_find_program = cfunc("bpf_object__find_program_by_name", P, P, C.c_char_p)
_find_map = cfunc("bpf_object__find_map_by_name", P, P, C.c_char_p)
_map_set_max_entries = cfunc("bpf_map__set_max_entries", C.c_int, P, C.c_uint32)
_obj_load = cfunc("bpf_object__load", C.c_int, P)

CAPTURE_SOURCE = paths.bpf_include_dir() / "capture" / "xdp_capture.bpf.c"
SNAP_MAX = 1024  # SNAP_MAX in the C
DEFAULT_SNAPLEN = 256
DEFAULT_RATE = 5_000  # packets a second (all CPUs together); 0: record every packet
DEFAULT_RING_BYTES = 1 << 22
BURST_PACKETS = 64  # a quiet CPU may save up credit for this many packets
ENTRY_PROG, EXIT_PROG = "capture_entry", "capture_exit"

# struct capture_record up to data[]: time_ns seq ifindex cpu len_in len_out cap_in cap_out verdict
RECORD_HEADER = struct.Struct("<QQIIIIHHi")
# struct capture_config: ifindex snaplen interval_ns burst_ns
CONFIG = struct.Struct("<IIQQ")
# What a sample (CapturedPacket.sample) carries where a hook's packet has a verdict and CPU.
SAMPLE_VERDICT = "sample"
NO_VERDICT = -1
NO_CPU = -1
COUNTER_NAMES = ("seen", "recorded", "rate_skipped", "ring_full")
Undo = Callable[[], None]


@dataclass(slots=True)
class CapturedPacket:
    """One packet as the XDP program saw it (data_in) and left it (data_out).

    sample=True: a frame the program sent itself through its `samples` ring
    (engine/samples.py), not one caught at the hook: it has no verdict, no CPU
    and no bytes at exit (verdict NO_VERDICT, cpu NO_CPU, data_out empty), and
    whatever shows it says "sample" rather than inventing them.

    Read-only by convention, not frozen: a frozen dataclass costs ~1.3 µs more
    to build (every field through object.__setattr__), which at a full-speed
    capture (200,000+ records/s) is a third of the reader's time.
    """

    time: float  # wall clock, seconds
    seq: int  # per-CPU packet number (gaps: packets the rate cap skipped)
    cpu: int
    ifindex: int
    verdict: int
    len_in: int  # frame lengths; data_* hold at most snaplen bytes of them
    len_out: int
    data_in: bytes
    data_out: bytes
    sample: bool = False

    @property
    def verdict_name(self) -> str:
        return SAMPLE_VERDICT if self.sample else action_name(self.verdict)

    @property
    def changed(self) -> bool:
        """Did the program change the frame (bytes or length)? A sample cannot say: False."""
        if self.sample:
            return False
        return self.len_in != self.len_out or self.data_in != self.data_out

    @property
    def truncated(self) -> bool:
        return len(self.data_in) < self.len_in or len(self.data_out) < self.len_out

    @property
    def frame(self) -> bytes:
        """The bytes a file of packets holds: as the program left them, or a sample's own."""
        return self.data_in if self.sample else self.data_out

    @property
    def frame_length(self) -> int:
        return self.len_in if self.sample else self.len_out

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of `xdp-tui capture --json` (one object per packet)."""
        from xdp_tui.engine.dissect import summary

        if self.sample:
            return {
                "time": round(self.time, 6),
                "verdict": SAMPLE_VERDICT,
                "len": self.len_in,
                "summary": summary(self.data_in),
                "data": self.data_in.hex(),
            }
        return {
            "time": round(self.time, 6),
            "verdict": self.verdict_name,
            "cpu": self.cpu,
            "len": self.len_in,
            "len_out": self.len_out,
            "summary": summary(self.data_in),
            "changed": self.changed,
            "data_in": self.data_in.hex(),
            "data_out": self.data_out.hex(),
        }


@dataclass(frozen=True)
class CaptureCounters:
    """Totals since the capture started (summed over CPUs)."""

    seen: int = 0  # runs of the program on this interface
    recorded: int = 0  # handed to user space
    rate_skipped: int = 0  # left out by the rate cap
    ring_full: int = 0  # lost: user space did not drain the ring fast enough

    @property
    def dropped(self) -> int:
        """Packets the capture missed, for whatever reason."""
        return self.rate_skipped + self.ring_full

    def to_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in COUNTER_NAMES}


def decode_record(raw: bytes, wall_offset: float) -> CapturedPacket:
    """One ring-buffer record as a CapturedPacket (WALL_OFFSET: wall minus monotonic clock)."""
    time_ns, seq, ifindex, cpu, len_in, len_out, cap_in, cap_out, verdict = (
        RECORD_HEADER.unpack_from(raw)
    )
    start = RECORD_HEADER.size
    return CapturedPacket(
        time=wall_offset + time_ns / 1e9,
        seq=seq,
        cpu=cpu,
        ifindex=ifindex,
        verdict=verdict,
        len_in=len_in,
        len_out=len_out,
        data_in=raw[start : start + cap_in],
        data_out=raw[start + cap_in : start + cap_in + cap_out],
    )


@dataclass(frozen=True)
class CaptureTarget:
    """The XDP program a capture watches."""

    dev: str
    ifindex: int
    prog_id: int
    func_name: str  # the C function: what fentry/fexit attach to
    mode: str = "native"  # how it is attached (native, skb, ...)


def find_target(dev: str, *, force: bool = False) -> CaptureTarget:
    """The program attached on DEV (a lab's outer end unless FORCE), with its BTF function name."""
    from xdp_tui.engine import attach

    attach.check_safe(dev, force=force)
    status = attach.query(dev)
    if not status.prog_id:
        raise NothingAttachedError(
            "no XDP program is attached, so there is nothing to capture",
            location=f"dev {dev}",
            hint=f"load one first: `xdp-tui load FILE.c --dev {dev}`",
            tui_hint="press b to build and attach your program",
        )
    return CaptureTarget(
        dev=dev,
        ifindex=attach.ifindex_of(dev),
        prog_id=status.prog_id,
        func_name=program_func_name(status.prog_id, where=f"dev {dev}"),
        mode=status.mode,
    )


def program_func_name(prog_id: int, *, where: str) -> str:
    """The full C name of the program's main function, from its BTF."""
    from xdp_tui.engine.maps import btf_by_id

    with bpfsys.prog_fd_by_id(prog_id) as fd:
        info = bpfsys.prog_info(fd)
        type_ids = bpfsys.prog_func_type_ids(fd)
    btf = btf_by_id(info.btf_id)
    func = btf.get(type_ids[0]) if btf is not None and type_ids else None
    if func is None or not func.name:
        raise XdpTuiError(
            f"program {info.name} (id {prog_id}) has no BTF, so it cannot be traced",
            location=where,
            hint="build it with debug info (clang -g); `xdp-tui load FILE.c` does",
            tui_hint="build it with debug info (clang -g); b builds yours so",
        )
    return func.name


def build_capture_object() -> Path:
    """Build the capture programs once into a root-owned cache (reused while up to date)."""
    from xdp_tui.engine.build import build_or_raise

    out = paths.run_dir() / "build" / "xdp_capture.bpf.o"
    return build_or_raise(CAPTURE_SOURCE, out, warm_next=False).obj


def _interval_ns(rate: int, cpus: int) -> int:
    """Per-CPU spacing of recorded packets for a total RATE a second (0: no cap)."""
    if rate <= 0:
        return 0
    return max(1, int(1e9 * cpus / rate))


class Capture(Closable):
    """A running capture on one interface's XDP program. Close it (or use `with`).

    `method` says how: "fentry" (tracing programs around the program) or
    "twin" (on kernels refusing fentry: a capturing build of the program's
    source swapped in while the capture runs; see capture_twin).
    """

    def __init__(
        self, target: CaptureTarget, obj: Any, undo: list[Undo], snaplen: int, method: str
    ) -> None:
        self.target = target
        self.snaplen = snaplen
        self.method = method
        self._obj = obj  # the BpfObject holding the capture programs and their maps
        self._undo = undo  # what close() must do to take the capture off again
        self._lock = threading.Lock()  # close() may come from the UI while a worker polls
        self._wall_offset = time.time() - time.monotonic()
        self._counters_fd = obj.map_fd("capture_counters")
        # What runs on the interface while we capture: the twin has an id of its own.
        self.running_prog_id = (
            bpfsys.prog_info(obj.program_fd(target.func_name)).id
            if method == "twin"
            else target.prog_id
        )
        try:
            self._records: ringbuf.RingRecords | None = ringbuf.RingRecords(
                obj.map_fd("capture_ring"), "capture ring buffer"
            )
        except BaseException:
            self._records = None
            self.close()
            raise

    # ---- start -------------------------------------------------------------

    @classmethod
    def start(
        cls,
        dev: str,
        *,
        snaplen: int = DEFAULT_SNAPLEN,
        rate: int = DEFAULT_RATE,
        ring_bytes: int = DEFAULT_RING_BYTES,
        force: bool = False,
        method: str = "auto",
    ) -> Capture:
        """Capture what the XDP program on DEV does now (method: auto, fentry or twin)."""
        if not 1 <= snaplen <= SNAP_MAX:
            raise XdpTuiError(
                f"snapshot length {snaplen} is out of range 1..{SNAP_MAX}", location="--snaplen"
            )
        if rate < 0:
            raise XdpTuiError(f"rate cap {rate} is negative", location="--rate")
        target = find_target(dev, force=force)
        config = (target, snaplen, rate, ring_bytes)
        if method == "twin":
            return cls._start(*config, _start_twin, "twin")
        try:
            return cls._start(*config, _start_traced, "fentry")
        except CaptureRefusedError as exc:
            if method == "fentry" or not exc.trampolines_refused:
                raise
        return cls._start(*config, _start_twin, "twin")

    @classmethod
    def _start(
        cls,
        target: CaptureTarget,
        snaplen: int,
        rate: int,
        ring_bytes: int,
        how: Callable[[Any, CaptureTarget, int, bytes], list[Undo]],
        method: str,
    ) -> Capture:
        from xdp_tui.engine.libbpf import BpfObject

        interval = _interval_ns(rate, bpfsys.possible_cpus())
        config = CONFIG.pack(target.ifindex, snaplen, interval, interval * BURST_PACKETS)
        obj_path, source = _object_for(target, method)
        obj = BpfObject.open(obj_path, source=source)
        undo: list[Undo] = []
        try:
            undo = how(obj, target, ring_bytes, config)
            return cls(target, obj, undo, snaplen, method)
        except BaseException:
            _run_undo(undo)
            obj.close()
            raise

    # ---- reading -------------------------------------------------------------

    def poll(self, timeout_ms: int = 100, limit: int | None = None) -> list[CapturedPacket]:
        """Wait up to TIMEOUT_MS for records; return what arrived (oldest first).

        LIMIT bounds what one call decodes, so a burst cannot hold a caller
        long; the rest wait in the ring for the next call (see RingRecords.poll).
        """
        records = self._records
        if records is None:
            return []
        return [decode_record(r, self._wall_offset) for r in records.poll(timeout_ms, limit)]

    def counters(self) -> CaptureCounters:
        fd = self._counters_fd
        totals = []
        for key in range(len(COUNTER_NAMES)):
            per_cpu = bpfsys.lookup(fd, struct.pack("<I", key), 8, per_cpu=True)
            values = per_cpu if isinstance(per_cpu, list) else [per_cpu or b""]
            totals.append(sum(int.from_bytes(v[:8], "little") for v in values if v))
        return CaptureCounters(*totals)

    def target_replaced(self) -> bool:
        """True when another program now runs on the interface (the capture watches the old one)."""
        from xdp_tui.engine import attach

        return attach.query(self.target.dev).prog_id != self.running_prog_id

    # ---- end -----------------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            if self._records is not None:
                self._records.close()
                self._records = None
            _run_undo(self._undo)
            self._undo = []
            if self._obj is not None:
                self._obj.close()
                self._obj = None


def _object_for(target: CaptureTarget, method: str) -> tuple[Path, Path]:
    if method == "twin":
        from xdp_tui.engine import capture_twin

        source = capture_twin.source_of(target.prog_id, where=f"dev {target.dev}")
        return capture_twin.build_twin(source, target.func_name), source
    return build_capture_object(), CAPTURE_SOURCE


def _size_ring(obj: Any, ring_bytes: int) -> None:
    _map_set_max_entries(_find_map(obj.handle, b"capture_ring"), _ring_size(ring_bytes))


def _configure(obj: Any, config: bytes) -> None:
    bpfsys.update(obj.map_fd("capture_config"), struct.pack("<I", 0), config)


def _start_traced(obj: Any, target: CaptureTarget, ring_bytes: int, config: bytes) -> list[Undo]:
    """Aim fentry/fexit at TARGET's function, load, configure and attach them."""
    with bpfsys.prog_fd_by_id(target.prog_id) as prog_fd:
        for name in (ENTRY_PROG, EXIT_PROG):
            prog = _find_program(obj.handle, name.encode())
            ret = _set_attach_target(prog, int(prog_fd), target.func_name.encode())
            if ret != 0:
                raise _lib.call_error(ret, f"aiming {name} at {target.func_name}")
        _size_ring(obj, ring_bytes)
        with capture_libbpf_log() as messages:
            ret = _obj_load(obj.handle)
    if ret != 0:
        raise _refused(target, _lib.errno_of(ret), "".join(text for _, text in messages))
    _configure(obj, config)
    undo: list[Undo] = []
    try:
        for name in (EXIT_PROG, ENTRY_PROG):  # exit first: no entry is left unfinished
            link = _attach(obj, name, target)
            undo.append(functools.partial(_link_destroy, link))
    except BaseException:
        _run_undo(undo)
        raise
    return undo


def _start_twin(obj: Any, target: CaptureTarget, ring_bytes: int, config: bytes) -> list[Undo]:
    """Load the capturing twin, configure it and swap it in for the running program."""
    from xdp_tui.engine import capture_twin

    _size_ring(obj, ring_bytes)
    capture_twin.load_twin(obj, target.func_name, target.prog_id)
    _configure(obj, config)
    return [
        capture_twin.swap_in(
            target.dev, target.prog_id, obj.program_fd(target.func_name), target.mode
        )
    ]


def _run_undo(undo: list[Undo]) -> None:
    """Undo in reverse order; every step runs even if one fails (the first error is raised)."""
    failed: BaseException | None = None
    for step in reversed(undo):
        try:
            step()
        except Exception as exc:  # keep undoing the rest
            failed = failed or exc
    if failed is not None:
        raise failed


def _refused(target: CaptureTarget, err: int, log: str) -> XdpTuiError:
    if err == errno.EPERM:
        # Seen on locked-down VMs: every BPF trampoline (fentry, fexit,
        # freplace) is refused while other program types load; xdpdump fails alike.
        return CaptureRefusedError(
            "this kernel refuses BPF tracing programs (fentry/fexit: Operation not permitted), "
            "so packets cannot be captured at the hook",
            location=f"dev {target.dev}",
            hint="run your program on chosen frames with `xdp-tui run FILE --packet SPEC` "
            "instead, or watch what it passes with `xdp-tui env tcpdump`",
            tui_hint="run your program on chosen frames in the Run frame tab (9) instead",
            detail=log,
            trampolines_refused=True,
        )
    return CaptureRefusedError(
        f"the kernel refused the capture programs for {target.func_name} "
        f"(program id {target.prog_id}): {os.strerror(err)} (errno {err})",
        location=f"dev {target.dev}",
        hint="the program must have BTF (built with -g) and the kernel must allow fentry/fexit",
        detail=log,
    )


class NothingAttachedError(XdpTuiError):
    """No XDP program on the interface (yet): a pane waiting for one tries again later."""


class CaptureRefusedError(XdpTuiError):
    """The kernel would not load or attach the tracing programs."""

    def __init__(self, message: str, *, trampolines_refused: bool = False, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.trampolines_refused = trampolines_refused


def _ring_size(ring_bytes: int) -> int:
    """A ring buffer's size must be a power of two pages."""
    size = 4096
    while size < ring_bytes and size < (1 << 30):
        size <<= 1
    return size


def _attach(obj: Any, name: str, target: CaptureTarget) -> int:
    prog = _find_program(obj.handle, name.encode())
    with capture_libbpf_log() as messages:
        link = _attach_trace(prog)
    if not link:
        raise _refused(target, C.get_errno(), "".join(text for _, text in messages))
    return int(link)


# ---- pcapng -------------------------------------------------------------------


def packet_comment(packet: CapturedPacket) -> str:
    """What a pcapng reader shows beside the frame: the verdict and whether the program changed it."""
    if packet.sample:
        return f"sample {packet.seq} sent by the program (no verdict: not caught at the hook)"
    change = "changed by the program" if packet.changed else "unchanged"
    return f"{packet.verdict_name} cpu {packet.cpu} seq {packet.seq}: {change}"


class PcapngWriter:
    """Captured packets into a pcapng file (the frame as the program left it, with a comment).

    Each packet is written once, with its bytes at exit (what the program
    made of it); the comment carries the verdict and says whether it changed.
    """

    def __init__(self, path: Path, *, learner_file: bool = False) -> None:
        """learner_file=True: PATH is one the learner named (`-w FILE`), so it is opened
        with their file identity; root running for them must not write where they may not."""
        from scapy.utils import PcapNgWriter

        # An empty file makes scapy warn on stderr that it guessed Ethernet: it is.
        logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
        as_owner = userfiles.as_learner if learner_file else contextlib.nullcontext
        try:
            with as_owner():
                self._writer = PcapNgWriter(str(path))
        except OSError as exc:
            raise _cannot_write(path, exc) from None
        self.path = path
        self.count = 0

    def write(self, packet: CapturedPacket) -> None:
        from xdp_tui.engine.dissect import parse

        frame = parse(packet.frame)
        frame.time = packet.time
        frame.wirelen = packet.frame_length
        frame.comments = [packet_comment(packet).encode()]
        try:
            self._writer.write(frame)
        except OSError as exc:  # a full disk, a quota
            raise _cannot_write(self.path, exc) from None
        self.count += 1

    def close(self) -> None:
        try:
            self._writer.close()  # flushes: a full disk shows here
        except OSError as exc:
            raise _cannot_write(self.path, exc) from None


def _cannot_write(path: Path, exc: OSError) -> XdpTuiError:
    return XdpTuiError(f"cannot write: {exc.strerror or exc}", location=str(path))
