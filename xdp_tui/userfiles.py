"""Reading and writing the learner's own small files without trusting their symlinks.

xdp-tui runs as root (sudo) but keeps the learner's settings and state in the
learner's home. A symlink planted there (`~/.config/xdp-tui -> /etc`) must not
make root read or write elsewhere. So below the home every directory is
opened with O_NOFOLLOW, one component at a time relative to its parent's fd,
and the file itself too; what is read must be a regular file the learner
owns, no bigger than asked; what is written is created beside its target and
renamed over it (rename replaces a symlink, never follows it), owned by the
learner.

Paths outside the home (an XDP_TUI_* override chosen by whoever started us)
are trusted up to their folder; the file itself is still opened no-follow.
"""

from __future__ import annotations

import contextlib
import errno
import os
import pwd
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from xdp_tui.errors import XdpTuiError


@dataclass(frozen=True)
class User:
    """The learner: SUDO_USER under sudo, else whoever runs the process."""

    uid: int
    gid: int
    home: Path


def invoking_user() -> User:
    sudo_user = os.environ.get("SUDO_USER")
    if sudo_user and sudo_user != "root":
        try:
            entry = pwd.getpwnam(sudo_user)
        except KeyError:
            pass
        else:
            return User(entry.pw_uid, entry.pw_gid, Path(entry.pw_dir))
    return User(os.getuid(), os.getgid(), Path.home())


_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def _refusal(path: Path, exc: OSError) -> XdpTuiError:
    if exc.errno in (errno.ELOOP, errno.ENOTDIR):
        return XdpTuiError(
            "is a symbolic link (or passes through one); xdp-tui does not follow it",
            location=str(path),
            hint="replace the link with a real file or folder",
        )
    return XdpTuiError(f"cannot open: {exc.strerror}", location=str(path))


def _below_home(path: Path) -> tuple[Path, tuple[str, ...]]:
    """(trusted folder, components to walk no-follow below it) for PATH's folder."""
    home = invoking_user().home
    folder = path.parent
    if folder == home or home in folder.parents:
        return home, folder.relative_to(home).parts
    return folder, ()


@contextlib.contextmanager
def _open_folder(path: Path, *, create: bool) -> Iterator[int]:
    """An fd of PATH's folder reached without following a symlink below the home."""
    base, parts = _below_home(path)
    user = invoking_user()
    if create and not parts:
        base.mkdir(parents=True, exist_ok=True)  # a folder we were told to use, as given
    fd = os.open(base, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        walked = base
        for part in parts:
            walked = walked / part
            try:
                next_fd = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except FileNotFoundError:
                if not create:
                    raise
                os.mkdir(part, 0o755, dir_fd=fd)
                if os.geteuid() == 0:
                    os.chown(part, user.uid, user.gid, dir_fd=fd, follow_symlinks=False)
                next_fd = os.open(part, _DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = next_fd
        yield fd
    finally:
        os.close(fd)


def read_user_file(path: Path, *, max_bytes: int) -> bytes | None:
    """The bytes of the learner's file PATH; None when there is none.

    XdpTuiError (located at PATH) for a symlink, anything but a regular file,
    a file someone else owns, or one larger than MAX_BYTES.
    """
    try:
        with _open_folder(path, create=False) as folder:
            fd = os.open(path.name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=folder)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise _refusal(path, exc) from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise XdpTuiError("is not a regular file", location=str(path))
        owner = invoking_user().uid
        if info.st_uid != owner:
            raise XdpTuiError(
                f"belongs to uid {info.st_uid}, not to you (uid {owner}); not read",
                location=str(path),
            )
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise XdpTuiError(f"is larger than {max_bytes} bytes; not read", location=str(path))
    return data


def write_user_file(path: Path, data: bytes) -> None:
    """Replace the learner's file PATH with DATA, atomically, owned by the learner."""
    user = invoking_user()
    tmp = f".{path.name}.{os.getpid()}.tmp"
    try:
        with _open_folder(path, create=True) as folder:
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
            fd = os.open(tmp, flags, 0o644, dir_fd=folder)
            try:
                with os.fdopen(fd, "wb") as handle:
                    if os.geteuid() == 0:
                        os.fchown(handle.fileno(), user.uid, user.gid)
                    handle.write(data)
                os.rename(tmp, path.name, src_dir_fd=folder, dst_dir_fd=folder)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp, dir_fd=folder)
                raise
    except OSError as exc:
        raise _refusal(path, exc) from None
