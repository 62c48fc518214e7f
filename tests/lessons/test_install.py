"""A regular (non-editable) install still finds the lessons and the BPF headers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_installed_copy_finds_lessons_and_headers(tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation"]
        + ["--target", str(target), str(REPO)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    probe = (
        "import xdp_tui, xdp_tui.paths as p\n"
        "from xdp_tui.lessons import catalog, solution_source\n"
        "print(xdp_tui.__file__)\n"
        "ids = [lesson.id for lesson in catalog()]\n"
        "print(','.join(ids))\n"
        "print(all(solution_source(lesson).is_file() for lesson in catalog()))\n"
        "print((p.bpf_include_dir() / 'xdp_stats_kern.h').is_file())\n"
    )
    env = dict(os.environ, PYTHONPATH=str(target))
    out = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,  # not the repository, whose xdp_tui would shadow the installed one
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.splitlines()
    assert out[0].startswith(str(target)), out[0]
    assert "basic01-xdp-pass" in out[1] and "basic04-pinning-maps" in out[1]
    assert out[2] == "True" and out[3] == "True"
