"""Live counters of the attached program, fed one `stats --json` sample per tick.

The widget never reads a map itself: the app's sampler hands it a dict

    {"time", "dev", "prog_id",
     "maps": {NAME: {"type", "entries": [{"key", "value"}, ...]}},
     "actions": {"XDP_PASS": {"packets", "bytes", "pps", "bps"}, ...},
     "iface": {"rx_pps", "tx_pps", "rx_bps", "tx_bps"},        # optional
     "run": {"run_cnt", "ns_per_run", "runs_per_s"}}           # optional

Why no DataTable or Sparkline widgets here: at 4 Hz a DataTable re-renders
every row on each `update_cell` and a dozen small widgets each redraw on their
own; measured in a real terminal that cost 8-9 % of a core. These parts are
instead small line widgets that keep their rows keyed (one row per action or
map key, updated in place, never rebuilt), compare the new text with what is
on screen, and repaint only when it differs, re-laying out only when the
number of lines changes. Column widths only grow, so growing numbers are never
cut and the table does not jitter. Sparklines are drawn inline from a
per-action pps history (`HISTORY` samples).
"""

from __future__ import annotations

from collections import deque
from typing import Any

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widget import Widget

HISTORY = 60  # samples per sparkline: 15 s at 4 Hz
MAX_MAP_ROWS = 32  # entries shown per map; the rest is counted, not drawn
MAX_KEY_WIDTH = 40
ACTION_ORDER = ["XDP_ABORTED", "XDP_DROP", "XDP_PASS", "XDP_TX", "XDP_REDIRECT"]
ACTION_COLUMNS = ("packets", "bytes", "pps", "mbits")
ACTION_HEADERS = {"action": "Action", "packets": "Packets", "bytes": "Bytes", "pps": "pps"}
ACTION_HEADERS["mbits"] = "Mbit/s"
SPARK_BARS = "▁▂▃▄▅▆▇█"
# The map the "actions" table is computed from; shown once, not twice.
DEFAULT_ACTIONS_MAP = "xdp_stats_map"
NOT_ATTACHED = "Not attached: no live counters."


class TextLines(Widget):
    """A few lines of text, repainted only when they change."""

    DEFAULT_CSS = "TextLines { height: auto; }"

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.lines: list[Text] = []

    def set_lines(self, lines: list[Text]) -> None:
        if lines == self.lines:
            return
        relayout = len(lines) != len(self.lines)
        self.lines = lines
        self.refresh(layout=relayout)

    @property
    def plain(self) -> list[str]:
        return [line.plain for line in self.lines]

    def get_content_height(self, container: Any, viewport: Any, width: int) -> int:
        return len(self.lines)

    def render(self) -> Text:
        return Text("\n").join(self.lines)


