"""Lesson programs with one thing changed, for tests proving a check notices that one thing."""

from __future__ import annotations

from pathlib import Path


def variant(tmp_path: Path, original: Path, *edits: tuple[str, str]) -> Path:
    """A copy of ORIGINAL with each (old, new) replaced; every OLD must be there."""
    text = original.read_text()
    for old, new in edits:
        assert old in text, f"{original} no longer contains {old!r}: update this test"
        text = text.replace(old, new)
    out = tmp_path / original.name
    out.write_text(text)
    return out
