"""Capture on kernels that refuse fentry/fexit: a twin of the program, built from its source.

Some kernels (locked-down VMs) refuse every BPF trampoline, so nothing can
run around a program already loaded. The twin is the same C compiled once
more with a wrapper around the XDP function (bpf/capture/xdp_capture_wrap.h):
it records the frame, runs the original code (inlined), records the result
and returns the same verdict. It shares the running program's maps (reused
by fd, so counters go on counting) and keeps the function's name.

While the capture runs the twin replaces the program on the interface,
atomically (bpf_link_update, or a netlink replace when there is no link);
closing puts the original back the same way. If the process dies first, the
twin stays, doing exactly what the original did.

The source comes from the program's BTF line info (xdp-tui builds name the
absolute path); it must not have changed since the program was loaded.
"""

from __future__ import annotations

import ctypes as C
import hashlib
import os
import struct
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from xdp_tui import paths
from xdp_tui.engine import _lib, bpfsys
from xdp_tui.engine._lib import capture_libbpf_log, cfunc
from xdp_tui.errors import XdpTuiError

P = C.c_void_p
RENAMED = "xdp_tui_captured"
BTF_HEADER = struct.Struct(
    "<HBBIIIII"
)  # magic version flags hdr_len type_off type_len str_off str_len
BPF_F_REPLACE = 1 << 2
XDP_FLAGS_REPLACE = 1 << 4
XDP_MODE_FLAGS = {"skb": 1 << 1, "native": 1 << 2}
SOURCE_CHANGED_SLACK_S = 1.0


class _LinkUpdateOpts(C.Structure):
    # libbpf 1.1's struct bpf_link_update_opts ends at old_prog_fd (old_map_fd came in 1.2).
    _fields_ = [
        ("sz", C.c_size_t),
        ("flags", C.c_uint32),
        ("old_prog_fd", C.c_uint32),
    ]


class _XdpAttachOpts(C.Structure):
    _fields_ = [("sz", C.c_size_t), ("old_prog_fd", C.c_int)]


_link_update = cfunc("bpf_link_update", C.c_int, C.c_int, C.c_int, C.POINTER(_LinkUpdateOpts))
_link_fd_by_id = cfunc("bpf_link_get_fd_by_id", C.c_int, C.c_uint32)
_xdp_attach = cfunc(
    "bpf_xdp_attach", C.c_int, C.c_int, C.c_int, C.c_uint32, C.POINTER(_XdpAttachOpts)
)
_next_program = cfunc("bpf_object__next_program", P, P, P)
_next_map = cfunc("bpf_object__next_map", P, P, P)
_prog_name = cfunc("bpf_program__name", C.c_char_p, P)
_prog_set_autoload = cfunc("bpf_program__set_autoload", C.c_int, P, C.c_bool)
_map_name = cfunc("bpf_map__name", C.c_char_p, P)
_map_reuse_fd = cfunc("bpf_map__reuse_fd", C.c_int, P, C.c_int)
_map_set_pin_path = cfunc("bpf_map__set_pin_path", C.c_int, P, C.c_char_p)
_map_is_internal = cfunc("bpf_map__is_internal", C.c_bool, P)
_obj_load = cfunc("bpf_object__load", C.c_int, P)

Undo = Callable[[], None]


