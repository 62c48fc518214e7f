"""TC programs on a lab's ingress (engine/tc.py): beside XDP, and nothing left behind."""

from __future__ import annotations

import os
import signal
import struct
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from testenv import traffic
from xdp_tui.engine import bpfsys
from xdp_tui.engine.session import load_program
from xdp_tui.engine.tc import attach_tc_program, tcx_prog_ids
from xdp_tui.errors import XdpTuiError

pytestmark = pytest.mark.kernel


def _gone(prog_id: int, timeout: float = 3.0) -> bool:
    """The kernel frees a detached program after an RCU grace period: wait for it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            bpfsys.prog_info_by_id(prog_id)
        except XdpTuiError:
            return True
        time.sleep(0.05)
    return False


def test_counts_beside_xdp_and_close_leaves_nothing(
    prog: Callable[[str], Path], lab: object
) -> None:
    source = prog("tc_counter")
    dev = lab.outer  # type: ignore[attr-defined]
    with load_program(source, dev, program="xdp_pass_all", pin_maps=False):
        with attach_tc_program(source, "tc_count_all", dev) as tc:
            prog_id = tc.prog_id
            assert tcx_prog_ids(dev) == [prog_id]
            result = traffic.ping(lab, 3)  # type: ignore[arg-type]
            assert result.received == 3  # TC_ACT_OK: the stack still answers
            raw = bpfsys.lookup(tc.maps["seen"], struct.pack("=I", 0), 8)
            assert isinstance(raw, bytes) and struct.unpack("=Q", raw)[0] >= 3
        assert tcx_prog_ids(dev) == []
    assert _gone(prog_id)


def test_kill_9_of_the_holder_detaches(prog: Callable[[str], Path], lab: object) -> None:
    source = prog("tc_counter")
    dev = lab.outer  # type: ignore[attr-defined]
    code = (
        "import time; from pathlib import Path;"
        "from xdp_tui.engine.tc import attach_tc_program as a;"
        f"t = a(Path({str(source)!r}), 'tc_count_all', {dev!r});"
        "print(t.prog_id, flush=True); time.sleep(60)"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    try:
        assert holder.stdout is not None
        prog_id = int(holder.stdout.readline())
        assert tcx_prog_ids(dev) == [prog_id]
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert tcx_prog_ids(dev) == []
    assert _gone(prog_id)


def test_refuses_non_lab_interfaces_and_non_tc_programs(
    prog: Callable[[str], Path], lab: object, foreign_veth: str
) -> None:
    source = prog("tc_counter")
    with pytest.raises(XdpTuiError, match="not a lab interface"):
        attach_tc_program(source, "tc_count_all", foreign_veth)
    with pytest.raises(XdpTuiError, match="not a TC program"):
        attach_tc_program(source, "xdp_pass_all", lab.outer)  # type: ignore[attr-defined]
