"""Check builds of two processes of one learner never share an object file.

Two real processes check the same lesson at once: each loads the object it built,
whatever the other builds meanwhile; each one's folder goes when it ends, and the
folder of a killed one goes at the next check build.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from xdp_tui.lessons import get_lesson
from xdp_tui.paths import learner_build_dir
from xdp_tui.process import left_by_dead_processes

LESSON = "basic03-map-counter"

# Builds the starter or the solution of LESSON as the "learner" kind (the same
# object name either way), says where and what, then waits for a line on stdin
# and says what the file holds now.
BUILDER = textwrap.dedent(
    f"""
    import hashlib, sys
    from xdp_tui.checks import build_for_checks
    from xdp_tui.lessons import get_lesson, solution_source
    lesson = get_lesson({LESSON!r})
    source = solution_source(lesson) if sys.argv[1] == "solution" else lesson.starter_source
    obj = build_for_checks(lesson, source, "learner")
    digest = lambda: hashlib.sha256(obj.read_bytes()).hexdigest()
    print(obj, digest(), flush=True)
    sys.stdin.readline()
    print(digest(), flush=True)
    """
)


def _start(which: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-P", "-c", BUILDER, which],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )


def _built(process: subprocess.Popen[str]) -> tuple[Path, str]:
    assert process.stdout is not None
    path, digest = process.stdout.readline().split()
    return Path(path), digest


def _finish(process: subprocess.Popen[str]) -> str:
    out, _ = process.communicate("go\n", timeout=60)
    assert process.returncode == 0
    return out.strip()


def test_two_processes_load_each_their_own_object() -> None:
    starter_run = _start("starter")
    starter_obj, starter_digest = _built(starter_run)
    solution_run = _start("solution")
    solution_obj, solution_digest = _built(solution_run)

    assert starter_obj != solution_obj
    assert starter_digest != solution_digest, "the lesson's starter and solution differ"
    # The solution built while the starter's check was between build and load.
    assert _finish(starter_run) == starter_digest
    assert _finish(solution_run) == solution_digest
    assert not starter_obj.parent.exists() and not solution_obj.parent.exists()


def test_a_killed_runs_folder_goes_at_the_next_build() -> None:
    killed = _start("starter")
    obj, _ = _built(killed)
    killed.send_signal(signal.SIGKILL)
    killed.wait(timeout=30)
    assert obj.parent.is_dir()

    _finish(later := _start("solution"))
    assert later.returncode == 0
    assert not obj.parent.exists()
    checks = learner_build_dir(get_lesson(LESSON).id) / "checks"
    assert not list(left_by_dead_processes(checks, "run-"))


def test_one_process_keeps_its_build_cache() -> None:
    from xdp_tui.checks import build_for_checks
    from xdp_tui.engine.build import build
    from xdp_tui.lessons import solution_source

    lesson = get_lesson(LESSON)
    first = build_for_checks(lesson, solution_source(lesson), "solution")
    again = build_for_checks(lesson, solution_source(lesson), "solution")
    assert first == again
    assert build(solution_source(lesson), again).cached
