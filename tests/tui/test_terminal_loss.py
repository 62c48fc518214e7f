"""The app must not outlive its terminal, even when no SIGHUP comes to say it is gone."""

from __future__ import annotations

import fcntl
import os
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from xdp_tui.app import terminal_hung_up

XDP_TUI = Path(sys.executable).parent / "xdp-tui"


def test_a_closed_pty_reads_as_hung_up() -> None:
    master, slave = os.openpty()
    try:
        assert not terminal_hung_up(slave)
        os.close(master)
        assert terminal_hung_up(slave)
    finally:
        os.close(slave)


class _Screen:
    """Everything the app writes to the pty, read by a thread so it never blocks."""

    def __init__(self, master: int) -> None:
        self.data = bytearray()
        threading.Thread(target=self._drain, args=(master,), daemon=True).start()

    def _drain(self, master: int) -> None:
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                return
            if not chunk:
                return
            self.data += chunk

    def wait_for(self, needle: bytes, seconds: float = 30.0) -> bool:
        deadline = time.monotonic() + seconds
        while needle not in self.data and time.monotonic() < deadline:
            time.sleep(0.1)
        return needle in self.data


@pytest.mark.kernel
def test_app_leaves_when_its_terminal_goes_without_sighup(make_lab: Any) -> None:
    lab = make_lab("tty")
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    # A new session without a controlling terminal: when the pty hangs up, the
    # kernel has nobody to send SIGHUP to, so only the app's own watch can notice.
    proc = subprocess.Popen(
        [str(XDP_TUI), "--lab", lab.name],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        start_new_session=True,
        env=dict(os.environ, TERM="xterm-256color"),
    )
    os.close(slave)
    try:
        screen = _Screen(master)
        assert screen.wait_for(b"basic01"), bytes(screen.data[-400:])
        os.close(master)
        proc.wait(timeout=20)  # TimeoutExpired: the app outlived its terminal
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
