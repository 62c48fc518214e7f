"""Building C into BPF objects: diagnostics, located errors, the cache."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from xdp_tui.engine.build import BuildError, build, build_or_raise, parse_diagnostics


def test_build_makes_an_object_next_to_the_source(prog: Callable[[str], Path]) -> None:
    source = prog("xdp_pass")
    result = build(source)
    assert result.ok and not result.cached
    assert result.obj == source.with_suffix(".o")
    assert result.obj.read_bytes()[:4] == b"\x7fELF"
    assert result.errors == []


def test_build_error_is_located_at_the_first_error(prog: Callable[[str], Path]) -> None:
    source = prog("build_error")
    with pytest.raises(BuildError) as caught:
        build_or_raise(source)
    err = caught.value
    assert err.location == f"{source}:8:9"
    assert "XDP_PASSS" in err.message
    assert "XDP_PASSS" in (err.detail or "")
    assert not source.with_suffix(".o").exists()
    first = err.result.errors[0]
    assert (first.line, first.column, first.severity) == (8, 9, "error")


def test_warnings_are_reported_but_do_not_fail_the_build(tmp_path: Path) -> None:
    source = tmp_path / "warns.c"
    source.write_text(
        "#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\n"
        'SEC("xdp") int xdp_w(struct xdp_md *ctx)\n{\n\tint unused;\n\treturn XDP_PASS;\n}\n'
    )
    result = build(source)
    assert result.ok
    assert [(d.line, d.severity) for d in result.warnings] == [(5, "warning")]
    assert "unused" in result.warnings[0].message


def test_unchanged_source_and_headers_are_not_rebuilt(tmp_path: Path) -> None:
    header = tmp_path / "verdict.h"
    header.write_text("#define VERDICT XDP_PASS\n")
    source = tmp_path / "uses_header.c"
    source.write_text(
        '#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\n#include "verdict.h"\n'
        'SEC("xdp") int xdp_h(struct xdp_md *ctx) { return VERDICT; }\n'
    )
    assert not build(source).cached
    assert build(source).cached
    header.write_text("#define VERDICT XDP_DROP\n")  # a header change means a rebuild
    again = build(source)
    assert again.ok and not again.cached
    assert build(source).cached
    source.with_suffix(".o").unlink()  # so does a missing object
    assert not build(source).cached


def test_parse_diagnostics_reads_clang_lines() -> None:
    text = (
        "a.c:3:5: warning: unused variable 'x' [-Wunused-variable]\n"
        "    int x;\n        ^\n"
        "a.c:9:1: fatal error: 'nope.h' file not found\n"
    )
    found = parse_diagnostics(text)
    assert [(d.file, d.line, d.column, d.severity) for d in found] == [
        ("a.c", 3, 5, "warning"),
        ("a.c", 9, 1, "error"),
    ]
