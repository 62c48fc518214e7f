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
import fcntl
import os
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from xdp_tui import labs, paths, pins, userfiles
from xdp_tui.engine import attach as attach_mod
from xdp_tui.engine.attach import Attachment, Mode, XdpStatus, check_safe, query
from xdp_tui.engine.build import build_or_raise, next_compiler_after
from xdp_tui.engine.libbpf import BpfObject
from xdp_tui.errors import UnsafeInterfaceError, XdpTuiError

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
    # Pinned maps xdp-tui replaced because their shape changed (a notice is in notes).
    replaced_maps: list[str] = field(default_factory=list)
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
            "replaced_maps": self.replaced_maps,
        }


def _lab_of(dev: str) -> labs.Lab | None:
    if not labs.is_lab_interface(dev):
        return None
    try:
        return labs.get(dev)
    except XdpTuiError:
        return None


def object_for(
    path: Path, include_dirs: Sequence[Path] = ()
) -> tuple[Path, Path | None, list[str]]:
    """(object file, C source or None, build warnings) for a .c or .o path the learner named.

    The object of a .c goes beside it, written as the learner; a .o is read as
    the learner (root must not open, through a path they chose, what they may not read).
    """
    path = Path(path)
    if path.suffix == ".c":
        result = build_or_raise(path, include_dirs=include_dirs, learner_output=True)
        warnings = [f"{d.location}: warning: {d.message}" for d in result.warnings]
        return result.obj, result.source, warnings
    if path.suffix == ".o":
        return _readable_object(path), None, []
    raise XdpTuiError(
        "expected a C source (.c) or a BPF object (.o)",
        location=str(path),
        hint="e.g. `xdp-tui load xdp_prog_kern.c --dev test01`",
    )


