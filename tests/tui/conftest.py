"""Helpers for the TUI tests: waiting for workers, a frozen workbench for snapshots."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from xdp_tui.engine.attach import XdpStatus
from xdp_tui.lessons import Assignment, LabOptions, Lesson
from xdp_tui.workbench import LabState, Leftover, Workbench

FIXTURES = Path(__file__).parent / "fixtures" / "lessons"


# Workers that loop until cancelled (the Live sampler, the top-talkers reader): waiting for
# them hangs a test whenever one is running, as when another tool's program is on the lab
# from the start (Live follows it): seen as a 300 s timeout one full run in three.
LOOPING_WORKER_GROUPS = frozenset({"sample", "top-read"})
SETTLE_TIMEOUT_S = 60.0  # a bound all the same: a hang is a failure with a message, not a timeout


async def settle(app: Any, pilot: Any) -> None:
    """Let queued messages run and every worker started so far finish (cancelled ones too),
    except the ones that loop until cancelled."""
    await pilot.pause()
    waits = [
        asyncio.ensure_future(w.wait())
        for w in list(app.workers)
        if w.group not in LOOPING_WORKER_GROUPS
    ]
    if waits:
        done, pending = await asyncio.wait(waits, timeout=SETTLE_TIMEOUT_S)
        for task in pending:
            task.cancel()
        for task in done:
            if not task.cancelled():
                task.exception()  # retrieved, so asyncio does not warn about it
        assert not pending, f"workers still running after {SETTLE_TIMEOUT_S:.0f} s: " + ", ".join(
            w.name
            for w in app.workers
            if w.group not in LOOPING_WORKER_GROUPS and not w.is_finished
        )
    await pilot.pause()


async def wait_for(pilot: Any, condition: Callable[[], bool], *, tries: int = 300) -> bool:
    """Poll CONDITION between UI turns (bounded; the test asserts on the result)."""
    for _ in range(tries):
        if condition():
            return True
        await pilot.pause(0.1)
    return condition()


async def open_lesson(app: Any, pilot: Any, lesson_id: str) -> None:
    """Choose LESSON_ID once the list is loaded; wait until its source is shown."""
    assert await wait_for(pilot, lambda: bool(app.workshop.lessons))
    app.workshop.go_to_lesson(lesson_id)
    assert await wait_for(pilot, lambda: app.workshop.source_path is not None
                          and app.workshop.lesson.id == lesson_id)  # fmt: skip
    await settle(app, pilot)


def _fixture_lesson(folder: str, order: int, title: str, passed_marks: int = 0) -> Lesson:
    return Lesson(
        id=folder,
        title=title,
        order=order,
        dir=FIXTURES / folder,
        readme=FIXTURES / folder / "README.md",
        source_name="xdp_prog_kern.c",
        programs=("xdp_hello",),
        default_program="xdp_hello",
        maps=(),
        lab=LabOptions(),
        assignments=(Assignment("1", "Say hello", "check_hello", "return XDP_PASS"),),
    )


class FrozenWorkbench(Workbench):
    """Fixed lessons, no lab, no leftovers: the screen looks the same on every run."""

    def lessons(self) -> list[Lesson]:
        return [
            _fixture_lesson("demo01-hello", 1, "Saying hello with XDP"),
            _fixture_lesson("demo02-count", 2, "Counting packets"),
        ]

    def passed(self, lessons: list[Lesson] | None = None) -> dict[str, set[str]]:
        return {"demo01-hello": {"1"}, "demo02-count": set()}

    def source_path(self, lesson: Lesson) -> Path:
        return Path(lesson.dir) / lesson.source_name

    def lab_status(self, max_age: float = 0.0) -> LabState | None:
        return None

    def attach_status(self) -> XdpStatus | None:
        return None

    def inner_attach_status(self) -> XdpStatus | None:
        return None

    def leftovers(self) -> list[Leftover]:
        return []


@pytest.fixture(autouse=True)
def private_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each app starts afresh: no theme or last lesson remembered from an earlier test."""
    data = tmp_path / "data"
    monkeypatch.setenv("XDP_TUI_DATA_DIR", str(data))
    return data


@pytest.fixture
def frozen_workbench() -> FrozenWorkbench:
    return FrozenWorkbench(lab="test01")
