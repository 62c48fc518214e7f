"""A small box diagram of one lab: where packets come from and where XDP sees them.

    ╭─ root namespace ─────────────────╮        ╭─ namespace test01 ───────────────╮
    │ test01                           │  veth  │ veth0                            │
    │ fc00:dead:cafe:1::1/64           │◀━━━━━━━│ fc00:dead:cafe:1::2/64           │
    │ ▶ XDP xdp_pass                   │RX    TX│ no XDP program                   │
    │   id 42 · native · ours          │        │                                  │
    ╰──────────────────────────────────╯        ╰──────────────────────────────────╯

Below 60 columns the two boxes are stacked, joined by the link.
The lab is a veth pair: what veth0 sends inside the namespace arrives (RX) on
the outer interface, which is where a lesson's program is attached. The widget
only draws what it is given: a lab entry of `env status --json` and the
`status --json` of each end.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.style import Style
from rich.text import Text
from textual.widget import Widget

if TYPE_CHECKING:
    from xdp_tui.engine.attach import XdpStatus
    from xdp_tui.engine.tc import TcStatus
    from xdp_tui.workbench import LabState

LINK_WIDTH = 8  # the veth link drawn between the two boxes
# Inner width of each namespace box, from the widget width. Side by side needs
# room for an IPv6 address with its prefix; narrower panes stack the boxes.
MIN_BOX, MAX_BOX = 25, 40


class LabDiagram(Widget):
    """Root namespace ⇄ lab namespace, with addresses and attached programs."""

    COMPONENT_CLASSES = {
        "lab-diagram--title",
        "lab-diagram--box",
        "lab-diagram--iface",
        "lab-diagram--addr",
        "lab-diagram--xdp",
        "lab-diagram--none",
        "lab-diagram--link",
        "lab-diagram--error",
        "lab-diagram--caption",
    }

    DEFAULT_CSS = """
    LabDiagram {
        height: auto;
        width: 1fr;
        min-width: 40;
    }
    LabDiagram > .lab-diagram--title { text-style: bold; color: $text-muted; }
    LabDiagram > .lab-diagram--box { color: $secondary; }
    LabDiagram > .lab-diagram--iface { text-style: bold; color: $text; }
    LabDiagram > .lab-diagram--addr { color: $text; }
    LabDiagram > .lab-diagram--xdp { text-style: bold; color: $success; }
    LabDiagram > .lab-diagram--none { color: $text-muted; }
    LabDiagram > .lab-diagram--link { text-style: bold; color: $accent; }
    LabDiagram > .lab-diagram--error { text-style: bold; color: $error; }
    LabDiagram > .lab-diagram--caption { color: $text-muted; }
    """

    def __init__(
        self, *, name: str | None = None, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.lab: LabState | None = None
        self.attach: XdpStatus | None = None
        self.inner_attach: XdpStatus | None = None
        self.tc: tuple[TcStatus, ...] = ()
        self._box = MAX_BOX

    def update_lab(
        self,
        lab: LabState | None,
        attach: XdpStatus | None,
        inner_attach: XdpStatus | None = None,
        tc: tuple[TcStatus, ...] = (),
    ) -> None:
        """Redraw for LAB (None: no lab yet), what is attached on its two ends and the
        TC programs on the outer end (advanced01)."""
        if (lab, attach, inner_attach, tc) == (self.lab, self.attach, self.inner_attach, self.tc):
            return  # polled often; redraw only on change
        self.lab, self.attach, self.inner_attach, self.tc = lab, attach, inner_attach, tc
        self.refresh(layout=True)

    # ---- drawing ---------------------------------------------------------

    def _style(self, part: str) -> Style:
        return self.get_component_rich_style(f"lab-diagram--{part}", partial=True)

    def render(self) -> Text:
        if self.lab is None:
            return Text.assemble(
                ("No lab yet. ", self._style("error")),
                (
                    "Attaching a program creates one (test01 ⇄ veth0 in namespace test01).",
                    self._style("caption"),
                ),
            )
        width = self.size.width or 80
        if width >= 2 * (MIN_BOX + 2) + LINK_WIDTH:
            self._box = min(MAX_BOX, (width - LINK_WIDTH - 4) // 2)
            return Text("\n").join(self._side_by_side())
        self._box = max(10, min(MAX_BOX, width - 2))
        return Text("\n").join(self._stacked())

    def _parts(self) -> tuple[LabState, bool, str, str, list[Text], list[Text]]:
        lab = self.lab
        assert lab is not None  # render() draws "no lab yet" itself
        outer, inner, ipv6, ipv4 = lab.outer, lab.inner, lab.ipv6, lab.ipv4
        left = self._box_body(outer, _nth(ipv6, 0), _nth(ipv4, 0), self.attach, outer)
        right = self._box_body(inner, _nth(ipv6, 1), _nth(ipv4, 1), self.inner_attach, inner)
        return lab, lab.healthy, outer, inner, left, right

    def _side_by_side(self) -> list[Text]:
        """Root namespace box, the veth link, the lab namespace box, left to right."""
        lab, healthy, outer, inner, left, right = self._parts()
        height = max(len(left), len(right))
        left += [Text()] * (height - len(left))
        right += [Text()] * (height - len(right))
        box = self._style("box" if healthy else "error")
        gap = Text(" " * LINK_WIDTH)
        lines = [self._top("root namespace", box) + gap + self._top(f"namespace {lab.name}", box)]
        link = self._link_column(height, healthy)
        for row, (a, b) in enumerate(zip(left, right, strict=True)):
            lines.append(self._row(a, box) + link[row] + self._row(b, box))
        lines.append(self._bottom(box) + gap + self._bottom(box))
        lines.extend(self._captions(healthy, lab, outer, inner))
        return lines

    def _stacked(self) -> list[Text]:
        """The same, top to bottom, for narrow panes."""
        lab, healthy, outer, inner, top, bottom = self._parts()
        box = self._style("box" if healthy else "error")
        link = self._style("link" if healthy else "error")
        middle = self._box // 2 + 1
        lines = [self._top("root namespace", box)]
        lines += [self._row(text, box) for text in top]
        lines.append(self._bottom(box, "▲" if healthy else "╳", middle))
        if healthy:
            lines.append(Text(" " * middle + "┃ RX on " + outer, link))
            lines.append(Text(" " * middle + "┃ TX from " + inner, link))
        else:
            lines.append(Text(" " * middle + "╳ broken", link))
        lines.append(self._top(f"namespace {lab.name}", box, "┸" if healthy else "╳", middle))
        lines += [self._row(text, box) for text in bottom]
        lines.append(self._bottom(box))
        lines.extend(self._captions(healthy, lab, outer, inner))
        return lines

    def _top(self, title: str, style: Style, mark: str = "", at: int = 0) -> Text:
        label = f"─ {title} "[: self._box]
        edge = list("╭" + label + "─" * (self._box - len(label)) + "╮")
        if mark:
            edge[at] = mark
        text = Text("".join(edge), style)
        text.stylize(self._style("title"), 2, 2 + len(title))
        return text

    def _bottom(self, style: Style, mark: str = "", at: int = 0) -> Text:
        edge = list("╰" + "─" * self._box + "╯")
        if mark:
            edge[at] = mark
        return Text("".join(edge), style)

    def _row(self, content: Text, style: Style) -> Text:
        return Text("│", style) + _fit(content, self._box) + Text("│", style)

    def _box_body(
        self,
        ifname: str,
        ipv6: str | None,
        ipv4: str | None,
        attach: XdpStatus | None,
        expected_dev: str,
    ) -> list[Text]:
        iface, addr = self._style("iface"), self._style("addr")
        body = [Text(" " + ifname, iface)]
        for address in (ipv6, ipv4):
            if address:
                body.append(Text(" " + address, addr))
        if len(body) == 1:
            body.append(Text(" (no addresses)", self._style("none")))
        body.extend(self._program_lines(attach, expected_dev))
        return body

    def _program_lines(self, attach: XdpStatus | None, expected_dev: str) -> list[Text]:
        if attach is None or not attach.prog_id or attach.dev != expected_dev:
            return [Text(" no XDP program", self._style("none"))]
        xdp = self._style("xdp")
        owner = "ours" if attach.ours else "not ours"
        lines = [
            Text.assemble((" ▶ XDP ", xdp), (attach.prog_name or "?", xdp)),
            Text(f"   id {attach.prog_id} · {attach.mode} · {owner}", self._style("addr")),
        ]
        for tc in [tc for tc in self.tc if tc.dev == expected_dev]:  # later: TC, on the skb
            lines.append(Text.assemble((f" ▶ TC {tc.direction} ", xdp), (tc.prog_name, xdp)))
            lines.append(Text(f"   id {tc.prog_id} · tcx link", self._style("addr")))
        return lines

    def _link_column(self, height: int, healthy: bool) -> list[Text]:
        """The veth pair: packets from veth0 travel left and arrive (RX) on the outer end."""
        if not healthy:
            cells = ["", "  ╳╳╳", " broken", ""]
            style = self._style("error")
        else:
            cells = ["  veth", "◀━━━━━━━", "RX    TX", ""]
            style = self._style("link")
        cells += [""] * (height - len(cells))
        return [Text(_pad(cell, LINK_WIDTH), style) for cell in cells[:height]]

    def _captions(self, healthy: bool, lab: LabState, outer: str, inner: str) -> list[Text]:
        caption = self._style("caption")
        if not healthy:
            problems = "; ".join(lab.problems) or "the lab is broken"
            return [
                Text(f"✗ {problems}", self._style("error")),
                Text(f"  repair it: xdp-tui env reset {lab.name}", caption),
            ]
        # One paragraph: Textual wraps it to the pane's width.
        return [
            Text.assemble(
                ("▲ XDP on ", caption),
                (outer, self._style("xdp")),
                (
                    f" sees each packet {inner} sends, before the kernel's network stack does. ",
                    caption,
                ),
                (f"Pings and streams start inside the namespace, from {inner}.", caption),
            )
        ]


def _nth(items: tuple[str, ...], index: int) -> str | None:
    return str(items[index]) if len(items) > index and items[index] else None


def _pad(text: str, width: int) -> str:
    return text[:width].ljust(width)


def _fit(text: Text, width: int) -> Text:
    """TEXT cut or padded to exactly WIDTH cells."""
    out = text.copy()
    out.truncate(width, overflow="ellipsis", pad=True)
    return out
