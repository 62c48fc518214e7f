"""C source with highlighting: the read-only Source view and the in-app editor share `CodeEditor`.

Textual ships no C highlight query, so we register tree-sitter-c's own
query per instance and map its capture names to ANSI colours (readable with
16 colours and over any SSH terminal). `CodeEditor` adds what a learner's
editor needs: the file's own indentation (tabs stay tabs), find, go to
line, and gutter marks for the last build's errors and warnings.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.strip import Strip
from textual.widgets import TextArea
from textual.widgets.text_area import Document, Selection, TextAreaTheme

# Named ANSI colours: the terminal's palette decides, so 16-colour terminals work.
C_THEME = TextAreaTheme(
    name="xdp-c",
    syntax_styles={
        "keyword": Style(color="magenta", bold=True),
        "string": Style(color="yellow"),
        "comment": Style(color="bright_black", italic=True),
        "function": Style(color="cyan"),
        "function.call": Style(color="cyan"),
        "type": Style(color="green"),
        "operator": Style(color="bright_white"),
        "constant": Style(color="blue", bold=True),
        "number": Style(color="blue"),
        "property": Style(color="bright_cyan"),
        "label": Style(color="magenta"),
        "delimiter": Style(),
        "variable": Style(),
    },
)


def register_c(text_area: TextArea) -> bool:
    """Give TEXT_AREA C highlighting; False when tree-sitter-c is missing."""
    try:
        import tree_sitter_c
        from tree_sitter import Language
    except ImportError:
        return False
    text_area.register_language(
        "c", Language(tree_sitter_c.language()), tree_sitter_c.HIGHLIGHTS_QUERY
    )
    text_area.register_theme(C_THEME)
    return True


Severity = Literal["error", "warning"]
MARK_GLYPH: dict[str, str] = {"error": "●", "warning": "▲"}
MARK_STYLE: dict[str, Style] = {
    "error": Style(color="red", bold=True),
    "warning": Style(color="yellow", bold=True),
}


@dataclass(frozen=True)
class LineMark:
    """A build diagnostic on one source line (1-based), drawn in the gutter."""

    line: int
    severity: Severity
    message: str


def uses_tabs(text: str) -> bool:
    """True when the file indents with tabs (more tab- than space-indented lines)."""
    tabs = spaces = 0
    for line in text.splitlines():
        if line.startswith("\t"):
            tabs += 1
        elif line.startswith("  "):
            spaces += 1
    return tabs > spaces


class CodeEditor(TextArea):
    """A C TextArea with gutter marks, find and go-to-line; keeps the file's indentation."""

    def __init__(self, text: str = "", *, read_only: bool, id: str | None = None) -> None:
        super().__init__(
            text,
            read_only=read_only,
            show_line_numbers=True,
            soft_wrap=False,
            tab_behavior="indent",
            id=id,
        )
        self.marks: dict[int, LineMark] = {}  # 0-based row -> mark
        self.match_indentation(text)
        if register_c(self):
            self.theme = "xdp-c"
            self.language = "c"

    async def _on_key(self, event: events.Key) -> None:
        """Editing and moving keys take effect in the order they were typed.

        Textual runs a widget's own bindings (backspace, delete, arrows, home, ...) only once
        the key has bubbled up to the app, while a printable key is inserted here at once. In
        a burst (key repeat, a fast typist, SSH handing over keys in batches) the letters
        overtook: "abc", three backspaces, "XY" left "aXY". So our own bindings run here.
        """
        if not self.read_only:
            for binding in self._bindings.key_to_bindings.get(event.key, ()):
                if not binding.priority and await self.app.run_action(binding.action, self):
                    event.stop()
                    event.prevent_default()
                    return
        await super()._on_key(event)

    def match_indentation(self, text: str) -> None:
        """Tab inserts what the file uses, so clang never sees mixed indentation we made."""
        self.indent_type = "tabs" if uses_tabs(text) else "spaces"
        if self.indent_type == "tabs":
            self.indent_width = 8  # how C code indented with tabs is meant to look

    def set_marks(self, marks: list[LineMark]) -> None:
        """Mark these lines in the gutter (errors win over warnings on the same line)."""
        self.marks = {}
        for mark in marks:
            row = mark.line - 1
            if row >= 0 and (row not in self.marks or mark.severity == "error"):
                self.marks[row] = mark
        self._line_cache.clear()
        self.refresh()

    def mark_at_cursor(self) -> LineMark | None:
        return self.marks.get(self.cursor_location[0])

    def _render_line(self, y: int) -> Strip:
        strip = super()._render_line(y)
        row = y + int(self.scroll_offset.y)  # no soft wrap: one screen row per line
        mark = self.marks.get(row)
        width = self.gutter_width
        if mark is None or not self.show_line_numbers or width < 3:
            return strip
        gutter, rest = strip.crop(0, width), strip.crop(width, strip.cell_length)
        text = gutter.text
        glyph = MARK_GLYPH[mark.severity]
        marked = Segment(text[: width - 2] + glyph + text[width - 1 :], MARK_STYLE[mark.severity])
        return Strip.join([Strip([marked], width), rest])

    def find_next(self, needle: str) -> bool:
        """Select the next occurrence of NEEDLE after the cursor (wrapping); False if none."""
        document = self.document
        if not needle or not isinstance(document, Document):
            return False
        text = self.text
        start = document.get_index_from_location(self.selection.end)
        index = text.find(needle, start)
        if index < 0:
            index = text.find(needle)
        if index < 0:
            return False
        begin = document.get_location_from_index(index)
        end = document.get_location_from_index(index + len(needle))
        self.selection = Selection(begin, end)
        self.scroll_cursor_visible(center=True)
        return True

    def go_to_line(self, line: int) -> None:
        """Put the cursor at the start of LINE (1-based, clamped to the file)."""
        row = min(max(line - 1, 0), self.document.line_count - 1)
        self.selection = Selection.cursor((row, 0))
        self.scroll_cursor_visible(center=True)


def c_editor(text: str = "", *, read_only: bool, id: str | None = None) -> CodeEditor:
    """A code editor set up for C (the in-app editor)."""
    return CodeEditor(text, read_only=read_only, id=id)


class SourceView(CodeEditor):
    """The lesson's C file, read-only, with `point_at(line)` for build and verifier errors."""

    DEFAULT_CSS = """
    SourceView { border: none; padding: 0; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", read_only=True, id=id)
        self.path: Path | None = None

    def show_text(self, text: str, path: Path | None = None) -> None:
        self.path = path
        self.match_indentation(text)
        self.load_text(text)

    def point_at(self, line: int, column: int = 1) -> None:
        """Select source line LINE (1-based) and scroll it into view, its start visible."""
        row = max(line - 1, 0)
        if row >= self.document.line_count:
            return
        length = len(self.document.get_line(row))
        # The cursor at the line's start: a long line never scrolls its start away.
        self.selection = Selection((row, length), (row, 0))
        self.scroll_cursor_visible(center=True)
        self.scroll_to(x=0, animate=False)
