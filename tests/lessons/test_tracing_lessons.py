"""tracing03: half-done programs fail exactly the check of what is missing,
and the checks read bpf_printk output without being fooled or blocked.

The generic lesson tests (test_lesson_checks.py) already run the solution
and the starter. Here: one thing left out at a time; a learner's Live tab
holding the global trace_pipe; another lab printing well-formed lines at
the same time; and the busy-pipe message of the fallback path.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.lessons.variants import run_lesson, run_solution_variant
from xdp_tui.checks import (
    CheckContext,
    CheckFailed,
    build_for_checks,
    load_checks_module,
)
from xdp_tui.engine import monitor
from xdp_tui.errors import XdpTuiError
from xdp_tui.lessons import get_lesson, solution_source

pytestmark = pytest.mark.kernel

LESSON = "tracing03-xdp-debug-print"


@contextlib.contextmanager
def _global_trace_pipe() -> Iterator[object]:
    """Hold the global trace_pipe open, as the TUI's Live tab does; skip if someone else has it."""
    from xdp_tui.engine.monitor import TracePipe

    try:
        pipe = TracePipe().open()
    except XdpTuiError as exc:
        pytest.skip(f"the global trace_pipe is in use elsewhere: {exc.message}")
    try:
        yield pipe
    finally:
        pipe.close()


def test_ethertype_without_byte_swap_fails_only_assignment_1(tmp_path: Path) -> None:
    results = run_solution_variant(tmp_path, LESSON, ("bpf_ntohs(eth->h_proto)", "eth->h_proto"))
    assert not results["1"].passed
    assert "56710" in results["1"].detail and "bpf_ntohs" in results["1"].detail
    assert results["1"].hint
    assert results["2"].passed, results["2"].detail


def test_swapped_addresses_fail_only_assignment_2(tmp_path: Path) -> None:
    results = run_solution_variant(
        tmp_path,
        LESSON,
        (
            "mac_to_u64(eth->h_source), mac_to_u64(eth->h_dest)",
            "mac_to_u64(eth->h_dest), mac_to_u64(eth->h_source)",
        ),
    )
    assert results["1"].passed, results["1"].detail
    assert not results["2"].passed
    assert "swapped" in results["2"].detail


def test_without_the_marker_nothing_is_ours(tmp_path: Path) -> None:
    results = run_solution_variant(tmp_path, LESSON, ('"xdp-debug src=', '"dbg src='))
    assert not results["1"].passed and not results["2"].passed
    assert "no 'xdp-debug' line" in results["1"].detail


def test_checks_pass_while_the_live_tab_reads_and_leave_its_lines() -> None:
    """A private trace instance: the global reader is neither refused nor robbed."""
    lesson = get_lesson(LESSON)
    with _global_trace_pipe() as pipe:
        while pipe.read(timeout=0):  # type: ignore[attr-defined]
            pass
        results = run_lesson(LESSON, solution_source(lesson))
        assert all(r.passed for r in results.values()), [r.to_dict() for r in results.values()]
        seen = pipe.read(timeout=1.0)  # type: ignore[attr-defined]
    assert any("xdp-debug" in line.message for line in seen), "the Live tab lost the lines"


def test_another_lab_printing_good_lines_does_not_pass_the_starter(make_lab) -> None:  # type: ignore[no-untyped-def]
    """Well-formed lines from someone else's lab must not count for ours."""
    from testenv import traffic
    from xdp_tui.engine.session import load_program

    lesson = get_lesson(LESSON)
    other = make_lab("tr03", make_current=False)
    obj = build_for_checks(lesson, solution_source(lesson), "solution")
    stop = threading.Event()

    def keep_pinging() -> None:
        while not stop.is_set():
            traffic.ping(other, 2, interval=0.05)

    with load_program(obj, other.outer, program="xdp_prog_simple"):
        pinger = threading.Thread(target=keep_pinging, daemon=True)
        pinger.start()
        try:
            results = run_lesson(LESSON, lesson.starter_source)
        finally:
            stop.set()
            pinger.join()
    assert not results["1"].passed and not results["2"].passed
    assert "56710" in results["1"].detail


