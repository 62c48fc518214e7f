"""Top talkers of a big map in the Live tab: every entry read each tick, the busiest shown.

For programs with a map larger than a screen (max_entries above `MIN_ENTRIES`)
the Live tab shows this view under the counters: the top rows by packets/s
(`s` cycles the sort column through pps, bps, key and each value field, as
bpftop does), a filter by key (`f`: `53`, `port=53`, `1000..2000`, an IP
address; Escape clears it), a total row, and the entry count against
max_entries. `m` switches between big maps.

The widget owns its reading worker (engine/bigmap.py's `TopSampler`, every
entry by batch lookups into arrays). One read is in flight at most: the next
starts only after the last is on screen and the tick has passed, so input is
never blocked and reads never pile up. A read longer than the tick, or
costing more CPU than a quarter of it, stretches the tick (a million entries
cost the kernel about 0.1 s of CPU per read with engine/mapwalk.py, 0.3 s with
batch lookups: then the view refreshes every ~1.2 s rather than take a core),
and the header says so.

Drawing goes through LiveStats' `TextLines` (widgets/live_stats.py), not a rich
Table in a Static: each line is kept as a strip and only the lines whose text
changed are repainted (a rich Table re-renders every row at every tick, ~5 % of
a core at 4 Hz). Column widths only grow while the same map is shown, so rows
do not jitter and growing numbers are never cut.
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on, work
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input
from textual.worker import get_current_worker

from xdp_tui.errors import XdpTuiError
from xdp_tui.widgets.live_stats import TextLines

if TYPE_CHECKING:
    from textual.app import ComposeResult

    from xdp_tui.engine.bigmap import TopTable

MIN_ENTRIES = 64  # maps with more slots than this get the view (a screen shows ~32 rows)
DEFAULT_HZ = 4.0
MAX_CPU_SHARE = 0.25  # reads use at most this share of a core: costlier ones stretch the tick
MIN_ROWS, MAX_ROWS = 3, 50
KEY_WIDTH = 40
HEADER_STYLE, FOOTER_STYLE, NEW_ROW_STYLE = "bold", "bold", "green"


def _tick_s() -> float:
    """Seconds between reads: 4 Hz, or XDP_TUI_TOP_HZ (benchmarks set 1 Hz for 1M entries)."""
    try:
        hz = float(os.environ.get("XDP_TUI_TOP_HZ", DEFAULT_HZ))
    except ValueError:
        hz = DEFAULT_HZ
    return 1.0 / hz if hz > 0 else 1.0 / DEFAULT_HZ


@dataclass
class TopRead(Message):
    """One read from the worker: the table (None: no big map), or why it failed."""

    table: TopTable | None
    maps: list[str]
    error: str = ""
    stretched_to: float = 0.0  # the tick in seconds, when a slow read stretched it


class TopTalkers(Vertical, can_focus=True):
    """The busiest entries of the attached program's big map, refreshed live."""

    BINDINGS = [
        Binding("s", "cycle_sort", "Sort"),
        Binding("f,slash", "filter", "Filter keys"),
        Binding("m", "next_map", "Next map"),
        Binding("escape", "clear_filter", "Clear filter", show=False),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.dev: str | None = None
        self.sort = "pps"
        self.key_filter = ""
        self.map_name: str | None = None
        self.maps: list[str] = []
        self.sorts: list[str] = ["pps", "bps", "key"]
        self._active = threading.Event()  # the Live tab is on screen
        self._shown = threading.Event()  # the last read is drawn: the next may start
        self._shown.set()
        self._rows = 10
        self._widths: list[int] = []  # per column; they only grow while one map is shown
        self._widths_for: tuple[str, tuple[str, ...]] | None = None  # (map, columns)
        self._head_lines = TextLines(id="top-head")
        self._table_lines = TextLines(id="top-table")
        self._focus_when_shown = False
        self._last_error = ""  # said once, not at every tick while it lasts

    def compose(self) -> ComposeResult:
        yield self._head_lines
        yield Input(placeholder="filter keys: 53, port=53, 1000..2000, fc00::2", id="top-filter")
        yield self._table_lines

    # ---- what the screen tells it -------------------------------------------------

    def follow(self, dev: str | None) -> None:
        """Watch the program attached on DEV (None: nothing attached: stop)."""
        if dev == self.dev:
            return
        self.dev = dev
        self.workers.cancel_group(self, "top-read")
        if dev is None:
            self.display = False
            return
        self._shown.set()
        self._active.set()  # the screen follows from the Live tab's feed: it is on screen
        self._read_loop(dev)

    def want_focus(self) -> None:
        """Take the keys now, or as soon as a big map shows."""
        if self.display:
            self.focus()
        else:
            self._focus_when_shown = True

    def set_active(self, active: bool) -> None:
        """Read only while the Live tab is shown."""
        if active:
            self._active.set()
        else:
            self._active.clear()

    # ---- the worker -------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="top-read", exit_on_error=False)
    def _read_loop(self, dev: str) -> None:
        from xdp_tui.engine.bigmap import TopSampler

        worker = get_current_worker()
        tick = _tick_s()
        next_at = time.monotonic()
        with TopSampler(dev, min_entries=MIN_ENTRIES + 1, counters_only=True) as sampler:
            while not worker.is_cancelled:
                wait = next_at - time.monotonic()
                if wait > 0 or not self._active.is_set() or not self._shown.is_set():
                    time.sleep(min(max(wait, 0.02), 0.25))
                    continue
                started, cpu_started = time.monotonic(), time.thread_time()
                message = self._read(sampler)
                took, cpu = time.monotonic() - started, time.thread_time() - cpu_started
                # Never two reads at once (wall time); reads within their CPU share.
                period = max(tick, took, cpu / MAX_CPU_SHARE)
                if period > tick:
                    message.stretched_to = period
                next_at = started + period
                self._shown.clear()
                self.post_message(message)

    def _read(self, sampler: Any) -> TopRead:
        """One refresh of the chosen map (the first big one when none is chosen)."""
        try:
            sample = sampler.sample(self._rows, self.sort, self.key_filter, self.map_name or "")
            table = next(iter(sample.maps.values()), None)
            return TopRead(table, sampler.names)
        except XdpTuiError as exc:
            return TopRead(None, sampler.names, error=exc.render("tui"))

    # ---- drawing ----------------------------------------------------------------------

    @on(TopRead)
    def _show_read(self, message: TopRead) -> None:
        message.stop()
        self._shown.set()
        if message.error:  # a filter or sort this map cannot take: say so (once), drop it
            if message.error != self._last_error:
                self.notify(message.error, severity="error", timeout=4)
            self._last_error = message.error
            self.key_filter, self.sort = "", "pps"
            return
        self._last_error = ""
        self.maps = message.maps
        table = message.table
        self.display = table is not None
        if table is not None:
            self.map_name = table.name
            if self._focus_when_shown:
                self._focus_when_shown = False
                self.call_after_refresh(self.focus)
            self.sorts = ["pps", "bps", "key", *table.fields]
        # Only the lines whose text changed are repainted (an idle map: none of the table).
        head = self._head(message)
        self._head_lines.set_lines(head)
        self._table_lines.set_lines(self._table(table) if table is not None else [])
        # Rows that fit: the height less the header, the titles and the total row.
        self._rows = max(MIN_ROWS, min(MAX_ROWS, self.size.height - len(head) - 2))

    @property
    def head_text(self) -> str:
        """The header as shown (plain lines)."""
        return "\n".join(self._head_lines.plain)

    @property
    def table_text(self) -> str:
        """The table as shown (plain lines: titles, rows, total)."""
        return "\n".join(self._table_lines.plain)

    def _head(self, message: TopRead) -> list[Text]:
        """Short lines (the view sits beside the lesson list): what, how read, which keys."""
        table = message.table
        what = Text().append("Top talkers", "bold")
        how = Text()
        if table is not None:
            count = f"{table.entries_total:,} / {table.max_entries:,} entries"
            what.append(f"  {table.name} ({table.type})  {count}  by {table.sort}")
            how.append(f"read {table.read_seconds * 1000:,.0f} ms", "dim")
            if table.key_filter:
                how.append(f"  filter {table.key_filter!r}: {table.matched:,} match", "yellow")
            if table.truncated:
                how.append("  (read cut at the memory limit)", "yellow")
        if message.stretched_to:
            how.append(
                f"  tick stretched to {message.stretched_to:.2f} s (reads are slow)", "yellow"
            )
        maps = f"  m: map ({len(self.maps)})" if len(self.maps) > 1 else ""
        keys = Text(f"s: sort  f: filter keys  Esc: clear filter{maps}", "dim")
        return [what, how, keys] if how.plain else [what, keys]

    def _table(self, t: TopTable) -> list[Text]:
        """Titles, one line per row shown (new keys in green), and the total row."""
        titles = ["key", *t.fields, "pps", "Mbit/s"]
        rows: list[tuple[list[str], str]] = [(titles, HEADER_STYLE)]
        for row in t.rows:
            key = row.key if isinstance(row.key, str) else json.dumps(row.key)
            cells = [key, *(f"{row.values[name]:,}" for name in t.fields)]
            cells += [f"{row.pps:,.0f}", f"{row.bps / 1e6:,.3f}"]
            rows.append((cells, NEW_ROW_STYLE if row.new else ""))
        totals = [f"total ({t.totals.entries:,})", *(f"{t.totals.values[n]:,}" for n in t.fields)]
        totals += [f"{t.totals.pps:,.0f}", f"{t.totals.bps / 1e6:,.3f}"]
        rows.append((totals, FOOTER_STYLE))
        widths = self._grown_widths(t.name, titles, [cells for cells, _ in rows])
        # Styles as spans, not the Text's own style: TextLines compares lines by text and
        # spans, so a row that only stops being new (green) is repainted too.
        return [Text().append(_line(cells, widths), style or None) for cells, style in rows]

    def _grown_widths(self, name: str, titles: list[str], rows: list[list[str]]) -> list[int]:
        """Each column's width: the widest cell so far for this map (keys cut at KEY_WIDTH)."""
        if self._widths_for != (name, tuple(titles)):
            self._widths_for = (name, tuple(titles))
            self._widths = [0] * len(titles)
        for cells in rows:
            for at, cell in enumerate(cells):
                width = min(len(cell), KEY_WIDTH) if at == 0 else len(cell)
                if width > self._widths[at]:
                    self._widths[at] = width
        return self._widths

    # ---- keys -------------------------------------------------------------------------

    def action_cycle_sort(self) -> None:
        at = self.sorts.index(self.sort) if self.sort in self.sorts else -1
        self.sort = self.sorts[(at + 1) % len(self.sorts)]
        self.notify(f"top talkers sorted by {self.sort}", timeout=1.5)

    def action_next_map(self) -> None:
        if len(self.maps) > 1:
            at = self.maps.index(self.map_name) if self.map_name in self.maps else -1
            self.map_name = self.maps[(at + 1) % len(self.maps)]
            self.sort = "pps"  # the next map may not have the last one's fields

    def action_filter(self) -> None:
        self.add_class("-filtering")
        field = self.query_one("#top-filter", Input)
        field.value = self.key_filter
        field.focus()

    def action_clear_filter(self) -> None:
        self.key_filter = ""
        self.remove_class("-filtering")
        self.focus()

    @on(Input.Submitted, "#top-filter")
    def _filter_given(self, event: Input.Submitted) -> None:
        event.stop()
        self.key_filter = event.value.strip()
        self.remove_class("-filtering")
        self.focus()


def _line(cells: list[str], widths: list[int]) -> str:
    """One table line: the key left-aligned (cut to its width), the figures right-aligned."""
    key, *figures = cells
    parts = [key[: widths[0]].ljust(widths[0])]
    parts += [cell.rjust(width) for cell, width in zip(figures, widths[1:], strict=True)]
    return " " + "  ".join(parts)
