"""advanced01: a mistake on either side fails the check of that side; the workbench
attaches the TC program beside the XDP one and shows both."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.lessons.variants import run_lesson, run_solution_variant
from xdp_tui.lessons import get_lesson, reset_workspace, solution_source, workspace_source

pytestmark = pytest.mark.kernel

LESSON = "advanced01-xdp-tc-interact"


def test_class_in_network_byte_order_fails_only_assignment_2(tmp_path: Path) -> None:
    results = run_solution_variant(
        tmp_path, LESSON, ("class_id = bpf_ntohs(udph->dest);", "class_id = udph->dest;")
    )
    assert results["1"].passed, results["1"].detail
    assert not results["2"].passed and "network byte order" in results["2"].detail


def test_metadata_never_written_fails_assignment_2_with_the_reason(tmp_path: Path) -> None:
    results = run_solution_variant(tmp_path, LESSON, ("meta->class_id = class_id;", ""))
    assert results["1"].passed, results["1"].detail
    assert not results["2"].passed


def test_starter_tc_refusal_is_named_in_both_checks() -> None:
    results = run_lesson(LESSON, get_lesson(LESSON).starter_source)
    assert "invalid access to packet" in results["1"].detail
    assert "must load before TC can see metadata (assignment 1)" in results["2"].detail


def test_workbench_attaches_tc_beside_xdp(make_lab: Any) -> None:
    from testenv import traffic
    from xdp_tui.engine.tc import tcx_prog_ids
    from xdp_tui.workbench import Workbench

    lesson = get_lesson(LESSON)
    shutil.copy(solution_source(lesson), workspace_source(lesson))
    lab = make_lab("a01")
    bench = Workbench(lab=lab.name)
    try:
        attached = bench.build_and_attach(lesson, None)
        [tc] = attached.tc
        assert tcx_prog_ids(lab.outer) == [tc.prog_id]
        assert [(t.direction, t.prog_name) for t in bench.tc_status()] == [
            ("ingress", "tc_count_func")
        ]
        traffic.send_frames(lab, [traffic.build_udp_frame(lab, 4242)] * 2)
        sample = bench.sample()
        assert sample is not None
        [live] = [m for m in sample.maps if m.name == "tc_classes · tc ingress"]
        assert {e.key: e.value for e in live.entries}.get(4242) == 2
        bench.detach()
        assert tcx_prog_ids(lab.outer) == []
    finally:
        bench.close()
        reset_workspace(lesson)
