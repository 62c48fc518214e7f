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


def test_texts_name_the_digit_of_each_tab() -> None:
    """READMEs said `3` for Live and `9` for Tasks: the keys of an older tab order."""
    import re

    from xdp_tui import paths

    digit_of = {tab.label.lower(): str(number) for number, tab in enumerate(TABS, start=1)}
    mention = re.compile(
        r"(?P<tab>[A-Za-z][A-Za-z ]*?) tab(?:,? key)? \(?`(?P<digit>\d)`\)?"
        r"|`(?P<digit2>\d)` to watch the (?P<tab2>[A-Za-z ]+?) tab"
    )
    top = paths.lessons_dir().parent / "README.md"  # the checkout's; a wheel has none
    texts = [*([top] if top.exists() else []), *paths.lessons_dir().glob("*/README.md")]
    wrong, seen = [], 0
    for text in texts:
        for match in mention.finditer(" ".join(text.read_text().split())):
            tab = (match["tab"] or match["tab2"]).lower().split()
            digit = match["digit"] or match["digit2"]
            name = next(
                (" ".join(tab[i:]) for i in range(len(tab)) if " ".join(tab[i:]) in digit_of),
                None,
            )
            if name is None:
                continue
            seen += 1
            if digit_of[name] != digit:
                wrong.append(
                    f"{text.parent.name}: {match[0]!r} (the {name} tab is {digit_of[name]})"
                )
    assert seen >= 8 and not wrong, wrong
