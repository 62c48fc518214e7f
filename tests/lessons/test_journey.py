"""The learner's way through a lesson: states, progress, graduated help, solution parts, diff.

No kernel needed: the progress store and the shipped lesson files only.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from xdp_tui.errors import XdpTuiError
from xdp_tui.journey import (
    help_step,
    lesson_progress,
    next_help,
    render_readme,
    solution_diff,
    solution_part,
    solution_text,
    traffic_choices,
)
from xdp_tui.lessons import Progress, catalog, get_lesson, workspace_source

LESSON_IDS = [lesson.id for lesson in catalog()]


@pytest.mark.parametrize("lesson_id", LESSON_IDS)
def test_every_assignment_has_two_hint_levels_and_a_solution_part(lesson_id: str) -> None:
    lesson = get_lesson(lesson_id)
    for assignment in lesson.assignments:
        assert len(assignment.hints) >= 2, f"assignment {assignment.id}: fewer than 2 hints"
        assert assignment.hint == assignment.hints[0]  # a failed check shows the gentlest
        assert len(set(assignment.hints)) == len(assignment.hints)
        part = solution_part(lesson, assignment.id)
        assert part.text.strip() and ">>>" not in part.text and "<<<" not in part.text
    shown = solution_text(lesson)
    assert "/* >>>" not in shown and "/* <<<" not in shown


def test_help_goes_hint_by_hint_then_to_the_solution_part() -> None:
    lesson = get_lesson("basic03-map-counter")
    first = help_step(lesson, "1", 1)
    assert (first.level, first.is_solution, first.has_more) == (1, False, True)
    assert "rx_bytes" not in first.text  # the first level does not give the fix away
    second = help_step(lesson, "1", 2)
    assert "rx_bytes" in second.text and not second.is_solution
    solution = help_step(lesson, "1", 3)
    assert solution.is_solution and solution.level == 3 == solution.levels + 1
    assert (
        "__u64 rx_bytes;" in solution.text and "rec->rx_bytes += data_end - data;" in solution.text
    )
    assert "BPF_MAP_TYPE_PERCPU_ARRAY" not in solution.text  # only assignment 1's part
    with pytest.raises(XdpTuiError):
        help_step(lesson, "1", 0)


def test_next_help_remembers_how_far_the_learner_got(data_dir: Path) -> None:
    lesson = get_lesson("basic02-prog-by-name")
    store = Progress.load()
    steps = [next_help(lesson, "2", store) for _ in range(4)]
    assert [s.level for s in steps] == [1, 2, 3, 3]  # stays on the solution
    assert steps[-1].is_solution and "XDP_ABORTED" in steps[-1].text
    again = Progress.load()  # saved
    assert again.hints_shown(lesson.id, "2") == 3
    assert again.hints_shown(lesson.id, "1") == 0
    assert lesson_progress(lesson, again).state_of("2").hints_shown == 3


def test_solution_part_of_packet01_vlan_is_the_vlan_code_only() -> None:
    lesson = get_lesson("packet01-parsing")
    part = solution_part(lesson, "4")
    assert "VLAN_MAX_DEPTH" in part.text and "proto_is_vlan" in part.text
    assert "parse_iphdr" not in part.text
    assert len(part.blocks) > 1 and "\n    ...\n" in part.text
    numbers = [block.first_line for block in part.blocks]
    assert numbers == sorted(numbers)
    shown = solution_text(lesson).splitlines()
    for block in part.blocks:  # line numbers point into the solution as shown
        assert shown[block.first_line - 1] == block.lines[0]


def test_states_follow_the_checks(data_dir: Path) -> None:
    lesson = get_lesson("basic03-map-counter")
    progress = lesson_progress(lesson, Progress.load())
    assert [a.state for a in progress.assignments] == ["not tried"] * 3
    assert progress.fraction == 0.0 and progress.next_up is not None
    assert progress.next_up.id == "1"
    assert [a.title for a in progress.assignments][0] == "Count bytes as well as packets"

    store = Progress.load()
    store.mark(lesson.id, "1", False, "rx_bytes grew by 0")
    store.mark(lesson.id, "2", True, "5 slots", title="Count every verdict under its own key")
    progress = lesson_progress(lesson)
    one, two, three = progress.assignments
    assert (one.state, one.detail, one.ever_passed) == ("failing", "rx_bytes grew by 0", False)
    assert (two.state, two.ever_passed) == ("passed", True) and two.checked_at
    assert three.state == "not tried" and three.detail == "" and three.checked_at is None
    stored = Progress.load().result(lesson.id, "2") or {}
    assert stored["title"] == two.title  # kept with the result, for the instructor's view
    assert (progress.done, progress.total) == (1, 3)
    assert progress.fraction == pytest.approx(1 / 3)
    assert progress.next_up is not None and progress.next_up.id == "1"

    store.mark(lesson.id, "2", False, "broke it again")  # a later failure
    two = lesson_progress(lesson).state_of("2")
    assert two.state == "failing" and two.ever_passed  # the achievement stays


def test_hints_shown_alone_is_not_a_try(data_dir: Path) -> None:
    lesson = get_lesson("basic02-prog-by-name")
    store = Progress.load()
    store.note_hints_shown(lesson.id, "1", 1)
    state = lesson_progress(lesson).state_of("1")
    assert state.state == "not tried" and state.hints_shown == 1
    assert store.passed(lesson.id) == set()


def test_diff_against_the_solution(data_dir: Path) -> None:
    lesson = get_lesson("basic02-prog-by-name")
    diff = solution_diff(lesson)
    assert not diff.identical
    kinds = {line.kind for line in diff.lines}
    assert {"file", "hunk", "added", "removed"} <= kinds
    assert any(ln.kind == "added" and ln.text == "+\treturn XDP_DROP;" for ln in diff.lines)
    assert any(ln.kind == "removed" and "Assignment 1" in ln.text for ln in diff.lines)
    assert not any("/* >>>" in ln.text for ln in diff.lines)
    assert diff.lines[0].text.startswith("--- yours/")

    workspace_source(lesson).write_text(solution_text(lesson))
    assert solution_diff(lesson).identical


def test_broken_markers_are_located(scratch_lessons: Callable[..., Path], data_dir: Path) -> None:
    folder = scratch_lessons("marks-lesson")
    solution = folder / "solution" / "xdp_prog_kern.c"
    solution.write_text("/* >>> assignment 1 */\nint x;\n")
    lesson = get_lesson("marks-lesson")
    with pytest.raises(XdpTuiError) as caught:
        solution_part(lesson, "1")
    assert "never closed" in caught.value.message and caught.value.location == str(solution)
    solution.write_text("int x;\n")
    with pytest.raises(XdpTuiError, match="marks no lines for assignment 1"):
        solution_part(lesson, "1")
    # One `hint` is one level; the step after it is the solution.
    assert lesson.assignment("1").hints == ("think",)
    assert help_step(lesson, "1", 1).text == "think"


# ---- traffic choices and README addresses ------------------------------------------


def test_traffic_choices_follow_the_lesson_metadata() -> None:
    labels = [c.label for c in traffic_choices(get_lesson("basic01-xdp-pass"))]
    assert labels == ["IPv6 ping"]
    packet01 = traffic_choices(get_lesson("packet01-parsing"))
    assert [(c.kind, c.family, c.vlan) for c in packet01[:3]] == [
        ("ping", 6, None),
        ("ping", 4, None),
        ("ping", 6, 100),
    ]
    assert ("udp", 7777) in [(c.kind, c.port) for c in packet01]
    tracing02 = traffic_choices(get_lesson("tracing02-xdp-monitor"))
    assert {(c.kind, c.port) for c in tracing02} >= {("udp", 9999), ("udp", 9), ("tcp", 80)}
    assert any(c.ask_to for c in traffic_choices(get_lesson("packet03-redirecting")))


@pytest.mark.parametrize(
    ("entry", "words"),
    [
        ('kind = "icmp"', "traffic kind 'icmp'"),
        ('kind = "udp"', "udp traffic needs a port"),
        ("family = 5", "family 5"),
    ],
)
def test_bad_traffic_entries_are_located(
    scratch_lessons: Callable[..., Path], entry: str, words: str
) -> None:
    from tests.lessons.conftest import MINIMAL_TOML

    toml = MINIMAL_TOML.format(id="traffic-lesson", order=1)
    folder = scratch_lessons("traffic-lesson", toml=toml + f'[[traffic]]\nlabel = "x"\n{entry}\n')
    with pytest.raises(XdpTuiError) as caught:
        get_lesson("traffic-lesson")
    assert words in caught.value.message
    assert caught.value.location == str(folder / "lesson.toml")


class _Lab:
    name, number = "hJ7", 7
    outer_ipv6, inner_ipv6 = "fc00:dead:cafe:7::1", "fc00:dead:cafe:7::2"
    outer_ipv4: str | None = None
    inner_ipv4: str | None = None


def test_readme_addresses_come_from_the_lab() -> None:
    text = "ping {{inner_ipv6}} from {{lab}}; IPv4 {{outer_ipv4}}; C: { {x} } {{unknown}}"
    assert render_readme(text, _Lab()) == (
        "ping fc00:dead:cafe:7::2 from hJ7; IPv4 10.11.7.1; C: { {x} } {{unknown}}"
    )
    generic = render_readme(text)
    assert "fc00:dead:cafe:N::2 from test01" in generic and "10.11.N.1" in generic
    said = "outside fc00:dead:cafe:N::1 and 10.11.N.1, another lab: fc00:dead:cafe:M::2"
    assert render_readme(said) == said  # no lab: the generic words stay
    assert render_readme(said, _Lab()) == (
        "outside fc00:dead:cafe:7::1 and 10.11.7.1, another lab: fc00:dead:cafe:M::2"
    )


@pytest.mark.parametrize("lesson_id", LESSON_IDS)
def test_readme_addresses_are_the_labs(lesson_id: str) -> None:
    text = get_lesson(lesson_id).readme.read_text()
    rendered = render_readme(text, _Lab())
    assert "{{" not in rendered, "an unknown README placeholder"
    assert "fc00:dead:cafe:1::" not in rendered, "a fixed lab address: write fc00:dead:cafe:N::1"
    assert "cafe:N::" not in rendered and "10.11.N." not in rendered


def test_packet01_readme_names_every_include_the_solution_needs() -> None:
    lesson = get_lesson("packet01-parsing")
    readme = lesson.readme.read_text()
    includes = re.compile(r"#include [<\"]([^>\"]+)[>\"]")
    added = set(includes.findall(solution_text(lesson))) - set(
        includes.findall(lesson.starter_source.read_text())
    )
    assert "linux/in.h" in added
    for header in sorted(added):  # what the learner must add, the README says
        assert header in readme, header
