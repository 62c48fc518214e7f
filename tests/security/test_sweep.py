"""What a kill -9 leaves is swept at the next start of any xdp-tui command."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import RUN_PREFIX
from xdp_tui import paths
from xdp_tui.cli import main
from xdp_tui.process import TRACE_INSTANCE_DIRS


def _netns_exists(name: str) -> bool:
    return Path("/var/run/netns", name).exists()


@pytest.mark.kernel
def test_killed_check_trace_instance_and_attach_record_are_swept(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # A check killed after making its private lab, with a private trace instance open.
    script = (
        "import contextlib\n"
        "from xdp_tui import checks, lessons\n"
        "from xdp_tui.engine.monitor import PrivateTracePipe\n"
        "lesson = lessons.get_lesson('basic01-xdp-pass')\n"
        "stack = contextlib.ExitStack()\n"
        "ctx = checks.CheckContext(lesson, lesson.assignments[0], lesson.starter_source,"
        " lesson.starter_source, stack)\n"
        "lab = ctx.lab()\n"
        "pipe = PrivateTracePipe().open()\n"
        "print(lab.name, pipe.instance, flush=True)\n"
        "print('ready', flush=True)\n"
        "import time; time.sleep(60)\n"
    )
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    lab_name, instance = child.stdout.readline().split()
    assert child.stdout.readline().strip() == "ready"
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    records = paths.run_dir() / "attach"
    records.mkdir(parents=True, exist_ok=True)
    stale = records / f"{RUN_PREFIX}gone.json"
    stale.write_text(json.dumps({"dev": "gone", "pid": child.pid, "persistent": False}))
    kept = records / f"{RUN_PREFIX}kept.json"
    kept.write_text(json.dumps({"dev": "kept", "pid": child.pid, "persistent": True}))
    assert _netns_exists(lab_name) and Path(instance).is_dir()

    try:
        assert main(["lessons", "--json"]) == 0  # any command
    finally:
        if _netns_exists(lab_name):  # the sweep failed: still leave nothing behind
            from xdp_tui.checks import remove_check_lab

            remove_check_lab(lab_name)
    capsys.readouterr()
    assert not _netns_exists(lab_name)
    assert not Path(f"/sys/class/net/{lab_name}").exists()
    assert not Path(instance).exists()
    assert not stale.exists()
    assert kept.exists()  # a deliberate persistent load stays
    kept.unlink()


def test_sweep_leaves_live_processes_alone() -> None:
    from xdp_tui.process import sweep_trace_instances

    folder = next((d for d in TRACE_INSTANCE_DIRS if d.is_dir()), None)
    if folder is None or os.geteuid() != 0:
        pytest.skip("needs tracefs instances and root")
    mine = folder / f"xdp-tui-{os.getpid()}-sweeptest"
    mine.mkdir()
    try:
        assert str(mine.name) not in " ".join(sweep_trace_instances())
        assert mine.is_dir()
    finally:
        mine.rmdir()
