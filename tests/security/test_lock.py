"""The labs lock: no other user can take it, and a wait for it is bounded and says who holds it."""

from __future__ import annotations

import stat
import subprocess
import sys
import time

import pytest

from tests.learner import LoginUser
from xdp_tui import lab_records as state
from xdp_tui import paths
from xdp_tui.errors import XdpTuiError


def test_another_user_cannot_open_the_lock(learner: LoginUser) -> None:
    with state.locked():
        pass
    folder = paths.lock_dir()
    info = folder.lstat()
    assert info.st_uid == 0 and stat.S_IMODE(info.st_mode) == 0o700
    # What stalled every lab operation before: a read-only open and flock by anyone.
    hold = [
        sys.executable,
        "-c",
        f"import fcntl; fcntl.flock(open({str(folder / 'labs.lock')!r}), fcntl.LOCK_SH)",
    ]
    with pytest.raises(subprocess.CalledProcessError) as refused:
        learner.run(*hold)
    assert "Permission denied" in refused.value.stderr
    with state.locked(wait_s=1.0):
        pass


def test_a_held_lock_times_out_naming_its_holder() -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import time; from xdp_tui import lab_records as state\n"
            "with state.locked():\n    print('held', flush=True); time.sleep(30)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        started = time.monotonic()
        with pytest.raises(XdpTuiError) as busy, state.locked(wait_s=0.5):
            pass
        assert time.monotonic() - started < 5
        assert f"pid {holder.pid}" in busy.value.render()
        assert "state.locked" in busy.value.render()  # its command line
    finally:
        holder.kill()
        holder.wait()
