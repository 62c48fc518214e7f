"""The learner's config.toml and remembered choices, as the app applies them (no kernel)."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import DataTable

from tests.tui.conftest import FrozenWorkbench, settle, wait_for
from xdp_tui import config
from xdp_tui.app import XdpTuiApp
from xdp_tui.widgets.key_bar import KeyBar
from xdp_tui.widgets.lesson_browser import LessonBrowser

SIZE = (100, 30)


def _app() -> XdpTuiApp:
    return XdpTuiApp(workbench=FrozenWorkbench(lab="test01"))


@pytest.fixture
def settings_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "config.toml"
    monkeypatch.setenv("XDP_TUI_CONFIG", str(path))
    monkeypatch.delenv("XDP_TUI_THEME", raising=False)
    return path


async def test_the_keymap_rebinds_a_workshop_key(settings_file: Path) -> None:
    settings_file.write_text('[keymap]\n"workshop.show_lab" = "f9"\n')
    app = _app()
    async with app.run_test(size=SIZE) as pilot:
        assert await wait_for(pilot, lambda: app.workshop.lessons)
        await settle(app, pilot)
        await pilot.press("f9")
        assert app.workshop.query_one("#tabs").active == "lab"


async def test_the_key_bar_and_help_show_the_rebound_key(settings_file: Path) -> None:
    settings_file.write_text('[keymap]\n"workshop.build_attach" = "f5"\n')
    app = _app()
    async with app.run_test(size=SIZE) as pilot:
        assert await wait_for(pilot, lambda: app.workshop.lessons)
        await settle(app, pilot)
        bar = str(app.workshop.query_one(KeyBar).render())
        assert "f5 Build" in bar and "b Build" not in bar, bar
        await pilot.press("f1")
        await settle(app, pilot)
        table = app.screen.query_one(DataTable)
        rows = [table.get_row_at(i) for i in range(table.row_count)]
        assert any(str(row[0]) == "f5" and str(row[1]) == "Build" for row in rows), rows


async def test_a_broken_file_is_reported_and_the_app_runs(settings_file: Path) -> None:
    settings_file.write_text("[keymap\n")
    app = _app()
    async with app.run_test(size=SIZE) as pilot:
        assert await wait_for(pilot, lambda: app.workshop.lessons)
        shown = [n.message for n in app._notifications]
        assert any(m.startswith(f"{settings_file}:1:") for m in shown), shown


async def test_theme_and_lesson_are_remembered(settings_file: Path) -> None:
    settings_file.write_text('theme = "textual-light"\n')
    app = _app()
    async with app.run_test(size=SIZE) as pilot:
        assert await wait_for(pilot, lambda: app.workshop.lesson is not None)
        assert app.theme == "textual-light"
        await settle(app, pilot)
        app.workshop.query_one(LessonBrowser).focus()
        await pilot.press("down")
        assert await wait_for(pilot, lambda: app.workshop.lesson.id == "demo02-count")
        app.theme = "nord"
        await settle(app, pilot)
    assert config.load_state() == config.State("nord", "demo02-count")

    again = _app()
    async with again.run_test(size=SIZE) as pilot:
        assert await wait_for(
            pilot,
            lambda: (
                again.workshop.lesson is not None and again.workshop.lesson.id == "demo02-count"
            ),
        )
        assert again.theme == "nord"  # the choice of last time over the file's
