"""The editor and the keys of the learner's journey (issue #10 items 5 and 6), on a real workspace."""

from __future__ import annotations

from typing import Any

from tests.tui.conftest import settle, wait_for
from xdp_tui import lessons
from xdp_tui.app import UNSAVED_QUIT, XdpTuiApp
from xdp_tui.screens.chooser import ChoiceScreen
from xdp_tui.screens.editor import EditorScreen
from xdp_tui.widgets.source_view import CodeEditor

LESSON = "basic01-xdp-pass"


async def _open_editor(app: XdpTuiApp, pilot: Any, lesson_id: str = LESSON) -> CodeEditor:
    assert await wait_for(pilot, lambda: bool(app.workshop.lessons))
    app.workshop.go_to_lesson(lesson_id)
    assert await wait_for(pilot, lambda: app.workshop.source_path is not None
                          and app.workshop.lesson.id == lesson_id)  # fmt: skip
    await settle(app, pilot)
    await pilot.press("E")
    assert await wait_for(pilot, lambda: isinstance(app.screen, EditorScreen))
    return app.screen.query_one("#editor-area", CodeEditor)


def _fresh(lesson_id: str = LESSON) -> Any:
    lesson = lessons.get_lesson(lesson_id)
    lessons.reset_workspace(lesson)
    return lesson


async def test_tab_stays_a_tab_and_find_and_go_to_line(lab_name: Any) -> None:
    lesson = _fresh()
    app = XdpTuiApp(lab=lab_name("tab"))
    async with app.run_test(size=(100, 30)) as pilot:
        area = await _open_editor(app, pilot)
        assert area.indent_type == "tabs"
        await pilot.press("ctrl+g", "3", "enter")
        assert area.cursor_location == (2, 0)
        await pilot.press("tab", "x", "ctrl+s")
        saved = lessons.workspace_source(lesson).read_text().splitlines()
        assert saved[2].startswith("\tx"), saved[2]
        await pilot.press("ctrl+f", *"XDP_PASS", "enter")
        assert area.selected_text == "XDP_PASS"
        await pilot.press("escape")  # closes the find prompt first
        assert isinstance(app.screen, EditorScreen)
        assert app.screen.focused is area


async def test_unsaved_changes_are_asked_about_and_undo_survives_reopening(lab_name: Any) -> None:
    lesson = _fresh()
    path = lessons.workspace_source(lesson)
    app = XdpTuiApp(lab=lab_name("uns"))
    async with app.run_test(size=(100, 30)) as pilot:
        area = await _open_editor(app, pilot)
        area.insert("/* one */\n", (0, 0))
        await pilot.press("escape")
        assert await wait_for(pilot, lambda: isinstance(app.screen, ChoiceScreen))
        await pilot.press("escape")  # no choice: keep editing
        assert await wait_for(pilot, lambda: isinstance(app.screen, EditorScreen))
        assert "/* one */" in area.text
        await pilot.press("escape")
        assert await wait_for(pilot, lambda: isinstance(app.screen, ChoiceScreen))
        await pilot.press("enter")  # the default: save, then close
        assert await wait_for(
            pilot, lambda: not isinstance(app.screen, (EditorScreen, ChoiceScreen))
        )
        assert path.read_text().startswith("/* one */")

        area = await _open_editor(app, pilot)
        assert area.text.startswith("/* one */")
        await pilot.press("ctrl+z")  # the undo history came back with the file
        assert not area.text.startswith("/* one */")


async def test_ctrl_q_asks_before_losing_edits_and_ctrl_c_copies(lab_name: Any) -> None:
    lesson = _fresh()
    path = lessons.workspace_source(lesson)
    app = XdpTuiApp(lab=lab_name("ctq"))
    async with app.run_test(size=(100, 30)) as pilot:
        area = await _open_editor(app, pilot)
        await pilot.press("ctrl+c")  # copies; the app goes on
        await settle(app, pilot)
        assert app.is_running and isinstance(app.screen, EditorScreen)
        area.insert("/* keep me */\n", (0, 0))
        await pilot.press("ctrl+q")
        assert await wait_for(pilot, lambda: isinstance(app.screen, ChoiceScreen))
        assert app.screen.title_text == UNSAVED_QUIT
        await pilot.press("escape")
        assert await wait_for(pilot, lambda: isinstance(app.screen, EditorScreen))
        assert app.is_running
        await pilot.press("ctrl+q", "enter")  # save, then quit
        assert await wait_for(pilot, lambda: not app.is_running)
    assert path.read_text().startswith("/* keep me */")


