"""Looking inside a real BPF object built with clang, and at a really loaded program."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import new_lab_name
from xdp_tui.engine import objinfo
from xdp_tui.engine.objinfo import CodeRow, describe_loaded, describe_object, parse_xlated
from xdp_tui.errors import XdpTuiError

HEADER = """\
#pragma once
static __always_inline int first_byte_is_even(void *data, void *data_end)
{
\tunsigned char *p = data;
\tif (p + 1 > (unsigned char *)data_end)
\t\treturn 0;
\treturn (*p & 1) == 0;
}
"""

PROGRAM = """\
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "helpers.h"

struct datarec {
\t__u64 packets;
\t__u64 bytes;
};

struct {
\t__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
\t__type(key, __u32);
\t__type(value, struct datarec);
\t__uint(max_entries, 5);
} action_counts SEC(".maps");

SEC("xdp")
int xdp_count_pass(struct xdp_md *ctx)
{
\t__u32 key = XDP_PASS;
\tstruct datarec *rec = bpf_map_lookup_elem(&action_counts, &key);
\tif (!rec)
\t\treturn XDP_ABORTED;
\trec->packets++;
\treturn XDP_PASS;
}

SEC("xdp")
int xdp_even_drop(struct xdp_md *ctx)
{
\tif (first_byte_is_even((void *)(long)ctx->data, (void *)(long)ctx->data_end))
\t\treturn XDP_DROP;
\treturn XDP_PASS;
}

char _license[] SEC("license") = "GPL";
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(object, source) of a two-program object compiled by clang."""
    folder = tmp_path_factory.mktemp("objinfo")
    source = folder / "count_kern.c"
    source.write_text(PROGRAM)
    (folder / "helpers.h").write_text(HEADER)
    obj = folder / "count_kern.o"
    subprocess.run(
        ["clang", "-O2", "-g", "-target", "bpf", "-I/work/main/bpf"]
        + ["-I/usr/include/x86_64-linux-gnu", "-c", str(source), "-o", str(obj)],
        check=True,
        capture_output=True,
    )
    return obj, source


def test_sections_programs_and_maps(built: tuple[Path, Path]) -> None:
    obj, source = built
    info = describe_object(obj, source)
    sections = {s.name: s for s in info.sections}
    assert {"xdp", ".maps", "license", ".BTF"} <= set(sections)
    assert sections["xdp"].role == "program bytecode"
    assert sections["xdp"].size > 0
    assert sections[".relxdp"].type == "REL"
    assert [(p.name, p.section) for p in info.programs] == [
        ("xdp_count_pass", "xdp"),
        ("xdp_even_drop", "xdp"),
    ]
    assert all(p.insn_count > 1 for p in info.programs)
    (stats,) = info.maps
    assert (stats.name, stats.type, stats.key_size, stats.value_size, stats.max_entries) == (
        "action_counts",
        "percpu_array",
        4,
        16,
        5,
    )
    assert info.notes == []


def test_instructions_interleaved_with_c_lines(built: tuple[Path, Path]) -> None:
    obj, source = built
    rows = describe_object(obj, source).rows("xdp_count_pass")
    c_lines = PROGRAM.splitlines()
    lookup_line = next(i for i, line in enumerate(c_lines, 1) if "bpf_map_lookup_elem" in line)
    sources = [r for r in rows if r.kind == "source"]
    assert CodeRow("source", c_lines[lookup_line - 1].expandtabs(4), lookup_line) in sources
    insns = [r for r in rows if r.kind == "insn"]
    assert insns[0].insn_index == 0  # numbered per program, as the verifier counts
    texts = [r.text for r in insns]
    assert any(t.endswith("r1 = 2") for t in texts), texts  # XDP_PASS is 2
    assert any("call 1" in t and "bpf_map_lookup_elem" in t for t in texts), texts
    assert any("-> action_counts" in t for t in texts), texts  # the map relocation
    # the C line comes right before the instructions it compiled to
    at = rows.index(CodeRow("source", c_lines[lookup_line - 1].expandtabs(4), lookup_line))
    assert rows[at + 1].kind == "insn"


def test_header_lines_are_named_by_file(built: tuple[Path, Path]) -> None:
    obj, source = built
    rows = describe_object(obj, source).rows("xdp_even_drop")
    header_rows = [r for r in rows if r.kind == "source" and r.source_line is None]
    assert header_rows and all(r.text.startswith("helpers.h:") for r in header_rows)
    assert any("data_end" in r.text for r in header_rows)
    assert rows[-1] == CodeRow("insn", rows[-1].text, None) and rows[-1].text.endswith("exit")


def test_source_moved_after_build_is_found_by_name(
    built: tuple[Path, Path], tmp_path: Path
) -> None:
    obj, source = built
    moved = tmp_path / source.name
    moved.write_text(source.read_text())
    copy = tmp_path / "copy.o"
    copy.write_bytes(obj.read_bytes())
    rows = describe_object(copy, moved).rows("xdp_count_pass")
    assert any(r.kind == "source" and "bpf_map_lookup_elem" in r.text for r in rows)


def test_cached_until_the_object_changes(built: tuple[Path, Path], tmp_path: Path) -> None:
    obj, source = built
    copy = tmp_path / "cached.o"
    copy.write_bytes(obj.read_bytes())
    first = describe_object(copy, source)
    assert describe_object(copy, source) is first
    os.utime(copy, ns=(1, 1))
    assert describe_object(copy, source) is not first


def test_errors_are_located(tmp_path: Path) -> None:
    with pytest.raises(XdpTuiError) as missing:
        describe_object(tmp_path / "nope.o", None)
    assert missing.value.location and missing.value.location.endswith("nope.o")
    junk = tmp_path / "junk.o"
    junk.write_text("not an ELF file\n")
    with pytest.raises(XdpTuiError) as bad:
        describe_object(junk, None)
    assert bad.value.location == str(junk)


def test_helper_names_come_from_the_uapi_header() -> None:
    names = objinfo.helper_names()
    assert names[1] == "bpf_map_lookup_elem"
    assert names[6] == "bpf_trace_printk"


def test_parse_xlated_text() -> None:
    text = """\
