"""Root remembers parsed lesson.toml tables (ParsedTables): same catalog, fewer parses."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from xdp_tui import lessons
from xdp_tui.lessons import PARSED_TABLES_FILE, ParsedTables, load_catalog
from xdp_tui.paths import run_dir

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="only root remembers tables")


def _memo() -> Path:
    return run_dir() / "cache" / PARSED_TABLES_FILE


def _parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Count the real parses from now on."""
    seen: list[str] = []
    parse = lessons._parse_lesson_toml

    def counted(text: str, where: str) -> dict[str, object]:
        seen.append(where)
        return parse(text, where)

    monkeypatch.setattr(lessons, "_parse_lesson_toml", counted)
    return seen


def test_remembered_tables_give_the_same_catalog(monkeypatch: pytest.MonkeyPatch) -> None:
    _memo().unlink(missing_ok=True)
    parses = _parses(monkeypatch)
    fresh = load_catalog()
    assert parses and _memo().is_file()
    parses.clear()
    remembered = load_catalog()
    assert parses == []
    assert remembered[0] == fresh[0]
    assert [p.render() for p in remembered[1]] == [p.render() for p in fresh[1]]


def test_an_edited_lesson_is_parsed_again(
    scratch_lessons: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = scratch_lessons("one-lesson", order=1)
    assert load_catalog()[0][0].order == 1
    parses = _parses(monkeypatch)
    toml = folder / "lesson.toml"
    # Same size and, as likely as not, the same mtime tick: only the text tells.
    toml.write_text(toml.read_text().replace("order = 1", "order = 2"))
    assert load_catalog()[0][0].order == 2
    assert parses == [str(toml)]


def test_a_damaged_lesson_is_never_remembered(scratch_lessons: Callable[..., Path]) -> None:
    scratch_lessons("good", order=1)
    scratch_lessons("bad", toml="id = 'bad'\ntitle = \n")
    for _ in range(2):
        found, problems = load_catalog()
        assert [lesson.id for lesson in found] == ["good"]
        assert "cannot parse lesson metadata" in problems[0].render()
    assert list(json.loads(_memo().read_text())) == [str(found[0].dir / "lesson.toml")]


@pytest.mark.parametrize("content", [b"", b"garbage{", b"[1, 2]", b'{"x": {"text": 1}}'])
def test_an_unusable_memo_is_ignored_and_replaced(
    scratch_lessons: Callable[..., Path], content: bytes
) -> None:
    scratch_lessons("one-lesson", order=3)
    load_catalog()
    _memo().write_bytes(content)
    assert [lesson.order for lesson in load_catalog()[0]] == [3]
    assert json.loads(_memo().read_text())


def test_a_link_in_place_of_the_memo_is_not_followed(
    scratch_lessons: Callable[..., Path], tmp_path: Path
) -> None:
    folder = scratch_lessons("one-lesson", order=4)
    load_catalog()
    planted = tmp_path / "planted.json"
    where = str(folder / "lesson.toml")
    text = (folder / "lesson.toml").read_text()
    planted.write_text(json.dumps({where: {"text": text, "table": {"id": "x"}}}))
    _memo().unlink()
    _memo().symlink_to(planted)
    assert ParsedTables.load().entries == {}
    assert [lesson.order for lesson in load_catalog()[0]] == [4]