def test_busy_global_pipe_fails_with_the_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    """Kernels without a per-instance printk event fall back to the global pipe, maybe busy."""
    lesson = get_lesson(LESSON)
    module = load_checks_module(lesson)

    def no_instances(self: object) -> None:  # a kernel without tracefs instances (a fake)
        raise XdpTuiError("no trace instances")

    monkeypatch.setattr(monitor.PrivateTracePipe, "open", no_instances)
    obj = build_for_checks(lesson, solution_source(lesson), "solution")
    with _global_trace_pipe(), contextlib.ExitStack() as stack:
        ctx = CheckContext(lesson, lesson.assignments[0], solution_source(lesson), obj, stack)
        with pytest.raises(CheckFailed) as info:
            module.check_ethertype(ctx)
    assert "cannot read the bpf_printk output" in info.value.detail
    assert "one reader at a time" in info.value.detail


# ---- tracing02-xdp-monitor ------------------------------------------------------
#
# One verdict wrong at a time: each fails exactly its own assignment, with a
# detail that names the cause; and exceptions of another program (another lab
# aborting pings at the same moment) never count for the program under test.

LESSON_02 = "tracing02-xdp-monitor"


def test_02_aborting_every_frame_fails_only_assignment_2(tmp_path: Path) -> None:
    aborts_all = ("__u32 action = XDP_PASS;", "__u32 action = XDP_ABORTED;")
    results = run_solution_variant(tmp_path, LESSON_02, aborts_all)
    assert results["1"].passed, results["1"].detail
    assert not results["2"].passed
    assert "exceptions of program" in results["2"].detail
    assert "XDP_ABORTED" in results["2"].detail  # what the stats map saw
    assert results["2"].hint
    assert results["3"].passed, results["3"].detail


def test_02_dropping_pings_fails_only_assignment_1(tmp_path: Path) -> None:
    drops_pings = (
        "== ICMPV6_ECHO_REQUEST)\n\t\t\taction = XDP_ABORTED;",
        "== ICMPV6_ECHO_REQUEST)\n\t\t\taction = XDP_DROP;",
    )
    results = run_solution_variant(tmp_path, LESSON_02, drops_pings)
    assert not results["1"].passed
    assert "only 0 XDP_ABORTED" in results["1"].detail
    assert "dropped them (XDP_DROP)" in results["1"].detail
    assert results["2"].passed, results["2"].detail
    assert results["3"].passed, results["3"].detail


def test_02_aborting_the_unwanted_port_fails_only_assignment_3(tmp_path: Path) -> None:
    aborts_port = ("action = XDP_DROP; /* not reported", "action = XDP_ABORTED; /* not reported")
    results = run_solution_variant(tmp_path, LESSON_02, aborts_port)
    assert results["1"].passed, results["1"].detail
    assert results["2"].passed, results["2"].detail
    assert not results["3"].passed
    assert "they were aborted" in results["3"].detail


def test_02_passing_the_unwanted_port_fails_assignment_3(tmp_path: Path) -> None:
    passes_port = ("bpf_htons(DROP_PORT)", "bpf_htons(DROP_PORT + 1)")
    result = run_solution_variant(tmp_path, LESSON_02, passes_port, assignment="3")["3"]
    assert not result.passed
    assert "got past XDP" in result.detail


def test_02_another_programs_exceptions_do_not_count(make_lab) -> None:  # type: ignore[no-untyped-def]
    """Another lab aborting pings at the same moment must not pass the starter's assignment 1."""
    from testenv import traffic
    from xdp_tui.engine.session import load_program

    lesson = get_lesson(LESSON_02)
    other = make_lab("tr02", make_current=False)
    obj = build_for_checks(lesson, solution_source(lesson), "solution")
    stop = threading.Event()

    def keep_pinging() -> None:
        while not stop.is_set():
            traffic.ping(other, 2, interval=0.05, timeout=0.2)

    with load_program(obj, other.outer, program="xdp_abort_icmp"):
        pinger = threading.Thread(target=keep_pinging, daemon=True)
        pinger.start()
        try:
            result = run_lesson(LESSON_02, lesson.starter_source, "1")["1"]
        finally:
            stop.set()
            pinger.join()
    assert not result.passed
    assert "only 0 XDP_ABORTED" in result.detail
