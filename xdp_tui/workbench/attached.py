"""The attached session: what this app attached, in which mode, and undoing it.

It remembers every interface it attached to, so that leaving removes the
pins its programs kept (basic04 keeps them between attaches) and so that
the leftovers check never mistakes this session's work for an earlier one's.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from xdp_tui.errors import XdpTuiError

if TYPE_CHECKING:
    from xdp_tui.engine.session import LoadedProgram

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

    def attach(self, lesson_id: str, obj: Path, dev: str, program: str | None) -> Attached:
        """Load OBJ and attach PROGRAM to DEV in the current mode (the caller holds `lock`)."""
        from xdp_tui.engine import session

        if self.closed:  # the app is leaving: attach nothing more
            raise XdpTuiError("the session is closing; nothing attached")
        loaded = session.load_program(obj, dev, program=program, mode=self.mode)
        self.attached = Attached(
            lesson_id=lesson_id,
            dev=dev,
            program=loaded.prog_name,
            mode=loaded.mode,
            prog_id=loaded.prog_id,
            obj=obj,
            handle=loaded,
        )
        return self.attached

    def detach(self) -> bool:
        """Detach what is attached (the caller holds `lock`); False when nothing was."""
        attached, self.attached = self.attached, None
        if attached is None:
            return False
        attached.handle.close()
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
