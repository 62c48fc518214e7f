"""Refusals readable, warnings shown (issue #10 item 2): the verifier log view and build warnings."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.tui.conftest import open_lesson, settle, wait_for
from xdp_tui import lessons
from xdp_tui.app import XdpTuiApp
from xdp_tui.screens.verifier_log import VerifierLogScreen
from xdp_tui.widgets.problem_panel import ProblemPanel

SIZE = (100, 30)


@pytest.mark.kernel
async def test_verifier_log_view_after_a_refusal(make_lab: Any) -> None:
    lesson = lessons.get_lesson("packet01-parsing")  # its starter is refused on purpose
    lessons.reset_workspace(lesson)
    lab = await asyncio.to_thread(make_lab, "vlg")
    app = XdpTuiApp(lab=lab.name)
    async with app.run_test(size=SIZE) as pilot:
        await open_lesson(app, pilot, lesson.id)
        await pilot.press("v")  # nothing refused yet: a word, no screen
        await settle(app, pilot)
        assert not isinstance(app.screen, VerifierLogScreen)
        await pilot.press("b")
        panel = app.workshop.query_one(ProblemPanel)
        assert await wait_for(pilot, lambda: panel.has_class("-shown"))
        row = app.workshop.source.selection.start[0]
        assert app.workshop.source.marks[row].severity == "error"  # the gutter mark
        await pilot.press("v")
        assert await wait_for(pilot, lambda: isinstance(app.screen, VerifierLogScreen))
        view = app.screen.view
        assert view.failing_index is not None
        assert any(line.kind == "source" for line in view.lines)
        summary = str(app.screen.query_one("#verifier-summary").render())
        assert "in plain words" in summary and view.explanation[:20] in summary
        await pilot.press("escape")
        assert await wait_for(pilot, lambda: not isinstance(app.screen, VerifierLogScreen))


@pytest.mark.kernel
async def test_warnings_are_shown_after_a_successful_build(make_lab: Any) -> None:
    lesson = lessons.get_lesson("basic01-xdp-pass")
    source = lessons.workspace_source(lesson)
    lessons.reset_workspace(lesson)
    text = source.read_text().replace("{\n", "{\n\tint unused_here;\n", 1)
    source.write_text(text)
    warned_row = text.splitlines().index("\tint unused_here;")
    lab = await asyncio.to_thread(make_lab, "wrn")
    app = XdpTuiApp(lab=lab.name)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await open_lesson(app, pilot, lesson.id)
            await pilot.press("b")
            assert await wait_for(pilot, lambda: app.workshop.status.prog_id != 0)
            panel = app.workshop.query_one(ProblemPanel)
            assert await wait_for(pilot, lambda: panel.has_class("-shown"))
            assert "warning" in str(panel.render())
            assert app.workshop.source.marks[warned_row].severity == "warning"
            history = app.workshop.activity.history
            assert any("unused_here" in line for line in history), history
    finally:
        lessons.reset_workspace(lesson)
