"""tracing04: a program reporting the copied length as the frame's length fails only
assignment 2; the samples CLI writes a file tcpdump reads."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.lessons.variants import run_solution_variant

pytestmark = pytest.mark.kernel

LESSON = "tracing04-xdp-tcpdump"


def test_copied_length_as_true_length_fails_only_assignment_2(tmp_path: Path) -> None:
    results = run_solution_variant(tmp_path, LESSON, ("s->pkt_len = len;", "s->pkt_len = cap;"))
    assert results["1"].passed, results["1"].detail
    assert not results["2"].passed
    assert "pkt_len is the whole frame" in results["2"].detail


def test_samples_cut_short_fail_assignment_1(tmp_path: Path) -> None:
    results = run_solution_variant(
        tmp_path,
        LESSON,
        ("if (cap > SAMPLE_MAX)\n\t\tcap = SAMPLE_MAX;", "if (cap > 20)\n\t\tcap = 20;"),
    )
    assert not results["1"].passed, results["1"].detail
