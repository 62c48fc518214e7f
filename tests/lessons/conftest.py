"""Fixtures for the lesson tests: a scratch lessons folder and the real catalog."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from xdp_tui import lessons as lessons_mod

MINIMAL_TOML = """\
id = "{id}"
title = "A lesson for tests"
order = {order}
source = "xdp_prog_kern.c"
programs = ["xdp_pass_func"]
default_program = "xdp_pass_func"
maps = []
[lab]
roles = ["test01"]
[[assignments]]
id = "1"
title = "Do the thing"
check = "check_thing"
hint = "think"
"""


@pytest.fixture
def scratch_lessons(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Path]:
    """Point the catalog at an empty folder; the returned factory adds lessons to it."""
    root = tmp_path / "lessons"
    root.mkdir()
    monkeypatch.setattr(lessons_mod, "lessons_dir", lambda: root)

    def add(lesson_id: str, order: int = 1, toml: str | None = None) -> Path:
        folder = root / lesson_id
        (folder / "solution").mkdir(parents=True)
        text = toml if toml is not None else MINIMAL_TOML.format(id=lesson_id, order=order)
        (folder / "lesson.toml").write_text(text)
        (folder / "README.md").write_text("# test\n")
        (folder / "xdp_prog_kern.c").write_text("/* starter */\n")
        (folder / "helpers.h").write_text("/* a local header */\n")
        (folder / "solution" / "xdp_prog_kern.c").write_text("/* solution */\n")
        (folder / "checks.py").write_text("")
        return folder

    return add


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private user data folder for one test (workspaces, progress)."""
    path = tmp_path / "data"
    monkeypatch.setenv("XDP_TUI_DATA_DIR", str(path))
    return path
