"""ObjectView: fed the description of a real object (built here with clang)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from textual.app import App, ComposeResult
from textual.widgets import DataTable, Static, TabbedContent

from xdp_tui.engine.objinfo import CodeRow, ObjectInfo, describe_object
from xdp_tui.widgets.object_view import NOT_LOADED, ObjectView

PROGRAM = """\
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
\t__uint(type, BPF_MAP_TYPE_ARRAY);
\t__type(key, __u32);
\t__type(value, __u64);
\t__uint(max_entries, 4);
} hits SEC(".maps");

SEC("xdp")
int xdp_hits(struct xdp_md *ctx)
{
\t__u32 key = 0;
\t__u64 *n = bpf_map_lookup_elem(&hits, &key);
\tif (n)
\t\t__sync_fetch_and_add(n, 1);
\treturn XDP_PASS;
}

char _license[] SEC("license") = "GPL";
"""

XLATED = [
    CodeRow("label", "int xdp_hits(struct xdp_md * ctx)", None),
    CodeRow("source", "__u32 key = 0;", 14),
    CodeRow("insn", "   0: r1 = 0", None),
    CodeRow("insn", "   1: r1 = map[id:3]", None),
    CodeRow("insn", "   3: exit", None),
]


@pytest.fixture(scope="module")
def info(tmp_path_factory: pytest.TempPathFactory) -> ObjectInfo:
    folder = tmp_path_factory.mktemp("objview")
    source = folder / "hits_kern.c"
    source.write_text(PROGRAM)
    obj = folder / "hits_kern.o"
    subprocess.run(
        ["clang", "-O2", "-g", "-target", "bpf", "-I/usr/include/x86_64-linux-gnu"]
        + ["-c", str(source), "-o", str(obj)],
        check=True,
        capture_output=True,
    )
    return describe_object(obj, source)


class ObjectApp(App[None]):
    def compose(self) -> ComposeResult:
        yield ObjectView()


def screen_text(app: App[Any]) -> str:
    # The compositor's text is what the terminal shows (Textual is pinned, see pyproject).
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


async def test_tables_list_sections_programs_and_maps(info: ObjectInfo) -> None:
    app = ObjectApp()
    async with app.run_test(size=(100, 30)) as pilot:
        view = app.query_one(ObjectView)
        await pilot.pause()
        assert "No object yet" in screen_text(app)
        view.show_object(info)
        await pilot.pause()
        text = screen_text(app)
        assert "ELF object" in text  # the caption says what the file is
        assert "No object yet" not in text
        sections = app.query_one("#obj-sections", DataTable)
        names = [str(sections.get_row_at(i)[0]) for i in range(sections.row_count)]
        assert "xdp" in names and ".maps" in names and "license" in names
        view.show_tab("programs")
        await pilot.pause()
        assert app.query_one(TabbedContent).active == "obj-tab-programs"
        programs = app.query_one("#obj-programs", DataTable)
        assert [str(c) for c in programs.get_row_at(0)[:2]] == ["xdp_hits", "xdp"]
        maps = app.query_one("#obj-maps", DataTable)
        assert [str(c) for c in maps.get_row_at(0)] == ["hits", "array", "4 B", "8 B", "4"]
        text = screen_text(app)
        assert "xdp_hits" in text and "hits" in text


async def test_bytecode_interleaves_c_and_instructions(info: ObjectInfo) -> None:
    app = ObjectApp()
    async with app.run_test(size=(100, 30)) as pilot:
        view = app.query_one(ObjectView)
        view.show_object(info)
        view.show_tab("bytecode")
        await pilot.pause()
        lines = screen_text(app).splitlines()
        lookup = next(i for i, line in enumerate(lines) if "bpf_map_lookup_elem(&hits" in line)
        assert lines[lookup].split("│")[0].strip() == "15"  # C line number in the gutter
        assert "│    " in lines[lookup + 1] and ": " in lines[lookup + 1]  # then its instructions
        assert any("bpf_map_lookup_elem" in line and "call 1" in line for line in lines)
        assert any("-> hits" in line for line in lines)
        assert any("eBPF bytecode" in line for line in lines)
        # C lines and instructions are styled differently
        styled = view.render_rows(info.rows("xdp_hits"))
        source_style = view.get_component_rich_style("object-view--source", partial=True)
        insn_style = view.get_component_rich_style("object-view--insn", partial=True)
        assert source_style != insn_style
        assert any(span.style == source_style for span in styled.spans)


async def test_translated_tab(info: ObjectInfo) -> None:
    app = ObjectApp()
    async with app.run_test(size=(100, 30)) as pilot:
        view = app.query_one(ObjectView)
        view.show_object(info)
        view.show_tab("xlated")
        await pilot.pause()
        assert NOT_LOADED in screen_text(app)
        view.show_xlated(XLATED)
        await pilot.pause()
        text = screen_text(app)
        assert "int xdp_hits(struct xdp_md * ctx):" in text
        assert "1: r1 = map[id:3]" in text
        assert "   14 │ __u32 key = 0;" in text
        view.show_xlated(None)
        await pilot.pause()
        assert str(app.query_one("#obj-xlated", Static).content) == NOT_LOADED


def test_snapshot_bytecode_80x24(info: ObjectInfo, snap_compare: Any) -> None:
    # A fixed object description: paths and sizes from this run's build are not in it.
    fixed = ObjectInfo(path=Path("hits_kern.o"), source=None, code=info.code)
    fixed.programs = info.programs

    async def bytecode(pilot: Any) -> None:
        view = pilot.app.query_one(ObjectView)
        view.show_object(fixed)
        view.show_tab("bytecode")
        await pilot.pause()

    assert snap_compare(ObjectApp(), terminal_size=(80, 24), run_before=bytecode)