class ActionTable(Widget):
    """Per-action packets, bytes, pps and Mbit/s, each row with its pps sparkline."""

    COMPONENT_CLASSES = {
        "action-table--header",
        "action-table--pass",
        "action-table--drop",
        "action-table--other",
        "action-table--spark",
    }

    DEFAULT_CSS = """
    ActionTable { height: auto; }
    ActionTable > .action-table--header { color: $text-muted; text-style: bold; }
    ActionTable > .action-table--pass { color: $success; text-style: bold; }
    ActionTable > .action-table--drop { color: $error; text-style: bold; }
    ActionTable > .action-table--other { color: $accent; text-style: bold; }
    ActionTable > .action-table--spark { color: $primary; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.cells: dict[str, dict[str, str]] = {}  # action -> column -> text, in display order
        self.history: dict[str, deque[float]] = {}
        self._widths = {column: len(title) for column, title in ACTION_HEADERS.items()}

    def update_actions(self, actions: dict[str, dict[str, Any]]) -> None:
        added = False
        for action in _ordered(actions):
            numbers = actions[action] or {}
            if action not in self.history:
                # Start from a flat line, so every sparkline shares one time axis.
                self.history[action] = deque([0.0] * HISTORY, maxlen=HISTORY)
                added = True
            self.history[action].append(float(numbers.get("pps") or 0))
            self.cells[action] = {
                "action": action.removeprefix("XDP_"),
                "packets": _count(numbers.get("packets")),
                "bytes": _bytes(numbers.get("bytes")),
                "pps": _count(numbers.get("pps")),
                "mbits": _mbits(numbers.get("bps")),
            }
        if added:  # keep rows in the XDP action order, whatever order they arrived in
            self.cells = {a: self.cells[a] for a in _ordered(self.cells)}
        for row in self.cells.values():
            for column, text in row.items():
                self._widths[column] = max(self._widths[column], len(text))
        self.refresh(layout=added)

    def clear(self) -> None:
        self.cells.clear()
        self.history.clear()
        self.refresh(layout=True)

    def get_content_height(self, container: Any, viewport: Any, width: int) -> int:
        return len(self.cells) + 1 if self.cells else 0

    def render(self) -> Text:
        if not self.cells:
            return Text()
        header = self._style("header")
        spark_width = self.size.width - self._row_width() - 2
        lines = [self._header_line(header, spark_width)]
        for action, row in self.cells.items():
            line = Text(" ")
            line.append(row["action"].ljust(self._widths["action"]), self._action_style(action))
            for column in ACTION_COLUMNS:
                line.append("  " + row[column].rjust(self._widths[column]))
            if spark_width >= 4:
                line.append(
                    "  " + sparkline(self.history[action], spark_width), self._style("spark")
                )
            lines.append(line)
        return Text("\n").join(lines)

    def _header_line(self, style: Style, spark_width: int) -> Text:
        titles = [ACTION_HEADERS["action"].ljust(self._widths["action"])]
        titles += [ACTION_HEADERS[c].rjust(self._widths[c]) for c in ACTION_COLUMNS]
        text = " " + "  ".join(titles)
        if spark_width >= 4:
            text += "  " + f"pps, {HISTORY // 4} s"[:spark_width]
        return Text(text, style)

    def _row_width(self) -> int:
        return 1 + sum(self._widths.values()) + 2 * len(ACTION_COLUMNS)

    def _style(self, part: str) -> Style:
        return self.get_component_rich_style(f"action-table--{part}", partial=True)

    def _action_style(self, action: str) -> Style:
        kind = {"XDP_PASS": "pass", "XDP_DROP": "drop", "XDP_ABORTED": "drop"}.get(action, "other")
        return self._style(kind)


class LiveStats(VerticalScroll):
    """Per-action counters with sparklines, other maps, interface and run rates."""

    COMPONENT_CLASSES = {"live-stats--label", "live-stats--map-title", "live-stats--note"}

    DEFAULT_CSS = """
    LiveStats { height: 1fr; }
    LiveStats > .live-stats--label { color: $text-muted; }
    LiveStats > .live-stats--map-title { color: $secondary; text-style: bold; }
    LiveStats > .live-stats--note { color: $text-muted; }
    LiveStats #live-head { color: $text-muted; }
    LiveStats .live-map { margin-top: 1; }
    """

    def __init__(
        self,
        *,
        actions_map: str | None = DEFAULT_ACTIONS_MAP,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.actions_map = actions_map
        self._maps: dict[str, TextLines] = {}
        self._last_sample: dict[str, Any] | None = None

    def compose(self) -> ComposeResult:
        yield TextLines(id="live-head")
        yield ActionTable(id="live-actions")
        yield TextLines(id="live-rates")
        yield Vertical(id="live-maps")

    def on_mount(self) -> None:
        self.query_one("#live-head", TextLines).set_lines([Text(NOT_ATTACHED)])

    # ---- public API ------------------------------------------------------

    def update_sample(self, sample: dict[str, Any]) -> None:
        """Show one sample; cheap enough to call at 4 Hz."""
        self._last_sample = sample
        self.query_one("#live-head", TextLines).set_lines([self._head_text(sample)])
        actions = sample.get("actions") or {}
        self.query_one("#live-actions", ActionTable).update_actions(actions)
        iface = sample.get("iface") or sample.get("interface")  # the sampler says "interface"
        run = self._run_text(sample.get("run"))
        rates = self._iface_text(iface) + ([run] if run is not None else [])
        self.query_one("#live-rates", TextLines).set_lines(rates)
        skip = sample.get("actions_map", self.actions_map) if actions else None
        self._update_maps({n: m for n, m in (sample.get("maps") or {}).items() if n != skip})

    def clear(self) -> None:
        """Forget everything shown (the program was detached)."""
        self._last_sample = None
        self.query_one("#live-actions", ActionTable).clear()
        self.query_one("#live-head", TextLines).set_lines([Text(NOT_ATTACHED)])
        self.query_one("#live-rates", TextLines).set_lines([])
        self.query_one("#live-maps", Vertical).remove_children()
        self._maps.clear()

    def history(self, action: str) -> list[float]:
        return list(self.query_one("#live-actions", ActionTable).history.get(action, ()))

    def action_cells(self, action: str) -> dict[str, str]:
        """What the action table shows for ACTION (column -> text)."""
        return dict(self.query_one("#live-actions", ActionTable).cells.get(action, {}))

    def map_lines(self, name: str) -> list[str]:
        """What is shown for map NAME, as plain lines (title first)."""
        widget = self._maps.get(name)
        return widget.plain if widget else []

    # ---- interface and run lines -----------------------------------------

    def _label(self) -> Style:
        return self.get_component_rich_style("live-stats--label", partial=True)

    def _head_text(self, sample: dict[str, Any]) -> Text:
        dev, prog_id, name = sample.get("dev"), sample.get("prog_id"), sample.get("prog_name")
        if not prog_id:
            return Text(f"{dev or '?'} · no XDP program attached")
        program = f"{name} (id {prog_id})" if name else f"program id {prog_id}"
        return Text(f"{dev or '?'} · {program}")

    def _iface_text(self, iface: dict[str, Any] | None) -> list[Text]:
        """Two aligned lines (rx, tx): one line would not fit beside the lesson list."""
        if not iface:
            return []
        label = self._label()
        rows = [("rx", "rx_pps", "rx_bps"), ("tx", "tx_pps", "tx_bps")]
        pps = {d: _count(iface.get(p)) for d, p, _ in rows}
        mbits = {d: _mbits(iface.get(b)) for d, _, b in rows}
        pps_width = max(len(v) for v in pps.values())
        mbits_width = max(len(v) for v in mbits.values())
        return [
            Text.assemble(
                ("interface  " if direction == "rx" else " " * 11, label),
                f"{direction} {pps[direction].rjust(pps_width)} pps  ",
                f"{mbits[direction].rjust(mbits_width)} Mbit/s",
            )
            for direction, _, _ in rows
        ]

    def _run_text(self, run: dict[str, Any] | None) -> Text | None:
        if not run:
            return None
        label = self._label()
        ns = run.get("ns_per_run")
        ns_text = "–" if ns is None else f"{float(ns):,.0f}"
        return Text.assemble(
            ("program    ", label),
            f"{_count(run.get('run_cnt'))} runs",
            ("  ·  ", label),
            f"{ns_text} ns/run",
            ("  ·  ", label),
            f"{_count(run.get('runs_per_s'))} runs/s",
        )

    # ---- other maps --------------------------------------------------------

    def _update_maps(self, maps: dict[str, dict[str, Any]]) -> None:
        for name in [n for n in self._maps if n not in maps]:
            self._maps.pop(name).remove()
        for name, spec in maps.items():
            widget = self._maps.get(name)
            if widget is None:
                widget = self._maps[name] = TextLines(classes="live-map")
                self.query_one("#live-maps", Vertical).mount(widget)
            widget.set_lines(self._map_text(name, spec))

    def _map_text(self, name: str, spec: dict[str, Any]) -> list[Text]:
        title = self.get_component_rich_style("live-stats--map-title", partial=True)
        note = self.get_component_rich_style("live-stats--note", partial=True)
        entries = list(spec.get("entries") or [])
        pairs = [
            (format_value(e.get("key")), format_value(e.get("value")))
            for e in entries[:MAX_MAP_ROWS]
        ]
        width = min(MAX_KEY_WIDTH, max((len(k) for k, _ in pairs), default=0))
        lines = [Text(f"{name}  ({spec.get('type', '?')})", title)]
        lines += [Text(f" {key.ljust(width)}  {value}") for key, value in pairs]
        if not entries:
            lines.append(Text(" " + (spec.get("note") or "(no entries)"), note))
        extra = len(entries) - len(pairs)
        if extra > 0 or spec.get("truncated"):
            lines.append(Text(f" … {max(extra, 0)} more entries not shown", note))
        return lines


def sparkline(values: Any, width: int) -> str:
    """VALUES as at most WIDTH bars; several samples per bar take their maximum."""
    data = list(values)
    if not data or width <= 0:
        return ""
    if len(data) > width:
        step = len(data) / width
        data = [
            max(data[int(i * step) : max(int((i + 1) * step), int(i * step) + 1)])
            for i in range(width)
        ]
    top = max(data)
    if top <= 0:
        return SPARK_BARS[0] * len(data)
    last = len(SPARK_BARS) - 1
    return "".join(
        SPARK_BARS[min(last, int(v / top * last + 0.5))] if v > 0 else SPARK_BARS[0] for v in data
    )


# ---- formatting ------------------------------------------------------------


def _ordered(actions: Any) -> list[str]:
    return sorted(actions, key=_rank)


def _rank(action: str) -> tuple[int, str]:
    full = action if action.startswith("XDP_") else f"XDP_{action}"
    return (ACTION_ORDER.index(full) if full in ACTION_ORDER else len(ACTION_ORDER), action)


def _count(value: Any) -> str:
    if value is None:
        return "–"
    try:
        return f"{float(value):,.0f}"
    except (TypeError, ValueError):
        return str(value)


def _bytes(value: Any) -> str:
    if value is None:
        return "–"
    try:
        size = float(value)
    except (TypeError, ValueError):
        return str(value)
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:,.0f} {unit}" if unit == "B" else f"{size:,.1f} {unit}"
        size /= 1000
    return f"{size:,.1f} GB"  # pragma: no cover - loop always returns


def _mbits(bps: Any) -> str:
    if bps is None:
        return "–"
    try:
        return f"{float(bps) / 1e6:,.2f}"
    except (TypeError, ValueError):
        return str(bps)


def format_value(value: Any) -> str:
    """A map key or value on one line: ints plain, structs as 'field=value', nested 'a.b=1'."""
    if isinstance(value, dict):
        return " ".join(f"{k}={v}" for k, v in _flatten(value))
    if isinstance(value, list | tuple):
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    return str(value)


def _flatten(value: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for key, item in value.items():
        name = f"{prefix}{key}"
        if isinstance(item, dict):
            out.extend(_flatten(item, f"{name}."))
        else:
            out.append((name, format_value(item)))
    return out
