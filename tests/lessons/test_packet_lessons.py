"""packet01-03: half-done programs fail exactly the checks of what is missing.

The generic lesson tests (test_lesson_checks.py) run every solution and
every starter. Here we take a solution (or the starter) and break or leave
out one thing, to prove each check notices that one thing: a check that
cannot fail is a defect.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from xdp_tui.checks import CheckResult, run_checks
from xdp_tui.lessons import get_lesson, solution_source

pytestmark = pytest.mark.kernel


def _variant(tmp_path: Path, original: Path, *edits: tuple[str, str]) -> Path:
    """A copy of ORIGINAL with each (old, new) replaced; every OLD must be there."""
    text = original.read_text()
    for old, new in edits:
        assert old in text, f"{original} no longer contains {old!r}: update this test"
        text = text.replace(old, new)
    out = tmp_path / original.name
    out.write_text(text)
    return out


def _run(lesson_id: str, source: Path, assignment: str | None = None) -> list[CheckResult]:
    results = run_checks(get_lesson(lesson_id), assignment, source=source, progress=False)
    for result in results:
        assert "internal error" not in result.detail, result.detail
    return results


def _passed(results: list[CheckResult]) -> set[str]:
    return {r.assignment for r in results if r.passed}


# ---- packet01 --------------------------------------------------------------


def test_packet01_fixed_bounds_check_passes_only_assignment_1(tmp_path: Path) -> None:
    lesson = get_lesson("packet01-parsing")
    fixed = _variant(
        tmp_path,
        lesson.starter_source,
        ("if (nh->pos + 1 > data_end)", "if (nh->pos + hdrsize > data_end)"),
    )
    results = _run(lesson.id, fixed)
    assert _passed(results) == {"1"}, [r.to_dict() for r in results]
    by_id = {r.assignment: r for r in results}
    assert "UDP" in by_id["2"].detail  # everything IPv6 is still dropped
    assert by_id["3"].hint


def test_packet01_without_vlan_and_ipv4_fails_4_and_5(tmp_path: Path) -> None:
    lesson = get_lesson("packet01-parsing")
    partial = _variant(
        tmp_path,
        solution_source(lesson),
        ("#define VLAN_MAX_DEPTH 2", "#define VLAN_MAX_DEPTH 0"),
        ("} else if (nh_type == bpf_htons(ETH_P_IP)) {", "} else if (0) {"),
    )
    results = _run(lesson.id, partial)
    assert _passed(results) == {"1", "2", "3"}, [r.to_dict() for r in results]


def test_packet01_one_vlan_tag_is_not_enough(tmp_path: Path) -> None:
    lesson = get_lesson("packet01-parsing")
    one_tag = _variant(
        tmp_path,
        solution_source(lesson),
        ("#define VLAN_MAX_DEPTH 2", "#define VLAN_MAX_DEPTH 1"),
    )
    [result] = _run(lesson.id, one_tag, "4")
    assert not result.passed
    assert "two tags" in result.detail


# ---- packet02 --------------------------------------------------------------


def test_packet02_port_change_without_checksum_fix_fails(tmp_path: Path) -> None:
    lesson = get_lesson("packet02-rewriting")
    no_csum = _variant(
        tmp_path,
        solution_source(lesson),
        ("\tcsum_replace2(check, old_port, *port);\n", ""),
    )
    [result] = _run(lesson.id, no_csum, "1")
    assert not result.passed
    assert "checksum" in result.detail


def test_packet02_updating_an_absent_ipv4_udp_checksum_fails(tmp_path: Path) -> None:
    lesson = get_lesson("packet02-rewriting")
    always_update = _variant(
        tmp_path,
        solution_source(lesson),
        ("\tif (ipv4 && udph->check == 0) {", "\tif (0) {"),
    )
    [result] = _run(lesson.id, always_update, "1")
    assert not result.passed
    assert "without a checksum" in result.detail


def test_packet02_pop_that_forgets_the_inner_type_fails(tmp_path: Path) -> None:
    lesson = get_lesson("packet02-rewriting")
    broken = _variant(
        tmp_path,
        solution_source(lesson),
        ("\teth->h_proto = inner_proto;\n", ""),
    )
    [result] = _run(lesson.id, broken, "2")
    assert not result.passed


# ---- packet03 --------------------------------------------------------------


def test_packet03_echo_reply_with_a_stale_checksum_fails(tmp_path: Path) -> None:
    lesson = get_lesson("packet03-redirecting")
    no_csum = _variant(
        tmp_path,
        solution_source(lesson),
        ("\tcsum_replace2(&icmph->cksum, old_word, *(__be16 *)icmph);\n", "\t(void)old_word;\n"),
    )
    [result] = _run(lesson.id, no_csum, "1")
    assert not result.passed
    assert "answered" in result.detail


def test_packet03_redirect_without_the_new_mac_fails(tmp_path: Path) -> None:
    lesson = get_lesson("packet03-redirecting")
    no_mac = _variant(
        tmp_path,
        solution_source(lesson),
        ("\t__builtin_memcpy(eth->h_dest, target->dst_mac, ETH_ALEN);\n", ""),
    )
    [result] = _run(lesson.id, no_mac, "2")
    assert not result.passed
    assert "destination MAC" in result.detail


def test_packet03_router_that_leaves_forwarding_to_the_kernel_fails(tmp_path: Path) -> None:
    lesson = get_lesson("packet03-redirecting")
    lazy = _variant(
        tmp_path,
        solution_source(lesson),
        ("\t\taction = bpf_redirect(fib.ifindex, 0);\n", "\t\taction = XDP_PASS;\n"),
    )
    [result] = _run(lesson.id, lazy, "4")
    assert not result.passed