async def test_save_and_build_marks_the_error_line_in_the_gutter(lab_name: Any) -> None:
    lesson = _fresh()
    app = XdpTuiApp(lab=lab_name("gut"))
    async with app.run_test(size=(100, 30)) as pilot:
        area = await _open_editor(app, pilot)
        row = area.document.line_count - 1
        area.insert("\nint broken = ;\n", area.document.end)
        await pilot.press("ctrl+b")
        assert await wait_for(pilot, lambda: bool(area.marks)), app.workshop.activity.history
        assert isinstance(app.screen, EditorScreen)  # the editor stays open
        assert area.marks[row + 1].severity == "error", area.marks
        message = str(app.screen.query_one("#editor-message").render())
        assert "compiler" in message
        assert app.workshop.source.marks.keys() == area.marks.keys()
    lessons.reset_workspace(lesson)


async def test_a_refusal_in_the_editor_names_a_key_that_opens_the_verifier_log(
    lab_name: Any,
) -> None:
    """In the editor v types a letter: the refusal line says to leave the editor first,
    and the keys it names open the log."""
    from xdp_tui.screens.verifier_log import VerifierLogScreen

    lesson = _fresh("packet01-parsing")  # its starter is refused by the verifier
    app = XdpTuiApp(lab=lab_name("vlg"))
    async with app.run_test(size=(120, 40)) as pilot:
        await _open_editor(app, pilot, lesson.id)
        await pilot.press("ctrl+b")
        message = lambda: str(app.screen.query_one("#editor-message").render())  # noqa: E731
        assert await wait_for(pilot, lambda: "verifier log" in message()), message()
        assert "escape to leave the editor, then v: the verifier log" in message()
        await pilot.press("escape")
        assert await wait_for(pilot, lambda: not isinstance(app.screen, EditorScreen))
        await pilot.press("v")
        assert await wait_for(pilot, lambda: isinstance(app.screen, VerifierLogScreen))
    lessons.reset_workspace(lesson)


async def test_help_documents_escape_and_palette_finds_a_lesson_by_id(lab_name: Any) -> None:
    app = XdpTuiApp(lab=lab_name("pid"))
    async with app.run_test(size=(100, 30)) as pilot:
        assert await wait_for(pilot, lambda: bool(app.workshop.lessons))
        await settle(app, pilot)
        await pilot.press("f1")
        table = app.screen.query_one("#help-keys")
        keys = [str(table.get_row_at(i)[0]) for i in range(table.row_count)]
        assert any("esc" in key for key in keys), keys
        assert any("^q" in key or "ctrl+q" in key for key in keys), keys
        await pilot.press("escape")
        await pilot.press("ctrl+p")
        assert await wait_for(pilot, lambda: type(app.screen).__name__ == "CommandPalette")
        await pilot.pause()  # the search field has the focus: type into it
        await pilot.press(*"packet01")
        hits = app.screen.query_one("CommandList")
        assert await wait_for(pilot, lambda: hits.option_count > 0)
        await pilot.press("enter")
        assert await wait_for(pilot, lambda: app.workshop.lesson is not None
                              and app.workshop.lesson.id.startswith("packet01"))  # fmt: skip


async def test_readme_code_blocks_copy_and_addresses_match_the_lab(make_lab: Any) -> None:
    import asyncio

    from xdp_tui.widgets.readme_view import code_blocks

    lab = await asyncio.to_thread(make_lab, "rdm")
    app = XdpTuiApp(lab=lab.name)
    async with app.run_test(size=(100, 30)) as pilot:
        assert await wait_for(pilot, lambda: bool(app.workshop.lessons))
        app.workshop.go_to_lesson("packet01-parsing")
        readme = app.workshop.readme
        assert await wait_for(pilot, lambda: "Parsing" in readme.markdown_text)
        assert lab.outer_ipv6 in readme.markdown_text  # the lab's own address, not "N"
        assert "cafe:N::" not in readme.markdown_text
        await pilot.press("y")
        assert await wait_for(pilot, lambda: isinstance(app.screen, ChoiceScreen))
        await pilot.press("enter")
        await settle(app, pilot)
        assert app.clipboard == code_blocks(readme.markdown_text)[0]


async def test_edits_rescued_at_an_unasked_ending_come_back(lab_name: Any) -> None:
    from xdp_tui.screens.editor import recovery_path

    lesson = _fresh()
    path = lessons.workspace_source(lesson)
    app = XdpTuiApp(lab=lab_name("rsc"))
    async with app.run_test(size=(100, 30)) as pilot:
        area = await _open_editor(app, pilot)
        area.insert("/* rescued */\n", (0, 0))
        app._rescue_edits()  # what SIGTERM, SIGHUP and a defect do before leaving
    assert recovery_path(path).read_text().startswith("/* rescued */")
    assert not path.read_text().startswith("/* rescued */")

    app = XdpTuiApp(lab=lab_name("rsc"))
    async with app.run_test(size=(100, 30)) as pilot:
        assert await wait_for(pilot, lambda: app.workshop.source_path is not None)
        app.workshop.go_to_lesson(LESSON)
        await settle(app, pilot)
        await pilot.press("E")  # the editor opens and offers the rescued changes
        assert await wait_for(pilot, lambda: isinstance(app.screen, ChoiceScreen))
        area = app.screen_stack[-2].query_one("#editor-area", CodeEditor)
        await pilot.press("enter")  # restore
        assert await wait_for(pilot, lambda: area.text.startswith("/* rescued */"))
        assert not recovery_path(path).exists()
        assert app.screen.unsaved  # restored into the editor, saving is the learner's call
        await pilot.press("ctrl+s")
    assert path.read_text().startswith("/* rescued */")
    lessons.reset_workspace(lesson)


