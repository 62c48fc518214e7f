"""Turn the current process into one that lives inside a lab, then exec a command.

What `ip netns exec` does, plus what XDP work needs: a private mount
namespace with a /sys that belongs to the lab's network namespace, the
host's bpffs kept at /sys/fs/bpf (the same instance, so pins made inside are
visible outside), and no locked-memory limit for BPF maps.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import resource
import tempfile
from collections.abc import Sequence
from typing import NoReturn

from xdp_tui import paths
from xdp_tui.engine import _lib
from xdp_tui.errors import XdpTuiError
from xdp_tui.labs import CLONE_NEWNET, Lab, netns_path

CLONE_NEWNS = 0x00020000
MS_BIND = 0x1000
MS_MOVE = 0x2000
MS_REC = 0x4000
MS_SLAVE = 1 << 19
MNT_DETACH = 2

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p] * 3 + [ctypes.c_ulong, ctypes.c_void_p]


def _check(result: int, what: str) -> None:
    if result != 0:
        raise _lib.call_error(result, f"{what} failed")


def _encode(text: str | None) -> bytes | None:
    return text.encode() if text is not None else None


def _mount(source: str | None, target: str, fstype: str | None, flags: int) -> None:
    result = _libc.mount(_encode(source), _encode(target), _encode(fstype), flags, None)
    _check(result, f"mount {fstype or source} on {target}")


def enter_lab(lab: Lab) -> None:
    """Move this (single-threaded) process into the lab's namespaces for good."""
    try:
        fd = os.open(netns_path(lab.netns), os.O_RDONLY)
    except FileNotFoundError:
        raise XdpTuiError(
            f"lab {lab.name} has no network namespace",
            location=f"lab {lab.name}",
            hint=f"repair it: `xdp-tui env reset --name {lab.name}`",
        ) from None
    try:
        _check(_libc.setns(fd, CLONE_NEWNET), f"entering namespace {lab.netns}")
    finally:
        os.close(fd)
    _check(_libc.unshare(CLONE_NEWNS), "creating a private mount namespace")
    # Our mounts stay private; the host's still propagate in.
    _mount(None, "/", None, MS_REC | MS_SLAVE)
    _remount_sys_keeping_bpffs()
    _raise_memlock_limit()


def _raise_memlock_limit() -> None:
    """Old kernels charge BPF maps to RLIMIT_MEMLOCK; lift it as far as we may."""
    unlimited = resource.RLIM_INFINITY
    try:
        resource.setrlimit(resource.RLIMIT_MEMLOCK, (unlimited, unlimited))
    except (ValueError, OSError):  # no CAP_SYS_RESOURCE: the hard limit is the ceiling
        _soft, hard = resource.getrlimit(resource.RLIMIT_MEMLOCK)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_MEMLOCK, (hard, hard))


def _remount_sys_keeping_bpffs() -> None:
    """A fresh sysfs shows the lab's interfaces; move the host's bpffs onto it."""
    bpffs = str(paths.bpffs_root())
    keep_bpffs = os.path.ismount(bpffs)
    parking = tempfile.mkdtemp(prefix="xdp-tui-bpffs-")
    try:
        if keep_bpffs:
            _mount(bpffs, parking, None, MS_BIND)
        _libc.umount2(b"/sys", MNT_DETACH)
        _mount("sysfs", "/sys", "sysfs", 0)
        if keep_bpffs:
            _mount(parking, bpffs, None, MS_MOVE)
        else:
            _mount("bpf", bpffs, "bpf", 0)
    finally:
        with contextlib.suppress(OSError):
            os.rmdir(parking)


def exec_in_lab(
    lab: Lab, argv: Sequence[str], *, extra_env: dict[str, str] | None = None
) -> NoReturn:
    """Replace this process with `argv` running inside the lab."""
    if not argv:
        raise XdpTuiError("no command given", hint="e.g. `xdp-tui env exec -- ip addr`")
    enter_lab(lab)
    env = dict(os.environ, XDP_TUI_LAB=lab.name, **(extra_env or {}))
    try:
        os.execvpe(argv[0], list(argv), env)
    except FileNotFoundError:
        raise XdpTuiError(f"command not found: {argv[0]}") from None
    except OSError as exc:
        raise XdpTuiError(f"cannot run {argv[0]}: {exc.strerror}") from None
