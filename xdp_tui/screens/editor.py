"""Edit the learner's source inside the app (when no $EDITOR or no terminal to hand over).

The editor keeps the file's indentation (tabs stay tabs), finds text (ctrl+f),
goes to a line (ctrl+g), saves (ctrl+s), saves and builds (ctrl+b) while staying
open, and shows the last build's errors and warnings in its gutter. Cursor and
undo history are kept per file for the session (`EditorMemory`), and unsaved
changes are never dropped silently: closing or quitting asks first, and when
the app ends without asking (SIGTERM, a dropped SSH link, a defect) they are
written next to the file (`<file>.unsaved`) and offered back at the next edit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Input, Static
from textual.widgets.text_area import EditHistory, Selection

from xdp_tui import userfiles
from xdp_tui.errors import XdpTuiError
from xdp_tui.screens.chooser import ChoiceScreen
from xdp_tui.widgets.source_view import CodeEditor, LineMark, c_editor

PromptKind = Literal["find", "line"]

UNSAVED_CHOICES = [
    ("save", "Save, then close"),
    ("discard", "Close without saving (your changes are lost)"),
    ("stay", "Keep editing"),
]


RECOVERY_CHOICES = [
    ("restore", "Restore them (ctrl+z undoes it)"),
    ("discard", "Discard them"),
]


def recovery_path(path: Path) -> Path:
    """Where unsaved changes go when the app ends without asking."""
    return path.with_name(path.name + ".unsaved")


@dataclass
class EditorMemory:
    """What the editor had when it closed, so reopening the same file resumes there."""

    text: str
    history: EditHistory
    selection: Selection


class EditorScreen(Screen[bool]):
    """Dismisses with True when the file was saved at least once."""

    # Priority: in a code editor these keys would otherwise stay in the TextArea.
    BINDINGS = [
        Binding("ctrl+s", "save", "Save", id="editor.save", priority=True),
        Binding("ctrl+b", "save_build", "Save+build", id="editor.build", priority=True),
        Binding("ctrl+f", "prompt('find')", "Find", id="editor.find", priority=True),
        Binding("ctrl+g", "prompt('line')", "Go to line", id="editor.line", priority=True),
        Binding("escape", "close", "Close", id="editor.close", priority=True),
    ]

    def __init__(
        self,
        path: Path,
        text: str,
        save: Callable[[Path, str], None],
        *,
        memory: dict[Path, EditorMemory] | None = None,
        marks: list[LineMark] | None = None,
        build: Callable[[], None] | None = None,
    ) -> None:
        """TEXT: PATH's content as read; SAVE writes a file (as the learner, no links)."""
        super().__init__()
        self.path = path
        self.saved = False
        self._saved_text = text
        self._save = save
        self._memory = memory if memory is not None else {}
        self._marks = list(marks or [])
        self._build = build
        self._prompt_kind: PromptKind = "find"

    def compose(self) -> ComposeResult:
        yield Static(self._title(), id="editor-title")
        yield c_editor(self._saved_text, read_only=False, id="editor-area")
        yield Static("", id="editor-message")
        yield Input(id="editor-prompt")
        yield Footer()

    def _title(self, extra: str = "") -> str:
        keys = "ctrl+s save · ctrl+b save+build · ctrl+f find · ctrl+g line · esc close"
        return f"editing {self.path.name}  ({keys}){extra}"

    @property
    def area(self) -> CodeEditor:
        return self.query_one("#editor-area", CodeEditor)

    @property
    def unsaved(self) -> bool:
        return self.is_mounted and self.area.text != self._saved_text

    def on_mount(self) -> None:
        self.query_one("#editor-prompt", Input).display = False
        self._restore()
        self.area.set_marks(self._marks)
        self.area.focus()
        self._offer_recovery()

    def _offer_recovery(self) -> None:
        """Changes a session that ended without asking left behind: offered back, never lost."""
        rescued = recovery_path(self.path)
        try:
            if not userfiles.is_file(rescued):
                return
            text = userfiles.read_text(rescued)  # as the learner, never through a link
        except (XdpTuiError, OSError):
            return
        if text == self._saved_text:
            rescued.unlink(missing_ok=True)
            return

        def answered(choice: str | None) -> None:
            if choice == "restore":
                area = self.area
                area.replace(text, (0, 0), area.document.end)
                self.say(f"restored the unsaved changes from {rescued.name} (not saved yet)")
            if choice in ("restore", "discard"):
                rescued.unlink(missing_ok=True)

        title = f"{self.path.name} has unsaved changes from a session that ended."
        self.app.push_screen(ChoiceScreen(title, RECOVERY_CHOICES, "restore"), answered)

    def rescue(self) -> Path | None:
        """Write unsaved changes next to the file (the app is ending without asking)."""
        if not self.unsaved:
            return None
        rescued = recovery_path(self.path)
        self._save(rescued, self.area.text)
        return rescued

    def _restore(self) -> None:
        """Cursor and undo from the last time this file was open (if it is unchanged since)."""
        memory = self._memory.get(self.path)
        if memory is None or memory.text != self._saved_text:
            return
        area = self.area
        area.history = memory.history
        line_count = area.document.line_count
        if memory.selection.end[0] < line_count and memory.selection.start[0] < line_count:
            area.selection = memory.selection
        area.scroll_cursor_visible(center=True)

    def _remember(self) -> None:
        area = self.area
        self._memory[self.path] = EditorMemory(area.text, area.history, area.selection)

    # ---- saving and building ---------------------------------------------------

    # The keys are priority bindings: they run before the text area has handled the
    # keys typed just before them (queued on the text area). Each action therefore
    # queues its work behind those keys, so what is saved is what was typed.

    def action_save(self) -> None:
        self.area.call_later(self._save_and_say)

    def _save_and_say(self) -> None:
        if self.save():
            self.notify(f"saved {self.path.name}")

    def save(self) -> bool:
        """Write the text to the file; False (and said) when it could not be saved."""
        text = self.area.text
        try:
            self._save(self.path, text)
        except XdpTuiError as exc:
            self.notify(exc.render("tui"), title="Not saved", severity="error", timeout=10)
            return False
        self._saved_text = text
        self.saved = True
        return True

    def action_save_build(self) -> None:
        self.area.call_later(self._save_and_build)

    def _save_and_build(self) -> None:
        if not self.save():
            return
        if self._build is None:
            self.notify(f"saved {self.path.name}")
            return
        self.say(f"saved {self.path.name}; building…", "yellow")
        self._build()

    def show_build(self, marks: list[LineMark], summary: str, style: str) -> None:
        """The outcome of a build started here: gutter marks and one line under the text."""
        self._marks = list(marks)
        if self.is_mounted:
            self.area.set_marks(self._marks)
            self.say(summary, style)

    def say(self, text: str, style: str = "") -> None:
        self.query_one("#editor-message", Static).update(Text(text, style=style))

    def on_text_area_selection_changed(self) -> None:
        mark = self.area.mark_at_cursor()
        if mark is not None:
            self.say(f"line {mark.line}: {mark.severity}: {mark.message}",
                     "red" if mark.severity == "error" else "yellow")  # fmt: skip

    # ---- find and go to line ----------------------------------------------------

    def action_prompt(self, kind: PromptKind) -> None:
        prompt = self.query_one("#editor-prompt", Input)
        self._prompt_kind = kind
        prompt.placeholder = (
            "find (enter: next match)" if kind == "find" else "go to line (a number)"
        )
        if kind == "line":
            prompt.value = ""
        prompt.display = True
        prompt.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        value = event.value.strip() if self._prompt_kind == "line" else event.value
        if self._prompt_kind == "find":
            if not self.area.find_next(value):
                self.say(f"not found: {value}", "yellow")
            return  # the prompt stays: enter again finds the next one
        if not value.isdigit():
            self.say(f"not a line number: {value}", "yellow")
            return
        self.area.go_to_line(int(value))
        self._hide_prompt()

    def _hide_prompt(self) -> None:
        prompt = self.query_one("#editor-prompt", Input)
        prompt.display = False
        self.area.focus()

    # ---- closing ---------------------------------------------------------------

    def action_close(self) -> None:
        if self.query_one("#editor-prompt", Input).display:
            self._hide_prompt()
            return
        self.area.call_later(self._close_or_ask)

    def _close_or_ask(self) -> None:
        if not self.unsaved:
            self._leave()
            return

        def answered(choice: str | None) -> None:
            if choice == "save":
                if self.save():  # not saved: the editor stays open, nothing lost
                    self._leave()
            elif choice == "discard":
                self._leave()

        title = f"{self.path.name} has unsaved changes."
        self.app.push_screen(ChoiceScreen(title, UNSAVED_CHOICES, "save"), answered)

    def _leave(self) -> None:
        self._remember()
        self.dismiss(self.saved)
