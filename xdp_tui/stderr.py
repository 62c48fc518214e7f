"""Keep C-level writes to fd 2 (libbpf, bcc, clang) off the screen.

Textual draws on sys.__stderr__ (fd 2). `divert_fd2_to_log` moves fd 2 to a
log file for the whole TUI run and points Python's stderr at a private
duplicate of the terminal, so the UI stays clean and the noise is kept.
`quiet_fd2` does the same for one block in CLI commands.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path


def divert_fd2_to_log(log_path: Path) -> None:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    terminal = os.dup(2)
    # Never through a link: root appending to whatever a planted link names.
    flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC
    log_fd = os.open(log_path, flags, 0o600)
    os.dup2(log_fd, 2)
    os.close(log_fd)
    stream = io.TextIOWrapper(io.FileIO(terminal, "w"), line_buffering=True)
    sys.__stderr__ = sys.stderr = stream  # type: ignore[misc]


@contextlib.contextmanager
def quiet_fd2() -> Iterator[list[str]]:
    """Capture fd 2 during the block; the captured text is appended to the yielded list."""
    captured: list[str] = []
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            yield captured
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            captured.append(tmp.read().decode(errors="replace"))
