"""The attached session: what this app attached, in which mode, and undoing it.

It remembers every interface it attached to, so that leaving removes the
pins its programs kept (basic04 keeps them between attaches) and so that
the leftovers check never mistakes this session's work for an earlier one's.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from xdp_tui.errors import XdpTuiError

if TYPE_CHECKING:
    from xdp_tui.engine.live import MapSnapshot
    from xdp_tui.engine.session import LoadedProgram
    from xdp_tui.engine.tc import TcProgram
    from xdp_tui.engine.tracepoint import TracepointProgram

log = logging.getLogger(__name__)

# The modes `m` cycles through (engine.attach.Mode): auto tries native, then generic.
Mode = Literal["auto", "native", "skb"]
MODES: tuple[Mode, ...] = ("auto", "native", "skb")


@dataclass
class Attached:
    """What this session has attached right now."""

    lesson_id: str
    dev: str
    program: str
    mode: str
    prog_id: int
    obj: Path
    handle: LoadedProgram = field(repr=False)
    # The lesson's tracepoint programs (tracing01) and TC programs (advanced01),
    # attached beside the XDP program and detached with it.
    tracers: list[TracepointProgram] = field(default_factory=list, repr=False)
    tc: list[TcProgram] = field(default_factory=list, repr=False)

    def close(self) -> None:
        """Detach the companions, then the XDP program."""
        for companion in [*self.tracers, *self.tc]:
            try:
                companion.close()
            except (XdpTuiError, OSError) as exc:  # detaching must go on
                log.warning("detaching %s: %s", companion, exc)
        self.tracers, self.tc = [], []
        self.handle.close()

    def companion_maps(self) -> tuple[MapSnapshot, ...]:
        """The companions' maps for the live view: a tracepoint program's keys are
        ifindexes, shown as interface names; a TC program's as they are."""
        from xdp_tui.engine.ifnames import snapshot, snapshot_by_interface
        from xdp_tui.engine.maps import read_map

        found: list[MapSnapshot] = []
        for tracer in self.tracers:
            for name, fd in tracer.maps.items():
                with contextlib.suppress(XdpTuiError):  # a hiccup must not stop the live view
                    found.append(
                        snapshot_by_interface(f"{name} · {tracer.tracepoint}", read_map(fd))
                    )
        for tc in self.tc:
            for name, fd in tc.maps.items():
                with contextlib.suppress(XdpTuiError):
                    found.append(snapshot(f"{name} · tc {tc.direction}", read_map(fd)))
        return tuple(found)


class AttachedSession:
    def __init__(self) -> None:
        self.lock = threading.RLock()  # held while attaching, detaching and listing leftovers
        self.attached: Attached | None = None
        self.mode: Mode = "auto"
        self.closed = False
        self._attached_devs: set[str] = set()  # where this session attached (pins to remove)

    def cycle_mode(self) -> Mode:
        self.mode = MODES[(MODES.index(self.mode) + 1) % len(MODES)]
        return self.mode

    def attach(
        self,
        lesson_id: str,
        obj: Path,
        dev: str,
        program: str | None,
        *,
        tracepoint_programs: tuple[str, ...] = (),
        tc_programs: tuple[str, ...] = (),
    ) -> Attached:
        """Load OBJ and attach PROGRAM to DEV in the current mode (the caller holds `lock`),
        with OBJ's TRACEPOINT_PROGRAMS on their tracepoints and TC_PROGRAMS on DEV's ingress."""
        from xdp_tui.engine import session

        if self.closed:  # the app is leaving: attach nothing more
            raise XdpTuiError("the session is closing; nothing attached")
        loaded = session.load_program(obj, dev, program=program, mode=self.mode)
        tracers, tc = _attach_companions(obj, dev, loaded, tracepoint_programs, tc_programs)
        self.attached = Attached(
            lesson_id=lesson_id,
            dev=dev,
            program=loaded.prog_name,
            mode=loaded.mode,
            prog_id=loaded.prog_id,
            obj=obj,
            handle=loaded,
            tracers=tracers,
            tc=tc,
        )
        return self.attached

    def detach(self) -> bool:
        """Detach what is attached (the caller holds `lock`); False when nothing was."""
        attached, self.attached = self.attached, None
        if attached is None:
            return False
        attached.close()
        self._attached_devs.add(attached.dev)
        return True

    def devs(self) -> set[str]:
        """Interfaces this session attached to (now or earlier): never leftovers."""
        current = {self.attached.dev} if self.attached is not None else set()
        return self._attached_devs | current

    def notes(self) -> list[str]:
        return list(self.attached.handle.notes) if self.attached is not None else []

    def close(self) -> None:
        """Detach, then remove the pins this session's programs left; leaving always goes on."""
        from xdp_tui.engine import session

        with self.lock:
            self.closed = True
            try:
                self.detach()
            finally:
                for dev in sorted(self._attached_devs):
                    try:
                        session.unload(dev)
                    except (XdpTuiError, OSError) as exc:  # one stuck pin must not keep the rest
                        log.warning("leaving: could not unpin %s: %s", dev, exc)
                self._attached_devs.clear()


def _attach_companions(
    obj: Path,
    dev: str,
    loaded: LoadedProgram,
    tracepoint_programs: tuple[str, ...],
    tc_programs: tuple[str, ...],
) -> tuple[list[TracepointProgram], list[TcProgram]]:
    """Attach the programs that go beside the XDP one; on any failure detach all of them,
    LOADED too, and raise (the learner sees why, nothing half-attached stays)."""
    from xdp_tui.engine.tc import attach_tc_program
    from xdp_tui.engine.tracepoint import attach_tracepoint_program

    tracers: list[TracepointProgram] = []
    tc: list[TcProgram] = []
    try:
        tracers = [attach_tracepoint_program(obj, name) for name in tracepoint_programs]
        tc = [attach_tc_program(obj, name, dev) for name in tc_programs]
    except BaseException:
        for companion in [*tracers, *tc]:
            companion.close()
        loaded.close()
        raise
    return tracers, tc
