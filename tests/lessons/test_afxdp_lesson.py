"""advanced03-AF_XDP: one thing broken at a time fails that thing's check.

The generic lesson tests (test_lesson_checks.py) run the solution and the
starter. Assignment 3 answers what assignment 1 delivers to user space, so
a broken assignment 1 also fails 3; the others stand alone.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.lessons.variants import run_solution_variant

pytestmark = pytest.mark.kernel

LESSON = "advanced03-AF_XDP"


def test_redirecting_to_the_wrong_slot_fails_assignment_1(tmp_path: Path) -> None:
    wrong_slot = (
        "bpf_redirect_map(&xsks_map, ctx->rx_queue_index, XDP_PASS)",
        "bpf_redirect_map(&xsks_map, ctx->rx_queue_index + 1, XDP_PASS)",
    )
    results = run_solution_variant(tmp_path, LESSON, wrong_slot)
    assert not results["1"].passed
    assert "received 0 of them" in results["1"].detail
    assert "XDP_PASS" in results["1"].detail  # the verdicts say where the frames went
    assert results["1"].hint
    assert results["2"].passed, results["2"].detail
    assert not results["3"].passed and "assignment 1" in results["3"].detail


def test_every_echo_request_to_user_space_fails_only_assignment_2(tmp_path: Path) -> None:
    all_requests = (
        "if (__sync_fetch_and_add(seen, 1) & 1)",
        "if (__sync_fetch_and_add(seen, 1) & 0)",
    )
    results = run_solution_variant(tmp_path, LESSON, all_requests)
    assert results["1"].passed, results["1"].detail
    assert not results["2"].passed
    assert "every other one" in results["2"].detail
    assert results["3"].passed, results["3"].detail


def test_udp_to_user_space_fails_assignment_2(tmp_path: Path) -> None:
    """Only echo requests may go to user space: steering everything alternately is wrong."""
    everything = (
        "if (!parse_echo_request(ctx, &eth, &ip6h, &icmp6h))\n\t\tgoto out;\n\n"
        "\t/* >>> assignment 2 */",
        "/* >>> assignment 2 */",
    )
    result = run_solution_variant(tmp_path, LESSON, everything, assignment="2")["2"]
    assert not result.passed


def test_reply_without_checksum_fix_fails_only_assignment_3(tmp_path: Path) -> None:
    no_csum = (
        "\tcsum_replace2(&icmp6h->icmp6_cksum, old_word, *(__be16 *)icmp6h);\n",
        "\t(void)old_word;\n",
    )
    results = run_solution_variant(tmp_path, LESSON, no_csum)
    assert results["1"].passed, results["1"].detail
    assert results["2"].passed, results["2"].detail
    assert not results["3"].passed
    assert "checksum" in results["3"].detail
    assert "replies left through the TX ring" in results["3"].detail


def test_reply_program_that_never_says_tx_sends_nothing(tmp_path: Path) -> None:
    never_tx = ("action = XDP_TX; /*", "action = XDP_PASS; /*")
    result = run_solution_variant(tmp_path, LESSON, never_tx, assignment="3")["3"]
    assert not result.passed
    assert "never XDP_TX" in result.detail and "XDP_PASS x" in result.detail
