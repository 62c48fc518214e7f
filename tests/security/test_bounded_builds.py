"""Builds and source views stay bounded whatever the learner's source holds."""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

import pytest

from xdp_tui import userfiles
from xdp_tui.engine import build
from xdp_tui.errors import XdpTuiError


def test_include_dev_zero_builds_without_reading_the_device(tmp_path: Path) -> None:
    """In a child capped at 1 GB: before, the cache read /dev/zero until the OOM killer came."""
    source = tmp_path / "zero.c"
    source.write_text('#include "/dev/zero"\nint x;\n')
    script = (
        "import resource, sys\n"
        "resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))\n"
        "from pathlib import Path\n"
        "from xdp_tui.engine import build\n"
        f"r = build.build(Path({str(source)!r}), warm_next=False)\n"
        "print(r.ok)\n"
        f"print(build._is_up_to_date(Path({str(source)!r}), r.obj, build.compile_flags()))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    ok, cached = done.stdout.split()
    assert ok in ("True", "False")  # whatever clang makes of it, the build returned
    assert cached == "False"  # a device is never trusted as unchanged


def test_clang_over_its_memory_limit_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A billion-token macro expansion: clang's memory grows until the limit stops it.
    lines = ["#define X0 1"] + [
        f"#define X{i} " + "+".join([f"X{i - 1}"] * 10) for i in range(1, 10)
    ]
    source = tmp_path / "big.c"
    source.write_text("\n".join([*lines, "int x = X9;"]) + "\n")
    monkeypatch.setattr(build, "CLANG_MEMORY_LIMIT", 384 << 20)
    result = build.build(source, warm_next=False)
    assert not result.ok
    assert "memory limit" in result.errors[0].message
    assert list(tmp_path.glob("*.sh")) == []  # no crash reproducer written
    with pytest.raises(build.BuildError, match="384 MiB memory limit"):
        build.build_or_raise(source, warm_next=False)


def test_clang_has_its_limits_set(tmp_path: Path) -> None:
    clang = build._Clang(tmp_path, build.compile_flags())
    try:
        soft, _ = resource.prlimit(clang.proc.pid, resource.RLIMIT_AS)
        cpu, _ = resource.prlimit(clang.proc.pid, resource.RLIMIT_CPU)
        assert soft == build.CLANG_MEMORY_LIMIT and cpu == build.COMPILE_TIMEOUT_S
    finally:
        clang.discard()


def test_large_and_non_utf8_sources_are_refused_with_a_reason(tmp_path: Path) -> None:
    big = tmp_path / "big.c"
    with open(big, "wb") as handle:
        handle.truncate(10 << 20)
    with pytest.raises(XdpTuiError, match="reads at most"):
        userfiles.read_text(big)
    with pytest.raises(XdpTuiError, match="reads at most"):
        build.build(big, warm_next=False)
    latin = tmp_path / "latin.c"
    latin.write_bytes(b"int x;\n/* caf\xe9 */\n")
    with pytest.raises(XdpTuiError) as refused:
        userfiles.read_text(latin)
    assert refused.value.location == f"{latin}:2" and "not UTF-8" in refused.value.message