def _readable_object(path: Path) -> Path:
    """PATH itself, or, when root loads it for a learner, a private copy read as that learner."""
    from xdp_tui.engine.libbpf import OBJECT_MAX_BYTES

    who = userfiles.learner()
    if os.geteuid() != 0 or not who.is_other or paths.in_run_dir(path):
        return path  # (the TUI's and the checks' builds are root's own, in the run folder)
    # resolved like a source (a link the learner made to their object is fine), then
    # read with their identity: the link reaches only what they may read.
    data = userfiles.read_bytes(path.resolve(), OBJECT_MAX_BYTES, owned=False)
    folder = paths.private_folder(paths.private_dir("build") / f"user-{who.uid}")
    copy = folder / f"loaded-{path.name}"
    tmp = copy.with_name(f".{copy.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
    os.replace(tmp, copy)
    return copy


def load_program(
    path: Path,
    dev: str,
    *,
    program: str | None = None,
    mode: Mode = "auto",
    persistent: bool = False,
    force: bool = False,
    pin_maps: bool = True,
    include_dirs: Sequence[Path] = (),
) -> LoadedProgram:
    """Build (if .c), load PROGRAM and attach it on DEV; undo everything on failure.

    include_dirs: extra -I folders for the build (`xdp-tui load -I DIR`).
    """
    if mode not in attach_mod.MODES:
        raise XdpTuiError(f"unknown XDP mode {mode!r}", hint="use native, skb or auto")
    check_safe(dev, force=force)  # before anything is built, pinned or attached
    with device_lock(dev), next_compiler_after():
        return _load_locked(path, dev, program, mode, persistent, force, pin_maps, include_dirs)


def _load_locked(
    path: Path,
    dev: str,
    program: str | None,
    mode: Mode,
    persistent: bool,
    force: bool,
    pin_maps: bool,
    include_dirs: Sequence[Path],
) -> LoadedProgram:
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
        object_path, source, notes = object_for(path, include_dirs)
        replace = _make_room(dev, status, force=force, notes=notes)
        obj = BpfObject.open(object_path, source=source)
        name = obj.load(
            program,
            pin_dir=pin_dir if pin_maps else None,
            replaceable=lambda pin: pins.is_ours(dev, pin),
        )
        _record_pins(dev, obj, created_dir=not pin_dir_existed)
        for pin, changed in obj.replaced_pins:
            notes.append(
                f"replaced the map pinned at {pin}: its shape changed ({changed}); "
                "its counters restart from zero"
            )
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
            replaced_maps=[str(pin) for pin, _ in obj.replaced_pins],
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
            for pin in obj.pinned_now:
                pins.forget_pin(dev, pin)
            obj.unpin_new_maps()
            obj.close()
        if not pin_dir_existed:
            with contextlib.suppress(OSError):
                pin_dir.rmdir()  # only if empty
        raise


def _record_pins(dev: str, obj: BpfObject, *, created_dir: bool) -> None:
    """Remember the pins this load made: unload and clean remove those, and only those."""
    dir_created = created_dir and paths.pin_dir(dev).is_dir()
    pins.record_pins(dev, obj.pinned_now, dir_created=dir_created)


# ---- one load or unload per device at a time ------------------------------


@contextlib.contextmanager
def device_lock(dev: str) -> Iterator[None]:
    """Hold DEV for one load or unload; a second one at the same time is told it is busy.

    Two loads racing on one device both see the old program, both detach it
    and then both attach: one of them must lose. It loses at once, with a
    clear message, instead of half-way with a kernel error. The lock lives in
    a root-only folder (nobody else can hold it) and goes with its holder.
    """
    if not dev or "/" in dev or dev.startswith("."):
        raise attach_mod.no_such_interface(dev)  # never a path outside the lock folder
    folder = paths.run_dir() / "locks"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(folder / f"{dev}.lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip()
            who = f"another xdp-tui (process {holder})" if holder.isdigit() else "another xdp-tui"
            raise XdpTuiError(
                f"{dev} is busy: {who} is loading or unloading a program on it right now",
                location=f"dev {dev}",
                hint="wait for it to finish, then try again",
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock


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
    if status.ours and record:
        raise XdpTuiError(
            f"{dev} already has program {status.prog_name} (id {status.prog_id}) attached by "
            f"the running xdp-tui process {record.get('pid')}",
            location=f"dev {dev}",
            hint="close it there (it detaches when that process ends), or pass --force",
            tui_hint="quit the other xdp-tui (its program goes with it), then press b again",
        )
    raise XdpTuiError(
        f"{dev} already has program {status.prog_name} (id {status.prog_id}) attached by "
        "another tool (not xdp-tui)",
        location=f"dev {dev}",
        hint="pass --force to detach it and load yours, or remove it with the tool that "
        f"attached it (`ip link set dev {dev} xdp off`, `xdp-loader unload {dev} --all`)",
        tui_hint=f"remove it from a shell with the tool that attached it (`ip link set dev {dev} "
        f"xdp off`, `xdp-loader unload {dev} --all`), then press b again",
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
    """Remove what xdp-tui put on DEV: the program (pinned link), the inner peer, the pins.

    Only pins xdp-tui created go; another tool's pins in the folder stay.
    An interface that no longer exists: its records and pins go (`clean`).
    """
    if not attach_mod.interface_exists(dev):
        return _unload_vanished(dev)
    if not force and _lab_of(dev) is None and attach_mod.read_record(dev) is not None:
        raise UnsafeInterfaceError(
            f"{dev} is not a lab interface; xdp-tui attached to it because --force was given",
            location=f"dev {dev}",
            hint=f"unload it with --force as well: `xdp-tui unload --dev {dev} --force`",
        )
    check_safe(dev, force=force)
    with device_lock(dev):
        detached = attach_mod.detach(dev, force=force)
        peer_detached = _remove_peer(dev)
        removed = pins.remove_ours(dev)
    return {
        "dev": dev,
        "detached": detached,
        "peer_detached": peer_detached,
        "pins_removed": removed,
    }


def _unload_vanished(dev: str) -> dict[str, object]:
    """DEV is gone: what xdp-tui left for it (records, pinned links and maps) goes."""
    had_records = attach_mod.read_record(dev) is not None or dev in pins.recorded_devs()
    if not had_records:
        raise attach_mod.no_such_interface(dev)
    with device_lock(dev):
        removed = pins.remove_ours(dev)  # first, so the links' pins are listed too
        attach_mod.forget_vanished(dev)
    return {"dev": dev, "detached": False, "peer_detached": False, "pins_removed": removed}


def _remove_peer(dev: str) -> bool:
    lab = _lab_of(dev)
    if lab is None:
        return False
    status = query(lab.inner, netns=lab.netns)
    if not status.ours:
        return False  # a program the learner put there themselves stays
    attach_mod.detach(lab.inner, netns=lab.netns, force=True)
    return True


# ---- clean ----------------------------------------------------------------


@dataclass
class Cleaned:
    """What `clean()` removed for one interface."""

    dev: str
    gone: bool  # the interface no longer exists
    records: list[str] = field(default_factory=list)
    pins: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {"dev": self.dev, "gone": self.gone, "records": self.records, "pins": self.pins}


def clean() -> list[Cleaned]:
    """Remove xdp-tui's leftovers (the counterpart of `xdp-loader clean`).

    For interfaces that no longer exist: their attach records, the links and
    maps xdp-tui pinned for them (a pinned link keeps its program loaded
    after its interface is gone). For existing interfaces: records of
    attachments that ended (their process died, or the program is no
    longer there). A deliberate persistent load that still runs stays, and
    nothing xdp-tui did not create is touched.
    """
    done = []
    for dev in sorted(set(attach_mod.recorded_devs()) | set(pins.recorded_devs())):
        if not attach_mod.interface_exists(dev):
            with device_lock(dev):
                removed = pins.remove_ours(dev)  # first, so the links' pins are listed too
                item = Cleaned(dev, True, attach_mod.forget_vanished(dev), removed)
        else:
            item = Cleaned(dev, False, attach_mod.forget_ended(dev))
        if item.records or item.pins:
            done.append(item)
    return done
