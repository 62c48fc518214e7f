"""Each workshop flow driven through Pilot, on the real kernel with a private lab.

Netlink (pyroute2) cannot run on the test's event loop thread, so labs are
made with `asyncio.to_thread(make_lab, ...)`.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from typing import Any

import pytest

from tests.tui.conftest import settle, wait_for
from xdp_tui import lessons, paths
from xdp_tui.app import XdpTuiApp
from xdp_tui.engine import attach
from xdp_tui.screens.chooser import ChoiceScreen
from xdp_tui.widgets.lesson_browser import LessonBrowser
from xdp_tui.widgets.problem_panel import ProblemPanel

SIZE = (120, 40)


def _lesson(lesson_id: str) -> Any:
    return lessons.get_lesson(lesson_id)


async def _open_lesson(app: XdpTuiApp, pilot: Any, lesson_id: str) -> None:
    assert await wait_for(pilot, lambda: bool(app.workshop.lessons))
    await settle(app, pilot)
    app.workshop.go_to_lesson(lesson_id)
    assert await wait_for(pilot, lambda: app.workshop.source_path is not None
                          and app.workshop.lesson.id == lesson_id)  # fmt: skip
    await settle(app, pilot)


def _packets(app: XdpTuiApp, action: str) -> int:
    """ACTION's packet count in the last live sample (0 before any)."""
    sample = app.workshop.last_sample
    row = sample.action(action) if sample is not None else None
    return row.packets if row is not None else 0


async def _attach(app: XdpTuiApp, pilot: Any) -> None:
    await pilot.press("b")
    assert await wait_for(pilot, lambda: app.workshop.status.prog_id != 0), (
        app.workshop.activity.history
    )


async def test_navigate_lessons(lab_name: Any) -> None:
    app = XdpTuiApp(lab=lab_name("nav"))
    async with app.run_test(size=SIZE) as pilot:
        assert await wait_for(pilot, lambda: app.workshop.source_path is not None)
        await settle(app, pilot)
        browser = app.workshop.query_one(LessonBrowser)
        first = browser.current.id
        browser.focus()
        await pilot.press("down")
        # The README is cleared at once and the next one shown after a short delay.
        assert await wait_for(pilot, lambda: app.workshop.lesson.id != first)
        second = app.workshop.lesson.id
        assert await wait_for(pilot, lambda: app.workshop.readme.readme == _lesson(second).readme)
        await settle(app, pilot)
        assert await wait_for(
            pilot, lambda: app.workshop.source_path.name == _lesson(second).source_name
        )
        await pilot.press("2")
        assert app.workshop.query_one("#tabs").active == "source"
        assert "SEC(" in app.workshop.source.text


async def test_build_error_is_shown_at_its_line(lab_name: Any) -> None:
    lesson = _lesson("basic01-xdp-pass")
    source = lessons.workspace_source(lesson)
    lines = source.read_text().splitlines()
    broken_line = next(i for i, line in enumerate(lines, 1) if line.startswith("SEC("))
    lines.insert(broken_line - 1, "this is not C;")
    source.write_text("\n".join(lines) + "\n")
    app = XdpTuiApp(lab=lab_name("err"))
    try:
        async with app.run_test(size=SIZE) as pilot:
            await _open_lesson(app, pilot, lesson.id)
            await pilot.press("b")
            panel = app.workshop.query_one(ProblemPanel)
            assert await wait_for(pilot, lambda: panel.has_class("-shown"))
            assert app.workshop.query_one("#tabs").active == "source"
            assert app.workshop.source.selection.start[0] == broken_line - 1
            assert app.workshop.status.prog_id == 0
    finally:
        lessons.reset_workspace(lesson)


@pytest.mark.kernel
async def test_verifier_refusal_points_at_the_c_line(make_lab: Any) -> None:
    lesson = _lesson("packet01-parsing")  # its starter is refused on purpose
    lessons.reset_workspace(lesson)
    lab = await asyncio.to_thread(make_lab, "vrf")
    app = XdpTuiApp(lab=lab.name)
    async with app.run_test(size=SIZE) as pilot:
        await _open_lesson(app, pilot, lesson.id)
        await pilot.press("b")
        panel = app.workshop.query_one(ProblemPanel)
        assert await wait_for(pilot, lambda: panel.has_class("-shown"))
        assert "verifier" in str(panel.render())
        row = app.workshop.source.selection.start[0]
        assert row > 0  # a real C line, not the top of the file
        assert attach.query(lab.outer).prog_id is None


