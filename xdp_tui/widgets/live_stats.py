"""Live counters of the attached program, fed one `stats --json` sample per tick.

The widget never reads a map itself: the workshop's live feed hands it one
`engine.live.LiveSample` per tick (actions, decoded maps, interface and run
rates), drawn as is.

Why no DataTable or Sparkline widgets here: at 4 Hz a DataTable re-renders
every row on each `update_cell` and a dozen small widgets each redraw on their
own; measured in a real terminal that cost 8-9 % of a core. These parts are
instead small line widgets (`CachedLines`) that keep their rows keyed (one row
per action or map key, updated in place, never rebuilt), compare each new line
with what is on screen, and repaint only the lines that differ, re-laying out
only when the number of lines changes. At 1000 pps that is the busy action's
row and the three rate lines per tick (bench/tui_cpu.py, issue 6). Column
widths only grow, so growing numbers are never cut and the table does not
jitter. Sparklines are drawn inline from a per-action pps history (`HISTORY`
samples).
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable
from typing import Any

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.geometry import Region
from textual.strip import Strip
from textual.style import Style as TextualStyle
from textual.visual import Visual, visualize
from textual.widget import Widget

from xdp_tui.engine.actions import XDP_ACTIONS
from xdp_tui.engine.live import (
    ActionRate,
    InterfaceRates,
    LiveSample,
    MapSnapshot,
    MapValue,
    RunRates,
)

HISTORY = 60  # samples per sparkline: 15 s at 4 Hz
MAX_MAP_ROWS = 32  # entries shown per map; the rest is counted, not drawn
MAX_KEY_WIDTH = 40
ACTION_ORDER = XDP_ACTIONS
ACTION_COLUMNS = ("packets", "bytes", "pps", "mbits")
ACTION_HEADERS = {"action": "Action", "packets": "Packets", "bytes": "Bytes", "pps": "pps"}
ACTION_HEADERS["mbits"] = "Mbit/s"
SPARK_BARS = "▁▂▃▄▅▆▇█"
NOT_ATTACHED = "Not attached: no live counters."
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class CachedLines(Widget):
    """Lines of rich Text drawn one at a time and kept as strips until they change.

    Textual's usual path (`render()` -> every line through `Content`) costs
    about 0.3 ms per line and redraws the whole block when one number moved.
    Here `line_text(y)` gives one line, `repaint_lines(rows)` marks just those
    rows dirty, and a line becomes segments directly, with the same styles and
    selection offsets Textual would give it (see `_line_strip`). Strips are
    dropped when the width or the styles change (resize, theme); while text is
    selected with the mouse, Textual's own path draws (it paints the selection).
    """

    DEFAULT_CSS = "CachedLines { height: auto; }"

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._strips: dict[int, Strip] = {}
        self._strips_for: tuple[int, object] | None = None  # (width, visual style)
        self._piece_styles: dict[object, TextualStyle] = {}  # rich span styles -> combined
        self._rich_styles: dict[object, Style] = {}  # (span styles, x, y) -> rich style

    def line_count(self) -> int:
        raise NotImplementedError

    def line_text(self, y: int) -> Text:
        raise NotImplementedError

    def repaint_lines(self, rows: list[int]) -> None:
        """Redraw ROWS only (the others keep their strips)."""
        if not rows:
            return
        for y in rows:
            self._strips.pop(y, None)
        width = max(self.size.width, 1)
        self.refresh(*[Region(0, y, width, 1) for y in rows])

    def repaint_all(self, *, layout: bool = False) -> None:
        self._strips.clear()
        self.refresh(layout=layout)

    def get_content_height(self, container: Any, viewport: Any, width: int) -> int:
        return self.line_count()

    def render_line(self, y: int) -> Strip:
        if self.text_selection is not None:
            return super().render_line(y)  # whole block via render(), selection painted
        width, style = self.size.width, self.visual_style
        if self._strips_for != (width, style):
            self._strips.clear()
            self._piece_styles.clear()
            self._rich_styles.clear()
            self._strips_for = (width, style)
        strip = self._strips.get(y)
        if strip is None:
            strip = self._strips[y] = self._render_one(y, width, style)
        return strip

    def _render_one(self, y: int, width: int, style: TextualStyle) -> Strip:
        if not 0 <= y < self.line_count():
            return Strip.blank(width, style.rich_style)
        text = self.line_text(y)
        if _CONTROL.search(text.plain):  # Content strips control codes: let it
            strips = Visual.to_strips(self, visualize(self, text), width, 1, style)
            return strips[0] if strips else Strip.blank(width, style.rich_style)
        return self._line_strip(text, style, y)

    def _line_strip(self, text: Text, base: TextualStyle, y: int) -> Strip:
        """TEXT as one strip, styled as Textual's `Content.to_strip` would style it.

        Each piece gets base + the text's own style + the spans covering it (in
        span order), as a rich style carrying its (x, y) offset for selection.
        """
        plain = text.plain
        spans = [span for span in text.spans if span.end > span.start]
        cuts = sorted({0, len(plain), *(s.start for s in spans), *(s.end for s in spans)})
        segments = []
        for start, end in zip(cuts, cuts[1:], strict=False):
            if end > len(plain):
                end = len(plain)
            if end <= start:
                continue
            key = (text.style, *(s.style for s in spans if s.start <= start and s.end >= end))
            segments.append(Segment(plain[start:end], self._piece_style(base, key, start, y)))
        return Strip(segments)

    def _piece_style(self, base: TextualStyle, key: tuple[Any, ...], x: int, y: int) -> Style:
        """The rich style of a piece at (X, Y); pieces mostly stay put, so this is cached."""
        rich = self._rich_styles.get((key, x, y))
        if rich is None:
            piece_style = self._piece_styles.get(key)
            if piece_style is None:
                piece_style = self._piece_styles[key] = self._combine(base, key)
            if len(self._rich_styles) > 4096:  # numbers that moved around left stale entries
                self._rich_styles.clear()
            rich = self._rich_styles[key, x, y] = piece_style.rich_style_with_offset(x, y)
        return rich

    def _combine(self, base: TextualStyle, rich_styles: tuple[Any, ...]) -> TextualStyle:
        combined = base
        theme = self.app.ansi_theme
        for rich_style in rich_styles:
            if not rich_style:
                continue
            if isinstance(rich_style, str):
                rich_style = self.app.console.get_style(rich_style)
            combined = combined + TextualStyle.from_rich_style(rich_style, theme)
        return combined

    def render(self) -> Text:  # the whole block, for text selection and copying
        return Text("\n").join(self.line_text(y) for y in range(self.line_count()))

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()
        self._piece_styles.clear()
        self._rich_styles.clear()

    def selection_updated(self, selection: Any) -> None:
        self._strips.clear()
        super().selection_updated(selection)


class TextLines(CachedLines):
    """A few lines of text; only the lines that changed are repainted."""

    DEFAULT_CSS = "TextLines { height: auto; }"

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.lines: list[Text] = []

    def set_lines(self, lines: list[Text]) -> None:
        if lines == self.lines:
            return
        old, self.lines = self.lines, lines
        if len(lines) != len(old):
            self.repaint_all(layout=True)
        else:
            self.repaint_lines(_changed_rows(old, lines))

    @property
    def plain(self) -> list[str]:
        return [line.plain for line in self.lines]

    def line_count(self) -> int:
        return len(self.lines)

    def line_text(self, y: int) -> Text:
        return self.lines[y]


class ActionTable(CachedLines):
    """Per-action packets, bytes, pps and Mbit/s, each row with its pps sparkline.

    Line 0 is the header, then one line per action. Each tick works out what
    every line would show (cells, column widths, sparkline) and repaints only
    the lines where that changed: at 1000 pps only the busy action's line.
    The text is built when a line is drawn, with the current theme's styles.
    """

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
        self._busy: dict[str, int] = {}  # action -> non-zero samples in its history
        self._widths = {column: len(title) for column, title in ACTION_HEADERS.items()}
        self._shown: list[object] = []  # per line: what it shows (compared, never drawn)
        self._styles: dict[str, Style] = {}

    def update_actions(self, actions: tuple[ActionRate, ...]) -> None:
        added = False
        for row in sorted(actions, key=lambda row: _rank(row.action)):
            action = row.action
            if action not in self.history:
                # Start from a flat line, so every sparkline shares one time axis.
                self.history[action] = deque([0.0] * HISTORY, maxlen=HISTORY)
                self._busy[action] = 0
                added = True
            self._remember(action, float(row.pps))
            self.cells[action] = {
                "action": action.removeprefix("XDP_"),
                "packets": _count(row.packets),
                "bytes": _bytes(row.bytes),
                "pps": _count(row.pps),
                "mbits": _mbits(row.bps),
            }
        if added:  # keep rows in the XDP action order, whatever order they arrived in
            self.cells = {a: self.cells[a] for a in _ordered(self.cells)}
        widths = self._widths
        for cells in self.cells.values():
            for column, text in cells.items():
                if len(text) > widths[column]:
                    widths[column] = len(text)
        shown = self._line_states()
        if added or len(shown) != len(self._shown):
            self._shown = shown
            self.repaint_all(layout=True)
            return
        changed = _changed_rows(self._shown, shown)
        self._shown = shown
        self.repaint_lines(changed)

    @property
    def settled(self) -> bool:
        """Every sparkline is flat at zero (nothing left to decay)."""
        return not any(self._busy.values())

    def catch_up(self, slots: int, rates: dict[str, float]) -> None:
        """SLOTS sample times passed unseen (tab hidden): fill them with each action's
        average rate over that time, so the sparklines keep a fixed time window."""
        for action in self.history:
            for _ in range(min(slots, HISTORY)):
                self._remember(action, rates.get(action, 0.0))

    def clear(self) -> None:
        self.cells.clear()
        self.history.clear()
        self._busy.clear()
        self._shown = []
        self.repaint_all(layout=True)

    def _remember(self, action: str, pps: float) -> None:
        history = self.history[action]
        if history[0]:
            self._busy[action] -= 1  # about to leave the window
        history.append(pps)
        if pps:
            self._busy[action] += 1

    def _line_states(self) -> list[object]:
        """What each line shows, given the data (not the styles): equal means no repaint."""
        if not self.cells:
            return []
        widths = tuple(self._widths.values())
        spark_width = self._spark_width(self.size.width)
        states: list[object] = [(widths, spark_width)]
        for action, row in self.cells.items():
            states.append((tuple(row.values()), widths, self._spark(action, spark_width)))
        return states

    def _spark(self, action: str, width: int) -> str:
        if width < 4:
            return ""
        if not self._busy[action]:  # all zero: a flat line, nothing to scale
            return SPARK_BARS[0] * min(width, HISTORY)
        return sparkline(self.history[action], width)

    # ---- drawing --------------------------------------------------------------

    def line_count(self) -> int:
        return len(self.cells) + 1 if self.cells else 0

    def line_text(self, y: int) -> Text:
        spark_width = self._spark_width(self.size.width)
        if y == 0:
            return self._header_line(self._style("header"), spark_width)
        action = list(self.cells)[y - 1]
        row = self.cells[action]
        line = Text(" ")
        line.append(row["action"].ljust(self._widths["action"]), self._action_style(action))
        for column in ACTION_COLUMNS:
            line.append("  " + row[column].rjust(self._widths[column]))
        if spark_width >= 4:
            line.append("  " + self._spark(action, spark_width), self._style("spark"))
        return line

    def _spark_width(self, width: int) -> int:
        return width - self._row_width() - 2

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
        # Kept until the styles change: Textual's own cache is emptied on every refresh.
        style = self._styles.get(part)
        if style is None:
            style = self._styles[part] = self.get_component_rich_style(
                f"action-table--{part}", partial=True
            )
        return style

    def _action_style(self, action: str) -> Style:
        kind = {"XDP_PASS": "pass", "XDP_DROP": "drop", "XDP_ABORTED": "drop"}.get(action, "other")
        return self._style(kind)

    def notify_style_update(self) -> None:
        self._styles.clear()
        super().notify_style_update()


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
    LiveStats #live-maps { height: auto; }  /* empty: no space, nothing to draw per tick */
    """

    def __init__(
        self,
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._maps: dict[str, TextLines] = {}
        self._last_sample: LiveSample | None = None
        # Kept at hand: a query per part and tick is measurable at 4 Hz.
        self._head = TextLines(id="live-head")
        self._actions = ActionTable(id="live-actions")
        self._rates = TextLines(id="live-rates")
        self._map_box = Vertical(id="live-maps")

    def compose(self) -> ComposeResult:
        yield self._head
        yield self._actions
        yield self._rates
        yield self._map_box

    def on_mount(self) -> None:
        self._head.set_lines([Text(NOT_ATTACHED)])

    # ---- public API ------------------------------------------------------

    @property
    def settled(self) -> bool:
        """The sparklines show nothing moving: an unchanged sample needs no redraw."""
        return self._actions.settled

    def update_sample(self, sample: LiveSample, *, missed: int = 0) -> None:
        """Show one sample (MISSED sample times went by unseen); cheap enough at 4 Hz."""
        previous = self._last_sample
        if missed > 0 and previous is not None and sample.time > previous.time:
            self._actions.catch_up(missed, _average_pps(previous, sample))
        self._last_sample = sample
        self._head.set_lines(self._head_lines(sample))
        self._actions.update_actions(sample.actions)
        run = self._run_text(sample.run)
        rates = self._iface_text(sample.interface) + ([run] if run is not None else [])
        self._rates.set_lines(rates + self._xsk_text(sample))
        shown_above = sample.actions_map if sample.actions else None
        self._update_maps([m for m in sample.maps if m.name != shown_above])

    def clear(self) -> None:
        """Forget everything shown (the program was detached)."""
        self._last_sample = None
        self._actions.clear()
        self._head.set_lines([Text(NOT_ATTACHED)])
        self._rates.set_lines([])
        self._map_box.remove_children()
        self._maps.clear()

    def history(self, action: str) -> list[float]:
        return list(self._actions.history.get(action, ()))

    def action_cells(self, action: str) -> dict[str, str]:
        """What the action table shows for ACTION (column -> text)."""
        return dict(self._actions.cells.get(action, {}))

    def map_lines(self, name: str) -> list[str]:
        """What is shown for map NAME, as plain lines (title first)."""
        widget = self._maps.get(name)
        return widget.plain if widget else []

    # ---- interface and run lines -----------------------------------------

    def _label(self) -> Style:
        return self.get_component_rich_style("live-stats--label", partial=True)

    def _head_lines(self, sample: LiveSample) -> list[Text]:
        """Interface and program; whose it is on a line of its own when not this session's
        (one line would be cut beside the lesson list at 80 columns)."""
        dev, prog_id, name = sample.dev or "?", sample.prog_id, sample.prog_name
        if not prog_id:
            return [Text(f"{dev} · no XDP program attached")]
        program = f"{name} (id {prog_id})" if name else f"program id {prog_id}"
        head = [Text(f"{dev} · {program}")]
        if sample.foreign:
            head.append(Text(f"{sample.foreign}: read-only, left as it is", "yellow"))
        return head

    def _iface_text(self, iface: InterfaceRates | None) -> list[Text]:
        """Two aligned lines (rx, tx): one line would not fit beside the lesson list."""
        if iface is None:
            return []
        label = self._label()
        pps = {"rx": _count(iface.rx_pps), "tx": _count(iface.tx_pps)}
        mbits = {"rx": _mbits(iface.rx_bps), "tx": _mbits(iface.tx_bps)}
        pps_width = max(len(v) for v in pps.values())
        mbits_width = max(len(v) for v in mbits.values())
        return [
            Text.assemble(
                ("interface  " if direction == "rx" else " " * 11, label),
                f"{direction} {pps[direction].rjust(pps_width)} pps  ",
                f"{mbits[direction].rjust(mbits_width)} Mbit/s",
            )
            for direction in ("rx", "tx")
        ]

    def _xsk_text(self, sample: LiveSample) -> list[Text]:
        """The workshop's AF_XDP socket (advanced03): its RX/TX rates and totals, or why none."""
        label = self._label()
        xsk = sample.xsk
        lines = []
        if xsk is not None:
            lines.append(
                Text.assemble(
                    ("AF_XDP q0  ", label),
                    f"rx {_count(xsk.rx_pps)} pps ({_count(xsk.rx_packets)})",
                    ("  ·  ", label),
                    f"tx {_count(xsk.tx_pps)} pps ({_count(xsk.tx_packets)})",
                )
            )
        if sample.xsk_note:
            lines.append(Text.assemble(("AF_XDP     ", label), sample.xsk_note))
        return lines

    def _run_text(self, run: RunRates | None) -> Text | None:
        if run is None:
            return None
        label = self._label()
        ns_text = "–" if run.ns_per_run is None else f"{run.ns_per_run:,.0f}"
        return Text.assemble(
            ("program    ", label),
            f"{_count(run.run_cnt)} runs",
            ("  ·  ", label),
            f"{ns_text} ns/run",
            ("  ·  ", label),
            f"{_count(run.runs_per_s)} runs/s",
        )

    # ---- other maps --------------------------------------------------------

    def _update_maps(self, maps: list[MapSnapshot]) -> None:
        names = {m.name for m in maps}
        for name in [n for n in self._maps if n not in names]:
            self._maps.pop(name).remove()
        for snapshot in maps:
            widget = self._maps.get(snapshot.name)
            if widget is None:
                widget = self._maps[snapshot.name] = TextLines(classes="live-map")
                self._map_box.mount(widget)
            widget.set_lines(self._map_text(snapshot))

    def _map_text(self, snapshot: MapSnapshot) -> list[Text]:
        title = self.get_component_rich_style("live-stats--map-title", partial=True)
        note = self.get_component_rich_style("live-stats--note", partial=True)
        entries = snapshot.entries
        pairs = [(format_value(e.key), format_value(e.value)) for e in entries[:MAX_MAP_ROWS]]
        width = min(MAX_KEY_WIDTH, max((len(k) for k, _ in pairs), default=0))
        label = f", {snapshot.value_label}" if snapshot.value_label else ""
        lines = [Text(f"{snapshot.name}  ({snapshot.type}{label})", title)]
        lines += [Text(f" {key.ljust(width)}  {value}") for key, value in pairs]
        if not entries:
            lines.append(Text(" " + (snapshot.note or "(no entries)"), note))
        extra = len(entries) - len(pairs)
        if extra > 0 or snapshot.truncated:
            lines.append(Text(f" … {max(extra, 0)} more entries not shown", note))
        return lines


def _average_pps(before: LiveSample, after: LiveSample) -> dict[str, float]:
    """Each action's packets per second between two samples."""
    seconds = after.time - before.time
    earlier = {row.action: row.packets for row in before.actions}
    return {
        row.action: max(row.packets - earlier.get(row.action, row.packets), 0) / seconds
        for row in after.actions
    }


def sparkline(values: Iterable[float], width: int) -> str:
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


def _changed_rows(old: list[Any], new: list[Any]) -> list[int]:
    """Rows where two equally long lists differ."""
    return [y for y, (a, b) in enumerate(zip(old, new, strict=True)) if a != b]


def _ordered(actions: dict[str, dict[str, str]]) -> list[str]:
    return sorted(actions, key=_rank)


def _rank(action: str) -> tuple[int, str]:
    full = action if action.startswith("XDP_") else f"XDP_{action}"
    return (ACTION_ORDER.index(full) if full in ACTION_ORDER else len(ACTION_ORDER), action)


def _count(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f}"


def _bytes(value: float | None) -> str:
    if value is None:
        return "–"
    size = float(value)
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:,.0f} {unit}" if unit == "B" else f"{size:,.1f} {unit}"
        size /= 1000
    return f"{size:,.1f} GB"  # pragma: no cover - loop always returns


def _mbits(bps: float | None) -> str:
    return "–" if bps is None else f"{bps / 1e6:,.2f}"


def format_value(value: MapValue) -> str:
    """A map key or value on one line: ints plain, structs as 'field=value', nested 'a.b=1'."""
    if isinstance(value, dict):
        return " ".join(f"{k}={v}" for k, v in _flatten(value))
    if isinstance(value, list | tuple):
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    return str(value)


def _flatten(value: dict[str, MapValue], prefix: str = "") -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for key, item in value.items():
        name = f"{prefix}{key}"
        if isinstance(item, dict):
            out.extend(_flatten(item, f"{name}."))
        else:
            out.append((name, format_value(item)))
    return out
