"""run_checks on scratch lessons whose checks need no kernel: verdicts, hints, defects.

What a check function returns, raises or gets wrong becomes one result line;
these run without root (clang builds the scratch source, nothing is loaded).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from xdp_tui.checks import run_checks
from xdp_tui.lessons import get_lesson

SOURCE = '#include <linux/bpf.h>\n__attribute__((section("xdp"), used)) int xdp_pass_func(void *ctx) { return 2; }\n'


@pytest.fixture
def lesson_with_checks(
    scratch_lessons: Callable[..., Path], data_dir: Path
) -> Callable[[str], object]:
    def make(checks: str) -> object:
        folder = scratch_lessons("scratch01-checks")
        (folder / "solution" / "xdp_prog_kern.c").write_text(SOURCE)
        (folder / "checks.py").write_text(checks)
        return get_lesson("scratch01-checks")

    return make


def _one(lesson: object) -> tuple[bool, str, str]:
    (result,) = run_checks(lesson, solution=True)  # type: ignore[arg-type]
    return result.passed, result.detail, result.hint


def test_a_passing_check(lesson_with_checks: Callable[[str], object]) -> None:
    lesson = lesson_with_checks(
        "def check_thing(ctx):\n"
        "    ctx.expect(ctx.obj.is_file(), 'no object')\n"
        "    return ctx.passed('built ' + ctx.source.name)\n"
    )
    assert _one(lesson) == (True, "built xdp_prog_kern.c", "")


def test_none_means_ok(lesson_with_checks: Callable[[str], object]) -> None:
    assert _one(lesson_with_checks("def check_thing(ctx):\n    pass\n")) == (True, "ok", "")


def test_a_failure_carries_the_assignments_hint(
    lesson_with_checks: Callable[[str], object],
) -> None:
    lesson = lesson_with_checks("def check_thing(ctx):\n    ctx.expect(1 == 2, 'one is not two')\n")
    assert _one(lesson) == (False, "one is not two", "think")


def test_an_error_with_a_hint(lesson_with_checks: Callable[[str], object]) -> None:
    lesson = lesson_with_checks(
        "from xdp_tui.errors import XdpTuiError\n"
        "def check_thing(ctx):\n"
        "    ctx.fail_because('pinging', XdpTuiError('lab busy', hint='wait'))\n"
    )
    assert _one(lesson) == (False, "pinging: lab busy (wait)", "think")


def test_a_defect_in_the_check_is_located(lesson_with_checks: Callable[[str], object]) -> None:
    lesson = lesson_with_checks("def check_thing(ctx):\n    return 1 // 0\n")
    passed, detail, _ = _one(lesson)
    assert not passed
    assert detail.startswith("internal error in check check_thing at ")
    assert "checks.py:2: ZeroDivisionError" in detail


def test_a_missing_check_function(lesson_with_checks: Callable[[str], object]) -> None:
    passed, detail, _ = _one(lesson_with_checks("def something_else(ctx):\n    pass\n"))
    assert not passed and detail.endswith("checks.py: no check function check_thing()")


def test_cleanup_runs_pass_or_fail(
    lesson_with_checks: Callable[[str], object], tmp_path: Path
) -> None:
    marker = tmp_path / "cleaned"
    lesson = lesson_with_checks(
        "from pathlib import Path\n"
        "def check_thing(ctx):\n"
        f"    ctx.defer(Path({str(marker)!r}).touch)\n"
        "    ctx.fail('after deferring')\n"
    )
    assert _one(lesson)[0] is False
    assert marker.exists()
