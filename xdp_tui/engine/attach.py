"""Attach an XDP program to an interface with a BPF link, and see what is attached.

Why a link and not the netlink attach the tutorial's loaders use: a link
belongs to the file descriptors that reference it. When the process holding
it dies (even by `kill -9`), the kernel detaches the program. A learner's
crashed TUI therefore never leaves a DROP program cutting their lab off.
The CLI's `load` wants the opposite, so `persistent=True` pins the link in
bpffs (`/sys/fs/bpf/<dev>/xdp_link`): it lives until `xdp-tui unload`
removes the pin.

Every attach is recorded in `run_dir()/attach/<dev>.json` (program id, pid,
persistent), which is how `query()` tells "ours" from programs attached by
other tools.

Safety: only interfaces a lab created are touched unless `force=True`.
"""

from __future__ import annotations

import ctypes as C
import errno
import json
import os
import socket
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

from xdp_tui import labs, paths, pins
from xdp_tui.engine import bpfsys
from xdp_tui.engine._lib import CallError, call_error, cfunc, errno_of
from xdp_tui.errors import NoSuchInterfaceError, UnsafeInterfaceError, XdpTuiError
from xdp_tui.process import pid_alive

Mode = Literal["native", "skb", "auto"]
AttachedMode = Literal["native", "skb", "hw", "multi", "none"]
MODES: tuple[str, ...] = ("native", "skb", "auto")

BPF_XDP = 37  # enum bpf_attach_type
BPF_LINK_TYPE_XDP = 6
XDP_FLAGS_SKB_MODE = 1 << 1
XDP_FLAGS_DRV_MODE = 1 << 2
_MODE_FLAGS = {"native": XDP_FLAGS_DRV_MODE, "skb": XDP_FLAGS_SKB_MODE, "auto": 0}
_ATTACHED_MODES: dict[int, AttachedMode] = {0: "none", 1: "native", 2: "skb", 3: "hw", 4: "multi"}
LINK_PIN_NAME = "xdp_link"
DETACH_WAIT_S = 2.0

T = TypeVar("T")


class _LinkCreateOpts(C.Structure):
    # Only the fields we set; libbpf accepts a shorter struct (sz tells it how long).
    _fields_ = [("sz", C.c_size_t), ("flags", C.c_uint32)]


class _XdpQueryOpts(C.Structure):
    _fields_ = [
        ("sz", C.c_size_t),
        ("prog_id", C.c_uint32),
        ("drv_prog_id", C.c_uint32),
        ("hw_prog_id", C.c_uint32),
        ("skb_prog_id", C.c_uint32),
        ("attach_mode", C.c_uint8),
    ]


class _LinkInfo(C.Structure):
    # struct bpf_link_info: type, id, prog_id, then a union (8-aligned) we don't read.
    _fields_ = [
        ("type", C.c_uint32),
        ("id", C.c_uint32),
        ("prog_id", C.c_uint32),
        ("pad", C.c_uint32),
    ]


_link_create = cfunc("bpf_link_create", C.c_int, C.c_int, C.c_int, C.c_int, C.c_void_p)
_link_detach = cfunc("bpf_link_detach", C.c_int, C.c_int)
_link_next_id = cfunc("bpf_link_get_next_id", C.c_int, C.c_uint32, C.POINTER(C.c_uint32))
_link_fd_by_id = cfunc("bpf_link_get_fd_by_id", C.c_int, C.c_uint32)
_obj_info = cfunc("bpf_obj_get_info_by_fd", C.c_int, C.c_int, C.c_void_p, C.POINTER(C.c_uint32))
_obj_pin = cfunc("bpf_obj_pin", C.c_int, C.c_int, C.c_char_p)
_obj_get = cfunc("bpf_obj_get", C.c_int, C.c_char_p)
_xdp_query = cfunc("bpf_xdp_query", C.c_int, C.c_int, C.c_int, C.c_void_p)
_xdp_detach = cfunc("bpf_xdp_detach", C.c_int, C.c_int, C.c_uint32, C.c_void_p)


