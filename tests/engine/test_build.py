"""Building C into BPF objects: diagnostics, located errors, the cache."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from xdp_tui.engine import build as build_mod
from xdp_tui.engine.build import (
    BuildError,
    build,
    build_or_raise,
    compile_flags,
    parse_diagnostics,
)


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
    # An unchanged rebuild is not redone, yet its warnings are still said.
    again = build(source)
    assert again.cached
    assert again.warnings == result.warnings


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


# ---- the warm compiler: a clang started ahead of the next build ------------

VERDICT_SOURCE = (
    '#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\n#include "verdict.h"\n'
    'SEC("xdp") int xdp_h(struct xdp_md *ctx) { return VERDICT; }\n'
)


def _write_lesson(folder: Path, verdict: str = "XDP_PASS", tail: str = "") -> Path:
    folder.mkdir(exist_ok=True)
    (folder / "verdict.h").write_text(f"#define VERDICT {verdict}\n")
    source = folder / "uses_header.c"
    source.write_text(VERDICT_SOURCE + tail)
    return source


def test_the_next_build_in_a_folder_uses_the_clang_started_after_the_last(
    tmp_path: Path,
) -> None:
    source = _write_lesson(tmp_path)
    assert build(source).ok
    waiting = build_mod.waiting_compiler()
    assert waiting is not None and waiting.alive
    assert waiting.key == build_mod._warm_key(tmp_path, compile_flags())

    # An edit with an error: the waiting clang compiles it, finds the header
    # next to the source and names the real file in its diagnostics.
    _write_lesson(tmp_path, tail="int broken(void) { return XDP_PASSS; }\n")
    result = build(source)
    assert waiting.proc.returncode is not None  # it did this build and exited
    assert not result.ok
    assert result.errors[0].location == f"{source}:5:27"
    assert build_mod.waiting_compiler() not in (None, waiting)

    _write_lesson(tmp_path)
    again = build(source)
    assert again.ok and not again.cached
    stamp = (tmp_path / "uses_header.o.xdp-tui-build.json").read_text()
    assert str(tmp_path / "verdict.h") in stamp  # headers found there are recorded absolute


def test_a_new_folder_of_the_same_name_gets_a_new_clang(tmp_path: Path) -> None:
    """clang resolves quoted includes in its working folder: a replaced folder needs a new one."""
    folder = tmp_path / "lesson"
    source = _write_lesson(folder)
    assert build(source).ok
    waiting = build_mod.waiting_compiler()
    assert waiting is not None
    shutil.rmtree(folder)
    source = _write_lesson(folder, verdict="XDP_DROP")
    result = build(source)
    assert result.ok and not result.cached
    assert build_mod.waiting_compiler() is not waiting
    assert waiting.proc.returncode is not None  # replaced, not used
    assert build(source).cached


def test_a_load_starts_the_next_clang_only_after_its_attach(tmp_path: Path) -> None:
    """clang's start-up beside a native attach stretches the grace period the attach waits for."""
    source = _write_lesson(tmp_path)
    build_mod.discard_warm_compiler()
    with build_mod.next_compiler_after():
        assert build(source).ok
        assert build_mod.waiting_compiler() is None  # held while the caller attaches
    waiting = build_mod.waiting_compiler()
    assert waiting is not None and waiting.alive
    assert waiting.key == build_mod._warm_key(tmp_path, compile_flags())


def test_warm_up_starts_the_clang_and_skips_an_up_to_date_object(tmp_path: Path) -> None:
    source = _write_lesson(tmp_path)
    build_mod.discard_warm_compiler()
    try:
        build_mod.keep_compiler_warm(False)  # what the CLI does: only warm_up starts one
        build_mod.warm_up(source)
        waiting = build_mod.waiting_compiler()
        assert waiting is not None and waiting.alive
        assert build(source).ok
        assert waiting.proc.returncode is not None and build_mod.waiting_compiler() is None
        build_mod.warm_up(source)  # the object is up to date: nothing to start
        assert build_mod.waiting_compiler() is None
    finally:
        build_mod.keep_compiler_warm(True)


def test_paths_with_quotes_and_backslashes_are_named_exactly(tmp_path: Path) -> None:
    folder = tmp_path / 'odd "name" \\ here'
    folder.mkdir()
    source = folder / "oops.c"
    source.write_text("#include <linux/bpf.h>\nint f(void) { return XDP_PASSS; }\n")
    result = build(source)
    assert not result.ok
    assert result.errors[0].file == str(source)


def test_the_cli_leaves_the_warm_compiler_setting_as_it_found_it(tmp_path: Path) -> None:
    """`xdp-tui build` turns the warm compiler off for its one build only: a main() run in
    this process (the security tests do) must not turn it off for the builds after it."""
    from xdp_tui.cli import main

    source = _write_lesson(tmp_path)
    assert build_mod._warm_enabled
    assert main(["build", str(source)]) == 0
    assert build_mod._warm_enabled and build_mod.waiting_compiler() is None


def test_cli_run_leaves_no_clang_waiting(tmp_path: Path) -> None:
    """`xdp-tui run FILE.c` builds once and exits: a clang started for a next build would
    only cost a start-up on the other core (as `build` and `load`)."""
    from xdp_tui.cli import main

    source = _write_lesson(tmp_path)
    build_mod.discard_warm_compiler()
    assert main(["run", str(source), "--packet", "udp6", "--json"]) == 0
    assert build_mod.waiting_compiler() is None
    assert build_mod._warm_enabled


def test_cli_check_leaves_no_clang_waiting() -> None:
    """`xdp-tui check` builds the learner's code once and exits, like `run`."""
    from xdp_tui.cli import main

    build_mod.discard_warm_compiler()
    main(["check", "basic01-xdp-pass", "--solution", "--json"])
    assert build_mod.waiting_compiler() is None
    assert build_mod._warm_enabled
