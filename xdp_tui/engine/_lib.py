"""The one handle on the system libbpf.so.1, shared by every engine module.

Declare each C function once with `cfunc(name, restype, *argtypes)`; pointer
return types must be `c_void_p` (ctypes would otherwise truncate them to int).

A failed call becomes an error in one way: `errno_of(ret)` reads the errno
behind any return value (libbpf's -errno, libc's -1 or NULL with errno set),
`check(ret, what)` raises a `CallError` carrying it, `call_error()` builds one
for callers that first look at the errno themselves.

libbpf reports through a print callback. We install ours so nothing reaches
fd 2 (the TUI draws there) and so callers can collect what libbpf said during
an operation with `capture_libbpf_log()`. bcc resets the callback to NULL when
it builds a program: call `install_print_callback()` again after every BPF().
"""

from __future__ import annotations

import contextlib
import ctypes as C
import errno
import os
import threading
from collections.abc import Callable, Iterator
from enum import IntEnum
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


# ---- errors ---------------------------------------------------------------


class LibbpfErrno(IntEnum):
    """libbpf's own error numbers (`enum libbpf_errno` in <bpf/libbpf.h>), past the kernel's."""

    LIBELF = 4000
    FORMAT = 4001
    KVERSION = 4002
    ENDIAN = 4003
    INTERNAL = 4004
    RELOC = 4005
    LOAD = 4006
    VERIFY = 4007
    PROG2BIG = 4008
    KVER = 4009
    PROGTYPE = 4010
    WRNGPID = 4011
    INVSEQ = 4012
    NLPARSE = 4013


_LIBBPF_ERRNO_TEXT = {
    LibbpfErrno.LIBELF: "libelf failed",
    LibbpfErrno.FORMAT: "not a valid BPF object",
    LibbpfErrno.KVERSION: "bad or missing 'version' section",
    LibbpfErrno.ENDIAN: "object built for the other byte order",
    LibbpfErrno.INTERNAL: "libbpf internal error",
    LibbpfErrno.RELOC: "relocation failed",
    LibbpfErrno.LOAD: "program load failed",
    LibbpfErrno.VERIFY: "the verifier refused the program",
    LibbpfErrno.PROG2BIG: "program too large",
    LibbpfErrno.KVER: "wrong kernel version",
    LibbpfErrno.PROGTYPE: "the kernel does not support this program type",
    LibbpfErrno.WRNGPID: "netlink answer for another process",
    LibbpfErrno.INVSEQ: "netlink sequence out of order",
    LibbpfErrno.NLPARSE: "netlink answer could not be parsed",
}


def errno_of(ret: int | None) -> int:
    """The errno behind a failed call's return value RET.

    libbpf 1.x returns -errno (and sets errno); libc, and libbpf's functions
    returning a pointer, return -1 or NULL (None through ctypes) and set errno.
    -1 is also libbpf's -EPERM, whose errno libbpf sets as well. A call that
    failed without saying why gives 0.
    """
    if ret is not None and ret < -1:
        return -ret
    err = C.get_errno()  # ctypes' copy, saved right after this thread's last call
    if err:
        return err
    return errno.EPERM if ret == -1 else 0


def describe_errno(err: int) -> str:
    """ "Device or resource busy (EBUSY)"; libbpf's own numbers in our words."""
    if err in _LIBBPF_ERRNO_TEXT:
        return f"{_LIBBPF_ERRNO_TEXT[LibbpfErrno(err)]} (libbpf error {err})"
    if err <= 0:
        return "failed without an error number"
    return f"{os.strerror(err)} ({errno.errorcode.get(err, f'errno {err}')})"


class CallError(XdpTuiError):
    """A libbpf or system call failed; `errno` says why (0 when it did not say)."""

    def __init__(
        self,
        what: str,
        err: int,
        *,
        location: str | None = None,
        hint: str | None = None,
        tui_hint: str | None = None,
        detail: str | None = None,
    ) -> None:
        super().__init__(
            f"{what}: {describe_errno(err)}",
            location=location,
            hint=hint,
            tui_hint=tui_hint,
            detail=detail,
        )
        self.errno = err


def call_error(
    ret: int | None, what: str, *, location: str | None = None, hint: str | None = None
) -> CallError:
    """The error for a failed call that returned RET, with WHAT it was doing."""
    return CallError(what, errno_of(ret), location=location, hint=hint)


def check(
    ret: int | None, what: str, *, location: str | None = None, hint: str | None = None
) -> int:
    """RET when the call succeeded, else raise its CallError."""
    if ret is None or ret < 0:
        raise call_error(ret, what, location=location, hint=hint)
    return ret


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
