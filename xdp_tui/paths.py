"""Where things live: shipped data (lessons, headers), runtime state, user data.

Shipped data sits in `xdp_tui/_data/` in an installed wheel and at the top of
the repository in a source checkout or editable install.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

from xdp_tui import config
from xdp_tui.errors import XdpTuiError

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


def bpffs_root() -> Path:
    return config.bpffs_root()


def pin_dir(ifname: str) -> Path:
    """The tutorial's convention: maps of the program on IFNAME pinned here."""
    return bpffs_root() / ifname


def in_run_dir(path: Path) -> bool:
    """Whether PATH (resolved) lies under run_dir(): files xdp-tui itself made, root-only."""
    return Path(os.path.realpath(run_dir())) in Path(os.path.realpath(path)).parents


def private_dir(name: str) -> Path:
    """`run_dir()/NAME`, a folder only we can enter (0700, ours, not a link), made if missing.

    What root writes for a learner's session (build outputs, logs) goes here,
    never into the learner's home, where a planted link could redirect it.
    """
    return private_folder(run_dir() / name)


def private_folder(folder: Path) -> Path:
    """FOLDER made (or checked) as one only we can enter: 0700, ours, not a link."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.mkdir(folder, 0o700)
    info = os.lstat(folder)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid():
        raise XdpTuiError(
            "not a folder of ours; refusing to use it",
            location=str(folder),
            hint="remove it (it is no xdp-tui state folder)",
        )
    if info.st_mode & 0o077:
        os.chmod(folder, 0o700)
    return folder


def lock_dir() -> Path:
    """Where host-wide lock files live: a root-only folder (no other user can take a lock).

    Fixed, not under XDP_TUI_RUN_DIR: labs of every state folder share the
    kernel's address space, so all of them must serialise on the same lock.
    """
    if os.geteuid() != 0:
        return private_dir("locks")
    return private_folder(config.lock_dir())


def learner_build_dir(lesson_id: str) -> Path:
    """Where the learner's builds of LESSON_ID go: private to root, one folder per user."""
    uid = os.environ.get("SUDO_UID", str(os.getuid())) if os.geteuid() == 0 else str(os.getuid())
    return private_dir("build") / f"user-{uid}" / lesson_id


def log_file() -> Path:
    """Where C-level stderr (libbpf, bcc, clang) goes while the TUI runs.

    Running as root it is a root-only file under the run directory (a log in
    the learner's home could be a link to any file); unprivileged, in their data folder.
    """
    if os.geteuid() != 0:
        return user_data_dir() / "stderr.log"
    uid = os.environ.get("SUDO_UID", "0")
    return private_dir("logs") / f"stderr-{uid if uid.isdigit() else 0}.log"
