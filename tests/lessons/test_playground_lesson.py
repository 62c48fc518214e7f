"""playground: the learner's verdict-named cases are its checks."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.lessons.variants import variant
from xdp_tui.checks import load_checks_module, run_checks
from xdp_tui.engine.testrun import SavedCase
from xdp_tui.lessons import get_lesson, solution_source

LESSON = "playground"


def test_case_names_say_the_verdict() -> None:
    checks = load_checks_module(get_lesson(LESSON))
    assert checks.expected_verdict(SavedCase("drop: port 9", "udp6:dport=9")) == "XDP_DROP"
    assert checks.expected_verdict(SavedCase(" Pass : pings", "icmp6-echo")) == "XDP_PASS"
    assert checks.expected_verdict(SavedCase("aborted:", "x")) == "XDP_ABORTED"
    assert checks.expected_verdict(SavedCase("dropped frames", "x")) is None
    assert checks.expected_verdict(SavedCase("udp6:dport=9", "udp6:dport=9")) is None


@pytest.mark.kernel
def test_a_program_that_breaks_a_case_fails_and_names_it(tmp_path: Path) -> None:
    solution = solution_source(get_lesson(LESSON))
    source = variant(tmp_path, solution, ("#define BLOCKED_PORT 9", "#define BLOCKED_PORT 7"))
    shutil.copy(solution.parent / "packet-cases.json", tmp_path / "packet-cases.json")
    [result] = run_checks(get_lesson(LESSON), source=source, progress=False)
    assert not result.passed
    assert "2 of 5 cases" in result.detail and "gave XDP_PASS" in result.detail


@pytest.mark.kernel
def test_a_case_with_a_bad_spec_fails_with_the_reason(tmp_path: Path) -> None:
    source = tmp_path / "xdp_prog_kern.c"
    shutil.copy(solution_source(get_lesson(LESSON)), source)
    (tmp_path / "packet-cases.json").write_text('[{"name": "pass: typo", "spec": "udp9:x=1"}]')
    [result] = run_checks(get_lesson(LESSON), source=source, progress=False)
    assert not result.passed and "gave error:" in result.detail
