"""Lesson programs with one thing changed, for tests proving a check notices that one thing."""

from __future__ import annotations

from pathlib import Path

from xdp_tui.checks import CheckResult, run_checks
from xdp_tui.lessons import get_lesson, solution_source


def variant(tmp_path: Path, original: Path, *edits: tuple[str, str]) -> Path:
    """A copy of ORIGINAL with each (old, new) replaced; every OLD must be there."""
    text = original.read_text()
    for old, new in edits:
        assert old in text, f"{original} no longer contains {old!r}: update this test"
        text = text.replace(old, new)
    out = tmp_path / original.name
    out.write_text(text)
    return out


def solution_variant(tmp_path: Path, lesson_id: str, *edits: tuple[str, str]) -> Path:
    """LESSON_ID's solution with each (old, new) replaced (see variant)."""
    return variant(tmp_path, solution_source(get_lesson(lesson_id)), *edits)


def run_solution_variant(
    tmp_path: Path, lesson_id: str, *edits: tuple[str, str], assignment: str | None = None
) -> dict[str, CheckResult]:
    """The checks of LESSON_ID (see run_lesson) on its solution with EDITS made."""
    return run_lesson(lesson_id, solution_variant(tmp_path, lesson_id, *edits), assignment)


def run_lesson(
    lesson_id: str, source: Path, assignment: str | None = None
) -> dict[str, CheckResult]:
    """The checks of LESSON_ID (all, or ASSIGNMENT) on SOURCE, by assignment id, never recorded.

    A check that crashes (an internal error) fails the test: only verdicts count.
    """
    results = run_checks(get_lesson(lesson_id), assignment, source=source, progress=False)
    for result in results:
        assert "internal error" not in result.detail, result.detail
    return {result.assignment: result for result in results}
