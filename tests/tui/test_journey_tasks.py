"""The checklist, graduated hints, the solution part and the diff (issue #10 items 3 and 4)."""

from __future__ import annotations

from functools import partial
from typing import Any

from tests.tui.conftest import open_lesson, settle, wait_for
from xdp_tui import journey, lessons
from xdp_tui.app import XdpTuiApp
from xdp_tui.screens.chooser import ChoiceScreen
from xdp_tui.screens.guide import DiffScreen, HintScreen
from xdp_tui.screens.solution import SolutionScreen
from xdp_tui.widgets.checklist import Checklist

LESSON = "basic03-map-counter"


async def _open(app: XdpTuiApp, pilot: Any, lesson_id: str = LESSON) -> Checklist:
    await open_lesson(app, pilot, lesson_id)
    checklist = app.workshop.query_one(Checklist)
    assert await wait_for(pilot, lambda: checklist.progress is not None
                          and checklist.progress.lesson_id == lesson_id)  # fmt: skip
    await settle(app, pilot)
    return checklist


def _said_since(history: list[str], start: int, text: str) -> bool:
    return any(text in line for line in history[start:])


def _results(checklist: Checklist) -> str:
    return "\n".join(strip.text for strip in checklist.results.lines)


async def test_checklist_checks_the_highlighted_assignment_and_keeps_results(
    lab_name: Any,
) -> None:
    lessons.reset_workspace(lessons.get_lesson(LESSON))
    app = XdpTuiApp(lab=lab_name("tsk"))
    async with app.run_test(size=(100, 30)) as pilot:
        checklist = await _open(app, pilot)
        await pilot.press("3")  # the Tasks tab
        assert await wait_for(pilot, lambda: app.workshop.active_tab == "tasks")
        assert checklist.items.option_count == 3
        checklist.items.focus()
        await pilot.press("down")
        wanted = checklist.selected_id
        await pilot.press("c")
        assert f"#{wanted}" in app.workshop.status.activity
        assert await wait_for(pilot, lambda: "FAIL" in _results(checklist)
                              or "PASS" in _results(checklist), tries=600)  # fmt: skip
        assert f"#{wanted} " in _results(checklist)
        assert not any(n.title == "Check" for n in app._notifications)  # a list, not toasts
        state = checklist.progress.state_of(wanted) if checklist.progress else None
        assert await wait_for(pilot, lambda: checklist.progress is not None
                              and checklist.progress.state_of(wanted).state != "not tried")  # fmt: skip
        assert state is not None
        assert checklist.selected_id == wanted  # the highlight stays after the redraw
        assert app.workshop.status.activity.startswith("checked: ")
        await open_lesson(app, pilot, "basic01-xdp-pass")  # no longer about the lesson shown
        assert await wait_for(pilot, lambda: "checked" not in app.workshop.status.activity)


async def test_hints_level_by_level_then_only_that_assignments_solution(lab_name: Any) -> None:
    lesson = lessons.get_lesson(LESSON)
    app = XdpTuiApp(lab=lab_name("hnt"))
    async with app.run_test(size=(100, 30)) as pilot:
        checklist = await _open(app, pilot)
        checklist.select("2")
        levels = len(lesson.assignment("2").hints)
        seen: list[int] = []
        await pilot.press("h")
        for _ in range(levels + 3):
            assert await wait_for(pilot, lambda: isinstance(app.screen, HintScreen))
            step = app.screen.step
            assert step.assignment_id == "2"
            seen.append(step.level)
            if step.is_solution:
                break
            await pilot.press("h")
            await settle(app, pilot)
        assert step.is_solution and levels >= 2
        assert step.text == journey.solution_part(lesson, "2").text
        assert step.text != journey.solution_text(lesson)
        await pilot.press("escape")

        await pilot.press("S")
        assert await wait_for(pilot, lambda: isinstance(app.screen, ChoiceScreen))
        await pilot.press("escape")  # asking again is allowed: nothing shown
        assert await wait_for(pilot, lambda: not isinstance(app.screen, ChoiceScreen))
        await pilot.press("S", "enter")  # the default: only this assignment's lines
        assert await wait_for(pilot, lambda: isinstance(app.screen, SolutionScreen))
        shown = app.screen.text
        assert shown == journey.solution_part(lesson, "2").text
        assert ">>> assignment" not in shown
        await pilot.press("escape")

        await pilot.press("D")
        assert await wait_for(pilot, lambda: isinstance(app.screen, DiffScreen))
        kinds = {line.kind for line in app.screen.diff.lines}
        assert "added" in kinds  # the starter lacks the solution's lines


async def test_traffic_menu_sends_ipv4_vlan_and_udp(make_lab: Any) -> None:
    import asyncio

    lesson = lessons.get_lesson("packet01-parsing")
    lessons.reset_workspace(lesson)
    lab = await asyncio.to_thread(make_lab, "trf", legacy_ip=True)
    app = XdpTuiApp(lab=lab.name)
    async with app.run_test(size=(100, 30)) as pilot:
        await _open(app, pilot, lesson.id)
        history = app.workshop.activity.history
        labels = [c.label for c in journey.traffic_choices(lesson)]
        for label, expected in (
            ("IPv4 ping", f"to {lab.outer_ipv4}"),
            ("VLAN-tagged ping (id 100)", "tagged 100"),
            ("UDP to port 7777 (must pass from assignment 2 on)", "sent to port 7777"),
        ):
            before = len(history)
            await pilot.press("p")
            assert await wait_for(pilot, lambda: isinstance(app.screen, ChoiceScreen))
            await pilot.press(*["down"] * labels.index(label), "enter")
            said = partial(_said_since, history, before, expected)
            assert await wait_for(pilot, said), history
