"""Read-only C source with highlighting, and a way to point at one line.

Textual ships no C highlight query, so we register tree-sitter-c's own
query per instance and map its capture names to ANSI colours (readable with
16 colours and over any SSH terminal).
"""

from __future__ import annotations

from pathlib import Path

from rich.style import Style
from textual.widgets import TextArea
from textual.widgets.text_area import Selection, TextAreaTheme

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


def c_editor(text: str = "", *, read_only: bool, id: str | None = None) -> TextArea:
    """A code editor TextArea set up for C (used by the source view and the in-app editor)."""
    area = TextArea.code_editor(text, read_only=read_only, id=id, soft_wrap=False)
    if register_c(area):
        area.theme = "xdp-c"
        area.language = "c"
    return area


class SourceView(TextArea):
    """The lesson's C file, read-only, with `point_at(line)` for build and verifier errors."""

    DEFAULT_CSS = """
    SourceView { border: none; padding: 0; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", read_only=True, show_line_numbers=True, soft_wrap=False, id=id)
        self.path: Path | None = None
        if register_c(self):
            self.theme = "xdp-c"
            self.language = "c"

    def show_text(self, text: str, path: Path | None = None) -> None:
        self.path = path
        self.load_text(text)

    def point_at(self, line: int, column: int = 1) -> None:
        """Select source line LINE (1-based) and scroll it into the middle of the view."""
        row = max(line - 1, 0)
        if row >= self.document.line_count:
            return
        length = len(self.document.get_line(row))
        self.selection = Selection((row, 0), (row, length))
        self.scroll_cursor_visible(center=True)
