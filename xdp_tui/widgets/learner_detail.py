"""One learner, on demand: their last check's output and their diff against the solution."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.syntax import Syntax
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from xdp_tui.room.model import LearnerDetail


class LearnerDetailView(VerticalScroll):
    """Read-only: nothing here writes to a learner's machine."""

    shown: LearnerDetail | None = None

    def compose(self) -> ComposeResult:
        yield Static(
            Text("Select a learner (enter) to see their last check and diff.", style="dim"),
            id="learner-detail-body",
        )

    def show_loading(self, host: str, user: str) -> None:
        self.border_title = f"{user}@{host}"
        self._body(Text(f"fetching {user}'s work from {host}…", style="dim"))

    def show_detail(self, detail: LearnerDetail) -> None:
        self.border_title = f"{detail.user}@{detail.host}"
        self.shown = detail
        self._body(render_detail(detail))
        self.scroll_home(animate=False)

    def _body(self, content: RenderableType) -> None:
        self.query_one("#learner-detail-body", Static).update(content)


def render_detail(detail: LearnerDetail) -> RenderableType:
    if detail.error:
        return Text(f"could not fetch: {detail.error}", style="bold red")
    parts: list[RenderableType] = []
    check = detail.last_check
    if check is None:
        parts.append(Text("no check run yet", style="dim"))
    else:
        verdict = Text(
            "PASS" if check.passed else "FAIL", style="bold green" if check.passed else "bold red"
        )
        line = Text.assemble(verdict, f"  {check.lesson} assignment {check.assignment}")
        if check.failures:
            line.append(f"  ({check.failures} failed in a row)", style="red")
        parts += [line, Text(check.detail or "(no output)"), Text("")]
    if detail.diff:
        parts.append(Text(f"{detail.lesson}: their source against the solution", style="bold"))
        parts.append(Syntax(detail.diff, "diff", theme="ansi_dark", word_wrap=False))
    elif detail.lesson:
        parts.append(
            Text(f"{detail.lesson}: no workspace copy (or same as the solution)", style="dim")
        )
    return Group(*parts)
