"""packet01-03: half-done programs fail exactly the checks of what is missing.

The generic lesson tests (test_lesson_checks.py) run every solution and
every starter. Here we take a solution (or the starter) and break or leave
out one thing, to prove each check notices that one thing: a check that
cannot fail is a defect.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.lessons.variants import run_lesson, run_solution_variant, variant
from xdp_tui.checks import CheckResult
from xdp_tui.lessons import get_lesson

pytestmark = pytest.mark.kernel


def _passed(results: dict[str, CheckResult]) -> set[str]:
    return {a for a, r in results.items() if r.passed}


# ---- packet01 --------------------------------------------------------------


def test_packet01_fixed_bounds_check_passes_only_assignment_1(tmp_path: Path) -> None:
    lesson = get_lesson("packet01-parsing")
    fixed = variant(
        tmp_path,
        lesson.starter_source,
        ("if (nh->pos + 1 > data_end)", "if (nh->pos + hdrsize > data_end)"),
    )
    results = run_lesson(lesson.id, fixed)
    assert _passed(results) == {"1"}, [r.to_dict() for r in results.values()]
    assert "UDP" in results["2"].detail  # everything IPv6 is still dropped
    assert results["3"].hint


def test_packet01_without_vlan_and_ipv4_fails_4_and_5(tmp_path: Path) -> None:
    results = run_solution_variant(
        tmp_path,
        "packet01-parsing",
        ("#define VLAN_MAX_DEPTH 2", "#define VLAN_MAX_DEPTH 0"),
        ("} else if (nh_type == bpf_htons(ETH_P_IP)) {", "} else if (0) {"),
    )
    assert _passed(results) == {"1", "2", "3"}, [r.to_dict() for r in results.values()]


# ---- a solution with one thing broken fails that thing's check -----------------

# (lesson, (old, new) edits to its solution, the assignment that must fail, words of the verdict)
ONE_THING_BROKEN = [
    pytest.param(
        "packet01-parsing",
        [("#define VLAN_MAX_DEPTH 2", "#define VLAN_MAX_DEPTH 1")],
        "4",
        "two tags",
        id="packet01-one-vlan-tag-is-not-enough",
    ),
    pytest.param(
        "packet02-rewriting",
        [("\tcsum_replace2(check, old_port, *port);\n", "")],
        "1",
        "checksum",
        id="packet02-port-change-without-checksum-fix",
    ),
    pytest.param(
        "packet02-rewriting",
        [("\tif (ipv4 && udph->check == 0) {", "\tif (0) {")],
        "1",
        "without a checksum",
        id="packet02-updating-an-absent-ipv4-udp-checksum",
    ),
    pytest.param(
        "packet02-rewriting",
        [("\teth->h_proto = inner_proto;\n", "")],
        "2",
        "",
        id="packet02-pop-that-forgets-the-inner-type",
    ),
    pytest.param(
        "packet03-redirecting",
        [("\tcsum_replace2(&icmph->cksum, old_word, *(__be16 *)icmph);\n", "\t(void)old_word;\n")],
        "1",
        "answered",
        id="packet03-echo-reply-with-a-stale-checksum",
    ),
    pytest.param(
        "packet01-parsing",
        [
            (
                "\t\tif (parse_icmp6hdr(&nh, data_end, &icmp6h) != ICMPV6_ECHO_REQUEST)\n"
                "\t\t\tgoto out;\n",
                "\t\tif (parse_icmp6hdr(&nh, data_end, &icmp6h) < 0) {\n"
                "\t\t\taction = XDP_DROP;\n\t\t\tgoto out;\n\t\t}\n"
                "\t\tif (icmp6h->icmp6_type != ICMPV6_ECHO_REQUEST)\n\t\t\tgoto out;\n",
            )
        ],
        "3",
        "cut short inside its ICMPv6 header",
        id="packet01-drops-a-truncated-icmpv6-header",
    ),
    pytest.param(
        "packet03-redirecting",
        [("\t__builtin_memcpy(eth->h_dest, target->dst_mac, ETH_ALEN);\n", "")],
        "2",
        "destination MAC",
        id="packet03-redirect-without-the-new-mac",
    ),
    pytest.param(
        "packet03-redirecting",
        [("\t\taction = bpf_redirect(fib.ifindex, 0);\n", "\t\taction = XDP_PASS;\n")],
        "4",
        "",
        id="packet03-router-that-leaves-forwarding-to-the-kernel",
    ),
]


@pytest.mark.parametrize(("lesson_id", "edits", "assignment", "verdict"), ONE_THING_BROKEN)
def test_a_solution_with_one_thing_broken_fails_that_check(
    tmp_path: Path, lesson_id: str, edits: list[tuple[str, str]], assignment: str, verdict: str
) -> None:
    [result] = run_solution_variant(tmp_path, lesson_id, *edits, assignment=assignment).values()
    assert not result.passed
    assert verdict in result.detail
