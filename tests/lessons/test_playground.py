"""playground: an open-ended lesson, no assignments, a skeleton that works as shipped."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from xdp_tui.checks import build_for_checks, run_checks
from xdp_tui.cli import main
from xdp_tui.lessons import get_lesson

LESSON = "playground"


def test_it_has_no_assignments_and_offers_every_kind_of_traffic() -> None:
    from xdp_tui.journey import traffic_choices

    lesson = get_lesson(LESSON)
    assert lesson.assignments == ()
    assert lesson.lab.legacy_ip and lesson.lab.vlan
    kinds = {(c.kind, c.family, c.vlan is not None, c.ask_to) for c in traffic_choices(lesson)}
    assert {
        ("ping", 6, False, False),
        ("ping", 4, False, False),
        ("ping", 6, True, False),
        ("udp", 6, False, False),
        ("udp", 4, False, False),
        ("tcp", 6, False, False),
        ("ping", 6, False, True),
    } <= kinds


@pytest.mark.kernel
def test_the_skeleton_passes_everything_and_counts_it(make_lab: Callable[..., object]) -> None:
    from testenv import traffic
    from xdp_tui.checks import read_stats
    from xdp_tui.engine.session import load_program

    lesson = get_lesson(LESSON)
    obj = build_for_checks(lesson, lesson.starter_source, "starter")
    lab = make_lab("play", legacy_ip=True)
    with load_program(obj, lab.outer, program="xdp_playground", pin_maps=False) as loaded:  # type: ignore[attr-defined]
        assert traffic.ping(lab, 3).received == 3  # type: ignore[arg-type]
        assert traffic.ping(lab, 3, family=4).received == 3  # type: ignore[arg-type]
        assert read_stats(loaded.maps["xdp_stats_map"])["XDP_PASS"]["packets"] >= 6


def test_checking_says_there_is_nothing_to_check(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_checks(get_lesson(LESSON), progress=False) == []
    assert main(["check", LESSON]) == 0
    assert "playground has no assignments: nothing to check" in capsys.readouterr().out
    assert main(["check", LESSON, "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"lesson": LESSON, "results": []}