@dataclass
class XdpStatus:
    dev: str
    prog_id: int | None
    prog_name: str | None
    mode: AttachedMode
    ours: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Attachment:
    """One program attached through a link we created. close() detaches it (unless persistent)."""

    dev: str
    prog_id: int
    prog_name: str
    mode: AttachedMode
    persistent: bool
    link_fd: int | None
    link_pin: Path | None = None
    netns: str | None = None  # set for the inner end of a lab (veth0 inside the namespace)

    def close(self) -> None:
        """Detach and drop our link fd. A persistent (pinned) link stays attached; see remove()."""
        if self.link_fd is not None:
            if not self.persistent:
                # Closing our fd alone detaches only when it was the link's last: a twin
                # capture (capture_twin.swap_in) holds another, and the link, with the twin
                # in it, stayed on the interface until the capture stopped.
                _link_detach(self.link_fd)
            os.close(self.link_fd)
            self.link_fd = None
            if not self.persistent:
                _forget(self.dev, self.netns, self.prog_id)

    def program_in_link(self) -> int | None:
        """The id of the program our link runs now, None without a link.

        A capture on a kernel refusing fentry swaps its twin into this very
        link for a while (capture_twin.swap_in): the interface then runs
        another program id, yet our attachment is not lost.
        """
        if self.link_fd is None:
            return None
        info = _link_info(self.link_fd)
        return int(info.prog_id) if info is not None else None

    def remove(self) -> None:
        """Detach even a persistent attachment: unpin the link and drop our fd."""
        if self.link_pin is not None:
            _unpin_link(self.link_pin)
        self.persistent = False
        self.close()
        _forget(self.dev, self.netns, self.prog_id)


# ---- the lab guard --------------------------------------------------------


def check_safe(ifname: str, *, netns: str | None = None, force: bool = False) -> None:
    """Refuse interfaces no lab created: XDP_DROP on eth0 would cut an SSH session."""
    if netns is None and not interface_exists(ifname):
        raise no_such_interface(ifname)
    if force:
        return
    if netns is None and labs.is_lab_interface(ifname):
        return
    if netns is not None:
        try:
            if labs.get(netns).inner == ifname:
                return
        except XdpTuiError:
            pass
    where = f"{ifname} in namespace {netns}" if netns else ifname
    raise UnsafeInterfaceError(
        f"{where} is not a lab interface; xdp-tui only attaches programs to labs it created",
        location=f"dev {ifname}",
        hint="an XDP_DROP program on a real interface such as eth0 cuts your SSH session. "
        "Create a lab (`xdp-tui env setup`) or pass --force if you really mean it",
    )


# ---- namespaces -----------------------------------------------------------


def in_netns(netns: str | None, fn: Callable[..., T], *args: Any) -> T:
    """Run fn in the lab's namespace (a helper thread) or right here."""
    if netns is None:
        return fn(*args)
    return labs.netns_thread(netns, fn, *args)


def ifindex_of(ifname: str) -> int:
    """The interface index in the calling thread's namespace.

    Not /sys/class/net: sysfs shows the namespace it was mounted in, while
    if_nametoindex asks through a socket of this thread's namespace.
    """
    try:
        return socket.if_nametoindex(ifname)
    except (OSError, ValueError):
        raise no_such_interface(ifname) from None


def interface_exists(ifname: str) -> bool:
    """IFNAME exists in this thread's namespace (a malformed name does not)."""
    try:
        socket.if_nametoindex(ifname)
    except (OSError, ValueError):
        return False
    return True


def no_such_interface(ifname: str) -> XdpTuiError:
    return NoSuchInterfaceError(
        f"no interface named {ifname!r}",
        location=f"dev {ifname}",
        hint="`xdp-tui env status` lists the labs; `ip link` every interface",
        tui_hint="press b: it creates the lab when it is missing and attaches your program",
    )


# ---- records --------------------------------------------------------------


