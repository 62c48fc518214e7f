"""MonitorLog: exception totals and the bpf_printk log, fed fixed data."""

from __future__ import annotations

from typing import Any

from textual.app import App, ComposeResult
from textual.widgets import DataTable, RichLog

from xdp_tui.engine.live import ExceptionTotal, MonitorTotals, RedirectErrorTotal
from xdp_tui.widgets.monitor_log import MonitorLog


class MonitorApp(App[None]):
    def compose(self) -> ComposeResult:
        yield MonitorLog(max_lines=50)


def screen_text(app: App[Any]) -> str:
    # The compositor's text is what the terminal shows (Textual is pinned, see pyproject).
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


def cell(table: DataTable, row: str, column: str) -> str:
    value = table.get_cell(row, column)
    return getattr(value, "plain", str(value))


async def test_exception_totals_by_program_and_action() -> None:
    app = MonitorApp()
    async with app.run_test(size=(80, 24)) as pilot:
        monitor = app.query_one(MonitorLog)
        await pilot.pause()
        assert "Exceptions  none so far" in screen_text(app)
        assert not app.query_one("#monitor-events", DataTable).display  # no empty table
        monitor.show_totals(MonitorTotals())
        assert not app.query_one("#monitor-events", DataTable).display
        monitor.show_totals(
            MonitorTotals(
                exceptions=(ExceptionTotal(42, "XDP_ABORTED", 17), ExceptionTotal(42, "XDP_TX", 3)),
                redirect_errors=(RedirectErrorTotal(42, "Network is down", 5),),
            )
        )
        # totals replace what is shown
        monitor.show_totals(MonitorTotals(exceptions=(ExceptionTotal(42, "XDP_ABORTED", 1_250),)))
        await pilot.pause()
        table = app.query_one("#monitor-events", DataTable)
        assert table.row_count == 3
        assert cell(table, "42:XDP_ABORTED", "count") == "1,250"
        assert monitor.count(42, "XDP_ABORTED") == 1_250
        assert monitor.redirect_count(42, "Network is down") == 5
        assert [str(c) for c in table.get_row("redirect:42:Network is down")[:2]] == [
            "42",
            "redirect error Network is down",
        ]
        text = screen_text(app)
        assert "XDP_ABORTED" in text and "1,250" in text
        assert "none so far" not in text


async def test_printk_lines_are_bounded() -> None:
    app = MonitorApp()
    async with app.run_test(size=(80, 24)) as pilot:
        monitor = app.query_one(MonitorLog)
        monitor.add_lines([f"xdp_prog: len={n}\n" for n in range(120)])
        await pilot.pause()
        log = app.query_one("#monitor-printk", RichLog)
        assert len(log.lines) == 50  # max_lines
        assert monitor.line_count == 120
        assert log.lines[-1].text.rstrip() == "xdp_prog: len=119"
        assert "xdp_prog: len=119" in screen_text(app)
        monitor.clear()
        await pilot.pause()
        assert not log.lines and app.query_one("#monitor-events", DataTable).row_count == 0


async def test_totals_are_labelled_by_program_and_cleared_for_the_next_one() -> None:
    app = MonitorApp()
    async with app.run_test(size=(80, 24)) as pilot:
        monitor = app.query_one(MonitorLog)
        await pilot.pause()
        monitor.add_lines(["kept line"])
        monitor.show_totals(
            MonitorTotals(exceptions=(ExceptionTotal(42, "XDP_ABORTED", 3),)), "xdp_abort (id 42)"
        )
        await pilot.pause()
        table = app.query_one("#monitor-events", DataTable)
        assert cell(table, "42:XDP_ABORTED", "prog") == "xdp_abort (id 42)"
        monitor.clear_totals()  # the program shown changed (detach, another lesson)
        await pilot.pause()
        assert table.row_count == 0 and monitor.count(42, "XDP_ABORTED") is None
        assert "Exceptions  none so far" in screen_text(app)
        assert monitor.line_count == 1  # bpf_printk lines stay
