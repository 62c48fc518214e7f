"""The lesson catalog, workspaces and progress store (no kernel needed)."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest

from xdp_tui.errors import XdpTuiError
from xdp_tui.lessons import (
    Progress,
    catalog,
    get_lesson,
    load_catalog,
    reset_workspace,
    solution_source,
    workspace_source,
)

BASIC = [
    "basic01-xdp-pass",
    "basic02-prog-by-name",
    "basic03-map-counter",
    "basic04-pinning-maps",
]
LESSON_IDS = [lesson.id for lesson in catalog()]


def test_catalog_is_in_teaching_order_and_has_the_basics() -> None:
    lessons = catalog()
    assert [lesson.order for lesson in lessons] == sorted(lesson.order for lesson in lessons)
    assert [lid for lid in LESSON_IDS if lid in BASIC] == BASIC
    assert len({lesson.order for lesson in lessons}) == len(lessons), "orders must be unique"


@pytest.mark.parametrize("lesson_id", LESSON_IDS)
def test_lesson_folder_is_complete(lesson_id: str) -> None:
    lesson = get_lesson(lesson_id)
    assert lesson.readme.is_file()
    assert lesson.starter_source.is_file()
    assert solution_source(lesson).is_file()
    assert lesson.checks_file.is_file()
    assert lesson.assignments, "every lesson has at least one checked assignment"
    assert len({a.id for a in lesson.assignments}) == len(lesson.assignments)
    if lesson.default_program:
        assert lesson.default_program in lesson.programs


@pytest.mark.parametrize("lesson_id", LESSON_IDS)
def test_metadata_matches_the_code(lesson_id: str) -> None:
    lesson = get_lesson(lesson_id)
    solution = solution_source(lesson).read_text()
    for program in lesson.programs:
        assert re.search(rf"\bint\s+{program}\s*\(", solution), f"{program} not in the solution"
    assert 'SEC("xdp")' in solution
    assert not re.search(r'SEC\("xdp[_/]', solution), 'only plain SEC("xdp") sections'
    for map_name in lesson.maps:
        assert map_name in solution or "xdp_stats_kern.h" in solution
    checks = lesson.checks_file.read_text()
    for assignment in lesson.assignments:
        assert f"def {assignment.check}(" in checks, assignment.check
        assert assignment.hint, f"assignment {assignment.id} has no hint"


@pytest.mark.parametrize("lesson_id", LESSON_IDS)
def test_starter_marks_every_assignment(lesson_id: str) -> None:
    lesson = get_lesson(lesson_id)
    starter = lesson.starter_source.read_text()
    for assignment in lesson.assignments:
        if assignment.id in lesson.starter_passes:
            continue
        assert f"Assignment {assignment.id}" in starter, (
            f"the starter has no 'Assignment {assignment.id}' marker"
        )


@pytest.mark.parametrize("lesson_id", LESSON_IDS)
def test_readme_reads_in_a_terminal(lesson_id: str) -> None:
    text = get_lesson(lesson_id).readme.read_text()
    assert text.startswith("# ")
    for assignment in get_lesson(lesson_id).assignments:
        assert re.search(rf"Assignment {assignment.id}\b", text), assignment.id
    assert "xdp-tui check" in text
    # The tutorial's own tools and make targets have no place in our steps.
    for foreign in (r"xdp_loader", r"`make`", r"make -C", r"\bt load\b", r"testenv\.sh"):
        assert not re.search(foreign, text), foreign


def test_unknown_lesson_lists_the_known_ones() -> None:
    with pytest.raises(XdpTuiError) as info:
        get_lesson("basic99-nope")
    assert "basic99-nope" in info.value.message
    assert "basic01-xdp-pass" in (info.value.hint or "")


def test_unknown_assignment_is_a_clear_error() -> None:
    with pytest.raises(XdpTuiError) as info:
        get_lesson("basic03-map-counter").assignment("9")
    assert "1, 2, 3" in (info.value.hint or "")


def test_scratch_catalog_sorts_by_order(scratch_lessons) -> None:  # type: ignore[no-untyped-def]
    scratch_lessons("zeta", order=1)
    scratch_lessons("alpha", order=2)
    assert [lesson.id for lesson in catalog()] == ["zeta", "alpha"]


def test_bad_toml_is_located(scratch_lessons) -> None:  # type: ignore[no-untyped-def]
    folder = scratch_lessons("broken", toml='id = "broken"\ntitle = \n')
    problem = _only_problem()
    assert problem.location == str(folder / "lesson.toml")


def test_missing_field_is_located(scratch_lessons) -> None:  # type: ignore[no-untyped-def]
    folder = scratch_lessons("nofield", toml='id = "nofield"\norder = 1\n')
    problem = _only_problem()
    assert problem.location == str(folder / "lesson.toml")
    assert "title" in problem.message


def test_id_must_match_folder(scratch_lessons) -> None:  # type: ignore[no-untyped-def]
    toml = 'id = "other"\ntitle = "t"\norder = 1\n'
    scratch_lessons("mismatch", toml=toml)
    assert "folder" in _only_problem().message


def _only_problem() -> XdpTuiError:
    """A damaged lesson is left out of the catalog and reported by load_catalog."""
    assert catalog() == []
    lessons, problems = load_catalog()
    assert lessons == [] and len(problems) == 1
    return problems[0]


def test_toml_fields_parse(scratch_lessons) -> None:  # type: ignore[no-untyped-def]
    scratch_lessons("one")
    lesson = get_lesson("one")
    assert lesson.programs == ("xdp_pass_func",)
    assert lesson.lab.roles == ("test01",) and lesson.lab.count == 1
    assert lesson.assignments[0].check == "check_thing"
    assert lesson.to_dict()["assignments"][0]["hint"] == "think"


# ---- workspaces -------------------------------------------------------------


def test_workspace_copies_only_the_starter_sources(scratch_lessons, data_dir: Path) -> None:  # type: ignore[no-untyped-def]
    scratch_lessons("one")
    lesson = get_lesson("one")
    path = workspace_source(lesson)
    assert path == data_dir / "workspace" / "one" / "xdp_prog_kern.c"
    assert path.read_text() == "/* starter */\n"
    copied = sorted(p.name for p in path.parent.iterdir())
    assert copied == ["helpers.h", "xdp_prog_kern.c"], "no solution, README, toml or checks"


def test_workspace_keeps_edits_and_reset_restores(scratch_lessons, data_dir: Path) -> None:  # type: ignore[no-untyped-def]
    scratch_lessons("one")
    lesson = get_lesson("one")
    path = workspace_source(lesson)
    path.write_text("/* my work */\n")
    assert workspace_source(lesson).read_text() == "/* my work */\n"
    assert reset_workspace(lesson).read_text() == "/* starter */\n"


def test_real_lesson_workspace_builds_from_starter(data_dir: Path) -> None:
    lesson = get_lesson("basic03-map-counter")
    path = workspace_source(lesson)
    assert path.read_bytes() == lesson.starter_source.read_bytes()
    assert not (path.parent / "solution").exists()


# ---- progress -------------------------------------------------------------------


def test_progress_marks_and_remembers(data_dir: Path) -> None:
    progress = Progress.load()
    assert progress.passed("basic03-map-counter") == set()
    progress.mark("basic03-map-counter", "1", True, "118 per packet")
    progress.mark("basic03-map-counter", "2", False, "PASS grew")
    again = Progress.load()
    assert again.passed("basic03-map-counter") == {"1"}
    assert again.result("basic03-map-counter", "2")["detail"] == "PASS grew"
    on_disk = json.loads((data_dir / "progress.json").read_text())
    assert on_disk == again.to_dict()


def test_progress_keeps_a_pass_after_a_later_failure(data_dir: Path) -> None:
    progress = Progress.load()
    progress.mark("l", "1", True, "ok")
    progress.mark("l", "1", False, "broke it")
    reloaded = Progress.load()
    assert reloaded.passed("l") == {"1"}
    assert reloaded.result("l", "1")["passed"] is False


def test_progress_survives_a_damaged_file(data_dir: Path) -> None:
    data_dir.mkdir(parents=True)
    (data_dir / "progress.json").write_text("{not json")
    progress = Progress.load()
    assert progress.passed("l") == set()
    progress.mark("l", "1", True)
    assert Progress.load().passed("l") == {"1"}
    assert not list(data_dir.glob(".progress-*")), "no temporary files left"


def test_shipped_toml_files_parse_with_tomllib() -> None:
    for lesson in catalog():
        data = tomllib.loads((lesson.dir / "lesson.toml").read_text())
        assert data["id"] == lesson.id


TRAFFIC_TOML = """\
id = "traffic"
title = "t"
order = 1
[[traffic]]
label = "UDP"
kind = "{kind}"
port = {port}
count = {count}
sizes = {sizes}
"""


def test_traffic_frame_sizes_parse(scratch_lessons) -> None:  # type: ignore[no-untyped-def]
    scratch_lessons(
        "traffic", toml=TRAFFIC_TOML.format(kind="udp", port=9, count=4, sizes="[62, 1514]")
    )
    [choice] = get_lesson("traffic").traffic
    assert choice.sizes == (62, 1514) and choice.to_dict()["sizes"] == (62, 1514)


@pytest.mark.parametrize(
    ("kind", "port", "count", "sizes", "said"),
    [
        ("udp", 9, 5, "[61]", "traffic sizes 61 is not between 62 and 1514"),
        ("udp", 9, 5, "[1515]", "not between 62 and 1514"),
        ("udp", 9, 5, "[100, true]", "each of traffic sizes must be int, not bool"),
        ("udp", 9, 5, '"134"', "traffic sizes must be list, not str"),
        ("udp", 9, 5, str([100] * 17), "at most 16"),
        ("tcp", 80, 5, "[100]", "sizes are for udp traffic, not tcp"),
        ("udp", 9, 10**9, "[]", "traffic count 1000000000 is not between 1 and 1000"),
        ("udp", 70000, 5, "[]", "traffic port 70000 is not between 1 and 65535"),
    ],
)
def test_bad_traffic_is_located(scratch_lessons, kind, port, count, sizes, said) -> None:  # type: ignore[no-untyped-def]
    folder = scratch_lessons(
        "traffic", toml=TRAFFIC_TOML.format(kind=kind, port=port, count=count, sizes=sizes)
    )
    problem = _only_problem()
    assert problem.location == str(folder / "lesson.toml")
    assert said in problem.message, problem.message
