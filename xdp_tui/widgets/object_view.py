"""Inside the object: the ELF file clang wrote, and the bytecode the kernel runs.

Fed by the app with `xdp_tui.engine.objinfo` results (the widget runs no tool):
- `show_object(info)`: sections, programs and maps, and each program's
  instructions interleaved with the C lines they came from;
- `show_xlated(rows)`: the verifier's translated instructions once loaded.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import ScrollableContainer, Vertical
from textual.widgets import DataTable, Static, TabbedContent, TabPane

from xdp_tui.engine.objinfo import CodeRow, ObjectInfo
from xdp_tui.widgets.plain_table import PlainTable

# Short on purpose: at 80x24 beside the lesson list each caption gets ~54 columns.
ELF_CAPTION = (
    "An ELF object from clang: sections carry each program's bytecode, the maps (.maps) and "
    "the license. libbpf creates the maps and hands each program to the kernel's verifier."
)
BYTECODE_CAPTION = (
    "eBPF bytecode, for a small virtual machine: r1 = packet context on entry, r0 = verdict, "
    "r10 = stack; 'call N' runs kernel helper N. Dim lines: the C they came from."
)
XLATED_CAPTION = (
    "What the kernel runs once the verifier checked every path: real map addresses, some "
    "helpers inlined. The numbers are the ones verifier messages use."
)
NOT_LOADED = "Not loaded yet. Attach the program to see the verifier's version of it."
NO_OBJECT = "No object yet. Build the lesson's program to look inside it."


class ObjectView(Vertical):
    """Tabs: Sections, Programs & maps, Bytecode, Translated."""

    COMPONENT_CLASSES = {
        "object-view--source",
        "object-view--gutter",
        "object-view--insn-index",
        "object-view--insn",
        "object-view--note",
        "object-view--label",
    }

    DEFAULT_CSS = """
    ObjectView { height: 1fr; }
    ObjectView > .object-view--source { color: $text-muted; text-style: italic; }
    ObjectView > .object-view--gutter { color: $text-muted; }
    ObjectView > .object-view--insn-index { color: $accent; }
    ObjectView > .object-view--insn { color: $text; }
    ObjectView > .object-view--note { color: $secondary; }
    ObjectView > .object-view--label { color: $warning; text-style: bold; }
    ObjectView .object-caption { color: $text-muted; height: auto; margin-bottom: 1; }
    ObjectView .object-notes { color: $warning; height: auto; }
    ObjectView DataTable { height: auto; max-height: 100%; }
    ObjectView .object-subtitle { color: $secondary; text-style: bold; margin-top: 1; }
    ObjectView .object-code { width: auto; height: auto; }
    ObjectView .object-scroll { height: 1fr; }
    ObjectView #obj-notes { display: none; }
    ObjectView #obj-notes.-has-notes { display: block; }
    """

    def __init__(
        self, *, name: str | None = None, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.info: ObjectInfo | None = None
        self.xlated: list[CodeRow] | None = None

    def compose(self) -> ComposeResult:
        with TabbedContent(id="obj-tabs"):
            with (
                TabPane("Sections", id="obj-tab-sections"),
                ScrollableContainer(classes="object-scroll"),
            ):
                yield Static(ELF_CAPTION, classes="object-caption")
                yield Static(NO_OBJECT, classes="object-notes -has-notes", id="obj-notes")
                yield _table("obj-sections", ("Section", "Size", "ELF type", "What it holds"))
            with (
                TabPane("Programs & maps", id="obj-tab-programs"),
                ScrollableContainer(classes="object-scroll"),
            ):
                yield Static("Programs", classes="object-subtitle")
                yield _table("obj-programs", ("Program", "Section", "Instructions"))
                yield Static("Maps", classes="object-subtitle")
                yield _table("obj-maps", ("Map", "Type", "Key", "Value", "Max entries"))
            with TabPane("Bytecode", id="obj-tab-bytecode"):
                yield Static(BYTECODE_CAPTION, classes="object-caption")
                with ScrollableContainer(id="obj-bytecode-scroll", classes="object-scroll"):
                    yield Static(NO_OBJECT, classes="object-code", id="obj-bytecode")
            with TabPane("Translated", id="obj-tab-xlated"):
                yield Static(XLATED_CAPTION, classes="object-caption")
                with ScrollableContainer(id="obj-xlated-scroll", classes="object-scroll"):
                    yield Static(NOT_LOADED, classes="object-code", id="obj-xlated")

    # ---- public API ------------------------------------------------------

    def show_object(self, info: ObjectInfo) -> None:
        """Fill every tab from a `describe_object()` result."""
        self.info = info
        self._fill(
            "obj-sections",
            [(s.name, f"{s.size:,}", s.type, s.role) for s in info.sections],
        )
        programs = [(p.name, p.section, str(p.insn_count)) for p in info.programs]
        programs += [
            (f"{p.name} (subprogram)", p.section, str(p.insn_count)) for p in info.subprograms
        ]
        self._fill("obj-programs", programs)
        self._fill(
            "obj-maps",
            [
                (m.name, m.type, f"{m.key_size} B", f"{m.value_size} B", f"{m.max_entries:,}")
                for m in info.maps
            ],
        )
        notes = self.query_one("#obj-notes", Static)
        notes.update("\n".join(info.notes))
        notes.set_class(bool(info.notes), "-has-notes")
        self.query_one("#obj-bytecode", Static).update(self.bytecode_text(info))

    def show_xlated(self, rows: list[CodeRow] | None) -> None:
        """Show the translated instructions of the loaded program (None: not loaded)."""
        self.xlated = rows
        content = self.render_rows(rows) if rows else Text(NOT_LOADED)
        self.query_one("#obj-xlated", Static).update(content)

    def show_tab(self, tab: str) -> None:
        """Switch to "sections", "programs", "bytecode" or "xlated"."""
        self.query_one("#obj-tabs", TabbedContent).active = f"obj-tab-{tab}"

    # ---- rendering -------------------------------------------------------

    def bytecode_text(self, info: ObjectInfo) -> Text:
        label = self._style("label")
        parts: list[Text] = []
        by_name = {p.name: p for p in [*info.programs, *info.subprograms]}
        for name, rows in info.code.items():
            spec = by_name.get(name)
            where = f"  section {spec.section}, {spec.insn_count} instructions" if spec else ""
            parts.append(Text.assemble((f"{name}", label), (where, self._style("gutter"))))
            parts.append(self.render_rows(rows))
            parts.append(Text())
        if not parts:
            return Text("This object has no code.")
        return Text("\n").join(parts)

    def render_rows(self, rows: Iterable[CodeRow]) -> Text:
        """Rows as text: C lines dimmed with their line number, instructions numbered."""
        lines = [self._row_text(CodeRow(*row)) for row in rows]
        return Text("\n").join(lines)

    def _row_text(self, row: CodeRow) -> Text:
        gutter = self._style("gutter")
        if row.kind == "source":
            number = f"{row.source_line:>5}" if row.source_line else "     "
            return Text.assemble((number + " │ ", gutter), (row.text, self._style("source")))
        if row.kind == "label":
            return Text.assemble(("      │ ", gutter), (f"{row.text}:", self._style("label")))
        index, _, asm = row.text.partition(":")
        asm, _, note = asm.partition("  ; ")
        out = Text.assemble(
            ("      │ ", gutter),
            (f"{index}:", self._style("insn-index")),
            (asm, self._style("insn")),
        )
        if note:
            out.append(f"  ; {note}", self._style("note"))
        return out

    def _style(self, part: str) -> Style:
        return self.get_component_rich_style(f"object-view--{part}", partial=True)

    def _fill(self, table_id: str, rows: list[tuple[Any, ...]]) -> None:
        table = self.query_one(f"#{table_id}", DataTable)
        table.clear()
        for row in rows:
            table.add_row(*row)


def _table(table_id: str, columns: tuple[str, ...]) -> DataTable:
    table = PlainTable(id=table_id, cursor_type="row", zebra_stripes=True)
    for column in columns:
        table.add_column(column)
    return table
