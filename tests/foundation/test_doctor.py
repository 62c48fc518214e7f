"""`xdp-tui doctor` on the real machine, including checks made to fail for real."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

XDP_TUI = str(Path(sys.executable).parent / "xdp-tui")


def doctor(prefix: list[str] | None = None, env: dict[str, str] | None = None) -> tuple[int, dict]:
    result = subprocess.run(
        [*(prefix or []), XDP_TUI, "doctor", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )
    assert "Traceback" not in result.stderr, result.stderr
    return result.returncode, json.loads(result.stdout)


def by_name(report: dict) -> dict[str, dict]:
    return {check["name"]: check for check in report["checks"]}


@pytest.mark.kernel
def test_all_green_on_this_machine() -> None:
    code, report = doctor()
    failed = [c for c in report["checks"] if not c["ok"]]
    assert code == 0 and report["ok"], failed
    names = set(by_name(report))
    assert {
        "root",
        "kernel",
        "bpf_jit",
        "btf",
        "bpffs",
        "tracefs",
        "clang",
        "libbpf",
        "bcc",
        "python",
        "native_xdp",
        "af_xdp",
        "memlock",
    } <= names
    for check in report["checks"]:
        assert set(check) == {"name", "ok", "detail", "fix"}


@pytest.mark.kernel
def test_human_output_lists_every_check() -> None:
    result = subprocess.run([XDP_TUI, "doctor"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0
    assert "native_xdp" in result.stdout and "tracefs" in result.stdout


@pytest.mark.kernel
@pytest.mark.parametrize(
    ("mountpoint", "check", "fix"),
    [
        ("/sys/kernel/tracing", "tracefs", "mount -t tracefs tracefs /sys/kernel/tracing"),
        ("/sys/fs/bpf", "bpffs", "mount -t bpf bpf /sys/fs/bpf"),
    ],
)
def test_unmounted_filesystem_fails_with_its_fix(mountpoint: str, check: str, fix: str) -> None:
    # A private mount namespace: the unmount is real but invisible to the rest of the machine.
    script = f"umount -l {mountpoint} && exec {XDP_TUI} doctor --json"
    result = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
    )
    report = json.loads(result.stdout)
    assert result.returncode == 1 and not report["ok"]
    assert not by_name(report)[check]["ok"]
    assert by_name(report)[check]["fix"] == fix


def test_missing_clang_fails_with_install_command(tmp_path: Path) -> None:
    code, report = doctor(env={"PATH": str(tmp_path)})
    clang = by_name(report)["clang"]
    assert code == 1 and not clang["ok"]
    assert "apt-get install clang" in clang["fix"]


@pytest.mark.kernel
def test_non_root_fails_the_root_check() -> None:
    code, report = doctor(prefix=["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"])
    assert code == 1
    assert not by_name(report)["root"]["ok"]
    assert "sudo" in by_name(report)["root"]["fix"]