def _record_path(dev: str, netns: str | None) -> Path:
    key = dev if netns is None else f"{dev}@{netns}"
    return paths.run_dir() / "attach" / f"{key}.json"


def read_record(dev: str, netns: str | None = None) -> dict[str, Any] | None:
    try:
        record = json.loads(_record_path(dev, netns).read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def _write_record(att: Attachment) -> None:
    path = _record_path(att.dev, att.netns)
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {
        "dev": att.dev,
        "netns": att.netns,
        "prog_id": att.prog_id,
        "prog_name": att.prog_name,
        "mode": att.mode,
        "pid": os.getpid(),
        "persistent": att.persistent,
        "link_pin": str(att.link_pin) if att.link_pin else None,
        # A capture's twin may run in this link for a while: see _runs_in_recorded_link.
        "link_id": _link_id(att.link_fd) if att.link_fd is not None else None,
    }
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record))
    tmp.replace(path)


def recorded_devs() -> list[str]:
    """Interfaces of the root namespace with an attach record (labs and forced ones)."""
    folder = paths.run_dir() / "attach"
    if not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.glob("*.json") if "@" not in p.stem)


def forget_vanished(dev: str) -> list[str]:
    """DEV is gone: drop its records (and the lab peer's) and unpin their links.

    Unpinning releases the link, which frees the program the pin kept loaded.
    Returns the records removed.
    """
    folder = paths.run_dir() / "attach"
    removed = []
    for path in [folder / f"{dev}.json", *folder.glob(f"*@{dev}.json")]:
        record = read_record(path.stem.split("@")[0], path.stem.partition("@")[2] or None)
        if record is None:
            continue
        _unpin_recorded(record)
        path.unlink(missing_ok=True)
        removed.append(str(path))
    return removed


def forget_ended(dev: str) -> list[str]:
    """DEV exists: drop its record if the attachment it describes has ended."""
    record = read_record(dev)
    if record is None:
        return []
    status = query(dev)
    if status.ours:
        return []  # still running: a live session's, or a deliberate persistent load
    if status.prog_id != record.get("prog_id"):
        _unpin_recorded(record)  # a link of ours whose program is gone
    path = _record_path(dev, None)
    path.unlink(missing_ok=True)
    return [str(path)]


def _forget(dev: str, netns: str | None, prog_id: int | None = None) -> None:
    """Drop the record; with PROG_ID only if it still describes that program."""
    if prog_id is not None:
        record = read_record(dev, netns)
        if record is not None and record.get("prog_id") != prog_id:
            return  # a newer attach (by another load) owns the record now
    _record_path(dev, netns).unlink(missing_ok=True)


# ---- query ----------------------------------------------------------------


def _raw_query(ifname: str) -> tuple[int, int]:
    """(prog_id, attach_mode) of the XDP program on IFNAME in this thread's namespace."""
    opts = _XdpQueryOpts(sz=C.sizeof(_XdpQueryOpts))
    ret = _xdp_query(ifindex_of(ifname), 0, C.byref(opts))
    if ret != 0:
        raise call_error(ret, f"cannot query XDP on {ifname}", location=f"dev {ifname}")
    return int(opts.prog_id), int(opts.attach_mode)


def _prog_name(prog_id: int) -> str | None:
    try:
        return bpfsys.prog_info_by_id(prog_id).name
    except XdpTuiError:
        return None


def query(ifname: str, *, netns: str | None = None) -> XdpStatus:
    prog_id, mode = in_netns(netns, _raw_query, ifname)
    if not prog_id:
        return XdpStatus(ifname, None, None, "none", False)
    record = read_record(ifname, netns)
    ours = bool(
        record
        and (record.get("prog_id") == prog_id or _runs_in_recorded_link(record, prog_id))
        and (record.get("persistent") or pid_alive(int(record.get("pid", 0))))
    )
    name = record["prog_name"] if ours and record else _prog_name(prog_id)
    return XdpStatus(ifname, prog_id, name, _ATTACHED_MODES.get(mode, "none"), ours)