@pytest.mark.kernel
async def test_attach_then_counters_rise_and_quit_cleans_up(make_lab: Any) -> None:
    lab = await asyncio.to_thread(make_lab, "live")
    app = XdpTuiApp(lab=lab.name)
    async with app.run_test(size=SIZE) as pilot:
        await _open_lesson(app, pilot, "basic03-map-counter")
        await _attach(app, pilot)
        assert attach.query(lab.outer).prog_id == app.workshop.status.prog_id
        await pilot.press("p")
        assert await wait_for(pilot, lambda: any("5 sent, 5 answered" in line
                                                 for line in app.workshop.activity.history))  # fmt: skip

        def passed_packets() -> int:
            return _packets(app, "XDP_PASS")

        assert await wait_for(pilot, lambda: passed_packets() >= 5)
        await pilot.press("q")
    assert attach.query(lab.outer).prog_id is None
    assert attach.query(lab.inner, netns=lab.netns).prog_id is None
    assert not paths.pin_dir(lab.outer).exists()


@pytest.mark.kernel
async def test_check_fails_then_passes(lab_name: Any) -> None:
    lesson = _lesson("basic03-map-counter")
    lessons.reset_workspace(lesson)
    app = XdpTuiApp(lab=lab_name("chk"))
    try:
        async with app.run_test(size=SIZE) as pilot:
            await _open_lesson(app, pilot, lesson.id)
            history = app.workshop.activity.history
            await pilot.press("c")
            assert await wait_for(pilot, lambda: any("FAIL" in line for line in history))
            assert any("hint:" in line for line in history)
            shutil.copy(lessons.solution_source(lesson), lessons.workspace_source(lesson))
            await pilot.press("c")
            assert await wait_for(pilot, lambda: any("PASS" in line for line in history))
            await settle(app, pilot)
            assert "1" in app.workshop.passed[lesson.id]
            assert "1" in lessons.Progress.load().passed(lesson.id)
    finally:
        lessons.reset_workspace(lesson)


@pytest.mark.kernel
async def test_leftovers_are_offered_and_cleaned(make_lab: Any) -> None:
    """A killed session of this user left pins: offered with Keep focused, cleaned on c."""
    from xdp_tui import tui_sessions
    from xdp_tui.engine import session

    lab = await asyncio.to_thread(make_lab, "left")
    source = lessons.solution_source(_lesson("basic03-map-counter"))  # it has a map to pin
    load = session.load_program
    loaded = await asyncio.to_thread(load, source, lab.outer, program="xdp_stats1_func")
    loaded.close()  # the link goes with its process; the pinned maps stay
    assert any(paths.pin_dir(lab.outer).iterdir())
    dead = subprocess.run(["sh", "-c", "echo $$"], capture_output=True, text=True)
    _fake_session_record(int(dead.stdout), lab.outer, tui_sessions)
    app = XdpTuiApp(lab=lab.name)
    async with app.run_test(size=SIZE) as pilot:
        assert await wait_for(pilot, lambda: type(app.screen).__name__ == "LeftoversScreen")
        assert await wait_for(pilot, lambda: getattr(app.focused, "id", None) == "keep")
        await pilot.press("c", "enter")  # typed ahead, meant for the main screen: ignored
        assert type(app.screen).__name__ == "LeftoversScreen"
        assert any(paths.pin_dir(lab.outer).iterdir())
        await pilot.pause(0.7)  # past the dialog's guard against typed-ahead keys
        await pilot.press("c")
        assert await wait_for(pilot, lambda: not paths.pin_dir(lab.outer).exists())
    assert tui_sessions.read(int(dead.stdout)) is None


