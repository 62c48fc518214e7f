"""The one handle on the system libbpf.so.1, shared by every engine module.

Declare each C function once with `cfunc(name, restype, *argtypes)`; pointer
return types must be `c_void_p` (ctypes would otherwise truncate them to int).

libbpf reports through a print callback. We install ours so nothing reaches
fd 2 (the TUI draws there) and so callers can collect what libbpf said during
an operation with `capture_libbpf_log()`. bcc resets the callback to NULL when
it builds a program: call `install_print_callback()` again after every BPF().
"""

from __future__ import annotations

import contextlib
import ctypes as C
import os
import threading
from collections.abc import Callable, Iterator
from typing import Any

from xdp_tui.errors import XdpTuiError

try:
    lib = C.CDLL("libbpf.so.1", use_errno=True)
except OSError as exc:  # pragma: no cover - doctor reports it with a fix
    raise XdpTuiError(
        "libbpf.so.1 not found", hint="apt-get install libbpf1 (or run ./setup.sh install)"
    ) from exc
libc = C.CDLL(None, use_errno=True)

LIBBPF_WARN, LIBBPF_INFO, LIBBPF_DEBUG = 0, 1, 2


def cfunc(name: str, restype: Any, *argtypes: Any) -> Callable[..., Any]:
    # lib[name] makes a new function object each time, while getattr(lib, name)
    # returns one shared object: two modules declaring the same C function with
    # different argtypes would otherwise silently overwrite each other's.
    fn = lib[name]
    fn.restype = restype
    fn.argtypes = list(argtypes)
    return fn


def errno_from(ret: int) -> int:
    """libbpf 1.x returns -errno; some calls return -1 and set errno."""
    return -ret if ret < -1 else C.get_errno()


def raise_errno(ret: int, what: str, hint: str | None = None) -> None:
    err = errno_from(ret)
    raise XdpTuiError(f"{what}: {os.strerror(err)} (errno {err})", hint=hint)


# ---- print callback -------------------------------------------------------

_PRINT_FN = C.CFUNCTYPE(C.c_int, C.c_int, C.c_char_p, C.c_void_p)
libc.vasprintf.argtypes = [C.POINTER(C.c_char_p), C.c_char_p, C.c_void_p]
libc.vasprintf.restype = C.c_int
libc.free.argtypes = [C.c_void_p]
_set_print = cfunc("libbpf_set_print", C.c_void_p, C.c_void_p)

_local = threading.local()
_recent: list[tuple[int, str]] = []  # last messages when nobody captures; bounded
_RECENT_MAX = 200


def _on_print(level: int, fmt: bytes, va_list: int) -> int:
    # x86_64 passes va_list as a pointer, which vasprintf accepts as is.
    out = C.c_char_p()
    n = libc.vasprintf(C.byref(out), fmt, va_list)
    if n < 0:
        return 0
    text = C.string_at(out, n).decode(errors="replace")
    libc.free(C.cast(out, C.c_void_p))
    if level == LIBBPF_DEBUG:
        return 0
    sink = getattr(_local, "sink", None)
    if sink is not None:
        sink.append((level, text))
    else:
        _recent.append((level, text))
        del _recent[:-_RECENT_MAX]
    return 0


_callback_ref = _PRINT_FN(_on_print)  # keep a reference: freed callbacks crash


def install_print_callback() -> None:
    _set_print(C.cast(_callback_ref, C.c_void_p))


@contextlib.contextmanager
def capture_libbpf_log() -> Iterator[list[tuple[int, str]]]:
    """Collect (level, text) libbpf messages printed by this thread inside the block."""
    install_print_callback()
    previous = getattr(_local, "sink", None)
    sink: list[tuple[int, str]] = []
    _local.sink = sink
    try:
        yield sink
    finally:
        _local.sink = previous


def recent_messages() -> list[tuple[int, str]]:
    return list(_recent)


def num_possible_cpus() -> int:
    return int(cfunc("libbpf_num_possible_cpus", C.c_int)())


install_print_callback()
