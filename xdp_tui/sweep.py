"""Sweep what killed xdp-tui runs left behind, at the start of every command.

A run killed with `kill -9` cannot clean up: its private trace instance
(a 2.8 MB buffer with bpf_printk on), its attach records, a check's private
labs (namespace and veth pair) and clang work folders stay. Each carries the
pid of its creator, so the next xdp-tui command removes those whose process
is gone. Cheap when there is nothing to do: a few directory listings; the
modules that remove things are imported only when something is found.
"""

from __future__ import annotations

import contextlib
import json
import os

from xdp_tui import paths
from xdp_tui.process import (
    pid_alive,
    sweep_trace_instances,
)


def sweep_after_killed_runs() -> list[str]:
    """Remove what dead xdp-tui processes left; what was removed (for a log line)."""
    if os.geteuid() != 0:
        return []  # nothing of this kind can be ours without root
    done = []
    for step in (sweep_trace_instances, sweep_attach_records, sweep_check_labs):
        with contextlib.suppress(Exception):  # a sweep never stops the command itself
            done.extend(step())
    return done


def sweep_attach_records() -> list[str]:
    """Records of non-persistent attaches whose process died: the kernel detached those."""
    folder = paths.run_dir() / "attach"
    done = []
    for path in folder.glob("*.json") if folder.is_dir() else ():
        try:
            record = json.loads(path.read_bytes()[:65536])
            pid = int(record.get("pid", 0) or 0)
            if record.get("persistent") or not pid or pid_alive(pid):
                continue
        except (OSError, ValueError, AttributeError, TypeError):
            continue
        path.unlink(missing_ok=True)
        done.append(f"attach record {path.stem}")
    return done


def sweep_check_labs() -> list[str]:
    """Private labs of checks whose process died mid-check."""
    folder = paths.run_dir() / "check-labs"
    if not folder.is_dir():
        return []
    dead = []
    for entry in folder.iterdir():
        with contextlib.suppress(OSError, ValueError):
            if not pid_alive(int(entry.read_text().strip())):
                dead.append(entry.name)
    if not dead:
        return []
    from xdp_tui import checks  # netlink and testenv: only when there is a lab to remove

    for name in dead:
        checks.remove_check_lab(name)
    return [f"check lab {name}" for name in dead]
