"""The pure-logic tests really run without root (`pytest -m "not kernel"` as a learner would).

Run from a root session, this starts pytest as nobody on the modules that
test decoding, explanations, configuration, check helpers and the layering,
so none of them quietly comes to need root.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
PURE = [
    "tests/test_layers.py",
    "tests/engine/test_btf.py",
    "tests/engine/test_ctypes_layout.py",
    "tests/engine/test_lib_errors.py",
    "tests/engine/test_verifier_log.py",
    "tests/foundation/test_config.py",
    "tests/lessons/test_check_runner.py",
    "tests/testenv/test_packets.py",
]


@pytest.mark.kernel  # it needs root to become nobody
@pytest.mark.slow
def test_pure_logic_passes_as_nobody() -> None:
    # pytest's own tmp_path sits in a folder only root may enter: nobody needs its own.
    with tempfile.TemporaryDirectory(prefix="xdp-tui-nobody-") as scratch:
        Path(scratch).chmod(0o777)
        env = {
            "PATH": os.environ["PATH"],
            "HOME": scratch,
            "TMPDIR": scratch,
            "PYTHONPATH": str(REPO),
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "not kernel"]
        result = subprocess.run(
            [*NOBODY, *argv, *PURE], cwd=REPO, env=env, capture_output=True, text=True, timeout=600
        )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert " passed" in result.stdout.splitlines()[-1]
