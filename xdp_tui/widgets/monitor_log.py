"""What the kernel reported about XDP programs: exception counts and bpf_printk lines.

Two parts, both fed by the live feed (the widget reads nothing itself):
- `show_totals(totals)`: the exception monitor's running totals
  (`engine.live.MonitorTotals`: exceptions per program and action, redirect
  errors per program and reason; the live feed hands only the shown program's).
  Totals replace what is shown; rows are keyed and updated in place;
  `clear_totals()` when the program shown changes.
- `add_lines(lines)`: bpf_printk output read from trace_pipe, kept to a
  bounded number of lines.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, RichLog, Static

from xdp_tui.engine.live import MonitorTotals
from xdp_tui.widgets.plain_table import PlainTable

MAX_LOG_LINES = 1000
NO_EVENTS = "none so far (XDP_ABORTED verdicts and failed redirects, from the xdp tracepoints)"
EVENTS_CAPTION = "from the xdp tracepoints, totals since the monitor started"
PRINTK_CAPTION = "what bpf_printk() wrote (trace_pipe)"


class MonitorLog(Vertical):
    """A small table of XDP exceptions and the bpf_printk log under it."""

    DEFAULT_CSS = """
    MonitorLog { height: 1fr; }
    MonitorLog .monitor-title { height: auto; }
    MonitorLog #monitor-events { height: auto; max-height: 6; display: none; }
    MonitorLog #monitor-events.-has-rows { display: block; }
    MonitorLog #monitor-printk { height: 1fr; min-height: 2; background: $surface; }
    """

    def __init__(
        self,
        *,
        max_lines: int = MAX_LOG_LINES,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.max_lines = max_lines
        self._counts: dict[str, int] = {}
        self.line_count = 0  # lines received in total (the log keeps the last max_lines)

    def compose(self) -> ComposeResult:
        yield Static(
            _title("Exceptions", NO_EVENTS), classes="monitor-title", id="monitor-events-title"
        )
        table = PlainTable(id="monitor-events", cursor_type="none")
        table.add_column("Program", key="prog")
        table.add_column("Event", key="event")
        table.add_column("Count", key="count")
        yield table
        yield Static(_title("bpf_printk", PRINTK_CAPTION), classes="monitor-title")
        yield RichLog(
            id="monitor-printk", max_lines=self.max_lines, wrap=False, markup=False, highlight=False
        )

    # ---- public API ------------------------------------------------------

    def show_totals(self, totals: MonitorTotals, program: str = "") -> None:
        """Show the monitor's running totals (PROGRAM: what to call the program, else its id)."""
        table = self.query_one("#monitor-events", DataTable)
        for key, prog, event, n in _event_rows(totals, program):
            if key not in self._counts:
                table.add_row(prog, event, _right(n), key=key)
            elif self._counts[key] != n:
                table.update_cell(key, "count", _right(n), update_width=True)
            self._counts[key] = n
        if self._counts and not table.has_class("-has-rows"):
            table.add_class("-has-rows")
            title = self.query_one("#monitor-events-title", Static)
            title.update(_title("Exceptions", EVENTS_CAPTION))

    def add_lines(self, lines: Sequence[str]) -> None:
        """Append bpf_printk lines (oldest first)."""
        log = self.query_one("#monitor-printk", RichLog)
        # A flood (a printk per packet) is cut before writing: the log keeps only
        # max_lines anyway, and each write costs a render.
        for line in lines[-self.max_lines :]:
            log.write(Text(line.rstrip("\n")))
        self.line_count += len(lines)

    def clear(self) -> None:
        self.clear_totals()
        self.line_count = 0
        self.query_one("#monitor-printk", RichLog).clear()

    def clear_totals(self) -> None:
        """No exception row of a program no longer shown (detached, replaced, another lesson)."""
        self._counts.clear()
        self.query_one("#monitor-events", DataTable).clear().remove_class("-has-rows")
        self.query_one("#monitor-events-title", Static).update(_title("Exceptions", NO_EVENTS))

    def count(self, prog_id: int, action: str) -> int | None:
        """The total shown for (PROG_ID, ACTION), None if no row."""
        return self._counts.get(_exception_key(prog_id, action))

    def redirect_count(self, prog_id: int, error: str) -> int | None:
        """The failed redirects shown for (PROG_ID, ERROR), None if no row."""
        return self._counts.get(_redirect_key(prog_id, error))


def _event_rows(totals: MonitorTotals, program: str = "") -> list[tuple[str, str, str, int]]:
    """(row key, program cell, event cell, count) for every total."""
    rows = [
        (_exception_key(e.prog_id, e.action), program or str(e.prog_id), e.action, e.count)
        for e in totals.exceptions
    ]
    rows += [
        (
            _redirect_key(r.prog_id, r.error),
            program or str(r.prog_id),
            f"redirect error {r.error}",
            r.count,
        )
        for r in totals.redirect_errors
    ]
    return sorted(rows, key=lambda row: (row[1], row[2]))


def _exception_key(prog_id: int, action: str) -> str:
    return f"{prog_id}:{action}"


def _redirect_key(prog_id: int, error: str) -> str:
    return f"redirect:{prog_id}:{error}"


def _title(title: str, caption: str) -> Text:
    return Text.assemble((title, "bold"), ("  " + caption, "dim"))


def _right(n: int) -> Text:
    return Text(f"{n:,}", justify="right")
