"""Tracepoint programs (engine/tracepoint.py): attach, count, and nothing left behind."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from testenv import traffic
from tests.engine.conftest import kill_9_holder, prog_gone
from xdp_tui.engine.ifnames import counts_by_interface, interface_name
from xdp_tui.engine.maps import read_map
from xdp_tui.engine.session import load_program
from xdp_tui.engine.tracepoint import attach_tracepoint_program, tracepoint_of_section
from xdp_tui.errors import XdpTuiError

pytestmark = pytest.mark.kernel


def _exists(prog_id: int) -> bool:
    return not prog_gone(prog_id, timeout=0)


def test_sections_name_their_tracepoint() -> None:
    assert tracepoint_of_section("tracepoint/xdp/xdp_exception") == ("xdp", "xdp_exception")
    assert tracepoint_of_section("tp/xdp/xdp_redirect") == ("xdp", "xdp_redirect")
    assert tracepoint_of_section("xdp") is None
    assert tracepoint_of_section("tracepoint/xdp") is None


def test_counts_aborts_per_interface_and_close_removes_it(
    prog: Callable[[str], Path], lab: object
) -> None:
    source = prog("exception_counter")
    with attach_tracepoint_program(source, "count_exceptions") as tracer:
        prog_id = tracer.prog_id
        assert tracer.tracepoint == "xdp:xdp_exception"
        assert tracer.link_id > 0  # a BPF link, not a bare perf event
        with load_program(source, lab.outer, program="xdp_abort_all", pin_maps=False):  # type: ignore[attr-defined]
            traffic.ping(lab, 4, timeout=0.05, interval=0.01)  # type: ignore[arg-type]
        rows = counts_by_interface(read_map(tracer.maps["aborts"]))
        ours = [row for row in rows if row.ifindex == lab.outer_ifindex]  # type: ignore[attr-defined]
        assert ours and ours[0].count == 4 and ours[0].name == lab.outer  # type: ignore[attr-defined]
    assert prog_gone(prog_id), "the program outlived close()"


def test_kill_9_of_the_holder_detaches(prog: Callable[[str], Path]) -> None:
    source = prog("exception_counter")
    code = (
        "import sys, time; from pathlib import Path;"
        "from xdp_tui.engine.tracepoint import attach_tracepoint_program as a;"
        f"t = a(Path({str(source)!r}), 'count_exceptions');"
        "print(t.prog_id, flush=True); time.sleep(60)"
    )

    def held(prog_id: int) -> None:
        assert _exists(prog_id)

    prog_id = kill_9_holder(code, held)
    assert prog_gone(prog_id), "a killed holder left its tracepoint program attached"


def test_unknown_tracepoint_and_wrong_program_are_clear_errors(
    prog: Callable[[str], Path],
) -> None:
    source = prog("exception_counter")
    with pytest.raises(XdpTuiError, match="no tracepoint xdp:no_such_event"):
        attach_tracepoint_program(source, "count_nothing")
    with pytest.raises(XdpTuiError, match="not a tracepoint program"):
        attach_tracepoint_program(source, "xdp_abort_all")
    with pytest.raises(XdpTuiError, match="2 tracepoint programs; choose one"):
        attach_tracepoint_program(source)


def test_interface_names_fall_back_to_the_index() -> None:
    assert interface_name(1) == "lo"
    assert interface_name(2**31 - 1) == f"ifindex {2**31 - 1}"
