"""TC programs on a lab's ingress (engine/tc.py): beside XDP, and nothing left behind."""

from __future__ import annotations

import struct
from collections.abc import Callable
from pathlib import Path

import pytest

from testenv import traffic
from tests.engine.conftest import kill_9_holder, prog_gone
from xdp_tui.engine import bpfsys
from xdp_tui.engine.session import load_program
from xdp_tui.engine.tc import attach_tc_program, tcx_prog_ids
from xdp_tui.errors import XdpTuiError

pytestmark = pytest.mark.kernel


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
    assert prog_gone(prog_id)


def test_kill_9_of_the_holder_detaches(prog: Callable[[str], Path], lab: object) -> None:
    source = prog("tc_counter")
    dev = lab.outer  # type: ignore[attr-defined]
    code = (
        "import time; from pathlib import Path;"
        "from xdp_tui.engine.tc import attach_tc_program as a;"
        f"t = a(Path({str(source)!r}), 'tc_count_all', {dev!r});"
        "print(t.prog_id, flush=True); time.sleep(60)"
    )

    def held(prog_id: int) -> None:
        assert tcx_prog_ids(dev) == [prog_id]

    prog_id = kill_9_holder(code, held)
    assert tcx_prog_ids(dev) == []
    assert prog_gone(prog_id)


def test_refuses_non_lab_interfaces_and_non_tc_programs(
    prog: Callable[[str], Path], lab: object, foreign_veth: str
) -> None:
    source = prog("tc_counter")
    with pytest.raises(XdpTuiError, match="not a lab interface"):
        attach_tc_program(source, "tc_count_all", foreign_veth)
    with pytest.raises(XdpTuiError, match="not a TC program"):
        attach_tc_program(source, "xdp_pass_all", lab.outer)  # type: ignore[attr-defined]
