"""What the kernel reported about XDP programs: exception counts and bpf_printk lines.

Two parts, both fed by the app (the widget reads nothing itself):
- `add_events(counts)`: running totals from the exception monitor,
  `{(prog_id, action): n}` (action as a number or an "XDP_..." name), plus an
  optional `"redirect_errors"` entry (a number, or `{label: n}`). Totals
  replace what is shown; rows are keyed and updated in place.
- `add_lines(lines)`: bpf_printk output read from trace_pipe, kept to a
  bounded number of lines.
"""

from __future__ import annotations

import re
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, RichLog, Static

from xdp_tui.engine.actions import action_name

MAX_LOG_LINES = 1000
REDIRECT_ERRORS = "redirect_errors"
_PROG_LABEL = re.compile(r"^prog (\d+): (.*)$")
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
        table: DataTable = DataTable(id="monitor-events", cursor_type="none")
        table.add_column("Program", key="prog")
        table.add_column("Event", key="event")
        table.add_column("Count", key="count")
        yield table
        yield Static(_title("bpf_printk", PRINTK_CAPTION), classes="monitor-title")
        yield RichLog(
            id="monitor-printk", max_lines=self.max_lines, wrap=False, markup=False, highlight=False
        )

    # ---- public API ------------------------------------------------------

    def add_events(self, counts: dict[Any, Any]) -> None:
        """Show the monitor's running totals (see the module docstring for the shape)."""
        table = self.query_one("#monitor-events", DataTable)
        for key, prog, event, n in _event_rows(counts):
            if key not in self._counts:
                table.add_row(prog, event, _right(n), key=key)
            elif self._counts[key] != n:
                table.update_cell(key, "count", _right(n), update_width=True)
            self._counts[key] = n
        if self._counts and not table.has_class("-has-rows"):
            table.add_class("-has-rows")
            title = self.query_one("#monitor-events-title", Static)
            title.update(_title("Exceptions", EVENTS_CAPTION))

    def add_lines(self, lines: list[str]) -> None:
        """Append bpf_printk lines (oldest first)."""
        log = self.query_one("#monitor-printk", RichLog)
        # A flood (a printk per packet) is cut before writing: the log keeps only
        # max_lines anyway, and each write costs a render.
        for line in lines[-self.max_lines :]:
            log.write(Text(line.rstrip("\n")))
        self.line_count += len(lines)

    def clear(self) -> None:
        self._counts.clear()
        self.line_count = 0
        self.query_one("#monitor-events", DataTable).clear().remove_class("-has-rows")
        self.query_one("#monitor-events-title", Static).update(_title("Exceptions", NO_EVENTS))
        self.query_one("#monitor-printk", RichLog).clear()

    def count(self, prog_id: Any, action: Any) -> int | None:
        """The total shown for (PROG_ID, ACTION), None if no row."""
        return self._counts.get(_key(prog_id, _action_name(action)))


def _event_rows(counts: dict[Any, Any]) -> list[tuple[str, str, str, int]]:
    """(row key, program cell, event cell, count) for every entry of COUNTS."""
    rows = []
    for raw_key, raw_n in counts.items():
        if raw_key == REDIRECT_ERRORS:
            rows.extend(_redirect_rows(raw_n))
            continue
        prog_id, action = _split_key(raw_key)
        name = _action_name(action)
        rows.append((_key(prog_id, name), str(prog_id), name, int(raw_n)))
    return sorted(rows, key=lambda row: (row[1], row[2]))


def _redirect_rows(value: Any) -> list[tuple[str, str, str, int]]:
    if not isinstance(value, dict):
        return [("redirect:all", "–", "redirect errors", int(value or 0))]
    rows = []
    for label, n in value.items():
        # The workbench labels them "prog 12: ENETDOWN"; put the id in its column.
        match = _PROG_LABEL.match(str(label))
        prog, reason = (match.group(1), match.group(2)) if match else ("–", str(label))
        rows.append((f"redirect:{label}", prog, f"redirect error {reason}", int(n)))
    return rows


def _split_key(key: Any) -> tuple[Any, Any]:
    if isinstance(key, tuple | list) and len(key) == 2:
        return key[0], key[1]
    if isinstance(key, str) and ":" in key:  # JSON form "12:XDP_ABORTED"
        prog, action = key.split(":", 1)
        return prog, action
    return key, "?"


def _action_name(action: Any) -> str:
    if isinstance(action, int) or (isinstance(action, str) and action.isdigit()):
        return action_name(int(action), "action {}")
    return str(action)


def _key(prog_id: Any, action_name: str) -> str:
    return f"{prog_id}:{action_name}"


def _title(title: str, caption: str) -> Text:
    return Text.assemble((title, "bold"), ("  " + caption, "dim"))


def _right(n: int) -> Text:
    return Text(f"{n:,}", justify="right")
