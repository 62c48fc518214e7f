"""TC (traffic control) BPF programs beside XDP: SEC("tc") programs on a lab's ingress.

    with attach_tc_program(Path("prog.o"), "tc_meta_func", "test01") as tc:
        tc.maps["tc_classes"]        # fd
        tc.direction                 # "ingress"

A TC program sees the frame later than XDP: after the kernel built its
socket buffer (skb), with the metadata XDP left in front of the packet
(`bpf_xdp_adjust_meta`) readable through `skb->data_meta`.

Attach: a tcx BPF link (`bpf_link_create` with BPF_TCX_INGRESS/EGRESS,
kernels from 6.6; this machine's 6.18 has it). The link belongs to this
process: close(), an exit or a kill -9 detach the program and nothing stays
on the interface. Older kernels would need the clsact qdisc and a netlink
filter instead (`tc qdisc add dev D clsact; tc filter add ... bpf da`),
which outlives the process and must be removed by hand; xdp-tui does not
do that fallback and says so.

Like XDP attaches, only lab interfaces are accepted unless `force`.
"""

from __future__ import annotations

import ctypes as C
import errno
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from xdp_tui.engine import bpfsys
from xdp_tui.engine._lib import cfunc, errno_of
from xdp_tui.engine.attach import check_safe, ifindex_of
from xdp_tui.engine.libbpf import BpfObject, LinkedProgram
from xdp_tui.engine.session import object_for
from xdp_tui.errors import XdpTuiError

Direction = Literal["ingress", "egress"]

BPF_PROG_TYPE_SCHED_CLS = 3  # <linux/bpf.h>
BPF_TCX_INGRESS = 46
BPF_TCX_EGRESS = 47
_ATTACH_TYPES: dict[str, int] = {"ingress": BPF_TCX_INGRESS, "egress": BPF_TCX_EGRESS}
TC_SECTIONS = ("tc", "classifier", "tcx/ingress", "tcx/egress")

_link_create = cfunc("bpf_link_create", C.c_int, C.c_int, C.c_int, C.c_int, C.c_void_p)
_prog_query = cfunc(
    "bpf_prog_query",
    C.c_int,
    C.c_int,
    C.c_int,
    C.c_uint32,
    C.POINTER(C.c_uint32),
    C.POINTER(C.c_uint32),
    C.POINTER(C.c_uint32),
)
MAX_QUERY = 64


@dataclass
class TcProgram(LinkedProgram):
    """A TC program attached to one interface and direction; close() detaches it."""

    dev: str
    direction: Direction
    prog_name: str
    prog_id: int
    link_fd: int = -1

    def _drop_link(self) -> None:
        if self.link_fd >= 0:
            os.close(self.link_fd)  # a tcx link is an fd: closing it detaches the program
            self.link_fd = -1

    def to_dict(self) -> dict[str, object]:
        return {
            "dev": self.dev,
            "direction": self.direction,
            "prog_name": self.prog_name,
            "prog_id": self.prog_id,
            "maps": sorted(self.maps),
        }


@dataclass(frozen=True)
class TcStatus:
    """One program on an interface's tcx hook, whoever attached it."""

    dev: str
    direction: Direction
    prog_id: int
    prog_name: str


def tc_status(
    dev: str, directions: tuple[Direction, ...] = ("ingress", "egress")
) -> tuple[TcStatus, ...]:
    """Every program on DEV's tcx hooks, in run order."""
    found = []
    for direction in directions:
        for prog_id in tcx_prog_ids(dev, direction):
            try:
                name = bpfsys.prog_info_by_id(prog_id).name
            except XdpTuiError:  # detached meanwhile
                continue
            found.append(TcStatus(dev, direction, prog_id, name))
    return tuple(found)


def tc_programs(obj: BpfObject) -> list[str]:
    """Names of the object's programs that go on TC (SEC("tc") and friends)."""
    return [p.name for p in obj.programs if p.section in TC_SECTIONS or p.type == "sched_cls"]


def attach_tc_program(
    path: Path,
    program: str,
    dev: str,
    direction: Direction = "ingress",
    *,
    force: bool = False,
) -> TcProgram:
    """Build (for a .c), load PROGRAM and attach it to DEV's DIRECTION with a tcx link."""
    check_safe(dev, force=force)
    ifindex = ifindex_of(dev)
    obj_path, source, _warnings = object_for(Path(path))
    obj = BpfObject.open(obj_path, source=source)
    try:
        if program not in tc_programs(obj):
            raise XdpTuiError(
                f"'{program}' is not a TC program",
                location=obj.where,
                hint='a TC program sits in SEC("tc") and takes a struct __sk_buff *',
            )
        obj.load(program, prog_type=BPF_PROG_TYPE_SCHED_CLS)
        prog_fd = obj.program_fd(program)
        link_fd = _tcx_link(prog_fd, ifindex, dev, direction)
    except BaseException:
        obj.close()
        raise
    return TcProgram(
        dev=dev,
        direction=direction,
        prog_name=program,
        prog_id=bpfsys.prog_info(prog_fd).id,
        maps=obj.map_fds(),
        obj=obj,
        link_fd=link_fd,
    )


def _tcx_link(prog_fd: int, ifindex: int, dev: str, direction: Direction) -> int:
    fd = int(_link_create(prog_fd, ifindex, _ATTACH_TYPES[direction], None))
    if fd >= 0:
        return fd
    err = errno_of(fd)
    hint = None
    if err in (errno.EINVAL, errno.EOPNOTSUPP):
        hint = (
            "this kernel may predate tcx links (6.6); xdp-tui has no clsact fallback:"
            " `tc qdisc add dev D clsact; tc filter add dev D ingress bpf da obj F sec tc`"
        )
    raise XdpTuiError(
        f"cannot attach to {dev} {direction} (tcx link): {os.strerror(err)}",
        location=f"dev {dev}",
        hint=hint,
    )


def tcx_prog_ids(dev: str, direction: Direction = "ingress") -> list[int]:
    """Ids of every program on DEV's tcx DIRECTION, whoever attached them (bpftool 7.1
    does not list tcx yet)."""
    ids = (C.c_uint32 * MAX_QUERY)()
    count = C.c_uint32(MAX_QUERY)
    # For tcx the kernel reads the first argument as an ifindex.
    ret = _prog_query(ifindex_of(dev), _ATTACH_TYPES[direction], 0, None, ids, C.byref(count))
    if ret != 0:
        err = errno_of(ret)
        raise XdpTuiError(
            f"cannot list the tcx programs of {dev}: {os.strerror(err)}", location=f"dev {dev}"
        )
    return list(ids[: count.value])
