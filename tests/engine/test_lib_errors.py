"""_lib's one way from a failed call to an error: errno_of, describe_errno, check.

No root: the real calls here fail for everyone (a bad fd, an absent BPF id).
"""

from __future__ import annotations

import ctypes as C
import errno

import pytest

from xdp_tui.engine import _lib


def test_errno_of_every_return_convention() -> None:
    assert _lib.errno_of(-errno.EBUSY) == errno.EBUSY  # libbpf: -errno
    C.set_errno(errno.EACCES)
    assert _lib.errno_of(-1) == errno.EACCES  # libc: -1 and errno
    C.set_errno(errno.ENOENT)
    assert _lib.errno_of(None) == errno.ENOENT  # NULL pointer and errno
    C.set_errno(0)
    assert _lib.errno_of(-1) == errno.EPERM  # libbpf's -EPERM with errno unset
    assert _lib.errno_of(None) == 0  # failed without saying why


def test_a_real_libc_failure() -> None:
    _lib.libc.close.argtypes = [C.c_int]
    ret = _lib.libc.close(-1)
    with pytest.raises(_lib.CallError, match=r"closing: Bad file descriptor \(EBADF\)") as caught:
        _lib.check(ret, "closing")
    assert caught.value.errno == errno.EBADF


def test_a_real_libbpf_failure() -> None:
    """No map has id 2**32-1; without root the kernel says EPERM first."""
    get_fd = _lib.cfunc("bpf_map_get_fd_by_id", C.c_int, C.c_uint32)
    with pytest.raises(_lib.CallError) as caught:
        _lib.check(get_fd(0xFFFFFFFF), "opening map", location="map id 4294967295")
    assert caught.value.errno in (errno.ENOENT, errno.EPERM)
    assert caught.value.render().startswith("map id 4294967295: opening map: ")


def test_describe_errno() -> None:
    assert _lib.describe_errno(errno.EBUSY) == "Device or resource busy (EBUSY)"
    assert _lib.describe_errno(4001) == "not a valid BPF object (libbpf error 4001)"
    assert _lib.describe_errno(0) == "failed without an error number"
    assert "4999" in _lib.describe_errno(4999)


def test_check_passes_success_through() -> None:
    assert _lib.check(7, "anything") == 7
    assert _lib.check(0, "anything") == 0
