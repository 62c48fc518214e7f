"""Build, load and attach in one call: what the TUI, the CLI and the lesson checks use.

    loaded = load_program(Path("xdp_prog_kern.c"), "test01", program="xdp_pass_func")
    loaded.maps["xdp_stats_map"]    # fd
    loaded.close()                  # detaches (unless persistent), closes fds

Each step either succeeds or is undone: a failed attach unpins the maps the
load had just pinned, so a failure leaves the interface and bpffs as they
were. Pins under `/sys/fs/bpf/<dev>/` stay after a normal close so the next
load reuses them with their values (the tutorial's basic04); `unload()`
removes them.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from xdp_tui import labs, paths
from xdp_tui.engine import attach as attach_mod
from xdp_tui.engine.attach import Attachment, Mode, XdpStatus, check_safe, query
from xdp_tui.engine.build import build_or_raise
from xdp_tui.engine.libbpf import BpfObject
from xdp_tui.errors import XdpTuiError

PEER_SOURCE = Path(__file__).resolve().parent / "peer" / "xdp_pass_peer.c"
PEER_LINK_PIN = "xdp_peer_link"


@dataclass
class LoadedProgram:
    dev: str
    prog_name: str
    prog_id: int
    mode: str  # "native" | "skb" as attached
    maps: dict[str, int]
    notes: list[str] = field(default_factory=list)
    persistent: bool = False
    object_path: Path | None = None
    source: Path | None = None
    obj: BpfObject | None = None
    attachment: Attachment | None = None
    peer: tuple[BpfObject, Attachment] | None = None

    def close(self) -> None:
        """Detach (unless persistent) and close every fd; safe to call twice."""
        if self.peer is not None:
            _, peer_att = self.peer  # the peer's program object is shared: it stays loaded
            peer_att.close()
            self.peer = None
        if self.attachment is not None:
            self.attachment.close()
            self.attachment = None
        if self.obj is not None:
            self.obj.close()
            self.obj = None
        self.maps = {}

    def __enter__(self) -> LoadedProgram:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def to_dict(self) -> dict[str, object]:
        return {
            "dev": self.dev,
            "prog_name": self.prog_name,
            "prog_id": self.prog_id,
            "mode": self.mode,
            "persistent": self.persistent,
            "maps": sorted(self.maps),
            "notes": self.notes,
        }


def _lab_of(dev: str) -> labs.Lab | None:
    if not labs.is_lab_interface(dev):
        return None
    try:
        return labs.get(dev)
    except XdpTuiError:
        return None


def object_for(path: Path) -> tuple[Path, Path | None, list[str]]:
    """(object file, C source or None, build warnings) for a .c or .o path."""
    path = Path(path)
    if path.suffix == ".c":
        result = build_or_raise(path)
        warnings = [f"{d.location}: warning: {d.message}" for d in result.warnings]
        return result.obj, result.source, warnings
    if path.suffix == ".o":
        return path, None, []
    raise XdpTuiError(
        "expected a C source (.c) or a BPF object (.o)",
        location=str(path),
        hint="e.g. `xdp-tui load xdp_prog_kern.c --dev test01`",
    )


def load_program(
    path: Path,
    dev: str,
    *,
    program: str | None = None,
    mode: Mode = "auto",
    persistent: bool = False,
    force: bool = False,
    pin_maps: bool = True,
) -> LoadedProgram:
    """Build (if .c), load PROGRAM and attach it on DEV; undo everything on failure."""
    if mode not in attach_mod.MODES:
        raise XdpTuiError(f"unknown XDP mode {mode!r}", hint="use native, skb or auto")
    check_safe(dev, force=force)  # before anything is built, pinned or attached
    # Ask what DEV runs before the peer's attach starts: an attach holds the
    # kernel's rtnl lock for a while (it waits for an RCU grace period), and
    # this query would wait for it.
    status = query(dev)
    # The inner peer's program is independent of the learner's: set it up
    # while clang compiles, so it adds (almost) no time to a load.
    peer = _PeerAttach.start(dev, mode, persistent)
    obj: BpfObject | None = None
    att: Attachment | None = None
    pin_dir = paths.pin_dir(dev)
    pin_dir_existed = pin_dir.exists()
    try:
        object_path, source, notes = object_for(path)
        replace = _make_room(dev, status, force=force, notes=notes)
        obj = BpfObject.open(object_path, source=source)
        name = obj.load(program, pin_dir=pin_dir if pin_maps else None)
        if obj.reused_pins:
            shown = ", ".join(p.name for p in obj.reused_pins)
            notes.append(f"reused pinned map(s) {shown} from {pin_dir} (their values are kept)")
        if replace:
            attach_mod.detach(dev, force=force)
            notes.append("replaced the program xdp-tui had loaded on this interface before")
        att = attach_mod.attach(
            dev, obj.program_fd(name), mode, persistent=persistent, force=force, prog_name=name
        )
        loaded = LoadedProgram(
            dev=dev,
            prog_name=name,
            prog_id=att.prog_id,
            mode=att.mode,
            maps=obj.map_fds(),
            notes=notes,
            persistent=persistent,
            object_path=object_path,
            source=source,
            obj=obj,
            attachment=att,
        )
        if peer is not None:
            loaded.peer = peer.finish(keep=att.mode == "native", notes=notes)
        return loaded
    except BaseException:
        if peer is not None:
            peer.finish(keep=False, notes=[])
        if att is not None:
            att.remove()
        if obj is not None:
            obj.unpin_new_maps()
            obj.close()
        if not pin_dir_existed:
            with contextlib.suppress(OSError):
                pin_dir.rmdir()  # only if empty
        raise


def _make_room(dev: str, status: XdpStatus, *, force: bool, notes: list[str]) -> bool:
    """Is DEV (as STATUS found it) free? True: our own persistent program, to be replaced."""
    if status.prog_id is None:
        return False
    record = attach_mod.read_record(dev)
    if status.ours and record and record.get("persistent"):
        return True
    if force:
        attach_mod.detach(dev, force=True)
        notes.append(f"detached {status.prog_name} (id {status.prog_id}) first (--force)")
        return False
    if status.ours and record and record.get("pid") == os.getpid():
        raise XdpTuiError(
            f"{dev} already runs {status.prog_name}, loaded earlier by this same process",
            location=f"dev {dev}",
            hint="close() the earlier LoadedProgram before loading another one",
        )
    who = (
        f"the running xdp-tui process {record.get('pid')}"
        if status.ours and record
        else "another tool (not xdp-tui)"
    )
    raise XdpTuiError(
        f"{dev} already has program {status.prog_name} (id {status.prog_id}) attached by {who}",
        location=f"dev {dev}",
        hint=f"unload it first (`xdp-tui unload --dev {dev}`) or pass --force",
    )


# ---- the inner peer -------------------------------------------------------


class _PeerAttach:
    """Native XDP_TX/REDIRECT on a veth needs an XDP program on the other end: put one there.

    We cannot tell from the object whether it will return XDP_TX or
    XDP_REDIRECT, so we do it for every native attach on a lab's veth; an
    XDP_PASS program on veth0 changes nothing else. It runs in a thread
    started before the build; finish() keeps or removes what it attached.
    """

    def __init__(self, lab: labs.Lab, dev: str, persistent: bool) -> None:
        self.lab = lab
        self.dev = dev
        self.persistent = persistent
        self.result: tuple[BpfObject, Attachment] | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name=f"peer-{dev}", daemon=True)

    @classmethod
    def start(cls, dev: str, mode: Mode, persistent: bool) -> _PeerAttach | None:
        lab = _lab_of(dev)
        if lab is None or mode == "skb":
            return None
        peer = cls(lab, dev, persistent)
        peer.thread.start()
        return peer

    def _run(self) -> None:
        try:
            self.result = _attach_peer(self.lab, self.dev, self.persistent)
        except BaseException as exc:  # noqa: BLE001 - handed to finish()
            self.error = exc

    def finish(self, *, keep: bool, notes: list[str]) -> tuple[BpfObject, Attachment] | None:
        self.thread.join()
        if self.result is None:
            if keep and self.error is not None:
                raise self.error
            return None
        _, peer_att = self.result
        if not keep:
            peer_att.remove()
            return None
        notes.append(
            f"attached an XDP_PASS program on {self.lab.inner} (inside {self.lab.netns}) as well: "
            "with native XDP on a veth, frames sent back (XDP_TX) or redirected arrive there "
            "only if that end has an XDP program"
        )
        return self.result


def _attach_peer(lab: labs.Lab, dev: str, persistent: bool) -> tuple[BpfObject, Attachment] | None:
    if query(lab.inner, netns=lab.netns).prog_id is not None:
        return None  # already there (ours from an earlier load, or the learner's own)
    peer_obj = _peer_program()
    peer_att = attach_mod.attach(
        lab.inner,
        peer_obj.program_fd(peer_obj.loaded_program or ""),
        "native",
        persistent=persistent,
        netns=lab.netns,
        link_pin=paths.pin_dir(dev) / PEER_LINK_PIN,
        prog_name=peer_obj.loaded_program,
    )
    return peer_obj, peer_att


_peer_lock = threading.Lock()
_peer_loaded: BpfObject | None = None


def _peer_program() -> BpfObject:
    """The peer's XDP_PASS program, built and loaded once per process and shared.

    It never changes, and one loaded program can be attached on any number
    of interfaces, so every load reuses it instead of opening and loading
    the object again. It stays loaded until the process ends.
    """
    global _peer_loaded
    with _peer_lock:
        if _peer_loaded is None:
            out = paths.run_dir() / "build" / "xdp_pass_peer.o"
            built = build_or_raise(PEER_SOURCE, out, warm_next=False)
            peer_obj = BpfObject.open(built.obj)
            try:
                peer_obj.load()
            except BaseException:
                peer_obj.close()
                raise
            _peer_loaded = peer_obj
        return _peer_loaded


# ---- unload ---------------------------------------------------------------


def unload(dev: str, *, force: bool = False) -> dict[str, object]:
    """Remove what xdp-tui put on DEV: the program (pinned link), the inner peer, the pins."""
    check_safe(dev, force=force)
    detached = attach_mod.detach(dev, force=force)
    peer_detached = _remove_peer(dev)
    removed = _remove_pins(dev)
    return {
        "dev": dev,
        "detached": detached,
        "peer_detached": peer_detached,
        "pins_removed": removed,
    }


def _remove_peer(dev: str) -> bool:
    lab = _lab_of(dev)
    if lab is None:
        return False
    status = query(lab.inner, netns=lab.netns)
    if not status.ours:
        return False  # a program the learner put there themselves stays
    attach_mod.detach(lab.inner, netns=lab.netns, force=True)
    return True


def _remove_pins(dev: str) -> list[str]:
    pin_dir = paths.pin_dir(dev)
    if not pin_dir.is_dir():
        return []
    removed = sorted(str(p) for p in _walk(pin_dir))
    shutil.rmtree(pin_dir, ignore_errors=True)
    return removed


def _walk(root: Path) -> Iterator[Path]:
    for entry in root.iterdir():
        if entry.is_dir():
            yield from _walk(entry)
        else:
            yield entry
