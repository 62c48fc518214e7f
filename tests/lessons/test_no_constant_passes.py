"""Checks that cannot be fooled by a constant: what they send changes from run to run.

Each case is a solution with one computed value replaced by the number the
check used to send every time (frame size, sequence numbers, ports). It
must fail, and run through `check_assignment`, the one-assignment API.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.lessons.variants import solution_variant
from xdp_tui.checks import check_assignment
from xdp_tui.lessons import get_lesson

pytestmark = pytest.mark.kernel

CONSTANT_CHEATS = [
    pytest.param(
        "basic03-map-counter",
        [("rec->rx_bytes += data_end - data;", "rec->rx_bytes += 118;")],
        "1",
        "rx_bytes grew by",
        id="basic03-bytes-as-the-default-ping-size",
    ),
    pytest.param(
        "packet01-parsing",
        [
            (
                "return (bpf_ntohs(sequence) % 2 == 0) ? XDP_DROP : XDP_PASS;",
                "__u16 seq = bpf_ntohs(sequence);\n\n"
                "\treturn (seq == 2 || seq == 4 || seq == 6) ? XDP_DROP : XDP_PASS;",
            )
        ],
        "3",
        "expected exactly the odd ones",
        id="packet01-dropping-sequence-numbers-2-4-6",
    ),
    pytest.param(
        "packet02-rewriting",
        [("\t*port = bpf_htons(bpf_ntohs(old_port) - 1);", "\t*port = bpf_htons(4241);")],
        "1",
        "arrived on",
        id="packet02-writing-the-old-fixed-port",
    ),
    pytest.param(
        "tracing03-xdp-debug-print",
        [("bpf_ntohs(eth->h_proto));", "34525);")],
        "1",
        "4 is 2048",
        id="tracing03-printing-the-ipv6-ethertype-always",
    ),
]


@pytest.mark.parametrize(("lesson_id", "edits", "assignment", "words"), CONSTANT_CHEATS)
def test_a_constant_instead_of_the_computed_value_fails(
    tmp_path: Path, lesson_id: str, edits: list[tuple[str, str]], assignment: str, words: str
) -> None:
    cheat = solution_variant(tmp_path, lesson_id, *edits)
    result = check_assignment(get_lesson(lesson_id), assignment, source=cheat, progress=False)
    assert result.assignment == assignment
    assert not result.passed, result.detail
    assert words in result.detail, result.detail
    assert "internal error" not in result.detail


def test_the_honest_solution_still_passes_the_varied_checks() -> None:
    lesson = get_lesson("basic03-map-counter")
    result = check_assignment(lesson, "1", solution=True)
    assert result.passed, result.detail
    assert "different sizes" in result.detail
