"""Fixtures shared by every test domain.

Every test run gets private state directories and a unique lab-name prefix,
and at the end removes any namespace, link or pin folder carrying that
prefix, even when tests failed half-way.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

# Short, unique per run: lab names must fit in 15 characters.
RUN_PREFIX = f"x{os.getpid() % 100000:05d}"
_counter = itertools.count(1)


def new_lab_name(tag: str = "") -> str:
    name = f"{RUN_PREFIX}{tag[:4]}{next(_counter)}"
    assert len(name) <= 15, name
    return name


@pytest.fixture(scope="session", autouse=True)
def private_state(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    root = tmp_path_factory.mktemp("state")
    os.environ["XDP_TUI_RUN_DIR"] = str(root / "run")
    os.environ["XDP_TUI_DATA_DIR"] = str(root / "data")
    # The developer's own ~/.config/xdp-tui/config.toml must not change what tests see.
    os.environ["XDP_TUI_CONFIG"] = str(root / "no-config.toml")
    yield
    _remove_leftovers()


def _remove_leftovers() -> None:
    if os.geteuid() != 0:
        return
    netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    for line in netns.splitlines():
        name = line.split()[0] if line.strip() else ""
        if name.startswith(RUN_PREFIX):
            subprocess.run(["ip", "netns", "del", name], capture_output=True)
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    for line in links.splitlines():
        ifname = line.split(":")[1].strip().split("@")[0]
        if ifname.startswith(RUN_PREFIX):
            subprocess.run(["ip", "link", "del", ifname], capture_output=True)
    for pin in Path("/sys/fs/bpf").glob(f"{RUN_PREFIX}*"):
        shutil.rmtree(pin, ignore_errors=True)


@pytest.fixture
def lab_name() -> Callable[[str], str]:
    """A factory of unique lab names for this run: lab_name("red") -> 'x01234red3'."""
    return new_lab_name


@pytest.fixture
def make_lab() -> Iterator[Callable[..., object]]:
    """Create labs (testenv.setup) that are torn down after the test, pass or fail."""
    import testenv

    made: list[str] = []

    def _make(tag: str = "", **options: object) -> object:
        name = new_lab_name(tag)
        made.append(name)
        return testenv.setup(name, **options)

    yield _make
    for name in made:
        # Cleanup must go on; the session sweep catches whatever this misses.
        with contextlib.suppress(Exception):
            testenv.teardown(name)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.geteuid() == 0:
        return
    skip = pytest.mark.skip(reason="needs root (real kernel)")
    for item in items:
        if "kernel" in item.keywords:
            item.add_marker(skip)
