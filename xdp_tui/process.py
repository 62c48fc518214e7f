"""Small facts about other processes, shared by attach records, check labs and the TUI."""

from __future__ import annotations

import contextlib
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


# Private tracefs instances (engine.monitor) are named after their process, so a
# dead run's instance can be found and removed by the next command.
TRACE_INSTANCE_PREFIX = "xdp-tui-"  # + "<pid>-<n>"
TRACE_INSTANCE_DIRS = (
    Path("/sys/kernel/tracing/instances"),
    Path("/sys/kernel/debug/tracing/instances"),
)


def sweep_trace_instances(instances: tuple[Path, ...] = TRACE_INSTANCE_DIRS) -> list[str]:
    done = []
    for folder in instances:
        if not folder.is_dir():
            continue
        for instance in left_by_dead_processes(folder, TRACE_INSTANCE_PREFIX):
            with contextlib.suppress(OSError):
                instance.rmdir()  # tracefs removes an instance's files with it
                done.append(f"trace instance {instance.name}")
    return done
