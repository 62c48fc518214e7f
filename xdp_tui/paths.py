"""Where things live: shipped data (lessons, headers), runtime state, user data.

Shipped data sits in `xdp_tui/_data/` in an installed wheel and at the top of
the repository in a source checkout or editable install.
"""

from __future__ import annotations

import os
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def data_root() -> Path:
    packaged = _PACKAGE_DIR / "_data"
    if (packaged / "lessons").is_dir():
        return packaged
    return _PACKAGE_DIR.parent


def lessons_dir() -> Path:
    return data_root() / "lessons"


def bpf_include_dir() -> Path:
    """Our shared BPF C headers (`bpf/`)."""
    return data_root() / "bpf"


def run_dir() -> Path:
    """Runtime state that must not outlive a reboot (labs, attachments).

    Network namespaces and XDP attachments vanish at reboot, so their records
    live on tmpfs. Tests point XDP_TUI_RUN_DIR at a private directory.
    """
    return Path(os.environ.get("XDP_TUI_RUN_DIR", "/run/xdp-tui"))


def user_data_dir() -> Path:
    """Per-user data that persists: lesson workspaces and progress."""
    if "XDP_TUI_DATA_DIR" in os.environ:
        return Path(os.environ["XDP_TUI_DATA_DIR"])
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "xdp-tui"


def bpffs_root() -> Path:
    return Path(os.environ.get("XDP_TUI_BPFFS", "/sys/fs/bpf"))


def pin_dir(ifname: str) -> Path:
    """The tutorial's convention: maps of the program on IFNAME pinned here."""
    return bpffs_root() / ifname


def log_file() -> Path:
    """Where C-level stderr (libbpf, bcc, clang) goes while the TUI runs."""
    return user_data_dir() / "stderr.log"
