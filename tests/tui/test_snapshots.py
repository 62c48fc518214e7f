"""What the main screens look like at 80×24 and 120×40 (no lab, no live numbers)."""

from __future__ import annotations

from typing import Any

import pytest
from textual.widgets import TextArea

from tests.tui.conftest import FrozenWorkbench, settle, wait_for
from xdp_tui.app import XdpTuiApp

SIZES = [(80, 24), (120, 40)]


def _app() -> XdpTuiApp:
    return XdpTuiApp(workbench=FrozenWorkbench(lab="test01"))


def _then(*keys: str) -> Any:
    async def run_before(pilot: Any) -> None:
        workshop = pilot.app.workshop
        assert await wait_for(
            pilot,
            lambda: workshop.lessons and workshop.source_path and workshop.status.lab_state,
        )
        await settle(pilot.app, pilot)
        for key in keys:
            await pilot.press(key)
            await settle(pilot.app, pilot)
        for area in pilot.app.screen.query(TextArea):
            area.cursor_blink = False
        await pilot.pause()

    return run_before


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize(
    "keys",
    [(), ("2",), ("5",), ("question_mark",)],
    ids=["readme", "source", "lab", "help"],
)
def test_screen(snap_compare: Any, size: tuple[int, int], keys: tuple[str, ...]) -> None:
    assert snap_compare(_app(), terminal_size=size, run_before=_then(*keys))


def test_sixteen_colours(snap_compare: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The ANSI theme a 16-colour terminal gets (XDP_TUI_THEME forces it here)."""
    monkeypatch.setenv("XDP_TUI_THEME", "ansi-dark")
    assert snap_compare(_app(), terminal_size=(80, 24), run_before=_then("2"))
