"""The verifier's log of the last refusal: plain words on top, then the log with the C lines.

Built from `engine.verifier.log_view` (typed `LogLine`s): source lines are set
off with their number, the refused instruction and the verifier's reason are
highlighted, and the view opens scrolled to the refused instruction.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, RichLog, Static

from xdp_tui.engine.verifier import LogLine, VerifierLogView, VerifierReport, log_view

LINE_STYLES = {
    "source": "cyan",
    "insn": "",
    "state": "bright_black",
    "error": "bold red",
    "summary": "bright_black",
    "other": "",
}


def log_line_text(line: LogLine) -> Text:
    """One log line as shown: C lines numbered, the failing instruction marked."""
    if line.kind == "source":
        number = f"{line.source_line:>4}" if line.source_line else "   ?"
        return Text(f"   {number} │ {line.text}", style=LINE_STYLES["source"])
    if line.failing:
        return Text(f">> {line.text}", style="bold white on red")
    return Text(f"   {line.text}", style=LINE_STYLES[line.kind])


def summary_text(view: VerifierLogView) -> Text:
    text = Text(view.headline, style="bold red")
    if view.error_text:
        text.append(f"\nthe verifier said: {view.error_text}", "red")
    if view.explanation:
        text.append("\nin plain words: ", "bold")
        text.append(view.explanation)
    return text


class VerifierLogScreen(Screen[None]):
    BINDINGS = [Binding("escape,q", "close", "Back", id="verifier_log.close")]

    def __init__(self, report: VerifierReport) -> None:
        super().__init__()
        self.view = log_view(report)

    def compose(self) -> ComposeResult:
        yield Static("verifier log  (esc to go back)", id="verifier-title")
        yield Static(summary_text(self.view), id="verifier-summary")
        yield RichLog(id="verifier-log", wrap=True, markup=False, highlight=False, min_width=1)
        yield Footer()

    def on_mount(self) -> None:
        log = self.query_one(RichLog)
        for line in self.view.lines:
            log.write(log_line_text(line), scroll_end=False)
        log.focus()
        self.call_after_refresh(self._scroll_to_failure)

    def _scroll_to_failure(self) -> None:
        index = self.view.failing_index
        if index is not None:
            log = self.query_one(RichLog)
            log.scroll_to(y=max(index - 5, 0), animate=False)

    def action_close(self) -> None:
        self.dismiss(None)
