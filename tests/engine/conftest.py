"""Fixtures for the engine tests (shared by build/load/attach and maps/stats tests).

Test programs live in `progs/`; tests build copies in a temporary folder so
no object files land in the repository.
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import new_lab_name

PROGS = Path(__file__).resolve().parent / "progs"


@pytest.fixture
def prog(tmp_path: Path) -> Callable[[str], Path]:
    """prog("counter") -> a private copy of progs/counter.c to build and load."""

    def _copy(name: str) -> Path:
        target = tmp_path / f"{name}.c"
        shutil.copy(PROGS / f"{name}.c", target)
        for included in re.findall(r'^#include "([\w.]+)"', target.read_text(), re.M):
            if (PROGS / included).is_file():  # a variant's base file (bigmap_flows_100k.c)
                shutil.copy(PROGS / included, tmp_path / included)
        return target

    return _copy


@pytest.fixture
def run_cli(capfd: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str, str]]:
    """run_cli("load", FILE, "--dev", D) -> (exit code, stdout, stderr) of the xdp-tui CLI."""
    from xdp_tui.cli import main

    def _run(*argv: str) -> tuple[int, str, str]:
        capfd.readouterr()
        code = main(list(argv))
        out, err = capfd.readouterr()
        return code, out, err

    return _run


@pytest.fixture
def lab(make_lab: Callable[..., object]) -> object:
    """A fresh lab (testenv) torn down after the test."""
    return make_lab("eng")


@pytest.fixture
def foreign_veth() -> Iterator[str]:
    """A veth pair that no lab created (so xdp-tui must refuse it); never eth0."""
    name = new_lab_name("frn")
    subprocess.run(
        ["ip", "link", "add", name, "type", "veth", "peer", "name", name + "p"],
        check=True,
        capture_output=True,
    )
    subprocess.run(["ip", "link", "set", name, "up"], check=True, capture_output=True)
    yield name
    subprocess.run(["ip", "link", "del", name], capture_output=True)


def percpu_datarec_sum(map_fd: int, key: int) -> tuple[int, int]:
    """(packets, bytes) summed over CPUs for the lessons' {u64 packets; u64 bytes} value."""
    from xdp_tui.engine import bpfsys

    per_cpu = bpfsys.lookup(map_fd, struct.pack("I", key), 16, per_cpu=True)
    assert isinstance(per_cpu, list)
    packets = sum(struct.unpack("QQ", v)[0] for v in per_cpu)
    nbytes = sum(struct.unpack("QQ", v)[1] for v in per_cpu)
    return packets, nbytes


# ---- maps / stats / monitor fixtures (helper B2) ------------------------------


@pytest.fixture
def load_on_lab(prog: Callable[[str], Path]) -> Iterator[Callable[..., object]]:
    """load_on_lab(lab, "xdp_pass_count", source="maps_kern") -> LoadedProgram, closed after.

    Maps are not pinned (pin_maps=False) so two variants of one program never
    meet an incompatible pin; several loads in one test replace each other.
    """
    from xdp_tui.engine import session

    loaded: list[object] = []

    def _load(lab: object, program: str, source: str = "maps_kern", **options: object) -> object:
        options.setdefault("pin_maps", False)
        src = prog(source)
        if source != "maps_kern":  # variants #include the base file
            shutil.copy(PROGS / "maps_kern.c", src.parent / "maps_kern.c")
        lp = session.load_program(src, lab.name, program=program, **options)  # type: ignore[attr-defined]
        loaded.append(lp)
        return lp

    yield _load
    for lp in reversed(loaded):
        lp.close()  # type: ignore[attr-defined]


def prog_gone(prog_id: int, timeout: float = 3.0) -> bool:
    """Wait until the kernel has freed program PROG_ID (after an RCU grace period)."""
    import time

    from xdp_tui.engine import bpfsys
    from xdp_tui.errors import XdpTuiError

    deadline = time.monotonic() + timeout
    while True:
        try:
            bpfsys.prog_info_by_id(prog_id)
        except XdpTuiError:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)


def kill_9_holder(code: str, check_held: Callable[[int], None]) -> int:
    """Run CODE (which prints a prog id, then sleeps) in a child, CHECK_HELD(prog id) while it
    lives, then SIGKILL it; returns the prog id."""
    import os
    import signal
    import sys

    holder = subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    try:
        assert holder.stdout is not None
        prog_id = int(holder.stdout.readline())
        check_held(prog_id)
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    return prog_id
