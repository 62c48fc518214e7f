"""What XDP programs did wrong, seen from the kernel's tracepoints, and their bpf_printk output.

`ExceptionMonitor` compiles a small bcc program on `xdp:xdp_exception` (an
XDP_ABORTED verdict, an unknown action, or an XDP_TX that could not be sent)
and `xdp:xdp_redirect_err`. Totals are kept in BPF hash maps, not sent as
perf events: a perf buffer drops events when nobody polls it during a burst,
a map counter never does.

`TracePipe` reads `/sys/kernel/tracing/trace_pipe` without blocking and
parses each `bpf_printk` line (task, pid, cpu, timestamp, message).

bcc quirks handled here: it writes compiler output on fd 2 (we capture it)
and resets libbpf's print callback to NULL (we install ours again).
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
import re
import select
import struct
import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from xdp_tui.engine import _lib
from xdp_tui.engine.actions import action_name
from xdp_tui.errors import XdpTuiError
from xdp_tui.process import TRACE_INSTANCE_PREFIX, sweep_trace_instances
from xdp_tui.stderr import quiet_fd2

SETUP_HINT = "run `sudo ./setup.sh install` (it installs python3-bpfcc and kernel headers)"

_BCC_PROGRAM = r"""
struct exc_key {
    u32 prog_id;
    u32 act;
    s32 ifindex;
};
struct redir_key {
    u32 prog_id;
    s32 ifindex;
    s32 to_ifindex;
    s32 err;
    u32 map_id;
};
BPF_HASH(exceptions, struct exc_key, u64, 4096);
BPF_HASH(redirect_errors, struct redir_key, u64, 4096);

TRACEPOINT_PROBE(xdp, xdp_exception) {
    struct exc_key key = {};
    key.prog_id = args->prog_id;
    key.act = args->act;
    key.ifindex = args->ifindex;
    exceptions.atomic_increment(key);
    return 0;
}

