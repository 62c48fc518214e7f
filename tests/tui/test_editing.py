"""Editing, resetting and the solution, on a learner workspace (no kernel needed)."""

from __future__ import annotations

from typing import Any

from tests.tui.conftest import settle, wait_for
from xdp_tui import lessons
from xdp_tui.app import XdpTuiApp
from xdp_tui.screens.editor import EditorScreen
from xdp_tui.screens.solution import SolutionScreen

LESSON = "basic01-xdp-pass"


async def _ready(app: XdpTuiApp, pilot: Any) -> None:
    assert await wait_for(pilot, lambda: bool(app.workshop.lessons))
    app.workshop.go_to_lesson(LESSON)
    assert await wait_for(pilot, lambda: app.workshop.source_path is not None)
    await settle(app, pilot)


async def test_edit_in_app_saves_and_reset_restores(lab_name: Any) -> None:
    lesson = lessons.get_lesson(LESSON)
    lessons.reset_workspace(lesson)
    starter = lesson.starter_source.read_text()
    app = XdpTuiApp(lab=lab_name("edt"))
    async with app.run_test(size=(100, 30)) as pilot:
        await _ready(app, pilot)
        await pilot.press("E")
        assert await wait_for(pilot, lambda: isinstance(app.screen, EditorScreen))
        area = app.screen.query_one("#editor-area")
        area.insert("/* my change */\n", (0, 0))
        await pilot.press("ctrl+s", "escape")
        assert await wait_for(pilot, lambda: "my change" in app.workshop.source.text)
        assert "my change" in lessons.workspace_source(lesson).read_text()

        await pilot.press("r")
        await pilot.press("y")
        assert await wait_for(pilot, lambda: "my change" not in app.workshop.source.text)
        assert lessons.workspace_source(lesson).read_text() == starter


async def test_solution_needs_a_choice(lab_name: Any) -> None:
    # S asks what to show (this assignment's part, a diff, the whole file); escape shows nothing.
    app = XdpTuiApp(lab=lab_name("sol"))
    async with app.run_test(size=(100, 30)) as pilot:
        await _ready(app, pilot)
        await pilot.press("S", "escape")
        await settle(app, pilot)
        assert not isinstance(app.screen, SolutionScreen)
        await pilot.press("S", "enter")
        assert await wait_for(pilot, lambda: isinstance(app.screen, SolutionScreen))
        await pilot.press("escape")
        assert await wait_for(pilot, lambda: not isinstance(app.screen, SolutionScreen))


async def test_help_and_palette_list_the_actions(lab_name: Any) -> None:
    app = XdpTuiApp(lab=lab_name("hlp"))
    async with app.run_test(size=(100, 30)) as pilot:
        assert await wait_for(pilot, lambda: bool(app.workshop.lessons))
        await settle(app, pilot)
        await pilot.press("f1")
        table = app.screen.query_one("#help-keys")
        rows = [table.get_row_at(i) for i in range(table.row_count)]
        assert any(str(row[1]) == "Build" for row in rows)
        await pilot.press("escape")
        bindings = app.workshop.BINDINGS
        assert all(binding.id for binding in bindings)
        assert all(binding.description for binding in bindings)


async def test_palette_runs_a_workshop_command(lab_name: Any) -> None:
    app = XdpTuiApp(lab=lab_name("pal"))
    async with app.run_test(size=(100, 30)) as pilot:
        assert await wait_for(pilot, lambda: bool(app.workshop.lessons))
        await pilot.press("ctrl+p", "L", "a", "b")
        assert await wait_for(pilot, lambda: type(app.screen).__name__ == "CommandPalette")
        hits = app.screen.query_one("CommandList")
        assert await wait_for(pilot, lambda: hits.option_count > 0)  # it searches asynchronously
        await pilot.press("enter")
        assert await wait_for(pilot, lambda: app.workshop.active_tab == "lab")


async def test_non_utf8_and_huge_sources_are_refused_not_fatal(lab_name: Any) -> None:
    """Issue #13: a non-UTF-8 byte and E exited the TUI; a 10 MB source blocked it for 11 s."""
    lesson = lessons.get_lesson(LESSON)
    source = lessons.reset_workspace(lesson)
    try:
        for content, words in ((b"int x;\n/* caf\xe9 */\n", "not UTF-8"), (None, "reads at most")):
            if content is None:
                with open(source, "wb") as handle:
                    handle.truncate(10 << 20)
            else:
                source.write_bytes(content)
            app = XdpTuiApp(lab=lab_name("bad"))
            async with app.run_test(size=(100, 30)) as pilot:
                await _ready(app, pilot)
                assert words in app.workshop.source.text  # the Source tab says why
                await pilot.press("E")
                await settle(app, pilot)
                assert not isinstance(app.screen, EditorScreen)
                assert app.is_running
    finally:
        lessons.reset_workspace(lesson)
