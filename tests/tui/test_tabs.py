"""The tab bar: every tab in sight at 80x24 and the digit keys in its left-to-right order."""

from __future__ import annotations

import pytest
from textual.widgets import TabbedContent, Tabs
from textual.widgets._tabbed_content import ContentTab

from tests.tui.conftest import FrozenWorkbench, settle, wait_for
from xdp_tui.app import XdpTuiApp
from xdp_tui.screens.main import TABS
from xdp_tui.widgets.key_bar import KeyBar


def _tab_bar(app: XdpTuiApp) -> tuple[list[str], list[str], bool]:
    """(tab ids left to right, their labels, whether every tab lies inside the bar)."""
    tabs = app.workshop.query_one("#tabs", TabbedContent).query_one(Tabs)
    shown = sorted(tabs.query("Tab"), key=lambda tab: tab.region.x)
    inside = all(
        tabs.region.x <= tab.region.x and tab.region.right <= tabs.region.right for tab in shown
    )
    ids = [(tab.id or "").removeprefix(ContentTab._PREFIX) for tab in shown]
    return ids, [tab.label_text for tab in shown], inside


@pytest.mark.parametrize(
    ("size", "short"), [((80, 24), True), ((120, 40), False)], ids=["80x24", "120x40"]
)
async def test_every_tab_in_sight_and_digits_follow_the_bar(
    size: tuple[int, int], short: bool
) -> None:
    app = XdpTuiApp(workbench=FrozenWorkbench(lab="test01"))
    async with app.run_test(size=size) as pilot:
        assert await wait_for(pilot, lambda: bool(app.workshop.lessons))
        await settle(app, pilot)
        ids, labels, inside = _tab_bar(app)
        assert ids == [tab.id for tab in TABS]
        assert labels == [tab.short if short else tab.label for tab in TABS]
        assert inside, labels
        for digit, tab in enumerate(TABS, start=1):
            await pilot.press(str(digit))
            assert await wait_for(pilot, lambda tab=tab: app.workshop.active_tab == tab.id)
            await pilot.press("escape")  # the Run-frame tab keeps typing in its spec field
            assert _tab_bar(app)[2]
        assert "1-9 Tabs" in str(app.workshop.query_one(KeyBar).render())


async def test_labels_grow_back_when_the_lesson_list_is_hidden() -> None:
    app = XdpTuiApp(workbench=FrozenWorkbench(lab="test01"))
    async with app.run_test(size=(80, 24)) as pilot:
        assert await wait_for(pilot, lambda: bool(app.workshop.lessons))
        await settle(app, pilot)
        await pilot.press("f2")
        assert await wait_for(pilot, lambda: _tab_bar(app)[1] == [t.label for t in TABS])
        await pilot.press("f2")
        assert await wait_for(pilot, lambda: _tab_bar(app)[1] == [t.short for t in TABS])
