"""A DataTable that shows its text as written.

Textual's DataTable reads every `str` cell, label and column title as Rich
markup with emoji codes. Ours hold what the kernel, the learner and other
machines wrote: an IPv6 address of lab 10 (`fc00:dead:cafe:a::2`) showed its
`:a:` as an emoji, and a bracket pair such as `[/b]` in a saved case's name, a
section name or a room report raised MarkupError while the table drew, which
ended the app (and again at every start, the case being saved). `PlainTable`
turns every string into a plain `Text` before the table sees it; `Text` cells
keep their styles.
"""

from __future__ import annotations

from rich.text import Text
from textual.coordinate import Coordinate
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey, RowKey


class PlainTable(DataTable[Text | str]):
    """DataTable whose string cells, row labels and column titles are never read as markup."""

    def add_column(
        self,
        label: str | Text,
        *,
        width: int | None = None,
        key: str | None = None,
        default: Text | str | None = None,
    ) -> ColumnKey:
        return super().add_column(
            Text(label) if isinstance(label, str) else label,
            width=width,
            key=key,
            default=Text(default) if isinstance(default, str) else default,
        )

    def add_row(
        self,
        *cells: Text | str,
        height: int | None = 1,
        key: str | None = None,
        label: str | Text | None = None,
    ) -> RowKey:
        return super().add_row(
            *(Text(cell) if isinstance(cell, str) else cell for cell in cells),
            height=height,
            key=key,
            label=Text(label) if isinstance(label, str) else label,
        )

    def update_cell(
        self,
        row_key: RowKey | str,
        column_key: ColumnKey | str,
        value: Text | str,
        *,
        update_width: bool = False,
    ) -> None:
        super().update_cell(
            row_key,
            column_key,
            Text(value) if isinstance(value, str) else value,
            update_width=update_width,
        )

    def update_cell_at(
        self, coordinate: Coordinate, value: Text | str, *, update_width: bool = False
    ) -> None:
        super().update_cell_at(
            coordinate, Text(value) if isinstance(value, str) else value, update_width=update_width
        )
