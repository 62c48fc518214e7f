"""`xdp-tui lessons`, `check`, `progress`, `workspace` through the real entry point."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.learner import LoginUser, login_user, sudo_env
from xdp_tui.cli import main


def _json(capsys: pytest.CaptureFixture[str]) -> object:
    return json.loads(capsys.readouterr().out)


def test_lessons_json_shape(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lessons", "--json"]) == 0
    data = _json(capsys)
    assert isinstance(data, list)
    first = data[0]
    assert set(first) == {"id", "title", "assignments"}
    assert first["id"] == "basic01-xdp-pass"
    basic03 = next(item for item in data if item["id"] == "basic03-map-counter")
    assert [a["id"] for a in basic03["assignments"]] == ["1", "2", "3"]
    assert set(basic03["assignments"][0]) == {"id", "title"}


def test_lessons_text(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lessons"]) == 0
    out = capsys.readouterr().out
    assert "basic02-prog-by-name" in out and "[ ] 1." in out


def test_workspace_prints_path_and_resets(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["workspace", "basic02-prog-by-name"]) == 0
    path = Path(capsys.readouterr().out.strip())
    assert path == data_dir / "workspace" / "basic02-prog-by-name" / "xdp_prog_kern.c"
    path.write_text("edited")
    assert main(["workspace", "basic02-prog-by-name", "--reset"]) == 0
    capsys.readouterr()
    assert path.read_text() != "edited"


def test_unknown_lesson_is_one_clean_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["workspace", "nope"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("xdp-tui: error: unknown lesson 'nope'")
    assert "Traceback" not in err


def test_progress_json(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from xdp_tui.lessons import Progress

    Progress.load().mark("basic03-map-counter", "1", True, "ok")
    assert main(["progress", "--json"]) == 0
    data = _json(capsys)
    row = next(r for r in data["lessons"] if r["lesson"] == "basic03-map-counter")
    assert row["passed"] == ["1"] and row["total"] == 3


@pytest.mark.kernel
def test_check_json_and_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "basic03-map-counter", "1", "--solution", "--json"]) == 0
    data = _json(capsys)
    assert data["lesson"] == "basic03-map-counter"
    assert data["results"][0]["assignment"] == "1" and data["results"][0]["passed"] is True
    assert set(data["results"][0]) == {"assignment", "passed", "detail", "hint"}
    # The untouched workspace is the starter: assignment 1 is not done there.
    assert main(["check", "basic03-map-counter", "1", "--json"]) == 1
    data = _json(capsys)
    assert data["results"][0]["passed"] is False and data["results"][0]["hint"]


@pytest.mark.kernel
def test_check_unknown_assignment(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "basic03-map-counter", "7"]) == 1
    assert "no assignment '7'" in capsys.readouterr().err


def test_users_progress_reads_each_home(tmp_path: Path) -> None:
    from xdp_tui.lessons import HOME_PROGRESS, Progress, users_progress

    alice, bob, carol = (tmp_path / name for name in ("alice", "bob", "carol"))
    Progress.load(alice / HOME_PROGRESS).mark("basic01-xdp-pass", "1", True, "ok")
    Progress.load(bob / HOME_PROGRESS).mark("basic01-xdp-pass", "1", False, "not yet")
    carol.mkdir()  # no progress file: not listed
    found = users_progress([("bob", bob), ("carol", carol), ("alice", alice)])
    assert [user for user, _ in found] == ["alice", "bob"]
    assert found[0][1].passed("basic01-xdp-pass") == {"1"}
    assert found[1][1].passed("basic01-xdp-pass") == set()
    assert found[1][1].last_checked() is not None


@pytest.fixture
def learner() -> Iterator[LoginUser]:
    """A real login user with a home, removed afterwards."""
    with login_user() as user:
        yield user


@pytest.mark.kernel  # needs root: it adds a user to this machine
def test_instructor_sees_every_users_progress(
    learner: LoginUser, capsys: pytest.CaptureFixture[str]
) -> None:
    from xdp_tui.lessons import HOME_PROGRESS, Progress

    name, home = learner.name, learner.home
    with sudo_env(learner):  # the learner's own check wrote it, as the learner
        Progress.load(home / HOME_PROGRESS).mark("basic03-map-counter", "2", True, "ok")
    assert main(["progress", "--all-users", "--json"]) == 0
    users = {row["user"]: row for row in _json(capsys)["users"]}
    row = users[name]
    assert row["passed"] == 1 and row["total"] >= 10 and row["last_checked"]
    basic03 = next(r for r in row["lessons"] if r["lesson"] == "basic03-map-counter")
    assert basic03["passed"] == ["2"]
    assert main(["progress", "--all-users"]) == 0
    assert f"{name} " in capsys.readouterr().out


def test_lessons_text_marks_failing_and_passed(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from xdp_tui.lessons import Progress

    store = Progress.load()
    store.mark("basic03-map-counter", "1", True, "ok")
    store.mark("basic03-map-counter", "2", False, "not yet")
    assert main(["lessons"]) == 0
    out = capsys.readouterr().out
    assert "Counting packets in a BPF map (1/3)" in out
    assert "[x] 1. Count bytes" in out and "[!] 2. Count every verdict" in out
    assert "[ ] 3. Give every CPU" in out


def test_hint_goes_one_level_further_each_time(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    said = []
    for _ in range(3):
        assert main(["hint", "basic02-prog-by-name", "1"]) == 0
        said.append(capsys.readouterr().out)
    assert said[0].startswith("hint 1 of 2: ") and said[1].startswith("hint 2 of 2: ")
    assert "the solution's part" in said[2] and "return XDP_DROP;" in said[2]
    assert main(["hint", "basic02-prog-by-name", "1", "--level", "1", "--json"]) == 0
    data = _json(capsys)
    assert isinstance(data, dict) and data["level"] == 1 and not data["is_solution"]
    with pytest.raises(SystemExit):
        main(["hint", "basic02-prog-by-name", "1", "--level", "x"])
    assert main(["hint", "basic02-prog-by-name", "7"]) == 1
    assert "has no assignment '7'" in capsys.readouterr().err


def test_diff_against_the_solution(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diff", "basic02-prog-by-name"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("--- yours/xdp_prog_kern.c\n+++ solution/xdp_prog_kern.c\n")
    assert "+\treturn XDP_DROP;\n" in out and ">>>" not in out
