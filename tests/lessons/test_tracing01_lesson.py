"""tracing01: a mistake in the tracepoint program fails the check of what it breaks.

Assignment 2 builds on 1 (it reads the same per-interface counts), so a
program that counts nothing fails both; one that counts every exception
fails only 2.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from tests.lessons.variants import run_solution_variant
from xdp_tui.errors import XdpTuiError
from xdp_tui.lessons import get_lesson, solution_source

pytestmark = pytest.mark.kernel

LESSON = "tracing01-xdp-simple"


def test_counting_every_exception_fails_only_assignment_2(tmp_path: Path) -> None:
    results = run_solution_variant(
        tmp_path, LESSON, ("if (ctx->act != XDP_ABORTED)\n\t\treturn 0;\n", "")
    )
    assert results["1"].passed, results["1"].detail
    assert not results["2"].passed
    assert "non-actions were counted" in results["2"].detail


def test_keying_by_program_instead_of_interface_fails(tmp_path: Path) -> None:
    results = run_solution_variant(
        tmp_path, LESSON, ("__s32 key = ctx->ifindex;", "__s32 key = ctx->prog_id;")
    )
    assert not results["1"].passed
    assert "no entry for either interface" in results["1"].detail


def test_counting_from_zero_is_one_short(tmp_path: Path) -> None:
    results = run_solution_variant(tmp_path, LESSON, ("__u64 first = 1;", "__u64 first = 0;"))
    assert not results["1"].passed
    assert "expected" in results["1"].detail


def test_workbench_attaches_the_tracer_and_live_names_interfaces(make_lab: Any) -> None:
    """The TUI's path: build_and_attach puts the tracepoint program beside the XDP one,
    the live sample shows its map keyed by interface name, detach removes both."""
    import shutil

    from testenv import traffic
    from xdp_tui.engine import bpfsys
    from xdp_tui.lessons import reset_workspace, workspace_source
    from xdp_tui.workbench import Workbench

    lesson = get_lesson(LESSON)
    shutil.copy(solution_source(lesson), workspace_source(lesson))
    lab = make_lab("t01")
    bench = Workbench(lab=lab.name)
    try:
        attached = bench.build_and_attach(lesson, None)
        [tracer] = attached.tracers
        tracer_id = tracer.prog_id
        traffic.ping(lab, 3, timeout=0.05, interval=0.01)
        sample = bench.sample()
        assert sample is not None
        [live] = [m for m in sample.maps if m.name == "xdp_stats_map · xdp:xdp_exception"]
        row = {e.key: e.value for e in live.entries}
        assert row[f"{lab.outer} (ifindex {lab.outer_ifindex})"] == 3
        bench.detach()
        assert not attached.tracers
        with pytest.raises(XdpTuiError):
            for _ in range(60):  # freed after an RCU grace period
                bpfsys.prog_info_by_id(tracer_id)
                time.sleep(0.05)
    finally:
        bench.close()
        reset_workspace(lesson)  # other tests expect the starter there
