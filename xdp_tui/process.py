"""Small facts about other processes, shared by attach records, check labs and the TUI."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists (signal 0 probes without sending)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, owned by someone else
    return True


def left_by_dead_processes(parent: Path, prefix: str) -> Iterator[Path]:
    """Entries of PARENT named `<prefix><pid>-<anything>` whose process is gone.

    Work folders and trace instances carry their creator's pid in the name so
    that a later run can remove what a killed one left behind.
    """
    for path in parent.glob(f"{prefix}*-*"):
        pid = path.name.removeprefix(prefix).split("-", 1)[0]
        if pid.isdigit() and not pid_alive(int(pid)):
            yield path
