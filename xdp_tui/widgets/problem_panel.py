"""Under the source: what went wrong (compiler or verifier), where, and what to do."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static


class ProblemPanel(Static):
    """Hidden until there is a problem; `show_problem` fills it, `clear_problem` hides it."""

    DEFAULT_CSS = """
    ProblemPanel { display: none; height: auto; max-height: 10; overflow-y: auto; }
    ProblemPanel.-shown { display: block; }
    """

    def show_problem(
        self,
        title: str,
        lines: list[tuple[str, str]],
        hint: str | None,
        *,
        style: str = "bold red",
    ) -> None:
        """TITLE in bold (red: a failure; yellow: warnings), then (text, style) LINES, then the hint."""
        text = Text(title, style=style)
        for line, style in lines:
            text.append("\n")
            text.append(line, style)
        if hint:
            text.append("\nhint: ", "bold")
            text.append(hint)
        self.update(text)
        self.add_class("-shown")

    def clear_problem(self) -> None:
        self.update("")
        self.remove_class("-shown")
