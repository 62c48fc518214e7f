"""LabDiagram: a pure rendering widget, fed a fixed lab and attachments."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from textual.app import App, ComposeResult

from xdp_tui.engine.attach import XdpStatus
from xdp_tui.engine.tc import TcStatus
from xdp_tui.widgets.lab_diagram import LabDiagram
from xdp_tui.workbench import LabState

LAB = LabState(
    name="test01",
    outer="test01",
    inner="veth0",
    ipv6=("fc00:dead:cafe:1::1/64", "fc00:dead:cafe:1::2/64"),
    ipv4=("10.11.1.1/24", "10.11.1.2/24"),
)
ATTACH = XdpStatus(dev="test01", prog_id=42, prog_name="xdp_stats1_func", mode="skb", ours=True)


class DiagramApp(App[None]):
    def __init__(
        self,
        lab: LabState | None,
        attach: XdpStatus | None,
        tc: tuple[TcStatus, ...] = (),
        **kw: Any,
    ):
        super().__init__(**kw)
        self._lab, self._attach, self._tc = lab, attach, tc

    def compose(self) -> ComposeResult:
        yield LabDiagram()

    def on_mount(self) -> None:
        self.query_one(LabDiagram).update_lab(self._lab, self._attach, None, self._tc)


def screen_lines(app: App[Any]) -> list[str]:
    # The compositor's text is what the terminal shows (Textual is pinned, see pyproject).
    return [strip.text for strip in app.screen._compositor.render_strips()]


async def test_attached_program_is_drawn_on_the_outer_interface() -> None:
    app = DiagramApp(LAB, ATTACH)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        lines = screen_lines(app)
    text = "\n".join(lines)
    assert "╭─ root namespace" in text and "╭─ namespace test01" in text
    assert all(len(line.rstrip()) <= 80 for line in lines)
    address_row = next(line for line in lines if "fc00:dead:cafe:1::1/64" in line)
    assert "fc00:dead:cafe:1::2/64" in address_row  # both ends of the veth side by side
    assert "◀━━" in text  # packets travel from veth0 to test01
    xdp_row = next(line for line in lines if "▶ XDP xdp_stats1_func" in line)
    assert xdp_row.index("▶ XDP") < xdp_row.index("│", 1)  # inside the root-namespace box
    assert "id 42 · skb · ours" in text
    assert "no XDP program" in text  # nothing on veth0


async def test_nothing_attached_and_inner_program() -> None:
    app = DiagramApp(LAB, XdpStatus("test01", None, None, "none", ours=False))
    async with app.run_test(size=(80, 24)) as pilot:
        diagram = app.query_one(LabDiagram)
        diagram.update_lab(LAB, None, XdpStatus("veth0", 7, "xdp_pass", "native", ours=False))
        await pilot.pause()
        plain = diagram.render().plain
    left, right = plain.count("no XDP program"), plain.count("▶ XDP xdp_pass")
    assert (left, right) == (1, 1)


async def test_unhealthy_lab_is_obvious() -> None:
    broken = replace(LAB, healthy=False, problems=("veth0 is missing in namespace test01",))
    app = DiagramApp(broken, None)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        text = "\n".join(screen_lines(app))
    assert "broken" in text
    assert "✗ veth0 is missing in namespace test01" in text
    assert "xdp-tui env reset test01" in text


async def test_no_lab_yet() -> None:
    app = DiagramApp(None, None)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert "No lab yet" in "\n".join(screen_lines(app))


async def test_narrow_pane_stacks_the_boxes() -> None:
    app = DiagramApp(LAB, ATTACH)
    async with app.run_test(size=(54, 24)) as pilot:  # the Lab tab beside the lesson list
        await pilot.pause()
        lines = screen_lines(app)
    assert all(len(line.rstrip()) <= 54 for line in lines)
    text = "\n".join(lines)
    assert "fc00:dead:cafe:1::1/64" in text and "fc00:dead:cafe:1::2/64" in text  # not cut
    root = next(i for i, line in enumerate(lines) if "root namespace" in line)
    lab = next(i for i, line in enumerate(lines) if "namespace test01" in line)
    xdp = next(i for i, line in enumerate(lines) if "▶ XDP xdp_stats1_func" in line)
    assert root < xdp < lab  # the program sits in the root namespace box
    assert "┃ RX on test01" in text and "┃ TX from veth0" in text


async def test_unchanged_input_does_not_redraw() -> None:
    app = DiagramApp(LAB, ATTACH)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        diagram = app.query_one(LabDiagram)
        refreshes: list[object] = []
        original = diagram.refresh

        def counting(*args: object, **kw: object) -> object:
            refreshes.append(kw)
            return original(*args, **kw)

        diagram.refresh = counting  # type: ignore[method-assign]
        diagram.update_lab(replace(LAB), replace(ATTACH))
        assert refreshes == []
        diagram.update_lab(LAB, replace(ATTACH, mode="native"))
        assert refreshes


def test_snapshot_80x24(snap_compare: Any) -> None:
    assert snap_compare(DiagramApp(LAB, ATTACH), terminal_size=(80, 24))


def test_snapshot_unhealthy_ansi_80x24(snap_compare: Any) -> None:
    broken = replace(LAB, healthy=False, problems=("test01 is down",))
    app = DiagramApp(broken, None)

    async def ansi(pilot: Any) -> None:
        pilot.app.theme = "ansi-dark"  # the 16-colour theme
        await pilot.pause()

    assert snap_compare(app, terminal_size=(80, 24), run_before=ansi)


async def test_a_tc_program_beside_xdp_is_drawn_under_it() -> None:
    app = DiagramApp(LAB, ATTACH, (TcStatus("test01", "ingress", 43, "tc_count_func"),))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        lines = screen_lines(app)
    text = "\n".join(lines)
    assert "▶ XDP xdp_stats1_func" in text
    tc_row = next(line for line in lines if "▶ TC ingress tc_count_func" in line)
    assert tc_row.index("▶ TC") < tc_row.index("│", 1)  # on the outer end, with XDP
    assert "id 43 · tcx link" in text
