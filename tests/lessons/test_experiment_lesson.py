"""experiment01: one thing wrong at a time fails exactly that assignment's check.

The generic lesson tests run the solution (everything passes) and the
starter (assignment 1 undone, the other three refused by the verifier).
Here each variant of the solution loads but behaves wrongly in one way.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.lessons.variants import run_lesson, run_solution_variant
from xdp_tui.lessons import get_lesson

pytestmark = pytest.mark.kernel

LESSON = "experiment01-tailgrow"

BROKEN = {
    # the old length in host byte order
    "1": ("tail->old_len = bpf_htons(old_len);", "tail->old_len = old_len;"),
    # the byte before the last one
    "2": (
        "last = data + ((len - 1) & MAX_FRAME_MASK);",
        "last = data + ((len - 2) & MAX_FRAME_MASK);",
    ),
    # the header is found again but not updated
    "3": (
        "bpf_htons(bpf_ntohs(ip6h->payload_len) - TRIM_BYTES)",
        "bpf_htons(bpf_ntohs(ip6h->payload_len))",
    ),
    # the entry is inserted with 0: each port is counted once short
    "4": ("__u64 first = 1;", "__u64 first = 0;"),
}


@pytest.mark.parametrize("broken", sorted(BROKEN))
def test_one_mistake_fails_only_its_assignment(tmp_path: Path, broken: str) -> None:
    results = run_solution_variant(tmp_path, LESSON, BROKEN[broken])
    assert not results[broken].passed, results[broken].detail
    assert results[broken].hint
    others = {a: r.detail for a, r in results.items() if a != broken and not r.passed}
    assert not others, others


def test_refusals_name_their_three_different_reasons() -> None:
    results = run_lesson(LESSON, get_lesson(LESSON).starter_source)
    assert "pointer arithmetic on pkt_end" in results["2"].detail
    assert "invalid mem access 'scalar'" in results["3"].detail
    assert "map_value_or_null" in results["4"].detail


def test_a_refused_build_says_it_took_the_attached_program_away(make_lab) -> None:  # type: ignore[no-untyped-def]
    """P then a program the verifier refuses: the working program was detached first and the
    lab left with none, without a word in the Activity log."""
    from xdp_tui.engine import attach
    from xdp_tui.engine.verifier import VerifierError
    from xdp_tui.lessons import reset_workspace
    from xdp_tui.workbench import Workbench

    lesson = get_lesson(LESSON)
    reset_workspace(lesson)
    lab = make_lab("x01")
    bench = Workbench(lab=lab.name)
    said: list[str] = []
    try:
        attached = bench.build_and_attach(lesson, None)  # the starter's tail grower loads
        with pytest.raises(VerifierError):
            bench.build_and_attach(lesson, "xdp_lastbyte_func", said.append)
        assert f"detached xdp_tailgrow_func (id {attached.prog_id}) from {lab.name}" in said
        assert bench.attached is None and attach.query(lab.name).prog_id is None
    finally:
        bench.close()
