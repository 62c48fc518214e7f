"""The real `xdp-tui` command in a tmux pane: keys in, screen text out, nothing left behind."""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from xdp_tui import paths
from xdp_tui.engine import attach

XDP_TUI = Path(sys.executable).parent / "xdp-tui"
EDITOR = "sed -i 1i/*EDITED_BY_TEST*/"

pytestmark = [
    pytest.mark.kernel,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]


def _tmux(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["tmux", *args], capture_output=True, text=True)


class Pane:
    def __init__(self, session: str) -> None:
        self.session = session

    def text(self) -> str:
        return _tmux("capture-pane", "-p", "-t", self.session).stdout

    def keys(self, *keys: str) -> None:
        _tmux("send-keys", "-t", self.session, *keys)

    def alive(self) -> bool:
        return _tmux("has-session", "-t", self.session).returncode == 0

    def wait(self, condition: Callable[[], bool], tries: int = 150) -> bool:
        """Poll (bounded); the caller asserts on the result."""
        for _ in range(tries):
            if condition():
                return True
            time.sleep(0.2)
        return condition()

    def wait_text(self, needle: str) -> bool:
        return self.wait(lambda: needle in self.text())


@pytest.fixture
def pane(make_lab: Any) -> Iterator[tuple[Pane, Any]]:
    lab = make_lab("tmx")
    session = f"xdp-tui-test-{lab.name}"
    command = " ".join(
        [
            "env",
            f"XDP_TUI_RUN_DIR={os.environ['XDP_TUI_RUN_DIR']}",
            f"XDP_TUI_DATA_DIR={os.environ['XDP_TUI_DATA_DIR']}",
            "TERM=xterm-256color",
            # A non-interactive "editor": the e key suspends the app, runs it, resumes.
            f"EDITOR={shlex.quote(EDITOR)}",
            str(XDP_TUI),
            "--lab",
            lab.name,
        ]
    )
    _tmux("new-session", "-d", "-s", session, "-x", "100", "-y", "30", command)
    try:
        yield Pane(session), lab
    finally:
        _tmux("kill-session", "-t", session)


def _attach_from_keys(pane: Pane, lab: Any) -> None:
    assert pane.wait_text("basic01"), pane.text()  # lessons loaded, the first one open
    pane.keys("Down", "Down")  # the third lesson counts packets in a pinned map
    assert pane.wait_text("basic03"), pane.text()
    pane.keys("2", "b")
    assert pane.wait(lambda: attach.query(lab.outer).prog_id is not None), pane.text()
    assert pane.wait_text("prog "), pane.text()
    assert paths.pin_dir(lab.outer).is_dir()


# ctrl+q quits (Textual's convention); ctrl+c copies and must leave the app running.
@pytest.mark.parametrize("quit_key", ["q", "C-q"])
def test_keys_build_attach_and_quit_cleans_up(pane: tuple[Pane, Any], quit_key: str) -> None:
    tmux, lab = pane
    _attach_from_keys(tmux, lab)
    prog_id = attach.query(lab.outer).prog_id
    assert f"#{prog_id}" in tmux.text()
    tmux.keys("C-c")
    time.sleep(1.0)
    assert tmux.alive() and attach.query(lab.outer).prog_id == prog_id
    tmux.keys(quit_key)
    assert tmux.wait(lambda: not tmux.alive()), tmux.text()
    assert attach.query(lab.outer).prog_id is None
    assert not paths.pin_dir(lab.outer).exists()


def _running(pid: int) -> bool:
    """Whether PID still runs. A zombie has ended: reaping it is its parent's (tmux's) business,
    and a busy tmux server was seen to leave one for many seconds."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.parametrize("how", ["sighup", "sigterm"])
def test_signals_clean_up(pane: tuple[Pane, Any], how: str) -> None:
    tmux, lab = pane
    _attach_from_keys(tmux, lab)
    pid = int(_tmux("list-panes", "-t", tmux.session, "-F", "#{pane_pid}").stdout.split()[0])
    if how == "sighup":
        _tmux("kill-session", "-t", tmux.session)  # a dropped terminal: the pane gets SIGHUP
    else:
        os.kill(pid, signal.SIGTERM)  # `env` exec'd xdp-tui: same pid
    assert tmux.wait(lambda: attach.query(lab.outer).prog_id is None)
    assert tmux.wait(lambda: not paths.pin_dir(lab.outer).exists())
    # The process must end too: an orphan left spinning on a dead terminal is a defect.
    assert tmux.wait(lambda: not _running(pid)), f"xdp-tui {pid} still running"


def test_e_runs_the_editor_and_reloads(pane: tuple[Pane, Any]) -> None:
    tmux, _lab = pane
    assert tmux.wait_text("basic01"), tmux.text()  # the first lesson is open
    tmux.keys("2")
    assert tmux.wait_text("SEC("), tmux.text()
    tmux.keys("e")
    assert tmux.wait_text("EDITED_BY_TEST"), tmux.text()  # back in the app, source reloaded
    assert tmux.wait_text("Lessons")
    tmux.keys("r", "y")  # reset to the starter for the next tests
    assert tmux.wait(lambda: "EDITED_BY_TEST" not in tmux.text()), tmux.text()
