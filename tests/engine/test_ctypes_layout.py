"""Every ctypes Structure we hand to libbpf or the kernel has the C headers' layout.

A small C program compiled with clang against <linux/bpf.h> and <bpf/libbpf.h>
prints sizeof/offsetof of each struct and field; the test compares them with
ctypes. A field in the wrong place would have the kernel read or write the
wrong bytes without any error. libbpf's error numbers are checked the same way.
No root needed: nothing is loaded.
"""

from __future__ import annotations

import ctypes as C
import importlib
import pkgutil
import shutil
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

import xdp_tui.engine
from testenv import live_frames
from xdp_tui.engine import _lib, attach, bpfsys, capture_twin


@dataclass(frozen=True)
class Layout:
    ours: type[C.Structure]
    c_type: str
    # libbpf's opts structs may be passed shorter than its own (their `sz` says
    # how long): then ours must be a prefix, same offsets, no longer.
    prefix: bool = False
    # Fields C cannot take offsetof: bitfields, and padding we name and C does not.
    unnamed_in_c: frozenset[str] = frozenset()


LAYOUTS = [
    Layout(
        bpfsys.BpfProgInfo,
        "struct bpf_prog_info",
        unnamed_in_c=frozenset({"gpl_compatible", "_pad"}),
    ),
    Layout(bpfsys.BpfMapInfo, "struct bpf_map_info", unnamed_in_c=frozenset({"_pad"})),
    Layout(bpfsys.BpfBtfInfo, "struct bpf_btf_info"),
    Layout(bpfsys.TestRunOpts, "struct bpf_test_run_opts"),
    Layout(attach._LinkCreateOpts, "struct bpf_link_create_opts", prefix=True),
    Layout(attach._XdpQueryOpts, "struct bpf_xdp_query_opts", prefix=True),
    Layout(attach._LinkInfo, "struct bpf_link_info", prefix=True, unnamed_in_c=frozenset({"pad"})),
    Layout(capture_twin._LinkUpdateOpts, "struct bpf_link_update_opts", prefix=True),
    Layout(capture_twin._XdpAttachOpts, "struct bpf_xdp_attach_opts", prefix=True),
]
# Layouts packed with the struct module rather than ctypes: size only.
PACKED = [
    (live_frames._XDP_MD, "struct xdp_md"),
    (live_frames._INSN, "struct bpf_insn"),
]


def _our_structures() -> set[type[C.Structure]]:
    """Every ctypes Structure subclass defined in the engine and testenv modules."""
    import testenv

    found: set[type[C.Structure]] = set()
    for package in (xdp_tui.engine, testenv):
        for info in pkgutil.iter_modules(package.__path__, package.__name__ + "."):
            module = importlib.import_module(info.name)
            for value in vars(module).values():
                if (
                    isinstance(value, type)
                    and issubclass(value, C.Structure)
                    and value.__module__ == module.__name__
                ):
                    found.add(value)
    return found


def _c_program() -> str:
    lines = [
        "#include <stddef.h>",
        "#include <stdio.h>",
        "#include <linux/bpf.h>",
        "#include <bpf/bpf.h>",
        "#include <bpf/libbpf.h>",
        '#define FIELD(T, F) printf(#T "." #F "\\t%zu %zu\\n", offsetof(T, F), sizeof(((T *)0)->F))',
        "int main(void) {",
    ]
    for layout in LAYOUTS:
        lines.append(f'printf("{layout.c_type}\\t%zu\\n", sizeof({layout.c_type}));')
        for name, *_ in layout.ours._fields_:
            if name not in layout.unnamed_in_c:
                lines.append(f"FIELD({layout.c_type}, {name});")
    for _, c_type in PACKED:
        lines.append(f'printf("{c_type}\\t%zu\\n", sizeof({c_type}));')
    for member in _lib.LibbpfErrno:
        lines.append(f'printf("LIBBPF_ERRNO__{member.name}\\t%d\\n", LIBBPF_ERRNO__{member.name});')
    lines += ["return 0;", "}"]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def from_c(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[int, ...]]:
    """What the C compiler says: {"struct x": (size,), "struct x.f": (offset, size), ...}."""
    clang = shutil.which("clang")
    if clang is None or not Path("/usr/include/bpf/libbpf.h").exists():
        pytest.fail("clang and libbpf-dev are needed (./setup.sh installs them)")
    workdir = tmp_path_factory.mktemp("layout")
    source, binary = workdir / "layout.c", workdir / "layout"
    source.write_text(_c_program())
    subprocess.run(
        [clang, "-Wall", "-o", str(binary), str(source)], check=True, capture_output=True
    )
    out = subprocess.run([str(binary)], check=True, capture_output=True, text=True).stdout
    facts: dict[str, tuple[int, ...]] = {}
    for line in out.splitlines():
        key, numbers = line.split("\t")
        facts[key] = tuple(int(n) for n in numbers.split())
    return facts


def test_every_structure_has_a_layout_entry() -> None:
    """A new ctypes Structure must be added to LAYOUTS to be checked."""
    assert _our_structures() == {layout.ours for layout in LAYOUTS}


@pytest.mark.parametrize("layout", LAYOUTS, ids=lambda layout: layout.c_type)
def test_fields_sit_where_c_puts_them(layout: Layout, from_c: dict[str, tuple[int, ...]]) -> None:
    wrong = []
    for name, *_ in layout.ours._fields_:
        if name in layout.unnamed_in_c:
            continue
        ours = (getattr(layout.ours, name).offset, getattr(layout.ours, name).size)
        theirs = from_c[f"{layout.c_type}.{name}"]
        if ours != theirs:
            wrong.append(f"{name}: ctypes (offset, size) {ours}, C {theirs}")
    assert wrong == []
    (c_size,) = from_c[layout.c_type]
    if layout.prefix:
        assert C.sizeof(layout.ours) <= c_size
    else:
        assert C.sizeof(layout.ours) == c_size


@pytest.mark.parametrize(("packed", "c_type"), PACKED, ids=[c for _, c in PACKED])
def test_struct_module_layouts(
    packed: struct.Struct, c_type: str, from_c: dict[str, tuple[int, ...]]
) -> None:
    assert (packed.size,) == from_c[c_type]


def test_libbpf_error_numbers(from_c: dict[str, tuple[int, ...]]) -> None:
    for member in _lib.LibbpfErrno:
        assert (member.value,) == from_c[f"LIBBPF_ERRNO__{member.name}"], member.name
