"""The workshop app: `xdp-tui` without a command.

`run_app` moves C-level stderr (libbpf, bcc, clang) to a log file before
Textual takes the terminal, runs the app, and whatever way the app ends
(q, ctrl+q, SIGTERM, SIGHUP from a dropped SSH link) detaches what the
session attached. The engine attaches with BPF links, which the kernel
drops when the process dies, but we still close them explicitly.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import signal
import sys
import termios
import threading
from dataclasses import replace
from pathlib import Path

from textual.app import App
from textual.binding import Binding
from textual.widgets import TabbedContent

from xdp_tui import config, paths
from xdp_tui.errors import XdpTuiError
from xdp_tui.screens.chooser import ChoiceScreen
from xdp_tui.screens.commands import WorkshopCommands
from xdp_tui.screens.editor import EditorScreen
from xdp_tui.screens.help import HelpScreen
from xdp_tui.screens.main import WORKSHOP_KEYS, WorkshopScreen
from xdp_tui.screens.problems import log_unexpected
from xdp_tui.stderr import divert_fd2_to_log
from xdp_tui.widgets.lesson_browser import LessonBrowser
from xdp_tui.workbench import Workbench

LEAVING_SIGNALS = (signal.SIGTERM, signal.SIGHUP)
UNSAVED_QUIT = "The editor has unsaved changes."

# Keys every screen shares, listed in the help after the workshop's own.
GENERAL_KEYS = [
    Binding("ctrl+p", "command_palette", "Commands", tooltip="Find any command or lesson by name"),
    Binding("ctrl+q", "quit", "Quit", tooltip="Same as q; asks first about unsaved edits"),
    Binding("ctrl+c", "copy", "Copy", tooltip="Copy the selected text (works over SSH too)"),
    Binding("escape", "back", "Back", tooltip="Close a dialog, the editor or a full screen"),
    Binding("tab", "next", "Next", tooltip="Move the focus to the next part (shift+tab: back)"),
    Binding("pageup,pagedown", "page", "Page", tooltip="Move a page in lists and texts"),
]
TERMINAL_CHECK_S = 1.0


def terminal_hung_up(fd: int) -> bool:
    """True once the terminal behind FD is gone (a hung-up tty answers EIO).

    SIGHUP normally tells us; this catches a hang-up whose signal never came,
    so the app does not outlive its terminal.
    """
    try:
        termios.tcgetattr(fd)
    except termios.error as exc:
        return exc.args[0] == errno.EIO
    return False


class XdpTuiApp(App[int]):
    CSS_PATH = Path(__file__).with_name("app.tcss")  # absolute: subclasses elsewhere work too
    TITLE = "xdp-tui"
    COMMANDS = App.COMMANDS | {WorkshopCommands}
    BINDINGS = [
        Binding("f1", "help", "Help", id="app.help", tooltip="All keys", show=False),
        Binding("q", "quit", "Quit", id="app.quit", tooltip="Detach and leave", show=False),
        # Textual's conventions: ctrl+q quits (asking first about unsaved edits) from
        # anywhere, even the editor; ctrl+c copies the selection (OSC 52, works over SSH).
        Binding("ctrl+q", "quit", "Quit", show=False, priority=True, id="app.interrupt"),
    ]

    def __init__(self, lab: str | None = None, *, workbench: Workbench | None = None) -> None:
        super().__init__()
        self.workbench = workbench or Workbench(lab)
        self._internal_error: Exception | None = None
        self.workshop = WorkshopScreen(self.workbench)
        self._remembered = config.State()
        self._lesson_restored = False
        self.keymap_in_use: dict[str, str] = {}  # binding id -> keys, from config.toml

    def on_mount(self) -> None:
        self._apply_settings()
        self._install_signal_handlers()
        self._watch_terminal()
        self.push_screen(self.workshop)

    # ---- settings and remembered choices (xdp_tui.config) ----------------------------

    def _apply_settings(self) -> None:
        """The learner's keymap and theme from config.toml, and what they chose last time."""
        settings = config.load_settings()
        self._remembered = config.load_state()
        self.keymap_in_use = dict(settings.keymap)  # what the key bar and help show
        self.set_keymap(settings.keymap)
        for problem in settings.problems:
            self.notify(problem.render(), title="config.toml not used", severity="warning")
        self._pick_theme(self._remembered.theme or settings.theme)
        self.watch(self, "theme", lambda _theme: self._remember(), init=False)

    def _pick_theme(self, preferred: str | None) -> None:
        """XDP_TUI_THEME wins, then PREFERRED; a 16-colour terminal gets the ANSI theme."""
        wanted = config.theme_override() or preferred
        if not wanted and self.console.color_system in ("standard", "windows"):
            wanted = "ansi-dark"
        if wanted and wanted in self.available_themes:
            self.theme = wanted

    def on_lesson_browser_chosen(self, event: LessonBrowser.Chosen) -> None:
        """Back to the lesson and tab of last time once the list is filled; then follow."""
        last = self._remembered.last_lesson
        if not self._lesson_restored:
            self._lesson_restored = True
            self._restore_tab()
            if last and last != event.lesson.id:
                self.workshop.go_to_lesson(last)
                return
        self._remembered = replace(self._remembered, theme=self.theme, last_lesson=event.lesson.id)

    def _restore_tab(self) -> None:
        tab = self._remembered.last_tab
        if tab and tab != self.workshop.active_tab:
            with contextlib.suppress(ValueError, LookupError):  # a tab this version lacks
                self.workshop.switch_tab(tab, focus_inside=False)

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        if event.tabbed_content.id == "tabs" and event.pane.id and self._lesson_restored:
            self._remembered = replace(self._remembered, last_tab=event.pane.id)

    def _remember(self) -> None:
        self._remembered = replace(self._remembered, theme=self.theme)
        try:
            config.save_state(self._remembered)
        except XdpTuiError as exc:  # only a convenience: say why, carry on
            self.log.warning(f"state not saved: {exc.render('tui')}")

    def _install_signal_handlers(self) -> None:
        loop = asyncio.get_running_loop()
        for signum in LEAVING_SIGNALS:
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(signum, self._leave_on_signal, signum)

    def _watch_terminal(self) -> None:
        if sys.__stdin__ is None:  # started without any stdin
            return
        try:
            fd = sys.__stdin__.fileno()
        except (AttributeError, ValueError, OSError):  # no stdin at all
            return
        if os.isatty(fd):  # headless tests and pipes have no terminal to lose
            self.set_interval(TERMINAL_CHECK_S, lambda: self._leave_if_hung_up(fd))

    def _leave_if_hung_up(self, fd: int) -> None:
        if terminal_hung_up(fd):
            self._leave_on_signal(signal.SIGHUP)

    def _rescue_edits(self) -> None:
        """Unsaved editor changes go next to their file before an unasked ending."""
        for screen in self.screen_stack:
            if isinstance(screen, EditorScreen):
                try:
                    screen.rescue()
                except Exception as exc:  # noqa: BLE001 - leaving must go on; logged
                    log_unexpected(exc)

    def _leave_on_signal(self, signum: int) -> None:
        self._rescue_edits()
        self.workbench.close()  # first: the terminal may already be gone (SIGHUP)
        # With the terminal gone Textual's driver can spin on EIO instead of exiting,
        # so a dropped SSH link would leave a busy orphan: end for sure, soon.
        grace_s = 0.5 if signum == signal.SIGHUP else 3.0
        timer = threading.Timer(grace_s, os._exit, args=(128 + signum,))
        timer.daemon = True
        timer.start()
        self.exit(128 + signum)

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen([*WORKSHOP_KEYS, *GENERAL_KEYS]))

    async def action_quit(self) -> None:
        """Leave, detaching; unsaved editor changes are saved or dropped only when asked to."""
        if isinstance(self.screen, ChoiceScreen) and self.screen.title_text == UNSAVED_QUIT:
            return  # already asking
        editors = [s for s in self.screen_stack if isinstance(s, EditorScreen) and s.is_mounted]
        if editors:
            # Behind the keys typed just before ctrl+q (queued on the editor's text area).
            editors[-1].area.call_later(self._quit_or_ask)
        else:
            self._quit_or_ask()

    def _quit_or_ask(self) -> None:
        unsaved = [s for s in self.screen_stack if isinstance(s, EditorScreen) and s.unsaved]
        if not unsaved:
            self._leave()
            return

        def answered(choice: str | None) -> None:
            if choice == "save":
                if all(editor.save() for editor in unsaved):  # one not saved: stay, say why
                    self._leave()
            elif choice == "discard":
                self._leave()

        choices = [
            ("save", "Save, then quit"),
            ("discard", "Quit without saving (your changes are lost)"),
            ("stay", "Don't quit"),
        ]
        self.push_screen(ChoiceScreen(UNSAVED_QUIT, choices, "save"), answered)

    def _leave(self) -> None:
        self.workbench.close()
        self.exit(0)

    def on_unmount(self) -> None:
        self.workbench.close()
        self._remember()

    def _handle_exception(self, error: Exception) -> None:
        """A defect in the app: keep the traceback in the log, detach, leave with one line."""
        log_unexpected(error)
        self._internal_error = error
        self._rescue_edits()
        self.workbench.close()
        super()._handle_exception(error)

    def _print_error_renderables(self) -> None:
        # Textual would print a full traceback here; the log file already has it.
        if self._exit_renderables and self._internal_error is not None:
            self._exit_renderables.clear()
            self.error_console.print(
                f"xdp-tui: internal error: {self._internal_error!r}\n  details: {paths.log_file()}",
                markup=False,
                highlight=False,
            )
        super()._print_error_renderables()


def run_app(lab: str | None = None) -> int:
    """Run the TUI on LAB (default: the current lab, or test01); returns the exit code."""
    divert_fd2_to_log(paths.log_file())
    _log_to_file(paths.log_file())
    app = XdpTuiApp(lab=lab)
    try:
        app.run()
    finally:
        app.workbench.close()
    return int(app.return_code or 0)


def _log_to_file(log_path: Path) -> None:
    """The workbench's notes (what it went on without, and why) go to the log file."""
    handler = logging.FileHandler(log_path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s: %(message)s"))
    logger = logging.getLogger("xdp_tui")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
