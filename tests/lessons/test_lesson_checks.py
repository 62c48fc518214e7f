"""Every lesson on the real kernel: solutions pass, starters fail what they leave undone.

A check that cannot fail is a defect, so each check is run on both.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from xdp_tui.checks import CheckContext, CheckFailed, build_for_checks, run_checks
from xdp_tui.errors import XdpTuiError
from xdp_tui.lessons import catalog, get_lesson, solution_source

LESSON_IDS = [lesson.id for lesson in catalog()]


@pytest.mark.kernel
@pytest.mark.parametrize("lesson_id", LESSON_IDS)
def test_solution_programs_pass_the_verifier(lesson_id: str) -> None:
    from xdp_tui.engine.libbpf import BpfObject

    lesson = get_lesson(lesson_id)
    obj = build_for_checks(lesson, solution_source(lesson), "solution")
    for program in lesson.programs:
        with BpfObject.open(obj) as bpf:
            assert program in bpf.xdp_programs
            bpf.load(program)  # raises VerifierError on refusal


@pytest.mark.kernel
@pytest.mark.parametrize("lesson_id", LESSON_IDS)
def test_solution_passes_every_check(lesson_id: str) -> None:
    lesson = get_lesson(lesson_id)
    results = run_checks(lesson, solution=True)
    assert [r.assignment for r in results] == [a.id for a in lesson.assignments]
    failed = [f"{r.assignment}: {r.detail}" for r in results if not r.passed]
    assert not failed, failed


@pytest.mark.kernel
@pytest.mark.parametrize("lesson_id", LESSON_IDS)
def test_starter_fails_what_it_leaves_undone(lesson_id: str) -> None:
    lesson = get_lesson(lesson_id)
    results = run_checks(lesson, source=lesson.starter_source)
    passed = {r.assignment for r in results if r.passed}
    assert passed == set(lesson.starter_passes), [r.to_dict() for r in results]
    for result in results:
        if not result.passed:
            assert result.hint, "a failed check comes with a hint"
            assert "internal error" not in result.detail, result.detail
            assert "Traceback" not in result.detail


@pytest.mark.kernel
@pytest.mark.parametrize("lesson_id", [lesson.id for lesson in catalog() if lesson.starter_refused])
def test_refused_starter_is_refused_for_the_stated_reason(lesson_id: str) -> None:
    from xdp_tui.engine.libbpf import BpfObject

    lesson = get_lesson(lesson_id)
    obj = build_for_checks(lesson, lesson.starter_source, "starter")
    with BpfObject.open(obj) as bpf, pytest.raises(XdpTuiError) as info:
        bpf.load(lesson.default_program)
    exc = info.value
    said = " ".join(
        str(part or "")
        for part in (exc.message, exc.detail, getattr(getattr(exc, "report", None), "log", ""))
    )
    assert lesson.starter_refused in said


@pytest.mark.kernel
def test_checks_leave_nothing_behind(tmp_path: Path) -> None:
    """After a check run: no private lab, no pin folder, the current lab untouched."""
    import testenv

    before_current = testenv.current()
    lesson = get_lesson("basic04-pinning-maps")
    run_checks(lesson, solution=True)
    assert testenv.current() == before_current
    mine = f"xc{os.getpid() % 100000}"  # private lab names of this process
    names = [lab["name"] for lab in testenv.status()["labs"]]
    assert not [n for n in names if n.startswith(mine)], names
    assert not list(Path("/sys/fs/bpf").glob(f"{mine}*"))


def test_a_build_error_fails_every_assignment_with_a_location(tmp_path: Path) -> None:
    lesson = get_lesson("basic03-map-counter")
    broken = tmp_path / "xdp_prog_kern.c"
    broken.write_text(
        lesson.starter_source.read_text().replace("return verdict;", "return verdict")
    )
    results = run_checks(lesson, source=broken)
    assert len(results) == len(lesson.assignments)
    for result in results:
        assert not result.passed
        assert f"{broken}:" in result.detail, result.detail


@pytest.mark.kernel
def test_learner_results_go_to_progress_solution_results_do_not() -> None:
    from xdp_tui.lessons import Progress, workspace_source

    lesson = get_lesson("basic01-xdp-pass")
    run_checks(lesson, solution=True)
    assert Progress.load().result(lesson.id, "1") is None
    workspace_source(lesson)  # the starter, which is complete for basic01
    results = run_checks(lesson)
    assert results[0].passed
    assert Progress.load().passed(lesson.id) == {"1"}


def test_check_context_fail_raises_with_detail() -> None:
    lesson = get_lesson("basic01-xdp-pass")
    import contextlib

    with contextlib.ExitStack() as stack:
        ctx = CheckContext(lesson, lesson.assignments[0], Path("x.c"), Path("x.o"), stack)
        with pytest.raises(CheckFailed) as info:
            ctx.expect(False, "nope")
        assert info.value.detail == "nope"
        assert ctx.passed("fine").to_dict() == {
            "assignment": "1",
            "passed": True,
            "detail": "fine",
            "hint": "",
        }


@pytest.mark.kernel
@pytest.mark.parametrize("learner_has_lab", [False, True])
def test_private_lab_never_becomes_current(make_lab, learner_has_lab: bool) -> None:  # type: ignore[no-untyped-def]
    """A check running next to the TUI must not steal the learner's current lab."""
    import contextlib

    import testenv
    from xdp_tui import lab_records as state

    if learner_has_lab:
        mine = make_lab("cur")
        testenv.set_current(mine.name)
    else:
        state.write_current(None)
    before = testenv.current()
    lesson = get_lesson("basic01-xdp-pass")
    with contextlib.ExitStack() as stack:
        ctx = CheckContext(lesson, lesson.assignments[0], Path("x.c"), Path("x.o"), stack)
        lab = ctx.lab()
        assert lab.name.startswith(f"xc{os.getpid() % 100000}")
        assert testenv.current() == before
    assert testenv.current() == before
    with pytest.raises(XdpTuiError):
        testenv.get(lab.name)  # torn down


@pytest.mark.kernel
def test_basic01_check_can_fail(tmp_path: Path) -> None:
    """basic01's starter is complete, so prove its check on a broken copy."""
    lesson = get_lesson("basic01-xdp-pass")
    broken = tmp_path / "xdp_prog_kern.c"
    broken.write_text(lesson.starter_source.read_text().replace("XDP_PASS;", "XDP_DROP;"))
    (result,) = run_checks(lesson, source=broken)
    assert not result.passed
    assert "0 of 3 pings" in result.detail


@pytest.mark.kernel
def test_orphan_lab_of_a_killed_check_is_swept(make_lab) -> None:  # type: ignore[no-untyped-def]
    import contextlib
    import subprocess

    import testenv
    from xdp_tui.paths import run_dir

    orphan = make_lab("orph")
    dead = subprocess.Popen(["true"])
    dead.wait()
    registry = run_dir() / "check-labs"
    registry.mkdir(parents=True, exist_ok=True)
    (registry / orphan.name).write_text(f"{dead.pid}\n")
    lesson = get_lesson("basic01-xdp-pass")
    with contextlib.ExitStack() as stack:
        CheckContext(lesson, lesson.assignments[0], Path("x.c"), Path("x.o"), stack).lab()
    with pytest.raises(XdpTuiError):
        testenv.get(orphan.name)
    assert not (registry / orphan.name).exists()