async def test_tab_reaches_the_inner_tabs_and_pagedown_moves_in_lists() -> None:
    from textual.widgets import OptionList

    from tests.tui.conftest import FrozenWorkbench
    from xdp_tui.widgets.object_view import ObjectView

    app = XdpTuiApp(workbench=FrozenWorkbench(lab="test01"))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("6")  # the Object tab
        assert await wait_for(pilot, lambda: bool(app.workshop.query(ObjectView)))
        view = app.workshop.query_one(ObjectView)
        reached = []
        for _ in range(6):
            await pilot.press("tab")
            reached.append(app.focused)
        assert any(widget is not None and view in widget.ancestors for widget in reached)

        await pilot.press("3")  # the Tasks tab
        items = app.workshop.query_one("#checklist-items", OptionList)
        items.focus()
        items.clear_options()
        items.add_options([f"item {n}" for n in range(60)])
        items.highlighted = 0
        await pilot.press("pagedown")
        assert (items.highlighted or 0) > 1


async def test_the_app_reopens_on_the_last_lesson_and_tab() -> None:
    from tests.tui.conftest import FrozenWorkbench

    app = XdpTuiApp(workbench=FrozenWorkbench(lab="test01"))
    async with app.run_test(size=(100, 30)) as pilot:
        assert await wait_for(pilot, lambda: app.workshop.lesson is not None)
        await settle(app, pilot)
        app.workshop.go_to_lesson("demo02-count")
        await pilot.press("3")  # the Tasks tab
        assert await wait_for(pilot, lambda: app.workshop.active_tab == "tasks")
        await settle(app, pilot)

    again = XdpTuiApp(workbench=FrozenWorkbench(lab="test01"))
    async with again.run_test(size=(100, 30)) as pilot:
        assert await wait_for(pilot, lambda: again.workshop.lesson is not None
                              and again.workshop.lesson.id == "demo02-count")  # fmt: skip
        assert await wait_for(pilot, lambda: again.workshop.active_tab == "tasks")


async def test_reopening_on_the_run_frame_tab_leaves_the_digit_keys_working() -> None:
    """The Run-frame tab puts the focus in its spec when the learner asks for the tab; when
    the app only reopens on it, a learner's first `1` must show the README, not type a 1."""
    from textual.widgets import Input

    from tests.tui.conftest import FrozenWorkbench

    app = XdpTuiApp(workbench=FrozenWorkbench(lab="test01"))
    async with app.run_test(size=(100, 30)) as pilot:
        assert await wait_for(pilot, lambda: app.workshop.lesson is not None)
        await settle(app, pilot)
        await pilot.press("9")  # asked for: the spec takes typing
        assert await wait_for(pilot, lambda: isinstance(app.focused, Input))
        await settle(app, pilot)

    again = XdpTuiApp(workbench=FrozenWorkbench(lab="test01"))
    async with again.run_test(size=(100, 30)) as pilot:
        assert await wait_for(pilot, lambda: again.workshop.active_tab == "packet-bench")
        await settle(again, pilot)
        assert not isinstance(again.focused, Input)
        await pilot.press("1")
        assert await wait_for(pilot, lambda: again.workshop.active_tab == "readme")


async def test_a_burst_of_keys_edits_in_the_order_typed() -> None:
    """Backspace and arrows used to run after the letters typed behind them (Textual runs a
    widget's own bindings once the key has bubbled up to the app): "abc", 3 backspaces, "XY"
    gave "aXY" when the keys came in a burst, as over SSH or with key repeat."""
    from textual import events
    from textual.app import App, ComposeResult

    from xdp_tui import paths
    from xdp_tui.widgets.source_view import c_editor

    solution = paths.lessons_dir() / "packet03-redirecting" / "solution" / "xdp_prog_kern.c"

    class EditorApp(App[None]):
        def compose(self) -> ComposeResult:
            yield c_editor("\n" + solution.read_text(), read_only=False, id="area")

    app = EditorApp()
    async with app.run_test(size=(100, 20)) as pilot:
        area = app.query_one(CodeEditor)
        area.focus()
        await pilot.pause()
        burst = [*"abcdefghijkl", *["backspace"] * 12, *"XYZ", "left", "left", "Q", "end", "E"]
        for key in burst:  # posted at once, as the terminal driver does with a burst
            app.post_message(events.Key(key, key if len(key) == 1 else None))
        await wait_for(pilot, lambda: "E" in area.document[0])
        await pilot.pause()
        assert area.document[0] == "XQYZE"
