"""F1 / ?: every key of the workshop, what it does, and how a session flows."""

from __future__ import annotations

import textwrap
from collections.abc import Iterable

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from xdp_tui.widgets.key_bar import bound_keys
from xdp_tui.widgets.plain_table import PlainTable

INTRO = (
    "Pick a lesson on the left and read it. Press b to build the lesson's program and "
    "attach it to the lab, p or t to send traffic from inside the lab, watch Live, "
    "then c to check your work. 1-9 show the tabs in their order, left to right. "
    "ctrl+p finds any command by name."
)


HELP_WIDTH = 90  # .dialog.help in app.tcss
DIALOG_FRAME = 8  # its border (2), padding (4) and the table's scrollbar (2)
CELL_PADDING = 6  # one cell of padding each side of the three columns


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,f1,question_mark", "close", "Close", id="help.close")]

    def __init__(self, bindings: Iterable[BindingType], intro: str = INTRO) -> None:
        super().__init__()
        self.bindings = [binding for binding in bindings if isinstance(binding, Binding)]
        self.intro = intro

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog help"):
            yield Static("xdp-tui keys", classes="question")
            yield Static(self.intro, id="help-intro")
            yield PlainTable(id="help-keys", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("Key", "Action", "What it does")
        rows = []
        for binding in self.bindings:
            keys = ", ".join(
                self.app.get_key_display(Binding(k, "")) for k in bound_keys(self.app, binding)
            )
            rows.append((keys, binding.description, binding.tooltip or ""))
        # Long descriptions wrap (DataTable cells do not): what is left of the dialog's width.
        dialog_width = min(HELP_WIDTH, self.app.size.width * 95 // 100) - DIALOG_FRAME
        used = max(len(keys) for keys, _, _ in rows) + max(len(name) for _, name, _ in rows)
        width = max(dialog_width - used - CELL_PADDING, 16)
        for keys, name, what in rows:
            table.add_row(keys, name, "\n".join(textwrap.wrap(what, width)) or "", height=None)
        table.focus()

    def action_close(self) -> None:
        self.dismiss(None)
