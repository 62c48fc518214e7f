"""The two-command set-up, the CLI's root check and the packaging."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


def run(cmd: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kwargs)  # type: ignore[call-overload]


@pytest.mark.kernel
def test_setup_is_idempotent_and_quiet_when_done() -> None:
    first = run([str(REPO / "setup.sh"), "install"])
    assert first.returncode == 0, first.stderr
    again = run([str(REPO / "setup.sh"), "install"])
    assert again.returncode == 0
    assert again.stdout == "" and again.stderr == ""


@pytest.mark.kernel
def test_setup_refuses_non_root_with_exit_2() -> None:
    result = run([*NOBODY, "bash", str(REPO / "setup.sh"), "test"])
    assert result.returncode == 2
    assert "root" in result.stderr and "sudo" in result.stderr


def test_ci_script_calls_the_readme_test_command() -> None:
    readme = (REPO / "README.md").read_text()
    ci = (REPO / ".ci" / "run").read_text()
    assert "sudo ./setup.sh test" in readme
    assert "./setup.sh test" in ci


@pytest.mark.kernel
@pytest.mark.parametrize(
    "argv",
    [[], ["env", "status"], ["load", "x.c"], ["status"], ["stats"], ["check", "basic01-xdp-pass"]],
    ids=lambda argv: " ".join(argv) or "tui",
)
def test_non_root_gets_one_line_and_exit_2(argv: list[str], tmp_path: Path) -> None:
    env = {**os.environ, "XDP_TUI_DATA_DIR": str(tmp_path), "XDP_TUI_RUN_DIR": str(tmp_path)}
    result = run([*NOBODY, str(VENV_BIN / "xdp-tui"), *argv], env=env)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert "needs root" in lines[0] and "sudo" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(lines) <= 2  # the message and its hint


def test_wheel_ships_lessons_bpf_headers_and_testenv(tmp_path: Path) -> None:
    """A non-editable install must still find lessons and headers."""
    result = run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(REPO),
        ]
    )
    assert result.returncode == 0, result.stderr
    wheel = next(tmp_path.glob("xdp_tui-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert any(n.startswith("xdp_tui/_data/lessons/") and n.endswith("README.md") for n in names)
    assert any(n.startswith("xdp_tui/_data/bpf/") and n.endswith(".h") for n in names)
    assert "testenv/__init__.py" in names

    target = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(target)
    probe = (
        "from xdp_tui import paths; "
        "print(paths.lessons_dir()); print(paths.bpf_include_dir()); "
        "print(sorted(p.name for p in paths.lessons_dir().iterdir() if p.is_dir()))"
    )
    out = run(
        [sys.executable, "-c", probe], cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(target)}
    )
    assert out.returncode == 0, out.stderr
    lessons, headers, names_line = out.stdout.splitlines()
    assert lessons.startswith(str(target)) and headers.startswith(str(target))
    assert "basic01-xdp-pass" in names_line