def _fake_session_record(pid: int, dev: str, tui_sessions: Any) -> None:
    """What a session with PID that attached to DEV and was killed left in the run folder."""
    record = {"pid": pid, "uid": tui_sessions.learner_uid(), "started": 0.0, "devs": [dev]}
    (paths.private_dir("sessions") / f"{pid}.json").write_text(json.dumps(record))


@pytest.mark.kernel
async def test_mode_stream_and_object(make_lab: Any) -> None:
    from xdp_tui.screens.chooser import ChoiceScreen

    lab = await asyncio.to_thread(make_lab, "mode")
    app = XdpTuiApp(lab=lab.name)
    async with app.run_test(size=SIZE) as pilot:
        await _open_lesson(app, pilot, "basic03-map-counter")
        await pilot.press("m", "m")  # auto -> native -> skb
        assert app.workshop.status.mode == "skb"
        await _attach(app, pilot)
        assert app.workshop.status.attached_mode == "skb"
        assert attach.query(lab.outer).mode == "skb"

        await pilot.press("4", "t")  # the Live tab, then a stream at the first rate offered
        assert await wait_for(pilot, lambda: isinstance(app.screen, ChoiceScreen))
        await pilot.press("enter")

        def passed_packets() -> int:
            return _packets(app, "XDP_PASS")

        assert await wait_for(pilot, lambda: passed_packets() >= 20)
        await pilot.press("t")  # stop
        assert await wait_for(
            pilot, lambda: any("stream stopped" in line for line in app.workshop.activity.history)
        )

        await pilot.press("o")
        view = app.workshop.query_one("#object-view")
        assert await wait_for(pilot, lambda: getattr(view, "info", None) is not None)
        assert any(p.name == "xdp_stats1_func" for p in view.info.programs)


async def test_program_chooser_lists_the_object_programs(lab_name: Any) -> None:
    """P lists what the learner's object holds (renamed and added functions too), marks the
    lesson's default, and shows programs it cannot attach with the reason, unchoosable."""
    lesson = _lesson("basic02-prog-by-name")
    source = lessons.workspace_source(lesson)
    text = source.read_text()
    text = text.replace("xdp_pass_func", "xdp_let_through")  # the default, renamed
    text = text.replace('char _license', 'SEC("xdp")\nint xdp_abort_func(struct xdp_md *ctx)\n'
                        '{\n\treturn XDP_ABORTED;\n}\n\nSEC("tc")\nint tc_mark(void *skb)\n'
                        '{\n\treturn 0;\n}\n\nchar _license')  # fmt: skip
    source.write_text(text)
    app = XdpTuiApp(lab=lab_name("prg"))
    try:
        await _check_program_chooser(app, lesson)
    finally:
        lessons.reset_workspace(lesson)  # the starter again for the next test


async def _check_program_chooser(app: XdpTuiApp, lesson: Any) -> None:
    from textual.widgets import OptionList

    async with app.run_test(size=SIZE) as pilot:
        await _open_lesson(app, pilot, lesson.id)
        await pilot.press("P")
        assert await wait_for(pilot, lambda: isinstance(app.screen, ChoiceScreen))
        chooser = app.screen
        assert [key for key, _ in chooser.choices] == [
            "xdp_let_through", "xdp_drop_func", "xdp_abort_func", "tc_mark", "xdp_pass_func",
        ]  # fmt: skip
        labels = dict(chooser.choices)
        assert labels["xdp_drop_func"] == "xdp_drop_func  (section xdp)"
        assert "not attachable: not XDP" in labels["tc_mark"] and '"tc"' in labels["tc_mark"]
        assert "lesson's default" in labels["xdp_pass_func"]
        assert "not in your object" in labels["xdp_pass_func"]
        options = chooser.query_one(OptionList)
        assert [options.get_option_at_index(i).disabled for i in range(5)] == [
            False, False, False, True, True,
        ]  # fmt: skip
        assert options.highlighted == 0  # the default is gone: the first XDP program
        await pilot.press("escape")