int xdp_prog(struct xdp_md * ctx):
; int xdp_prog(struct xdp_md *ctx) [file:/w/prog.c line_num:14 line_col:0]
   0: (b7) r1 = 2
;  [file:/w/prog.c line_num:0 line_col:0]
   1: (18) r1 = map[id:3]
; x = parse(ctx); [file:/usr/include/helpers.h line_num:9 line_col:2]
   3: (95) exit
"""
    rows = parse_xlated(text)
    assert rows == [
        CodeRow("label", "int xdp_prog(struct xdp_md * ctx)", None),
        CodeRow("source", "int xdp_prog(struct xdp_md *ctx)", 14),
        CodeRow("insn", "   0: r1 = 2", None),
        CodeRow("insn", "   1: r1 = map[id:3]", None),
        CodeRow("source", "helpers.h:9: x = parse(ctx);", None),
        CodeRow("insn", "   3: exit", None),
    ]
    with pytest.raises(XdpTuiError):
        parse_xlated("")


@pytest.fixture
def loaded(built: tuple[Path, Path]) -> Iterator[int]:
    """The object's first program loaded into the kernel (pinned, unpinned after)."""
    obj, _ = built
    pin = Path("/sys/fs/bpf") / new_lab_name("obj")
    subprocess.run(["bpftool", "prog", "load", str(obj), str(pin)], check=True, capture_output=True)
    try:
        shown = subprocess.run(
            ["bpftool", "prog", "show", "pinned", str(pin), "-j"],
            check=True,
            capture_output=True,
            text=True,
        )
        yield int(json.loads(shown.stdout)["id"])
    finally:
        pin.unlink(missing_ok=True)


@pytest.mark.kernel
def test_translated_instructions_of_a_loaded_program(loaded: int, built: tuple[Path, Path]) -> None:
    _, source = built
    rows = describe_loaded(loaded, source)
    assert rows[0].kind == "label" and "xdp_count_pass" in rows[0].text
    assert any(r.kind == "source" and "bpf_map_lookup_elem" in r.text for r in rows)
    insns = [r for r in rows if r.kind == "insn"]
    assert insns[0].insn_index == 0
    assert any("map[id:" in r.text for r in insns)  # the loader put a real map there
    assert insns[-1].text.endswith("exit")


@pytest.mark.kernel
def test_describe_loaded_unknown_id_is_an_error() -> None:
    with pytest.raises(XdpTuiError) as err:
        describe_loaded(2**31 - 5)
    assert "2147483643" in (err.value.location or "")


def test_object_without_debug_info_still_shows_instructions(
    built: tuple[Path, Path], tmp_path: Path
) -> None:
    _, source = built
    obj = tmp_path / "nodebug.o"
    subprocess.run(
        ["clang", "-O2", "-target", "bpf", "-I/usr/include/x86_64-linux-gnu"]
        + [f"-I{source.parent}", "-c", str(source), "-o", str(obj)],
        check=True,
        capture_output=True,
    )
    info = describe_object(obj, source)
    assert [p.name for p in info.programs] == ["xdp_count_pass", "xdp_even_drop"]
    rows = info.rows("xdp_count_pass")
    assert rows and all(r.kind != "source" for r in rows)
    assert any("without -g" in note for note in info.notes)
    assert any("maps unknown" in note for note in info.notes)  # no BTF: libbpf cannot read .maps
