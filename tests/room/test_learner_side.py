"""The learner side of the room: what `progress --json` tells the instructor (no source)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from xdp_tui.cli import main
from xdp_tui.lessons import HOME_PROGRESS, Progress, get_lesson, workspace_source


def _mark_as(home: Path, lesson: str, assignment: str, passed: bool, detail: str) -> None:
    Progress.load(home / HOME_PROGRESS).mark(lesson, assignment, passed, detail)


def test_failures_count_in_a_row_and_reset_on_pass(tmp_path: Path) -> None:
    progress = Progress.load(tmp_path / "progress.json")
    for _ in range(3):
        progress.mark("basic02-prog-by-name", "1", False, "no drop program")
    check = progress.last_check()
    assert check is not None
    assert (check["assignment"], check["passed"], check["failures"]) == ("1", False, 3)
    progress.mark("basic02-prog-by-name", "1", True, "ok")
    assert progress.last_check()["failures"] == 0  # type: ignore[index]
    activity = Progress.load(tmp_path / "progress.json").activity()
    assert activity["current_lesson"] == "basic02-prog-by-name"
    assert activity["last_progress"] == activity["last_check"]["checked_at"]


def test_an_edit_after_the_last_check_moves_the_current_lesson(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDP_TUI_DATA_DIR", str(tmp_path))
    Progress.load().mark("basic01-xdp-pass", "1", True, "ok")
    source = workspace_source(get_lesson("basic03-map-counter"))
    later = os.stat(source).st_mtime + 60
    os.utime(source, (later, later))
    activity = Progress.load().activity()
    assert activity["current_lesson"] == "basic03-map-counter"
    assert activity["last_activity"] == later
    assert activity["last_check"]["lesson"] == "basic01-xdp-pass"


def test_progress_json_carries_hostname_and_activity_but_no_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("XDP_TUI_DATA_DIR", str(tmp_path))
    workspace_source(get_lesson("basic01-xdp-pass"))
    Progress.load().mark("basic01-xdp-pass", "1", False, "still the starter")
    assert main(["progress", "--json"]) == 0
    out = capsys.readouterr().out
    data = json.loads(out)
    assert data["hostname"] and data["current_lesson"] == "basic01-xdp-pass"
    assert data["last_check"]["detail"] == "still the starter"
    assert "SEC(" not in out and "#include" not in out


@pytest.mark.kernel  # --all-users needs root
def test_all_users_reads_a_private_home_root_and_refuses_links(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    homes = tmp_path / "homes"
    (homes / "ann").mkdir(parents=True)
    (homes / "eve").mkdir()
    _mark_as(homes / "ann", "basic02-prog-by-name", "1", False, "no drop program")
    # eve's workspace is a link to a root-only file: the diff must not read it.
    secret = tmp_path / "secret.c"
    secret.write_text("root only\n")
    folder = homes / "eve" / HOME_PROGRESS.parent / "workspace" / "basic01-xdp-pass"
    folder.mkdir(parents=True)
    (folder / "xdp_prog_kern.c").symlink_to(secret)
    _mark_as(homes / "eve", "basic01-xdp-pass", "1", True, "ok")
    monkeypatch.setenv("XDP_TUI_HOMES", str(homes))

    assert main(["progress", "--all-users", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    users = {row["user"]: row for row in data["users"]}
    assert set(users) == {"ann", "eve"} and data["hostname"]
    assert users["ann"]["current_lesson"] == "basic02-prog-by-name"
    assert users["ann"]["last_check"]["failures"] == 1

    assert main(["progress", "--all-users", "--user", "eve", "--diff", "--json"]) == 0
    detail = json.loads(capsys.readouterr().out)
    assert detail["lesson"] == "basic01-xdp-pass" and detail["diff"] == ""
    assert "root only" not in json.dumps(detail)

    source = workspace_source_for(homes / "ann", "basic02-prog-by-name")
    source.write_text(source.read_text() + "/* my change */\n")
    assert main(["progress", "--all-users", "--user", "ann", "--diff", "--json"]) == 0
    detail = json.loads(capsys.readouterr().out)
    assert "-/* my change */" in detail["diff"]  # the learner's own view: theirs -> solution
    assert detail["diff"].startswith("--- yours/xdp_prog_kern.c")

    assert main(["progress", "--all-users", "--user", "nobody-here", "--json"]) == 1
    assert "no user 'nobody-here'" in capsys.readouterr().err


def workspace_source_for(home: Path, lesson_id: str) -> Path:
    lesson = get_lesson(lesson_id)
    folder = home / HOME_PROGRESS.parent / "workspace" / lesson.id
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / lesson.source_name
    target.write_text(lesson.starter_source.read_text())
    return target
