"""Which TUI sessions ran, for whom, and which interfaces they attached to.

A session killed by `kill -9` cannot clean up. Its record (kept in a
root-only folder under the run directory) tells the same user's next
session what that one may have left: only those interfaces are looked at,
never other users' labs or programs someone loaded on purpose with
`xdp-tui load`.

Pure Python: no Textual, no kernel calls.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from xdp_tui import paths
from xdp_tui.process import pid_alive


@dataclass(frozen=True)
class SessionRecord:
    pid: int
    uid: int
    started: float
    devs: tuple[str, ...]


def _folder() -> Path:
    return paths.private_dir("sessions")


def _path(pid: int) -> Path:
    return _folder() / f"{pid}.json"


def learner_uid() -> int:
    """The user the session works for (the sudo user when root runs for one)."""
    uid = os.environ.get("SUDO_UID", "")
    return int(uid) if os.geteuid() == 0 and uid.isdigit() else os.geteuid()


def note_dev(dev: str) -> None:
    """Record that this session attached to DEV (its leftovers, if killed, are there)."""
    current = read(os.getpid())
    devs = tuple(sorted({*(current.devs if current else ()), dev}))
    started = current.started if current else time.time()
    record = {"pid": os.getpid(), "uid": learner_uid(), "started": started, "devs": list(devs)}
    path = _path(os.getpid())
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(record))
    os.replace(tmp, path)


def end() -> None:
    """This session left cleanly: nothing to report next time."""
    forget(os.getpid())


def forget(pid: int) -> None:
    with contextlib.suppress(OSError):
        _path(pid).unlink(missing_ok=True)


def read(pid: int) -> SessionRecord | None:
    try:
        data = json.loads(_path(pid).read_text())
        return SessionRecord(
            pid=int(data["pid"]),
            uid=int(data["uid"]),
            started=float(data["started"]),
            devs=tuple(str(dev) for dev in data["devs"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def dead_sessions(uid: int | None = None) -> list[SessionRecord]:
    """Sessions of user UID (default: this learner) that died without cleaning up."""
    uid = learner_uid() if uid is None else uid
    found = []
    try:
        names = sorted(_folder().glob("*.json"))
    except OSError:
        return []
    for path in names:
        if not path.stem.isdigit() or pid_alive(int(path.stem)):
            continue
        record = read(int(path.stem))
        if record is None:
            forget(int(path.stem))  # damaged: nothing to learn from it
        elif record.uid == uid:
            found.append(record)
    return found
