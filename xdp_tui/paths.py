"""Where things live: shipped data (lessons, headers), runtime state, user data.

Shipped data sits in `xdp_tui/_data/` in an installed wheel and at the top of
the repository in a source checkout or editable install.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from xdp_tui import config
from xdp_tui.userfiles import invoking_user

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
    return config.run_dir()


def user_data_dir() -> Path:
    """Per-user data that persists (see config.data_dir)."""
    return config.data_dir()


def give_to_invoking_user(path: Path) -> None:
    """Files we create for a sudo user (workspace, progress) stay editable by them."""
    uid, gid = os.environ.get("SUDO_UID"), os.environ.get("SUDO_GID")
    if os.geteuid() != 0 or not uid or not gid or config.data_dir_override() is not None:
        return
    home = invoking_user().home
    current = path
    # Hand over the created path and its parents up to (not including) the home.
    while current != home and home in current.parents:
        with contextlib.suppress(OSError):
            os.chown(current, int(uid), int(gid))
        current = current.parent


def bpffs_root() -> Path:
    return config.bpffs_root()


def pin_dir(ifname: str) -> Path:
    """The tutorial's convention: maps of the program on IFNAME pinned here."""
    return bpffs_root() / ifname


def log_file() -> Path:
    """Where C-level stderr (libbpf, bcc, clang) goes while the TUI runs."""
    return user_data_dir() / "stderr.log"