def _runs_in_recorded_link(record: dict[str, Any], prog_id: int) -> bool:
    """PROG_ID runs in the very link RECORD names, in place of the program attached.

    A capture on a kernel refusing fentry swaps its twin into our link for a
    while (capture_twin.swap_in): the attachment is still ours, and unload or
    status must say so, as Attachment.program_in_link() does for its owner.
    """
    link_id = record.get("link_id")
    if isinstance(link_id, int):
        return _xdp_link_of(prog_id) == link_id
    pin = record.get("link_pin")  # a record from before link ids were recorded
    if isinstance(pin, str) and pin:
        path = Path(pin)
        return pins.is_ours(path.parent.name, path) and _pinned_link_prog(path) == prog_id
    return False


def _link_info(link_fd: int) -> _LinkInfo | None:
    """The kernel's bpf_link_info head of LINK_FD (None: not a link, or the call failed)."""
    info = (C.c_uint8 * 64)()
    size = C.c_uint32(64)
    if _obj_info(link_fd, info, C.byref(size)) != 0:
        return None
    return _LinkInfo.from_buffer(info)


def _link_id(link_fd: int) -> int | None:
    info = _link_info(link_fd)
    return int(info.id) if info is not None else None


# ---- attach ---------------------------------------------------------------


def attach(
    ifname: str,
    prog_fd: int,
    mode: Mode = "auto",
    *,
    persistent: bool = False,
    force: bool = False,
    netns: str | None = None,
    link_pin: Path | None = None,
    prog_name: str | None = None,
) -> Attachment:
    """Attach PROG_FD on IFNAME through a new BPF link.

    persistent: pin the link (default path `pin_dir(ifname)/xdp_link`) so it
    outlives this process. netns: attach inside that lab's namespace.
    prog_name: the full function name (the kernel keeps only 15 characters).
    """
    if mode not in _MODE_FLAGS:
        raise XdpTuiError(f"unknown XDP mode {mode!r}", hint="use native, skb or auto")
    check_safe(ifname, netns=netns, force=force)
    if persistent and link_pin is None:
        link_pin = paths.pin_dir(ifname) / LINK_PIN_NAME
    link_fd, attached_mode = in_netns(netns, _create_link_with_mode, ifname, prog_fd, mode)
    try:
        if persistent and link_pin is not None:
            _pin_link(link_fd, link_pin)
        info = bpfsys.prog_info(prog_fd)
    except BaseException:
        if persistent and link_pin is not None:
            _unpin_link(link_pin)
        os.close(link_fd)
        raise
    att = Attachment(
        dev=ifname,
        prog_id=info.id,
        prog_name=prog_name or info.name,
        mode=_ATTACHED_MODES.get(attached_mode, "none"),
        persistent=persistent,
        link_fd=link_fd,
        link_pin=link_pin if persistent else None,
        netns=netns,
    )
    _write_record(att)
    return att


def _create_link_with_mode(ifname: str, prog_fd: int, mode: Mode) -> tuple[int, int]:
    """(link fd, attach mode as bpf_xdp_query numbers it: 1 native, 2 skb).

    The kernel's "auto" is native when the driver has XDP support and generic
    otherwise. Asking for native first, then generic when the driver says it
    has none (EOPNOTSUPP), gets the same result and tells us which mode we
    got without a netlink query afterwards. That query matters: it waits for
    the rtnl lock, which an attach elsewhere (the lab's inner peer) may hold
    for a whole RCU grace period.
    """
    ifindex = ifindex_of(ifname)
    if mode == "auto":
        fd = _link_create_raw(ifindex, prog_fd, "native")
        if fd >= 0:
            return fd, 1
        if -fd != errno.EOPNOTSUPP:
            raise _attach_error(ifname, mode, -fd)
        fd = _link_create_raw(ifindex, prog_fd, "skb")
        attached_mode = 2
    else:
        fd = _link_create_raw(ifindex, prog_fd, mode)
        attached_mode = 1 if mode == "native" else 2
    if fd < 0:
        raise _attach_error(ifname, mode, -fd)
    return fd, attached_mode