"""

# One body for every redirect-error tracepoint (TP_NAME stands for its name).
_REDIRECT_ERR_PROBE = r"""
TRACEPOINT_PROBE(xdp, TP_NAME) {
    struct redir_key key = {};
    key.prog_id = args->prog_id;
    key.ifindex = args->ifindex;
    key.to_ifindex = args->to_ifindex;
    key.err = args->err;
    key.map_id = args->map_id;
    redirect_errors.atomic_increment(key);
    return 0;
}
"""


def _redirect_err_probe(tracepoint: str) -> str:
    return _REDIRECT_ERR_PROBE.replace("TP_NAME", tracepoint)


@dataclass(frozen=True)
class ExceptionCount:
    prog_id: int
    action: int
    action_name: str
    ifindex: int
    count: int


@dataclass(frozen=True)
class RedirectError:
    prog_id: int
    ifindex: int
    to_ifindex: int
    err: int
    error: str  # strerror of the (negative) errno the kernel reported
    map_id: int
    count: int


def _import_bcc() -> Any:
    try:
        import bcc
    except ImportError as exc:
        raise XdpTuiError("bcc (python3-bpfcc) is not importable", hint=SETUP_HINT) from exc
    return bcc


def _check_headers() -> None:
    build = Path(f"/lib/modules/{os.uname().release}/build/include")
    if not build.exists():
        raise XdpTuiError(
            f"no kernel headers for bcc at /lib/modules/{os.uname().release}/build",
            hint=SETUP_HINT,
        )


class ExceptionMonitor:
    """Counts xdp_exception by (prog id, action, ifindex) and redirect errors, from start()."""

    def __init__(self) -> None:
        self._bpf: Any = None
        self._lock = threading.Lock()
        self.compiler_output = ""

    def start(self) -> ExceptionMonitor:
        if self._bpf is not None:
            return self
        bcc = _import_bcc()
        _check_headers()
        text = _BCC_PROGRAM + _redirect_err_probe("xdp_redirect_err")
        with contextlib.suppress(Exception):
            # Older kernels report map redirects on their own tracepoint.
            if bcc.BPF.tracepoint_exists(b"xdp", b"xdp_redirect_map_err"):
                text += _redirect_err_probe("xdp_redirect_map_err")
        captured: list[str] = []
        try:
            with quiet_fd2() as captured:
                self._bpf = bcc.BPF(text=text.encode())  # bcc wants bytes
        except Exception as exc:  # bcc raises bare Exception on compile/attach failure
            output = "".join(captured)
            raise XdpTuiError(
                f"bcc could not build the XDP exception monitor: {exc}",
                hint="kernel headers missing or mismatched? " + SETUP_HINT,
                detail=output,
            ) from None
        finally:
            _lib.install_print_callback()  # bcc set libbpf's printer to NULL
        self.compiler_output = "".join(captured)
        return self

    def __enter__(self) -> ExceptionMonitor:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def running(self) -> bool:
        return self._bpf is not None

    def _table(self, name: str) -> list[tuple[Any, int]]:
        if self._bpf is None:
            return []
        with self._lock:
            return [(k, v.value) for k, v in self._bpf[name.encode()].items()]

    def exceptions(self) -> list[ExceptionCount]:
        """Every (prog id, action, ifindex) seen, with its count."""
        return sorted(
            (
                ExceptionCount(
                    prog_id=k.prog_id,
                    action=k.act,
                    action_name=action_name(k.act),
                    ifindex=k.ifindex,
                    count=n,
                )
                for k, n in self._table("exceptions")
            ),
            key=lambda e: (e.prog_id, e.action, e.ifindex),
        )

    def counts(self) -> dict[tuple[int, int], int]:
        """{(prog_id, action): count} summed over interfaces."""
        out: dict[tuple[int, int], int] = {}
        for e in self.exceptions():
            out[(e.prog_id, e.action)] = out.get((e.prog_id, e.action), 0) + e.count
        return out

    @property
    def redirect_errors(self) -> list[RedirectError]:
        return sorted(
            (
                RedirectError(
                    prog_id=k.prog_id,
                    ifindex=k.ifindex,
                    to_ifindex=k.to_ifindex,
                    err=k.err,
                    error=os.strerror(-k.err) if k.err < 0 else str(k.err),
                    map_id=k.map_id,
                    count=n,
                )
                for k, n in self._table("redirect_errors")
            ),
            key=lambda r: (r.prog_id, r.ifindex, r.to_ifindex, r.err),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "exceptions": [asdict(e) for e in self.exceptions()],
            "redirect_errors": [asdict(r) for r in self.redirect_errors],
        }

    def close(self) -> None:
        with self._lock:
            bpf, self._bpf = self._bpf, None
        if bpf is not None:
            with quiet_fd2():
                bpf.cleanup()
            _lib.install_print_callback()


# ---- trace_pipe ------------------------------------------------------------

TRACEFS_DIRS = (Path("/sys/kernel/tracing"), Path("/sys/kernel/debug/tracing"))

# "  ping-1234  [001] d.s21  598.428031: bpf_trace_printk: hello"
# (newer kernels may add a "(  tgid)" column and more flag characters)
_LINE = re.compile(
    r"^\s*(?P<task>.+?)-(?P<pid>\d+)\s+(?:\(\s*[\d-]+\)\s+)?\[(?P<cpu>\d+)\]\s+"
    r"(?:(?P<flags>[^\s]+)\s+)?(?P<time>\d+\.\d+):\s+(?P<event>[^:]+):\s?(?P<message>.*)$"
)
PRINTK_EVENTS = ("bpf_trace_printk",)


@dataclass(frozen=True)
class TraceLine:
    task: str
    pid: int
    cpu: int
    time: float
    event: str
    message: str
    flags: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_trace_line(line: str) -> TraceLine | None:
    m = _LINE.match(line)
    if m is None:
        return None
    return TraceLine(
        task=m["task"].strip(),
        pid=int(m["pid"]),
        cpu=int(m["cpu"]),
        time=float(m["time"]),
        event=m["event"].strip(),
        message=m["message"].rstrip("\n"),
        flags=m["flags"] or "",
    )


def _trace_pipe_hint(err: int | None) -> str:
    if err == errno.EBUSY:
        # The kernel allows one trace_pipe reader at a time.
        return (
            "another program is reading trace_pipe (another xdp-tui, `bpftool prog tracelog`, "
            "`cat trace_pipe`); only one reader at a time: close it and reopen this view"
        )
    return "reading trace_pipe needs root"


def trace_pipe_path() -> Path:
    """Where trace_pipe is; a clear error (with the mount command) when tracefs is not mounted."""
    for base in TRACEFS_DIRS:
        if (base / "trace_pipe").exists():
            return base / "trace_pipe"
    raise XdpTuiError(
        "tracefs is not mounted, so bpf_printk output cannot be read",
        hint="mount it: `sudo mount -t tracefs tracefs /sys/kernel/tracing` "
        "(or run `sudo ./setup.sh install`)",
    )


class TracePipe:
    """Non-blocking reader of the kernel's trace_pipe.

    trace_pipe is global and consuming: a line read here is gone for every
    other reader (bpftool prog tracelog, another xdp-tui). Use one per machine.

        with TracePipe() as pipe:
            for line in pipe.follow(stop_event):   # from a worker thread
                ...
    """

    def __init__(self, path: Path | None = None, *, printk_only: bool = True) -> None:
        self.path = path or trace_pipe_path()
        self.printk_only = printk_only
        self._fd: int | None = None
        self._partial = b""

    def open(self) -> TracePipe:
        if self._fd is None:
            try:
                self._fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)
            except OSError as exc:
                raise XdpTuiError(
                    f"cannot open {self.path}: {exc.strerror}", hint=_trace_pipe_hint(exc.errno)
                ) from None
        return self

    def __enter__(self) -> TracePipe:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def read(self, timeout: float = 0.0) -> list[TraceLine]:
        """Lines available now (waiting up to TIMEOUT seconds for the first)."""
        fd = self.open()._fd
        assert fd is not None
        ready, _, _ = select.select([fd], [], [], timeout)
        if not ready:
            return []
        chunks = []
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError as exc:
                if exc.errno in (errno.EAGAIN, errno.EWOULDBLOCK):
                    break
                raise
            if not chunk:
                break
            chunks.append(chunk)
            if len(chunk) < 65536:
                break
        return self._lines(b"".join(chunks))

    def _lines(self, data: bytes) -> list[TraceLine]:
        data = self._partial + data
        *complete, self._partial = data.split(b"\n")
        out = []
        for raw in complete:
            line = parse_trace_line(raw.decode(errors="replace"))
            if line is None:
                continue
            if self.printk_only and line.event not in PRINTK_EVENTS:
                continue
            out.append(line)
        return out

    def follow(self, stop: threading.Event, poll: float = 0.2) -> Iterator[TraceLine]:
        """Yield lines as they come until STOP is set (checked every POLL seconds)."""
        while not stop.is_set():
            yield from self.read(timeout=poll)


# ---- a trace_pipe of our own ------------------------------------------------

INSTANCE_PREFIX = TRACE_INSTANCE_PREFIX
PRINTK_EVENT_SWITCH = Path("events") / "bpf_trace" / "bpf_trace_printk" / "enable"
_instance_numbers = itertools.count(1)


class PrivateTracePipe(TracePipe):
    """bpf_printk lines from a tracefs instance of our own.

    The kernel copies each bpf_printk line to every trace instance where the
    bpf_trace_printk event is on. Reading our own instance, we neither take
    lines from whoever holds the global trace_pipe (bpftool prog tracelog,
    `cat trace_pipe`, another xdp-tui) nor get refused by it. The instance is
    removed on close; those of processes that died first are swept on open.
    """

    def __init__(self) -> None:
        self.instance = (
            trace_pipe_path().parent
            / "instances"
            / f"{INSTANCE_PREFIX}{os.getpid()}-{next(_instance_numbers)}"
        )
        super().__init__(self.instance / "trace_pipe", printk_only=True)

    def open(self) -> TracePipe:
        if self._fd is None:
            _sweep_dead_instances(self.instance.parent)
            try:
                self.instance.mkdir(exist_ok=True)
                (self.instance / PRINTK_EVENT_SWITCH).write_text("1")
            except OSError as exc:
                self._remove_instance()
                raise XdpTuiError(
                    f"cannot make a trace instance for bpf_printk: {exc.strerror}",
                    hint="a kernel without tracefs instances: the global trace_pipe is used",
                ) from None
            super().open()
        return self

    def close(self) -> None:
        super().close()
        self._remove_instance()

    def _remove_instance(self) -> None:
        with contextlib.suppress(OSError):
            self.instance.rmdir()  # tracefs removes an instance's files with it


def _sweep_dead_instances(instances: Path) -> None:
    sweep_trace_instances((instances,))


# ---- only this session's program's lines -------------------------------------

# One printf conversion as bpf_printk accepts them (%d %llx %pI4 %s ...), or "%%".
_CONVERSION = re.compile(
    r"%(?:%|[-+ #0]*\d*(?:\.\d+)?(?:hh|h|ll|l|z)?(?:p[a-zA-Z0-9]*|[diuxXcso]))"
)


class PrintkFilter:
    """Tells this program's bpf_printk lines from everyone else's.

    Every program's bpf_printk goes to the same trace buffers, with nothing
    naming the program. What tells them apart is the text: a line must be one
    of the format strings of OUR object (kept in its .rodata sections) with
    its conversions filled in. Another session running the very same source
    prints lines we cannot tell from ours.
    """

    def __init__(self, formats: tuple[str, ...]) -> None:
        self.formats = formats
        self._patterns = [re.compile(_format_regex(fmt), re.S) for fmt in formats]

    @classmethod
    def from_object(cls, obj: Path) -> PrintkFilter:
        return cls(printk_formats(obj))

    def matches(self, message: str) -> bool:
        text = message.rstrip("\n")
        return any(pattern.fullmatch(text) for pattern in self._patterns)


def _format_regex(fmt: str) -> str:
    parts, last = [], 0
    text = fmt.rstrip("\n")
    for match in _CONVERSION.finditer(text):
        parts.append(re.escape(text[last : match.start()]))
        parts.append(_conversion_regex(match.group()))
        last = match.end()
    parts.append(re.escape(text[last:]))
    return "".join(parts)


# What each conversion prints (after any padding spaces a width adds).
_PRINTED = {"d": r"-?\d+", "i": r"-?\d+", "u": r"\d+", "x": r"[0-9a-fA-F]+", "X": r"[0-9a-fA-F]+",
            "o": r"[0-7]+", "c": r".", "s": r".*?"}  # fmt: skip


def _conversion_regex(conversion: str) -> str:
    if conversion == "%%":
        return "%"
    if "p" in conversion:  # %p, %pI4, %pK ...: one word
        return r" *\S+"
    return " *" + _PRINTED.get(conversion[-1], r".*?")


# An object's read-only strings are a few kB; stop at what no lesson has.
_OBJECT_READ_LIMIT = 64 << 20


def printk_formats(obj: Path) -> tuple[str, ...]:
    """Printable strings of OBJ's .rodata sections (where bpf_printk keeps its formats)."""
    with open(obj, "rb") as handle:
        data = handle.read(_OBJECT_READ_LIMIT)
    found: list[str] = []
    for name, body in _elf_sections(data):
        if name.startswith(".rodata"):
            found += _printable_strings(body)
    return tuple(dict.fromkeys(found))


