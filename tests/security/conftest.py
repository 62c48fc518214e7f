"""A hostile learner: a real unprivileged user whose data folder root works in."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.learner import LoginUser, login_user, sudo_env


@pytest.fixture
def learner() -> Iterator[LoginUser]:
    if os.geteuid() != 0:
        pytest.skip("needs root: it adds a user and acts for them")
    with login_user() as user, sudo_env(user):
        yield user


@pytest.fixture
def root_only(tmp_path: Path) -> Path:
    """A root-only file the learner must never see or change."""
    secret = tmp_path / "root-only"
    secret.write_text("root secret\n")
    secret.chmod(0o600)
    return secret


@pytest.fixture
def open_folder() -> Iterator[Path]:
    """A root-owned folder the learner can enter but not write (like /etc)."""
    import shutil
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="xdp-tui-rootdir-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def data_dir() -> Path:
    return Path(os.environ["XDP_TUI_DATA_DIR"])
