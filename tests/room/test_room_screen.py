"""Pilot test of the room screen, fed by a real room of namespaced sshd hosts."""

from __future__ import annotations

import time

import pytest

from tests.room.sshroom import SshRoom
from xdp_tui.lessons import HOME_PROGRESS, get_lesson
from xdp_tui.room import RoomPoller, load_inventory
from xdp_tui.screens.room import RoomApp, RoomScreen
from xdp_tui.widgets.learner_detail import LearnerDetailView
from xdp_tui.widgets.room_grid import HostProblems, RoomGrid

pytestmark = pytest.mark.kernel


async def _until(pilot: object, ready: object, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not ready():  # type: ignore[operator]
        assert time.monotonic() < deadline, "the room screen did not get there in time"
        await pilot.pause(0.1)  # type: ignore[attr-defined]


async def test_room_screen_shows_stuck_first_host_problems_and_a_learners_diff(
    room: SshRoom,
) -> None:
    lesson = get_lesson("basic02-prog-by-name")
    folder = room.host(0).homes / "ann" / HOME_PROGRESS.parent / "workspace" / lesson.id
    folder.mkdir(parents=True)
    (folder / lesson.source_name).write_text(lesson.starter_source.read_text() + "// TODO drop\n")
    poller = RoomPoller(load_inventory(room.write_inventory()), timeout_s=2.0)
    app = RoomApp(poller, interval_s=1.0)
    async with app.run_test(size=(140, 40)) as pilot:
        screen = app.screen
        assert isinstance(screen, RoomScreen)
        grid = screen.query_one(RoomGrid)
        # On a busy machine a first round may miss a host: wait for one with both.
        await _until(
            pilot,
            lambda: (
                screen.last_round is not None
                and all(h.learners for h in screen.last_round.hosts[:2])
            ),
        )
        keys = [str(key.value) for key in grid.rows]
        first = f"{room.host(0).name}/ann"
        assert keys[0] == first  # stuck first
        assert {f"{room.host(0).name}/bob", f"{room.host(1).name}/cyd"} <= set(keys)
        hosts = screen.query_one(HostProblems)
        problems = {str(key.value): [str(c) for c in hosts.get_row(key)] for key in hosts.rows}
        assert problems[room.host(2).name][2].startswith("malformed output")
        assert problems[room.host(3).name][1:] == ["unreachable", problems[room.host(3).name][2]]
        assert "authentication refused" in problems[room.host(3).name][2]
        assert "no answer within 2 s" in problems[room.host(4).name][2]
        ann = [str(cell) for cell in grid.get_row(first)]
        assert "failed 3 times in a row" in ann[-1] and ann[-4] == "basic02-prog-by-name"
        marks = dict(zip(grid.lessons, ann[3 : 3 + len(grid.lessons)], strict=True))
        assert (marks["basic01-xdp-pass"], marks["basic02-prog-by-name"]) == ("✓", "✗")
        assert marks["basic03-map-counter"] == "·"
        summary = str(screen.query_one("#room-summary").render())
        assert "1 stuck" in summary and "hosts" in summary

        grid.move_cursor(row=0)
        await pilot.press("enter")
        detail = screen.query_one(LearnerDetailView)
        await _until(pilot, lambda: detail.shown is not None)
        assert detail.shown is not None and detail.shown.error is None
        assert "-// TODO drop" in detail.shown.diff
        assert detail.border_title == f"ann@{room.host(0).name}"
        await pilot.pause()
        shown = app.export_screenshot()
        assert "xdp_drop_func" in shown and "yours/xdp_prog_kern.c" in shown

        room.stop(room.host(1))  # a host goes away while the screen runs
        gone = room.host(1).name
        await _until(
            pilot,
            lambda: any(h.host == gone and not h.reachable for h in screen.last_round.hosts),
        )
        await pilot.pause()
        assert [str(cell) for cell in hosts.get_row(gone)][:2] == [gone, "unreachable"]
        cyd = [str(cell) for cell in grid.get_row(f"{gone}/cyd")]  # still there, marked
        assert cyd[-1].startswith("host not answering; last seen")
        await pilot.press("f1")
        assert "polled over SSH" in app.export_screenshot().replace("&#160;", " ")
        await pilot.press("escape")
        await pilot.press("ctrl+q")
