"""TopTalkers' drawing: fed fixed reads (a rendering test; the real lab is in
tests/engine/test_bigmaps_tui.py). Lines are drawn by LiveStats' TextLines: only
changed lines repainted, and each line exactly what Textual itself would draw."""

from __future__ import annotations

from typing import Any

import pytest
from textual.app import App, ComposeResult

from tests.tui.cached_lines import lines_as_textual_draws_them
from xdp_tui.engine.bigmap import TopRow, TopTable, TopTotals
from xdp_tui.widgets.live_stats import TextLines
from xdp_tui.widgets.top_talkers import TopRead, TopTalkers


def make_table(tick: int, new_port: int | None = None) -> TopTable:
    """Three flows; port 53 grows each tick, NEW_PORT (if any) is new this tick."""
    ports = [(53, 100 * tick), (80, 40), (443, 7)]
    if new_port is not None:
        ports.append((new_port, 1))
    rows = [
        TopRow(key=port, value={"packets": packets, "bytes": 64 * packets},
               values={"packets": packets, "bytes": 64 * packets},
               rates={"packets": 400.0 if port == 53 else 0.0, "bytes": 0.0},
               pps=400.0 if port == 53 else 0.0, bps=204_800.0 if port == 53 else 0.0,
               new=port == new_port)
        for port, packets in ports
    ]  # fmt: skip
    packets = sum(p for _, p in ports)
    totals = TopTotals(len(ports), {"packets": packets, "bytes": 64 * packets},
                       {"packets": 400.0, "bytes": 25_600.0}, 400.0, 204_800.0)  # fmt: skip
    return TopTable(id=7, name="flows", type="hash", key_type="__u32", value_type="struct flow",
                    per_cpu=False, max_entries=1_048_576, fields=["packets", "bytes"],
                    sort="pps", entries_total=len(ports), matched=len(ports), rows=rows,
                    totals=totals, read_seconds=0.012)  # fmt: skip


def _spy_repaints(lines: TextLines) -> list[list[int]]:
    """The rows each later `repaint_lines` call of LINES gets (the call still repaints)."""
    calls: list[list[int]] = []
    original = lines.repaint_lines

    def spy(rows: list[int]) -> None:
        calls.append(rows)
        original(rows)

    lines.repaint_lines = spy  # type: ignore[method-assign]
    return calls


class TopApp(App[None]):
    def compose(self) -> ComposeResult:
        yield TopTalkers(id="top")


async def _show(app: App[None], pilot: Any, table: TopTable, stretched: float = 0.0) -> None:
    top = app.query_one(TopTalkers)
    top.post_message(TopRead(table, ["flows"], stretched_to=stretched))
    await pilot.pause()


async def test_rows_totals_and_aligned_columns() -> None:
    app = TopApp()
    async with app.run_test(size=(100, 30)) as pilot:
        await _show(app, pilot, make_table(1), stretched=1.31)
        top = app.query_one(TopTalkers)
        assert top.display
        head = top.head_text.splitlines()
        assert head[0] == "Top talkers  flows (hash)  3 / 1,048,576 entries  by pps"
        assert head[1] == "read 12 ms  tick stretched to 1.31 s (reads are slow)"
        lines = top.table_text.splitlines()
        assert lines[0].split() == ["key", "packets", "bytes", "pps", "Mbit/s"]
        assert lines[1].split() == ["53", "100", "6,400", "400", "0.205"]
        assert lines[-1].split() == ["total", "(3)", "147", "9,408", "400", "0.205"]
        assert len({len(line) for line in lines}) == 1  # every line as wide: columns align


async def test_only_changed_lines_repaint_and_widths_only_grow() -> None:
    app = TopApp()
    async with app.run_test(size=(100, 30)) as pilot:
        await _show(app, pilot, make_table(2))
        table = app.query_one("#top-table", TextLines)
        before = list(table.lines)
        repainted = _spy_repaints(table)
        await _show(app, pilot, make_table(3))  # port 53 and the totals moved (same widths)
        assert repainted == [[1, 4]]
        assert table.lines[2:4] == before[2:4]
        await _show(app, pilot, make_table(1))  # numbers shrink: the columns keep their width
        assert len(table.lines[0].plain) == len(before[0].plain)


async def test_a_row_that_stops_being_new_is_repainted() -> None:
    app = TopApp()
    async with app.run_test(size=(100, 30)) as pilot:
        await _show(app, pilot, make_table(1, new_port=9))
        table = app.query_one("#top-table", TextLines)
        assert [s.style for s in table.lines[4].spans] == ["green"]
        repainted = _spy_repaints(table)
        table_9_known = make_table(1, new_port=9)
        table_9_known.rows[3].new = False  # the same text, no longer new
        await _show(app, pilot, table_9_known)
        assert repainted == [[4]] and table.lines[4].spans == []


@pytest.mark.parametrize("theme", [None, "ansi-dark", "textual-light"])
async def test_lines_draw_exactly_what_textual_would(theme: str | None) -> None:
    # The view's lines become segments directly (CachedLines.render_line); text, styles
    # and selection offsets must be those of Textual's own rendering of the same text.
    app = TopApp()
    async with app.run_test(size=(100, 30)) as pilot:
        if theme:
            app.theme = theme
        await _show(app, pilot, make_table(3, new_port=9), stretched=2.0)
        lines = app.query_one(TopTalkers).query(TextLines)
        compared = sum(lines_as_textual_draws_them(widget) for widget in lines)
        assert compared >= 8
