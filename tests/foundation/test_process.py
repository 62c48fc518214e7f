"""Facts about other processes: alive or not, and what dead ones left behind."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from xdp_tui.process import left_by_dead_processes, pid_alive


def _dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_pid_alive() -> None:
    assert pid_alive(os.getpid())
    assert not pid_alive(_dead_pid())


def test_only_entries_of_dead_processes_with_our_prefix_are_left_overs(tmp_path: Path) -> None:
    dead, alive = _dead_pid(), os.getpid()
    for name in (f"xt-{dead}-a", f"xt-{alive}-b", f"other-{dead}-c", "xt-nopid-d", f"xt-{dead}"):
        (tmp_path / name).mkdir()
    assert [p.name for p in left_by_dead_processes(tmp_path, "xt-")] == [f"xt-{dead}-a"]
