"""The Packets pane (capture at the hook, on a real lab) and the packet workbench pane, in Pilot."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.app import App, ComposeResult
from textual.widgets import DataTable, Input, Static, TabbedContent

from tests.tui.conftest import wait_for
from xdp_tui import paths
from xdp_tui.engine.capture import CapturedPacket
from xdp_tui.engine.packetspec import frame_from_spec
from xdp_tui.widgets.packet_workbench import PacketWorkbench, RunTarget
from xdp_tui.widgets.packets import PacketsPane, detail_text


def _solution(tmp_path: Path, lesson: str) -> Path:
    target = tmp_path / lesson / "xdp_prog_kern.c"
    target.parent.mkdir(parents=True)
    shutil.copy(paths.lessons_dir() / lesson / "solution" / "xdp_prog_kern.c", target)
    return target


def _text(app: App[Any], selector: str) -> str:
    return str(app.query_one(selector, Static).render())


class PacketsApp(App[None]):
    def __init__(self, lab_name: str) -> None:
        super().__init__()
        self.lab = lab_name

    def compose(self) -> ComposeResult:
        yield PacketsPane(lambda: self.lab, id="packets")


@pytest.fixture
def packet01_lab(make_lab: Callable[..., Any], tmp_path: Path) -> Iterator[Any]:
    """A lab with packet01's solution attached (made before the test's event loop runs)."""
    from xdp_tui.engine import session

    lab = make_lab("pkt")
    source = _solution(tmp_path, "packet01-parsing")
    with session.load_program(source, lab.name, mode="native", pin_maps=False):
        yield lab


@pytest.fixture
def empty_lab(make_lab: Callable[..., Any]) -> Any:
    return make_lab("pkt")


async def test_packets_pane_shows_verdicts_filters_pauses_and_clears(packet01_lab: Any) -> None:
    from testenv import traffic

    lab = packet01_lab
    app = PacketsApp(lab.name)
    async with app.run_test(size=(120, 40)) as pilot:
        pane = app.query_one(PacketsPane)
        assert await wait_for(pilot, lambda: "Packets on" in _text(app, "#packets-status"))
        await asyncio.to_thread(traffic.ping, lab, 4, interval=0.05)
        requests = lambda: [r for r in pane.rows if "Echo Request" in r.summary]  # noqa: E731
        assert await wait_for(pilot, lambda: len(requests()) >= 4)
        for row in requests():
            seq = int(row.summary.rsplit("seq ", 1)[1])
            assert row.packet.verdict_name == ("XDP_DROP" if seq % 2 == 0 else "XDP_PASS")

        table = app.query_one("#packets-table", DataTable)
        table.focus()
        await pilot.press("v", "v")  # all -> ABORTED -> DROP
        assert pane.verdict == "XDP_DROP"
        assert table.row_count == sum(r.packet.verdict_name == "XDP_DROP" for r in pane.rows) >= 2

        await pilot.press("slash", *"seq 4", "enter")  # "/" focuses the filter, enter leaves it
        assert table.row_count == 1 and table.has_focus
        table.move_cursor(row=0)
        await pilot.pause()
        assert "the program left the bytes unchanged" in _text(app, "#packets-detail")

        await pilot.press("space")  # pause: the capture stops, the rows stay
        assert pane.paused and not pane._capturing
        kept = len(pane.rows)
        await asyncio.to_thread(traffic.ping, lab, 2, interval=0.05)
        await pilot.pause(0.5)
        assert len(pane.rows) == kept
        assert "PAUSED" in _text(app, "#packets-status")
        await pilot.press("x")
        assert not pane.rows and table.row_count == 0


async def test_packets_pane_follows_attach_and_detach_while_shown(
    empty_lab: Any, tmp_path: Path
) -> None:
    """Shown with nothing attached it says so (with the TUI's key, not a CLI command), then
    captures the program attached meanwhile, and says so again once it is detached."""
    from testenv import traffic
    from xdp_tui.engine import session

    lab = empty_lab
    app = PacketsApp(lab.name)
    async with app.run_test(size=(100, 30)) as pilot:
        pane = app.query_one(PacketsPane)
        status = lambda: _text(app, "#packets-status")  # noqa: E731
        assert await wait_for(pilot, lambda: "no XDP program is attached" in status())
        assert "press b" in status() and "xdp-tui load" not in status()
        source = _solution(tmp_path, "packet01-parsing")
        loaded = await asyncio.to_thread(
            session.load_program, source, lab.name, mode="native", pin_maps=False
        )
        try:
            capturing = lambda: "Packets on" in status() or "kept" in status()  # noqa: E731
            assert await wait_for(pilot, capturing), status()
            await asyncio.to_thread(traffic.ping, lab, 2, interval=0.05)
            assert await wait_for(pilot, lambda: len(pane.rows) >= 2)
        finally:
            await asyncio.to_thread(loaded.close)
        assert await wait_for(pilot, lambda: "no XDP program is attached" in status()), status()
        pane.stop_capture()


def test_detail_shows_what_a_rewrite_changed() -> None:
    before = frame_from_spec("udp6:dport=9")
    after = bytearray(before)
    after[57] = 8  # the destination port's low byte, as packet02's rewrite does
    packet = CapturedPacket(1e9, 1, 0, 1, 2, len(before), len(after), before, bytes(after))
    text = detail_text(packet).plain
    assert "what the program changed" in text and "bytes 57: 09 -> 08" in text
    assert "UDP: sport=40000, dport=9" in text.replace("dport=discard", "dport=9")


class WorkbenchApp(App[None]):
    def __init__(self, source: Path, build_to: Path | None = None) -> None:
        super().__init__()
        self.target = RunTarget(source, "xdp_parser_func", build_to)

    def compose(self) -> ComposeResult:
        yield PacketWorkbench(lambda: self.target, id="wb")


async def test_workbench_runs_keeps_and_reruns_cases(tmp_path: Path) -> None:
    source = _solution(tmp_path, "packet01-parsing")
    build_to = tmp_path / "builds" / "xdp_prog_kern.o"
    app = WorkbenchApp(source, build_to)
    async with app.run_test(size=(120, 40)) as pilot:
        app.query_one("#wb-spec", Input).focus()
        await pilot.press(*"icmp6-echo:seq=2", "enter")
        assert await wait_for(pilot, lambda: "XDP_DROP" in _text(app, "#wb-result"))
        assert "xdp_stats_map[1]" in _text(app, "#wb-result")  # the drop counter moved
        assert build_to.is_file()  # built where it was told, nothing beside the source
        assert sorted(p.name for p in source.parent.iterdir()) == ["xdp_prog_kern.c"]

        app.query_one("#wb-name", Input).value = "even drops"
        await pilot.press("ctrl+t")
        cases = source.parent / "packet-cases.json"
        assert await wait_for(pilot, cases.exists)
        app.query_one("#wb-spec", Input).value = "icmp6-echo:seq=1"
        app.query_one("#wb-name", Input).value = "odd passes"
        await pilot.press("ctrl+t")
        table = app.query_one("#wb-cases", DataTable)
        assert await wait_for(pilot, lambda: table.row_count == 2)

        await pilot.press("ctrl+r")
        verdicts = lambda: [str(table.get_row_at(i)[2]) for i in range(table.row_count)]  # noqa: E731
        assert await wait_for(pilot, lambda: verdicts() == ["XDP_DROP", "XDP_PASS"])
        assert sorted(p.name for p in source.parent.iterdir()) == [
            "packet-cases.json",  # the learner's own cases, and only them
            "xdp_prog_kern.c",
        ]

        app.query_one("#wb-spec", Input).value = "icmp6-echo:sq=1"
        await pilot.press("enter")
        assert await wait_for(pilot, lambda: "has no field 'sq'" in _text(app, "#wb-result"))


@pytest.mark.kernel
async def test_run_frame_tab_builds_in_the_learner_build_folder(lab_name: Any) -> None:
    """The Run-frame tab's object and build stamp go to the run folder, like every other
    TUI build: the learner's workspace keeps only their own files."""
    from tests.tui.conftest import open_lesson
    from xdp_tui import lessons
    from xdp_tui.app import XdpTuiApp

    lesson = lessons.get_lesson("basic03-map-counter")
    lessons.reset_workspace(lesson)
    workspace = lessons.workspace_source(lesson).parent
    before = sorted(p.name for p in workspace.iterdir())
    app = XdpTuiApp(lab=lab_name("rfr"))
    async with app.run_test(size=(120, 40)) as pilot:
        await open_lesson(app, pilot, lesson.id)
        await pilot.press("9")
        spec = app.workshop.query_one("#wb-spec", Input)
        assert await wait_for(pilot, lambda: spec.has_focus)
        await pilot.press(*"udp6:dport=9", "enter")
        result = lambda: str(app.workshop.query_one("#wb-result", Static).render())  # noqa: E731
        assert await wait_for(pilot, lambda: "XDP_PASS" in result()), result()
    assert sorted(p.name for p in workspace.iterdir()) == before
    built = paths.learner_build_dir(lesson.id) / "run-frame" / "xdp_prog_kern.o"
    assert built.is_file()
    assert built.with_name("xdp_prog_kern.o.xdp-tui-build.json").is_file()


@pytest.mark.kernel
async def test_the_tuis_own_capture_is_not_shown_as_another_program(make_lab: Any) -> None:
    """b, then the Packets tab captures (through a twin in our own link where the kernel
    refuses fentry): the status line keeps our program, never '[not ours]', across the lab
    pane's 2 s checks; d detaches and the tab says nothing is attached."""
    from tests.tui.conftest import open_lesson
    from xdp_tui import lessons
    from xdp_tui.app import XdpTuiApp

    lesson = lessons.get_lesson("packet01-parsing")
    lessons.workspace_source(lesson).parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(lessons.solution_source(lesson), lessons.workspace_source(lesson))
    lab = await asyncio.to_thread(make_lab, "own")
    app = XdpTuiApp(lab=lab.name)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await open_lesson(app, pilot, lesson.id)
            await pilot.press("b")
            status = app.workshop.status
            assert await wait_for(pilot, lambda: status.prog_id != 0)
            await pilot.press("8")
            packets = lambda: str(app.workshop.query_one("#packets-status", Static).render())  # noqa: E731
            capturing = lambda: "Packets on" in packets() or "kept" in packets()  # noqa: E731
            assert await wait_for(pilot, capturing), packets()
            await pilot.pause(5)  # two lab checks while the capture runs
            assert status.foreign == "" and "not ours" not in str(status.render())
            assert status.prog_id != 0
            await pilot.press("d")
            assert await wait_for(pilot, lambda: "no XDP program is attached" in packets())
            assert "press b" in packets()
    finally:
        lessons.reset_workspace(lesson)


async def test_packets_pane_follows_a_program_loaded_while_it_captures(
    packet01_lab: Any, tmp_path: Path
) -> None:
    from testenv import traffic
    from xdp_tui.engine import session

    lab = packet01_lab
    app = PacketsApp(lab.name)
    async with app.run_test(size=(120, 40)) as pilot:
        pane = app.query_one(PacketsPane)
        assert await wait_for(pilot, lambda: "Packets on" in _text(app, "#packets-status"))
        source = _solution(tmp_path / "again", "packet02-rewriting")
        loaded = await asyncio.to_thread(
            session.load_program,
            source,
            lab.name,
            program="xdp_port_rewrite_func",
            mode="native",
            pin_maps=False,
            force=True,
        )
        try:
            assert await wait_for(
                pilot, lambda: "xdp_port_rewrite_func" in _text(app, "#packets-status")
            )
            frame = traffic.build_udp_frame(lab, 9)
            await asyncio.to_thread(traffic.send_frames, lab, [frame])
            assert await wait_for(pilot, lambda: any(r.packet.changed for r in pane.rows))
        finally:
            pane.stop_capture()
            await pilot.pause(0.5)
            await asyncio.to_thread(loaded.close)


@pytest.fixture
def tracing04_lab(make_lab: Callable[..., Any], tmp_path: Path) -> Iterator[tuple[Any, int]]:
    """A lab with tracing04's solution attached, and its samples ring fd (made before the
    test's event loop runs)."""
    from xdp_tui.engine import session

    lab = make_lab("smp")
    source = _solution(tmp_path, "tracing04-xdp-tcpdump")
    with session.load_program(source, lab.name, pin_maps=False) as loaded:
        yield lab, loaded.maps["samples"]


async def test_packets_pane_lists_a_programs_own_samples_and_writes_pcapng(
    tracing04_lab: tuple[Any, int],
) -> None:
    """tracing04: with the program's `samples` ring, the pane lists what the program sends;
    `w` writes the packets kept to a pcapng file that tcpdump reads with their lengths."""
    import subprocess

    from testenv import traffic

    lab, ring = tracing04_lab

    class SamplesApp(App[None]):
        def compose(self) -> ComposeResult:
            yield PacketsPane(lambda: lab.name, samples_ring=lambda: ring, id="packets")

    app = SamplesApp()
    async with app.run_test(size=(120, 40)) as pilot:
        pane = app.query_one(PacketsPane)
        assert await wait_for(
            pilot, lambda: "samples your program" in _text(app, "#packets-status")
        )
        await asyncio.to_thread(traffic.ping, lab, 3, interval=0.05, size=500)
        requests = lambda: [r for r in pane.rows if "Echo Request" in r.summary]  # noqa: E731
        assert await wait_for(pilot, lambda: len(requests()) >= 3)
        assert {r.packet.len_in for r in requests()} == {14 + 40 + 8 + 500}
        table = app.query_one("#packets-table", DataTable)
        assert {str(table.get_row_at(i)[2]) for i in range(table.row_count)} == {"sample"}
        app.query_one("#packets-table", DataTable).focus()
        await pilot.press("w")
        assert await wait_for(pilot, lambda: "written to" in _text(app, "#packets-status"))
        path = _text(app, "#packets-status").split("written to ")[1].split(" (")[0]
    out = subprocess.run(["tcpdump", "-r", path, "-nn", "-e"], capture_output=True, text=True)
    assert out.stdout.count("length 562: ") >= 3, out.stdout


def test_a_samples_row_and_detail_claim_no_verdict_cpu_or_change() -> None:
    from xdp_tui.engine.samples import PacketSample
    from xdp_tui.widgets.packets import Row, _cells, detail_text

    packet = PacketSample(time=1.0, length=80, data=bytes(60)).as_captured(1, 1)
    cells = _cells(Row(1, packet, "summary"))
    assert str(cells[2]) == "sample" and cells[3] == ""
    detail = detail_text(packet).plain
    assert "PASS" not in detail and "unchanged" not in detail and "cpu" not in detail


async def test_the_run_frame_tab_takes_typing_into_its_spec() -> None:
    """Keys typed on the Run frame tab go into the spec, not to d (detach) or r (reset)."""
    from tests.tui.conftest import FrozenWorkbench, settle
    from xdp_tui.app import XdpTuiApp

    app = XdpTuiApp(workbench=FrozenWorkbench(lab="test01"))
    async with app.run_test(size=(100, 30)) as pilot:
        assert await wait_for(pilot, lambda: app.workshop.lessons)
        await settle(app, pilot)
        await pilot.press("9")  # the Run-frame tab
        spec = app.workshop.query_one("#wb-spec", Input)
        assert await wait_for(pilot, lambda: app.focused is spec)
        await pilot.press("d", "r")
        assert spec.value == "dr"
        assert not app.screen.is_modal  # no "reset your file?" question
        await pilot.press("escape")
        assert app.focused is None


async def test_workbench_shows_case_names_and_specs_as_written(tmp_path: Path) -> None:
    """A bracket pair in a case name used to end the app (Rich markup), at every start after.

    And the `:a:` of lab 10's addresses (fc00:dead:cafe:a::) showed as an emoji.
    """
    source = _solution(tmp_path, "packet01-parsing")
    name, spec = "echo [/b] [bold]x", "icmp6-echo:seq=2,dst=fc00:dead:cafe:a::1"
    app = WorkbenchApp(source)
    async with app.run_test(size=(120, 40)) as pilot:
        app.query_one("#wb-spec", Input).value = spec
        app.query_one("#wb-name", Input).value = name
        await pilot.press("ctrl+t")
        table = app.query_one("#wb-cases", DataTable)
        assert await wait_for(pilot, lambda: table.row_count == 1)
        await pilot.pause()
        assert [str(cell) for cell in table.get_row_at(0)[:2]] == [name, spec]

    again = WorkbenchApp(source)  # the case is saved: the next start lists it, before ctrl+r
    async with again.run_test(size=(120, 40)) as pilot:
        table = again.query_one("#wb-cases", DataTable)
        assert await wait_for(pilot, lambda: table.row_count == 1)
        await pilot.pause()
        assert [str(cell) for cell in table.get_row_at(0)] == [name, spec, ""]  # not run yet
        await pilot.press("ctrl+r")
        assert await wait_for(pilot, lambda: str(table.get_row_at(0)[2]) != "")
        await pilot.pause()
        row = [str(cell) for cell in table.get_row_at(0)]
        assert row == [name, spec, "XDP_DROP"]


async def test_the_packets_tab_takes_its_keys() -> None:
    """8 then w wrote nothing and said nothing: the pane's keys answered only once the learner
    had tabbed into it, and the key bar does not list them."""
    from tests.tui.conftest import FrozenWorkbench, settle
    from xdp_tui.app import XdpTuiApp

    app = XdpTuiApp(workbench=FrozenWorkbench(lab="test01"))
    async with app.run_test(size=(100, 30)) as pilot:
        assert await wait_for(pilot, lambda: app.workshop.lessons)
        await settle(app, pilot)
        await pilot.press("8")
        table = app.workshop.query_one("#packets-table", DataTable)
        assert await wait_for(pilot, lambda: app.focused is table)
        await pilot.press("w")
        status = app.workshop.query_one("#packets-status", Static)
        assert await wait_for(pilot, lambda: "nothing to write yet" in str(status.render()))
        await pilot.press("1")  # the tab keys still work from inside the list
        tabs = app.workshop.query_one("#tabs", TabbedContent)
        assert await wait_for(pilot, lambda: tabs.active == "readme")
        await pilot.pause()
        assert tabs.active == "readme"  # and the list does not pull its tab back
        await pilot.press("8")
        assert await wait_for(pilot, lambda: app.focused is table)