def _link_create_raw(ifindex: int, prog_fd: int, mode: Mode) -> int:
    """The new link's fd, or -errno."""
    opts = _LinkCreateOpts(sz=C.sizeof(_LinkCreateOpts), flags=_MODE_FLAGS[mode])
    fd = _link_create(prog_fd, ifindex, BPF_XDP, C.byref(opts))
    if fd >= 0:
        return int(fd)
    return -errno_of(fd)


def _attach_error(ifname: str, mode: Mode, err: int) -> XdpTuiError:
    where = f"dev {ifname}"
    if err == errno.EBUSY:
        try:
            prog_id, _ = _raw_query(ifname)
        except XdpTuiError:
            prog_id = 0
        name = _prog_name(prog_id) if prog_id else None
        what = f"program {name} (id {prog_id})" if prog_id else "an XDP program"
        return XdpTuiError(
            f"{ifname} already has {what} attached",
            location=where,
            hint=f"pass --force to replace it (xdp-tui detaches it first); `xdp-tui status --dev "
            f"{ifname}` says who attached it",
            tui_hint=f"from a shell, `xdp-tui status --dev {ifname}` says who attached it; "
            "remove it there, then press b again",
        )
    if err == errno.EEXIST:
        return XdpTuiError(
            f"{ifname} already has a program in the other XDP mode; native and generic (skb) "
            "XDP cannot be active at the same time",
            location=where,
            hint=f"unload the other program first (`xdp-tui unload --dev {ifname}`) or use the same --mode",
            tui_hint="press m for the other program's mode, or remove that program from a "
            f"shell (`xdp-tui unload --dev {ifname}`), then press b again",
        )
    if err in (errno.EOPNOTSUPP, errno.EINVAL) and mode == "native":
        return XdpTuiError(
            f"{ifname} does not support native XDP",
            location=where,
            hint="use --mode skb (generic XDP works on every interface) or --mode auto",
            tui_hint="press m for skb (generic XDP works on every interface) or auto, then b",
        )
    return CallError(f"cannot attach XDP on {ifname} in {mode} mode", err, location=where)


def _pin_link(link_fd: int, pin: Path) -> None:
    """Pin the link at PIN (in the pin folder of the interface it is named after)."""
    dev = pin.parent.name
    if not pin.parent.exists():
        pin.parent.mkdir(parents=True, exist_ok=True)
        pins.record_dir_created(dev)
    if pin.exists() or pin.is_symlink():
        if not pins.is_ours(dev, pin):
            raise XdpTuiError(
                f"{pin} exists and xdp-tui did not create it",
                location=str(pin),
                hint="another tool uses that name; remove it if it is yours",
            )
        pin.unlink()  # a stale pin of an old link of ours would block the new one
    ret = _obj_pin(link_fd, str(pin).encode())
    if ret != 0:
        raise call_error(ret, f"cannot pin the XDP link at {pin}", location=str(pin))
    pins.record_pin(dev, pin)


# ---- detach ---------------------------------------------------------------


def detach(ifname: str, *, force: bool = False, netns: str | None = None) -> bool:
    """Remove the XDP program on IFNAME; True when something was detached.

    Ours (recorded, pinned link): the pin is removed. Held by another live
    xdp-tui process, or attached by another tool: only with force.
    """
    check_safe(ifname, netns=netns, force=force)
    status = query(ifname, netns=netns)
    record = read_record(ifname, netns)
    if status.prog_id is None:
        if record:
            _unpin_recorded(record)
            _forget(ifname, netns)
        return False
    if status.ours and record and record.get("persistent"):
        _unpin_recorded(record)
        _forget(ifname, netns)
        if _wait_until_detached(ifname, netns, status.prog_id):
            return True
    elif status.ours and record and not force:
        raise XdpTuiError(
            f"{ifname}'s program is held by the running xdp-tui process {record.get('pid')}",
            location=f"dev {ifname}",
            hint="close it there (it detaches when that process ends), or pass --force",
        )
    elif not status.ours and not force:
        raise XdpTuiError(
            f"the program on {ifname} ({status.prog_name}, id {status.prog_id}) was not attached by xdp-tui",
            location=f"dev {ifname}",
            hint="pass --force to detach it anyway",
        )
    in_netns(netns, _force_detach, ifname, status.prog_id)
    _forget(ifname, netns)
    return True


