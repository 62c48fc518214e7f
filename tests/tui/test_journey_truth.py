"""One truth on screen (issue #10 item 8): lesson switches, outside changes, decaying sparklines."""

from __future__ import annotations

import asyncio
import subprocess
from typing import Any

import pytest

from tests.tui.conftest import FrozenWorkbench, open_lesson, wait_for
from tests.tui.test_widgets_live_stats import make_sample
from xdp_tui import lessons, paths
from xdp_tui.app import XdpTuiApp
from xdp_tui.engine import attach
from xdp_tui.engine.live import from_stats
from xdp_tui.widgets.live_stats import HISTORY, LiveStats

SIZE = (100, 30)


async def _attach(app: XdpTuiApp, pilot: Any) -> int:
    await pilot.press("b")
    assert await wait_for(pilot, lambda: app.workshop.status.prog_id != 0), (
        app.workshop.activity.history
    )
    return app.workshop.status.prog_id


def _said(app: XdpTuiApp, text: str) -> bool:
    return any(text in line for line in app.workshop.activity.history)


async def test_sparklines_decay_to_zero_when_traffic_stops() -> None:
    app = XdpTuiApp(workbench=FrozenWorkbench(lab="test01"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4")  # the Live tab
        stats = await _mounted_stats(app, pilot)
        live = app.workshop.live_pane
        busy = make_sample(1)
        live.feed(from_stats(busy))
        quiet = make_sample(1)
        for row in quiet["actions"].values():
            row["pps"] = row["bps"] = 0.0
        for tick in range(2, HISTORY + 3):  # the counters stand still from now on
            quiet["time"] = 1000.0 + tick / 4
            live.feed(from_stats(quiet))
        await pilot.pause()  # not settle(): the top-talkers view reads in a loop of its own
        assert set(stats.history("XDP_PASS")) == {0.0}  # decayed, not frozen at the last rate
        assert stats.settled


async def test_a_hidden_live_tab_keeps_the_time_window() -> None:
    app = XdpTuiApp(workbench=FrozenWorkbench(lab="test01"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4")  # the Live tab
        stats = await _mounted_stats(app, pilot)
        live = app.workshop.live_pane
        live.feed(from_stats(make_sample(1)))
        later = make_sample(1)
        for row in later["actions"].values():
            row["pps"] = 0.0
        later["time"] = 1000.0 + 1 / 4 + 10.0  # ten seconds unseen, traffic stopped
        live.feed(from_stats(later))
        assert list(stats.history("XDP_PASS"))[-40:] == [0.0] * 40


async def _mounted_stats(app: XdpTuiApp, pilot: Any) -> LiveStats:
    assert await wait_for(pilot, lambda: bool(app.workshop.query(LiveStats)))
    return app.workshop.query_one(LiveStats)


@pytest.mark.kernel
async def test_switching_lessons_detaches_and_says_so(make_lab: Any) -> None:
    lab = await asyncio.to_thread(make_lab, "swl")
    lessons.reset_workspace(lessons.get_lesson("basic01-xdp-pass"))
    app = XdpTuiApp(lab=lab.name)
    async with app.run_test(size=SIZE) as pilot:
        await open_lesson(app, pilot, "basic01-xdp-pass")
        await _attach(app, pilot)
        app.workshop.go_to_lesson("basic02-prog-by-name")
        assert await wait_for(pilot, lambda: app.workshop.status.prog_id == 0)
        assert await wait_for(pilot, lambda: _said(app, "you moved to basic02-prog-by-name"))
        assert attach.query(lab.outer).prog_id is None
        assert app.workshop.last_sample is None  # nothing of basic01 stays in Live


@pytest.mark.kernel
async def test_outside_changes_reach_the_status_line(make_lab: Any) -> None:
    import testenv

    lab = await asyncio.to_thread(make_lab, "out")
    lesson = lessons.get_lesson("basic01-xdp-pass")
    lessons.reset_workspace(lesson)
    app = XdpTuiApp(lab=lab.name)
    async with app.run_test(size=SIZE) as pilot:
        await open_lesson(app, pilot, lesson.id)
        await _attach(app, pilot)
        await asyncio.to_thread(testenv.reset, lab.name)  # from another terminal, say
        assert await wait_for(pilot, lambda: app.workshop.status.prog_id == 0)
        assert _said(app, "is no longer on")
        assert app.workbench.attached is None

        # Another tool attaches a program: the status line shows it, as not ours.
        obj = paths.learner_build_dir(lesson.id) / "xdp_prog_kern.o"
        await asyncio.to_thread(
            subprocess.run,
            ["ip", "link", "set", "dev", lab.outer, "xdpgeneric", "obj", str(obj), "sec", "xdp"],
            check=True,
        )
        try:
            app.workshop.lab_pane.refresh_lab()
            assert await wait_for(pilot, lambda: bool(app.workshop.status.foreign))
            assert app.workshop.status.prog_id == 0
            # ... and when that tool removes it, the status line says so by itself.
            await asyncio.to_thread(
                subprocess.run, ["ip", "link", "set", "dev", lab.outer, "xdpgeneric", "off"]
            )
            assert await wait_for(pilot, lambda: not app.workshop.status.foreign)
        finally:
            await asyncio.to_thread(
                subprocess.run, ["ip", "link", "set", "dev", lab.outer, "xdpgeneric", "off"]
            )


def _ip_xdp(dev: str, *args: str) -> None:
    subprocess.run(["ip", "link", "set", "dev", dev, "xdpgeneric", *args], check=True)


async def _lab_with_ips_program(make_lab: Any, tag: str, tmp_path: Any) -> tuple[Any, Any]:
    """(lab, object): a new lab with tests/engine/progs/counter.c attached by `ip` (another
    tool's program); the caller detaches it with `_ip_xdp(lab.outer, "off")`."""
    import shutil
    from pathlib import Path

    from xdp_tui.engine.build import build_or_raise

    lab = await asyncio.to_thread(make_lab, tag)
    source = tmp_path / "counter.c"
    shutil.copy(Path(__file__).parents[1] / "engine" / "progs" / "counter.c", source)
    obj = (await asyncio.to_thread(build_or_raise, source)).obj
    await asyncio.to_thread(_ip_xdp, lab.outer, "obj", str(obj), "sec", "xdp")
    return lab, obj


@pytest.mark.kernel
async def test_another_tools_program_is_shown_read_only_in_live(
    make_lab: Any, tmp_path: Any
) -> None:
    """A program `ip` attached on the lab: Live shows its rates and maps, labelled as another
    tool's; d leaves it, quitting leaves it; gone and back, the view follows."""
    from testenv import traffic
    from xdp_tui.engine import bpfsys
    from xdp_tui.engine.maps import read_map

    lab, obj = await _lab_with_ips_program(make_lab, "frn", tmp_path)
    try:
        theirs = attach.query(lab.outer).prog_id
        app = XdpTuiApp(lab=lab.name)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("4")  # the Live tab
            stats = await _mounted_stats(app, pilot)
            await asyncio.to_thread(traffic.udp_stream, lab, count=30)

            def shown_passed() -> int:
                sample = app.workshop.last_sample
                row = sample.action("XDP_PASS") if sample is not None else None
                return row.packets if row is not None else 0

            assert await wait_for(pilot, lambda: shown_passed() >= 30), (
                app.workshop.activity.history
            )
            sample = app.workshop.last_sample
            assert sample is not None and sample.prog_id == theirs
            assert sample.foreign == "another tool's program"
            assert "another tool's program: read-only" in str(
                stats.query_one("#live-head").render()
            )
            assert _said(app, "attached by another tool: read-only")

            await pilot.press("d")  # detach: not ours, so nothing happens to it
            assert await wait_for(pilot, lambda: _said(app, "nothing was attached"))
            assert attach.query(lab.outer).prog_id == theirs

            # Gone (detached by its tool) and back: the view follows within the 2 s check.
            await asyncio.to_thread(_ip_xdp, lab.outer, "off")
            assert await wait_for(pilot, lambda: app.workshop.last_sample is None)
            await asyncio.to_thread(_ip_xdp, lab.outer, "obj", str(obj), "sec", "xdp")
            again = attach.query(lab.outer).prog_id
            assert await wait_for(
                pilot, lambda: getattr(app.workshop.last_sample, "prog_id", None) == again
            )
            await asyncio.to_thread(traffic.udp_stream, lab, count=10)
            assert await wait_for(pilot, lambda: shown_passed() >= 10)
        # Quitting left it attached, its counters as the kernel kept them.
        assert attach.query(lab.outer).prog_id == again
        map_id = bpfsys.prog_info_by_id(again).map_ids[0]
        with bpfsys.map_fd_by_id(map_id) as fd:
            assert read_map(fd).value_of(2)["rx_packets"] >= 10
    finally:
        await asyncio.to_thread(
            subprocess.run, ["ip", "link", "set", "dev", lab.outer, "xdpgeneric", "off"]
        )


@pytest.mark.kernel
async def test_b_refused_by_another_tools_program_says_what_to_do_in_the_tui(
    make_lab: Any, tmp_path: Any
) -> None:
    """b while `ip` has a program on the lab: the refusal's hint speaks of a shell and the b
    key, not of the CLI's --force (which the TUI has not); the CLI keeps its own words."""
    from xdp_tui.engine import session
    from xdp_tui.errors import XdpTuiError

    lab, obj = await _lab_with_ips_program(make_lab, "frb", tmp_path)
    try:
        app = XdpTuiApp(lab=lab.name)
        async with app.run_test(size=(120, 40)) as pilot:
            await open_lesson(app, pilot, "basic01-xdp-pass")
            await pilot.press("b")
            assert await wait_for(pilot, lambda: _said(app, "attached by another tool")), (
                app.workshop.activity.history
            )
            assert _said(app, "press b again") and not _said(app, "--force")
            toasts = [str(n.message) for n in app._notifications]
            assert any("press b again" in t for t in toasts), toasts
            assert not any("--force" in t for t in toasts)
        with pytest.raises(XdpTuiError) as refused:
            await asyncio.to_thread(session.load_program, obj, lab.outer)
        assert "pass --force" in refused.value.render()  # the CLI's words are unchanged
    finally:
        await asyncio.to_thread(_ip_xdp, lab.outer, "off")