async def test_program_chooser_marks_the_default_and_the_lesson_companions(lab_name: Any) -> None:
    from xdp_tui.screens.chooser import ChoiceScreen

    lesson = _lesson("advanced01-xdp-tc-interact")
    app = XdpTuiApp(lab=lab_name("prc"))
    async with app.run_test(size=SIZE) as pilot:
        await _open_lesson(app, pilot, lesson.id)
        await pilot.press("P")
        assert await wait_for(pilot, lambda: isinstance(app.screen, ChoiceScreen))
        labels = dict(app.screen.choices)
        assert labels["xdp_classify_func"] == "xdp_classify_func  (section xdp, lesson's default)"
        assert "a TC program: b attaches it" in labels["tc_count_func"]
        assert app.screen.unavailable == {"tc_count_func"}
        await pilot.press("escape")


@pytest.mark.kernel
async def test_full_speed_stream_is_counted_exactly(make_lab: Any) -> None:
    from xdp_tui.screens.chooser import ChoiceScreen

    lab = await asyncio.to_thread(make_lab, "max")
    app = XdpTuiApp(lab=lab.name)
    async with app.run_test(size=SIZE) as pilot:
        await _open_lesson(app, pilot, "basic03-map-counter")
        await pilot.press("m")  # auto -> native: the kernel sends a full-speed stream
        await _attach(app, pilot)

        def passed_packets() -> int:
            return _packets(app, "XDP_PASS")

        assert await wait_for(pilot, lambda: app.workshop.last_sample is not None)
        before = passed_packets()
        await pilot.press("4", "t")
        assert await wait_for(pilot, lambda: isinstance(app.screen, ChoiceScreen))
        await pilot.press("end", "enter")  # the last choice: as fast as possible
        assert await wait_for(pilot, lambda: passed_packets() > before)
        await pilot.press("t")
        assert await wait_for(
            pilot, lambda: any("stream stopped" in line for line in app.workshop.activity.history)
        )
        stopped = next(line for line in app.workshop.activity.history if "stream stopped" in line)
        sent = int(stopped.split(":")[1].split()[0])
        assert await wait_for(pilot, lambda: passed_packets() - before == sent), (sent, before)


@pytest.mark.kernel
async def test_aborted_pings_show_in_the_exceptions_pane(make_lab: Any) -> None:
    """Real path: a program aborting echo requests, real pings, the Live tab's Exceptions pane."""
    from textual.widgets import DataTable

    from xdp_tui.widgets.monitor_log import MonitorLog

    lesson = _lesson("tracing02-xdp-monitor")
    shutil.copy(lessons.solution_source(lesson), lessons.workspace_source(lesson))
    lab = await asyncio.to_thread(make_lab, "abrt")
    app = XdpTuiApp(lab=lab.name)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await _open_lesson(app, pilot, lesson.id)
            await _attach(app, pilot)
            prog_id = app.workshop.status.prog_id
            await pilot.press("4")  # the Live tab
            monitor = app.workshop.query_one(MonitorLog)
            # The monitor (bcc) starts after the attach; ping once it counts.
            assert await wait_for(pilot, lambda: app.workbench.live.monitoring)
            await pilot.press("p")  # the lesson offers several kinds: the IPv6 ping comes first
            assert await wait_for(pilot, lambda: isinstance(app.screen, ChoiceScreen))
            await pilot.press("enter")
            history = app.workshop.activity.history
            assert await wait_for(
                pilot, lambda: any("5 sent, 0 answered" in line for line in history)
            )

            def aborted() -> int:
                return monitor.count(prog_id, "XDP_ABORTED") or 0

            assert await wait_for(pilot, lambda: aborted() >= 5), history
            assert _packets(app, "XDP_ABORTED") >= 5
            table = monitor.query_one("#monitor-events", DataTable)
            assert table.display
            row = [str(cell) for cell in table.get_row(f"{prog_id}:XDP_ABORTED")[:2]]
            program = app.workshop.status.program
            assert row == [f"{program} (id {prog_id})", "XDP_ABORTED"]  # its own rows only
            assert table.row_count == 1
            await pilot.press("q")
    finally:
        lessons.reset_workspace(lesson)
    assert attach.query(lab.outer).prog_id is None