def _wait_until_detached(ifname: str, netns: str | None, prog_id: int) -> bool:
    """After the last reference to a link goes, the kernel frees it a moment later.

    Unlinking a pin releases the link from deferred work, so the program can
    still be seen for a few milliseconds. Wait for that (bounded); False if
    it is still there (someone else holds the link).
    """
    deadline = time.monotonic() + DETACH_WAIT_S
    while True:
        if query(ifname, netns=netns).prog_id != prog_id:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)


def _unpin_recorded(record: dict[str, Any]) -> None:
    """Remove the link pin an attach record names, if it is still that attachment's.

    A pin recorded as ours qualifies; so does one whose link runs exactly the
    recorded program (made by an xdp-tui from before pins were recorded).
    """
    if not record.get("link_pin"):
        return
    pin = Path(record["link_pin"])
    if not pins.is_ours(pin.parent.name, pin) and _pinned_link_prog(pin) == record.get("prog_id"):
        pins.record_pin(pin.parent.name, pin)
    _unpin_link(pin)


def _pinned_link_prog(pin: Path) -> int | None:
    """The program id of the link pinned at PIN (None: not a link, or no such pin)."""
    fd = _obj_get(str(pin).encode())
    if fd < 0:
        return None
    try:
        # fdinfo names the kind of object: only a link has "link_type".
        fields = dict(
            line.split(":", 1)
            for line in Path(f"/proc/self/fdinfo/{fd}").read_text().splitlines()
            if ":" in line
        )
    except OSError:
        return None
    finally:
        os.close(fd)
    if fields.get("link_type", "").strip() != "xdp":
        return None
    prog_id = fields.get("prog_id", "").strip()
    return int(prog_id) if prog_id.isdigit() else None


def _unpin_link(pin: Path) -> None:
    """Remove a link pin of ours (not one another tool put at the same path)."""
    if pins.is_ours(pin.parent.name, pin):
        pin.unlink(missing_ok=True)
        pins.forget_pin(pin.parent.name, pin)


def _force_detach(ifname: str, prog_id: int) -> None:
    """Detach whatever is there: a netlink attach directly, a link through bpf_link_detach."""
    link_id = _xdp_link_of(prog_id)
    if link_id is not None:
        fd = _link_fd_by_id(link_id)
        if fd >= 0:
            try:
                _link_detach(fd)
            finally:
                os.close(fd)
            return
    _, mode = _raw_query(ifname)
    flags = XDP_FLAGS_SKB_MODE if mode == 2 else XDP_FLAGS_DRV_MODE
    ret = _xdp_detach(ifindex_of(ifname), flags, None)
    if ret != 0:
        raise call_error(ret, f"cannot detach XDP from {ifname}", location=f"dev {ifname}")


def _xdp_link_of(prog_id: int) -> int | None:
    """The id of the XDP link running PROG_ID, if it was attached with a link."""
    current = C.c_uint32(0)
    while True:
        nxt = C.c_uint32(0)
        if _link_next_id(current.value, C.byref(nxt)) != 0:
            return None
        current = nxt
        fd = _link_fd_by_id(nxt.value)
        if fd < 0:
            continue
        try:
            head = _link_info(fd)
            if head is not None and head.type == BPF_LINK_TYPE_XDP and head.prog_id == prog_id:
                return int(head.id)
        finally:
            os.close(fd)