def source_of(prog_id: int, *, where: str) -> Path:
    """The C file the running program was built from (its BTF line info), checked unchanged."""
    with bpfsys.prog_fd_by_id(prog_id) as fd:
        info = bpfsys.prog_info(fd)
        offsets = bpfsys.prog_line_file_offsets(fd)
    strings = _btf_strings(info.btf_id)
    names = [_string_at(strings, off) for off in offsets]
    sources = [Path(n) for n in names if n.endswith(".c") and Path(n).is_absolute()]
    found = next((s for s in sources if s.is_file() and not s.is_symlink()), None)
    if found is None:
        raise XdpTuiError(
            "this kernel refuses fentry/fexit, and the program's source "
            f"({', '.join(names) or 'not recorded'}) is not here to build a capturing twin",
            location=where,
            hint="load the program with `xdp-tui load FILE.c`, or use `xdp-tui run` on chosen frames",
            tui_hint="attach your program with b, or run it on chosen frames in the Run frame tab (9)",
        )
    if _twins_dir() in found.parents:
        raise XdpTuiError(
            "a capture already runs on this program (its twin is attached)",
            location=where,
            hint="stop the other capture first; if it died, load your program again",
        )
    loaded_at = time.time() - (time.clock_gettime(time.CLOCK_BOOTTIME) - info.load_time_ns / 1e9)
    if found.stat().st_mtime > loaded_at + SOURCE_CHANGED_SLACK_S:
        raise XdpTuiError(
            f"{found} changed after the program was loaded, so a twin built from it "
            "would not be the program that runs",
            location=where,
            hint="load it again (it is then captured as it is now)",
        )
    return found


# Twins kept built (one per program source and function captured); older ones are removed,
# so a day of checks capturing from temporary folders cannot fill /run.
TWINS_KEPT = 64


def _twins_dir() -> Path:
    return paths.run_dir() / "build" / "capture-twins"


def prune_twins(folder: Path, keep: str, kept: int = TWINS_KEPT) -> None:
    """Remove all but the KEPT most recently used twins in FOLDER (never KEEP's files).

    A twin is its generated source and what building it left beside it, all
    named `<function>-<key>.*`; its newest file's mtime says when it was last used.
    """
    used: dict[str, float] = {}
    for entry in folder.iterdir():
        stem = entry.name.split(".", 1)[0]
        used[stem] = max(used.get(stem, 0.0), entry.lstat().st_mtime)
    for stem in sorted(used, key=used.__getitem__)[:-kept]:
        if stem != keep:
            for entry in folder.glob(f"{stem}.*"):
                entry.unlink(missing_ok=True)


def _btf_strings(btf_id: int) -> bytes:
    with bpfsys.btf_fd_by_id(btf_id) as fd:
        raw = bpfsys.btf_raw(fd)
    _, _, _, hdr_len, _, _, str_off, str_len = BTF_HEADER.unpack_from(raw)
    start = hdr_len + str_off
    return raw[start : start + str_len]


def _string_at(strings: bytes, off: int) -> str:
    end = strings.find(b"\0", off)
    return strings[off : end if end >= 0 else None].decode(errors="replace")


def build_twin(source: Path, func_name: str) -> Path:
    """Build SOURCE with the capture wrapped around FUNC_NAME (cached by content)."""
    from xdp_tui.engine.build import build_or_raise

    text = (
        f"/* generated by xdp-tui: capture around {func_name} of {source} */\n"
        f"#define {func_name} {RENAMED}\n"
        f'#include "{source}"\n'
        f"#undef {func_name}\n"
        '#include "capture/xdp_capture_wrap.h"\n'
        f"XDP_TUI_CAPTURE_WRAP({func_name}, {RENAMED})\n"
    )
    key = hashlib.sha256(text.encode()).hexdigest()[:16]
    folder = _twins_dir()
    folder.mkdir(parents=True, exist_ok=True)
    generated = folder / f"{func_name}-{key}.c"
    if not generated.is_file() or generated.read_text() != text:
        generated.write_text(text)
    else:
        os.utime(generated)  # used again: the newest are the ones kept
    prune_twins(folder, keep=generated.stem)
    return build_or_raise(generated, generated.with_suffix(".o"), warm_next=False).obj


