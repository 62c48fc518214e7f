"""Hostile progress and lesson files are data: located errors, bounded reads, nothing lost."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from xdp_tui import lessons
from xdp_tui.cli import main
from xdp_tui.errors import XdpTuiError
from xdp_tui.lessons import HOME_PROGRESS, Progress, users_progress_report

GOOD = {"lessons": {"basic01-xdp-pass": {"1": {"passed": True, "passed_at": 1.0}}}}
HOSTILE = {
    "list": b"[]",
    "wrong-types": json.dumps({"lessons": {"basic01-xdp-pass": {"1": {"passed": "yes"}}}}).encode(),
    "lessons-a-list": b'{"lessons": []}',
    "deep": b"[" * 100_000 + b"]" * 100_000,
    "binary": b"\xff\xfe\x00garbage",
}


def _home(root: Path, name: str, content: bytes | None = None) -> Path:
    home = root / name
    progress = home / HOME_PROGRESS
    progress.parent.mkdir(parents=True)
    if content is not None:
        progress.write_bytes(content)
    return home


def test_each_hostile_progress_is_skipped_by_name_and_the_rest_reported(tmp_path: Path) -> None:
    homes = [("good", _home(tmp_path, "good", json.dumps(GOOD).encode()))]
    homes += [(name, _home(tmp_path, name, content)) for name, content in HOSTILE.items()]
    sparse = _home(tmp_path, "sparse") / HOME_PROGRESS
    with open(sparse, "wb") as handle:
        handle.truncate(1 << 30)  # 1 GB of nothing, no disk used
    homes.append(("sparse", sparse.parents[3]))
    report = {row.user: row for row in users_progress_report(homes)}
    assert report["good"].progress is not None
    assert report["good"].progress.passed("basic01-xdp-pass") == {"1"}
    for name in [*HOSTILE, "sparse"]:
        assert report[name].progress is None, name
        assert str(tmp_path / name) in report[name].problem  # located
    assert "bytes" in report["sparse"].problem
    assert "nested too deeply" in report["deep"].problem
    assert "passed must be bool" in report["wrong-types"].problem


def test_extra_keys_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "progress.json"
    extra = {"hostname": "lab-pc", "lessons": {"basic01-xdp-pass": {"1": {"passed": True,
             "passed_at": 1.0, "last_result": {"detail": "ok"}}}}}  # fmt: skip
    path.write_text(json.dumps(extra))
    progress = Progress.load(path)
    assert not progress.problem and progress.passed("basic01-xdp-pass") == {"1"}
    progress.mark("basic01-xdp-pass", "2", True, "ok")
    saved = json.loads(path.read_text())
    assert saved["hostname"] == "lab-pc"
    assert saved["lessons"]["basic01-xdp-pass"]["1"]["last_result"] == {"detail": "ok"}


def test_invalid_own_progress_is_set_aside_not_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "progress.json"
    path.write_bytes(HOSTILE["wrong-types"])
    progress = Progress.load(path)
    assert "passed must be bool" in progress.problem
    progress.mark("basic01-xdp-pass", "1", True, "ok")
    assert (tmp_path / "progress.json.invalid").read_bytes() == HOSTILE["wrong-types"]
    assert Progress.load(path).passed("basic01-xdp-pass") == {"1"}


def test_progress_cli_with_a_damaged_file_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = Path(os.environ["XDP_TUI_DATA_DIR"])
    data.mkdir(parents=True, exist_ok=True)
    (data / "progress.json").write_bytes(b"[]")
    try:
        assert main(["progress"]) == 0
        captured = capsys.readouterr()
        assert "top level must be an object" in captured.err
        assert "basic01-xdp-pass" in captured.out
    finally:
        (data / "progress.json").unlink()


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"\x00\xff\xfe binary", "not UTF-8"),
        (b'id = "x"\ntitle = 3\norder = 1\n', "must be str"),
        (b'id = "x"\ntitle = "t"\norder = 1\nlab = "no"\n', "[lab] must be dict"),
        (b'id = "x"\ntitle = "t"\norder = "1"\n', "order must be int"),
        (b"a = " + b"[" * 50_000 + b"]" * 50_000, "lesson metadata"),
        (b"x" * 100_000, "over"),
    ],
)
def test_hostile_lesson_toml_is_a_located_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: bytes, words: str
) -> None:
    root = tmp_path / "lessons"
    shutil.copytree(lessons.lessons_dir() / "basic01-xdp-pass", root / "basic01-xdp-pass")
    (root / "x").mkdir()
    (root / "x" / "lesson.toml").write_bytes(content)
    monkeypatch.setattr(lessons, "lessons_dir", lambda: root)
    found, problems = lessons.load_catalog()
    assert [lesson.id for lesson in found] == ["basic01-xdp-pass"]  # the rest still there
    assert len(problems) == 1 and isinstance(problems[0], XdpTuiError)
    assert problems[0].location == str(root / "x" / "lesson.toml")
    assert words in problems[0].render()


@pytest.mark.parametrize(
    ("source", "make", "words"),
    [
        ("nothing.c", None, "has no starter nothing.c"),
        ("folder.c", "dir", "starter folder.c is not a regular file"),
        ("README.md", None, "must name a .c or .h file in the lesson's own folder"),
    ],
)
def test_a_lesson_source_that_gives_no_starter_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str, make: str | None, words: str
) -> None:
    root = tmp_path / "lessons"
    folder = root / "basic01-xdp-pass"
    shutil.copytree(lessons.lessons_dir() / "basic01-xdp-pass", folder)
    toml = folder / "lesson.toml"
    toml.write_text(toml.read_text().replace('source = "xdp_prog_kern.c"', f'source = "{source}"'))
    if make == "dir":
        (folder / source).mkdir()
    monkeypatch.setattr(lessons, "lessons_dir", lambda: root)
    monkeypatch.setenv("XDP_TUI_DATA_DIR", str(tmp_path / "data"))
    lesson = lessons.get_lesson("basic01-xdp-pass")
    assert lesson.source_name == source
    with pytest.raises(XdpTuiError) as caught:
        lessons.workspace_source(lesson)
    assert words in caught.value.message and caught.value.location == str(folder / source)