def printk_formats_of_program(prog_id: int) -> tuple[str, ...]:
    """Printable strings of a loaded program's .rodata maps: the formats of another tool's
    program, whose object we do not have. Only read (one lookup of each map's one value)."""
    from xdp_tui.engine import bpfsys

    found: list[str] = []
    for map_id in bpfsys.prog_info_by_id(prog_id).map_ids:
        try:
            with bpfsys.map_fd_by_id(map_id) as fd:
                info = bpfsys.map_info(fd)
                if ".rodata" not in info.name or info.type_name != "array":
                    continue
                body = bpfsys.lookup(fd, bytes(4), info.value_size)
        except XdpTuiError:
            continue  # gone meanwhile, or not readable: no lines of it then
        found += _printable_strings(body or b"")
    return tuple(dict.fromkeys(found))


def _printable_strings(body: bytes) -> list[str]:
    """The NUL-separated texts of BODY that bpf_printk could use as formats."""
    found = []
    for raw in body.split(b"\0"):
        text = raw.decode("utf-8", errors="ignore")
        if text and (text.isprintable() or text.endswith("\n")):
            found.append(text)
    return found


def _elf_sections(data: bytes) -> list[tuple[str, bytes]]:
    """(name, contents) of each section of a little-endian ELF64 file ([] for anything else)."""
    if len(data) < 64 or data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        return []
    (shoff,) = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    headers = []
    for index in range(shnum):
        at = shoff + index * shentsize
        if at + 64 > len(data):
            return []
        name, _, _, _, offset, size = struct.unpack_from("<IIQQQQ", data, at)
        headers.append((name, data[offset : offset + size]))
    if shstrndx >= len(headers):
        return []
    names = headers[shstrndx][1]
    return [(names[n : names.find(b"\0", n)].decode(errors="replace"), body) for n, body in headers]


def open_printk_reader() -> TracePipe:
    """An open reader of bpf_printk lines: our own instance, else the global trace_pipe."""
    try:
        return PrivateTracePipe().open()
    except XdpTuiError:
        return TracePipe().open()