def load_twin(obj: Any, func_name: str, prog_id: int) -> None:
    """Load only the twin's XDP function, with the running program's maps reused."""
    from xdp_tui.engine.maps import maps_of_prog

    running = {}
    for map_id in maps_of_prog(prog_id):
        fd = bpfsys.map_fd_by_id(map_id)
        running[bpfsys.map_info(fd).name] = fd
    try:
        prog = _next_program(obj.handle, None)
        while prog:
            _prog_set_autoload(prog, (_prog_name(prog) or b"").decode() == func_name)
            prog = _next_program(obj.handle, prog)
        m = _next_map(obj.handle, None)
        while m:
            name = (_map_name(m) or b"").decode()
            if not _map_is_internal(m):
                _map_set_pin_path(m, None)
                shared = running.get(name[: bpfsys.BPF_OBJ_NAME_LEN - 1])
                if shared is not None and not name.startswith("capture_"):
                    _map_reuse_fd(m, int(shared))
            m = _next_map(obj.handle, m)
        with capture_libbpf_log() as messages:
            ret = _obj_load(obj.handle)
    finally:
        for fd in running.values():
            fd.close()
    if ret != 0:
        err = _lib.errno_of(ret)
        raise XdpTuiError(
            f"the capturing twin of {func_name} did not load: {os.strerror(err)}",
            location=str(obj.path),
            detail="".join(text for _, text in messages),
        )


def swap_in(dev: str, prog_id: int, twin_fd: int, mode: str) -> Undo:
    """Put the twin where PROG_ID runs on DEV; returns how to put the original back."""
    from xdp_tui.engine.attach import _xdp_link_of, ifindex_of

    original = bpfsys.prog_fd_by_id(prog_id)
    link_id = _xdp_link_of(prog_id)
    if link_id is not None:
        # The link is held only while swapping: an fd kept on it for the capture's whole
        # run kept the link (and the twin in it) attached after its owner detached.
        try:
            _swap_in_link(link_id, twin_fd, int(original), dev)
        except BaseException:
            original.close()
            raise

        def undo_link() -> None:
            try:
                if _still_attached(dev, twin_fd):
                    _swap_in_link(link_id, int(original), twin_fd, dev)
            finally:
                original.close()

        return undo_link
    ifindex = ifindex_of(dev)
    flags = XDP_FLAGS_REPLACE | XDP_MODE_FLAGS.get(mode, 0)
    _replace_netlink(ifindex, twin_fd, int(original), flags, dev)

    def undo_netlink() -> None:
        try:
            if _still_attached(dev, twin_fd):
                _replace_netlink(ifindex, int(original), twin_fd, flags, dev)
        finally:
            original.close()

    return undo_netlink


def _still_attached(dev: str, twin_fd: int) -> bool:
    """Is the twin still what runs on DEV? If someone loaded or detached meanwhile,
    their choice stands and there is nothing to put back."""
    from xdp_tui.engine.attach import query

    return query(dev).prog_id == bpfsys.prog_info(twin_fd).id


def _swap_in_link(link_id: int, new_fd: int, old_fd: int, dev: str) -> None:
    """NEW_FD for OLD_FD in the XDP link LINK_ID, opened for this swap only."""
    link_fd = _link_fd_by_id(link_id)
    if link_fd < 0:
        raise _lib.call_error(link_fd, f"opening the XDP link of {dev}")
    try:
        _replace_in_link(link_fd, new_fd, old_fd, dev)
    finally:
        os.close(link_fd)


def _replace_in_link(link_fd: int, new_fd: int, old_fd: int, dev: str) -> None:
    opts = _LinkUpdateOpts(sz=C.sizeof(_LinkUpdateOpts), flags=BPF_F_REPLACE, old_prog_fd=old_fd)
    ret = _link_update(link_fd, new_fd, C.byref(opts))
    if ret != 0:
        raise _lib.call_error(ret, f"swapping the program in the XDP link of {dev}")


def _replace_netlink(ifindex: int, new_fd: int, old_fd: int, flags: int, dev: str) -> None:
    opts = _XdpAttachOpts(sz=C.sizeof(_XdpAttachOpts), old_prog_fd=old_fd)
    ret = _xdp_attach(ifindex, new_fd, flags, C.byref(opts))
    if ret != 0:
        raise _lib.call_error(ret, f"swapping the XDP program on {dev}")
