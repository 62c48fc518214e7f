"""BPF programs on kernel tracepoints (SEC("tracepoint/<category>/<event>")), held by a BPF link.

    with attach_tracepoint_program(Path("trace_prog_kern.o"), "trace_xdp_exception") as tp:
        tp.maps["xdp_stats_map"]     # fd, e.g. for engine.maps.read_map
        tp.category, tp.event        # "xdp", "xdp_exception"

The program runs for every hit of the event, machine-wide, until close().
libbpf attaches it through a perf event and a BPF link; both belong to this
process, so when it exits (even by kill -9) the kernel detaches the program
and frees it with its maps: nothing stays behind, unlike an XDP netlink
attach. Nothing is pinned.

Only the chosen program of the object is loaded, like an XDP load
(BpfObject.load), so an XDP program in the same file that does not pass the
verifier does not stop the tracepoint program.
"""

from __future__ import annotations

import ctypes as C
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path

from xdp_tui.engine import bpfsys
from xdp_tui.engine._lib import capture_libbpf_log, cfunc, errno_of
from xdp_tui.engine.libbpf import BpfObject, LinkedProgram
from xdp_tui.engine.monitor import TRACEFS_DIRS
from xdp_tui.engine.session import object_for
from xdp_tui.errors import XdpTuiError

P = C.c_void_p
BPF_PROG_TYPE_TRACEPOINT = 5  # <linux/bpf.h>

_find_program = cfunc("bpf_object__find_program_by_name", P, P, C.c_char_p)
_attach_tracepoint = cfunc("bpf_program__attach_tracepoint", P, P, C.c_char_p, C.c_char_p)
_link_destroy = cfunc("bpf_link__destroy", C.c_int, P)
_link_fd = cfunc("bpf_link__fd", C.c_int, P)
_libbpf_get_error = cfunc("libbpf_get_error", C.c_long, P)
_get_info = cfunc("bpf_obj_get_info_by_fd", C.c_int, C.c_int, P, C.POINTER(C.c_uint32))
LINK_INFO_SIZE = 64

SECTION_PREFIXES = ("tracepoint/", "tp/")


@dataclass
class TracepointProgram(LinkedProgram):
    """A loaded program attached to one tracepoint; close() detaches it and frees it."""

    prog_name: str
    category: str
    event: str
    prog_id: int
    link_id: int
    _link: int | None = field(default=None, repr=False)

    @property
    def tracepoint(self) -> str:
        return f"{self.category}:{self.event}"

    def _drop_link(self) -> None:
        if self._link is not None:
            _link_destroy(self._link)  # libbpf's link: the perf event and the BPF link go
            self._link = None

    def to_dict(self) -> dict[str, object]:
        return {
            "prog_name": self.prog_name,
            "tracepoint": self.tracepoint,
            "prog_id": self.prog_id,
            "link_id": self.link_id,
            "maps": sorted(self.maps),
        }


def tracepoint_of_section(section: str) -> tuple[str, str] | None:
    """("xdp", "xdp_exception") for "tracepoint/xdp/xdp_exception" (or "tp/..."); else None."""
    for prefix in SECTION_PREFIXES:
        if section.startswith(prefix):
            category, _, event = section[len(prefix) :].partition("/")
            if category and event and "/" not in event:
                return category, event
    return None


def tracepoint_programs(obj: BpfObject) -> list[str]:
    """Names of the object's programs that go on a tracepoint."""
    return [p.name for p in obj.programs if tracepoint_of_section(p.section)]


def attach_tracepoint_program(path: Path, program: str | None = None) -> TracepointProgram:
    """Build (for a .c), load PROGRAM and attach it to the tracepoint its section names."""
    obj_path, source, _warnings = object_for(Path(path))
    obj = BpfObject.open(obj_path, source=source)
    try:
        name, (category, event) = _choose(obj, program)
        _require_event(category, event)
        obj.load(name, prog_type=BPF_PROG_TYPE_TRACEPOINT)
        link = _attach(obj, name, category, event)
    except BaseException:
        obj.close()
        raise
    link_fd = int(_link_fd(link))
    return TracepointProgram(
        prog_name=name,
        category=category,
        event=event,
        prog_id=bpfsys.prog_info(obj.program_fd(name)).id,
        link_id=_link_id(link_fd),
        maps=obj.map_fds(),
        obj=obj,
        _link=link,
    )


def _choose(obj: BpfObject, program: str | None) -> tuple[str, tuple[str, str]]:
    found = {p.name: tracepoint_of_section(p.section) for p in obj.programs}
    candidates = [name for name, tp in found.items() if tp]
    if program is None:
        if not candidates:
            raise XdpTuiError(
                "the object has no tracepoint program",
                location=obj.where,
                hint='a tracepoint program sits in SEC("tracepoint/<category>/<event>")',
            )
        if len(candidates) > 1:
            raise XdpTuiError(
                f"the object has {len(candidates)} tracepoint programs; choose one:"
                f" {', '.join(candidates)}",
                location=obj.where,
                hint=f"pass the function name, e.g. `--prog {candidates[0]}`",
            )
        program = candidates[0]
    where = found.get(program)
    if where is None:
        raise XdpTuiError(
            f"'{program}' is not a tracepoint program"
            + (f"; tracepoint programs here: {', '.join(candidates)}" if candidates else ""),
            location=obj.where,
            hint='its section must be SEC("tracepoint/<category>/<event>")',
        )
    return program, where


def _require_event(category: str, event: str) -> None:
    """A clear error for an unknown event or an unmounted tracefs (libbpf reads its id there)."""
    bases = [base for base in TRACEFS_DIRS if (base / "events").is_dir()]
    if not bases:
        raise XdpTuiError(
            "tracefs is not mounted, so tracepoints cannot be found",
            hint="mount it: `sudo mount -t tracefs tracefs /sys/kernel/tracing`",
        )
    if not (bases[0] / "events" / category / event).is_dir():
        raise XdpTuiError(
            f"the kernel has no tracepoint {category}:{event}",
            hint=f"the events it has are listed under {bases[0] / 'events'}",
        )


def _attach(obj: BpfObject, name: str, category: str, event: str) -> int:
    prog = _find_program(obj.handle, name.encode())
    with capture_libbpf_log() as messages:
        link = _attach_tracepoint(prog, category.encode(), event.encode())
    err = _libbpf_get_error(link) if link else 0
    if not link or err:
        code = errno_of(int(err) if err else -1)
        said = "".join(text for _, text in messages).strip()
        raise XdpTuiError(
            f"cannot attach {name} to tracepoint {category}:{event}: {os.strerror(code)}",
            location=obj.where,
            detail=said or None,
        )
    return int(link)


def _link_id(link_fd: int) -> int:
    """The kernel's id of the link (0 where libbpf fell back to a bare perf event)."""
    info = C.create_string_buffer(LINK_INFO_SIZE)  # struct bpf_link_info: type, id, prog_id, ...
    size = C.c_uint32(LINK_INFO_SIZE)
    if _get_info(link_fd, info, C.byref(size)) != 0:
        return 0
    return int(struct.unpack_from("=I", info.raw, 4)[0])
