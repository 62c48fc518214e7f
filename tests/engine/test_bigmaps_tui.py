"""The top-talkers view (widgets/top_talkers.py) on a real lab: it reads by itself,
cycles its sort with `s`, filters keys with `f`, and hides when there is no big map."""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Callable
from typing import Any

import pytest
from textual.app import App, ComposeResult

from xdp_tui.engine import bpfsys
from xdp_tui.widgets.top_talkers import TopTalkers


class TopApp(App[None]):
    def compose(self) -> ComposeResult:
        yield TopTalkers(id="top")


def _head(app: App[None]) -> str:
    return app.query_one(TopTalkers).head_text


def _screen(app: App[None]) -> str:
    """The characters on screen (from the SVG screenshot)."""
    return app.export_screenshot().replace("&#160;", " ")


async def _until(pilot: Any, check: Callable[[], bool], timeout: float = 10.0) -> None:
    for _ in range(int(timeout / 0.05)):
        if check():
            return
        await pilot.pause(0.05)
    raise AssertionError("the view did not get there in time")


@pytest.mark.kernel
async def test_view_reads_sorts_and_filters(lab: object, load_on_lab: Any) -> None:
    lp = load_on_lab(lab, "xdp_count_flows", source="bigmap_flows")
    fd = lp.maps["flows"]  # type: ignore[attr-defined]
    for port in range(2000, 2100):
        bpfsys.update(fd, struct.pack("<I", port), struct.pack("<QQ", port - 1990, 64))
    app = TopApp()
    async with app.run_test(size=(120, 40)) as pilot:
        top = app.query_one(TopTalkers)
        top.follow(lab.name)  # type: ignore[attr-defined]
        await _until(pilot, lambda: "100 / 1,048,576 entries" in _head(app))
        assert top.display
        screen = _screen(app)
        assert "2099" in screen and "total (100)" in screen
        top.focus()
        await pilot.press("s")  # pps -> bps
        await _until(pilot, lambda: "by bps" in _head(app))
        await pilot.press("f", *"2050", "enter")
        await _until(pilot, lambda: "1 match" in _head(app))
        assert "total (1)" in _screen(app)
        await pilot.press("escape")
        await _until(pilot, lambda: "match" not in _head(app))
        await pilot.press("f", *"port=1", "enter")  # no such key field: said, then dropped
        await _until(pilot, lambda: top.key_filter == "")
        top.follow(None)
        await asyncio.sleep(0)
        assert not top.display


@pytest.mark.kernel
async def test_slow_reads_stretch_the_tick_and_say_so(
    lab: object, load_on_lab: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    lp = load_on_lab(lab, "xdp_count_flows", source="bigmap_flows")
    bpfsys.update(lp.maps["flows"], struct.pack("<I", 1), struct.pack("<QQ", 1, 64))  # type: ignore[attr-defined]
    monkeypatch.setenv("XDP_TUI_TOP_HZ", "2000")  # a 0.5 ms tick: every read is longer
    app = TopApp()
    async with app.run_test(size=(120, 40)) as pilot:
        app.query_one(TopTalkers).follow(lab.name)  # type: ignore[attr-defined]
        await _until(pilot, lambda: "tick stretched" in _head(app))
        assert "1 / 1,048,576 entries" in _head(app)
