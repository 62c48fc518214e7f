"""One line at the top: lab, attached program (id, mode), chosen mode, lesson, activity."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static


class StatusLine(Static):
    """Reactive summary of the session; every field is plain text (no live numbers)."""

    DEFAULT_CSS = """
    StatusLine { height: 1; padding: 0 1; }
    """

    lab = reactive("?")
    lab_state = reactive("")  # "", "missing", "unhealthy"
    program = reactive("")
    prog_id = reactive(0)
    attached_mode = reactive("")
    mode = reactive("auto")
    foreign = reactive("")  # a program on the lab that this session did not attach
    lesson = reactive("")
    activity = reactive("")

    def render(self) -> Text:
        text = Text.assemble(("lab ", "bold"), (self.lab, "cyan"))
        if self.lab_state:
            text.append(f" ({self.lab_state})", "yellow")
        text.append(" │ ")
        if self.lesson:
            text.append(self.lesson, "bold")
            text.append(" │ ")
        if self.prog_id:
            text.append_text(
                Text.assemble(
                    ("prog ", "bold"),
                    (f"{self.program} #{self.prog_id}", "green"),
                    f" [{self.attached_mode}]",
                )
            )
        elif self.foreign:
            text.append_text(
                Text.assemble(("prog ", "bold"), (self.foreign, "yellow"), " [not ours]")
            )
        else:
            text.append("nothing attached", "bright_black")
        text.append(" │ ")
        text.append_text(Text.assemble(("mode ", "bold"), self.mode))
        if self.activity:
            text.append(" │ ")
            text.append(self.activity, "yellow")
        return text
