"""The learner's files, handled safely by a process that runs as root.

xdp-tui runs as root (through sudo) for a learner who is not. The learner's
data directory (workspaces, progress.json) is theirs: at any moment they can
plant a symlink, a FIFO, a device or a huge sparse file there. So every
access to it goes through this module, which

- works with the learner's filesystem identity: setfsuid/setfsgid and their
  supplementary groups, for the calling thread only (the kernel keeps these
  per thread). The kernel then checks every path step as for the learner, so
  root reads and writes through a planted link only what the learner could
  reach anyway, and whatever it creates belongs to the learner;
- opens the last path component with O_NOFOLLOW and O_NONBLOCK, and reads only
  regular files owned by the learner, at most a stated number of bytes;
- writes a new temporary file (O_EXCL) renamed over the target, so a reader
  never sees half a file and a planted link is replaced, never followed.

Without sudo (root itself, or an unprivileged run) the learner is the
process's own user and nothing is switched; the checks still apply.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import functools
import os
import pwd
import stat
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from xdp_tui.errors import XdpTuiError

# What the TUI and the checks read from a learner's folder: a lesson source is
# a few kB, so 1 MiB refuses only what is not a lesson source at all.
SOURCE_LIMIT = 1 << 20
PROGRESS_LIMIT = 4 << 20

# setgroups(2) through glibc changes every thread (it broadcasts the change);
# the raw system call changes only the calling thread, which is what we need.
# (os.uname().machine is platform.machine(), without importing platform at start-up.)
_SETGROUPS_SYSCALL = {"x86_64": 116, "aarch64": 159, "riscv64": 159, "ppc64le": 81}.get(
    os.uname().machine
)
_libc = ctypes.CDLL(None, use_errno=True)
_switched = threading.local()


@dataclass(frozen=True)
class Learner:
    """Whom the learner's files belong to: the sudo user, else this process's user."""

    uid: int
    gid: int
    groups: tuple[int, ...]
    name: str

    @property
    def is_other(self) -> bool:
        """True when we run as root for someone else (file access must switch to them)."""
        return self.uid != os.geteuid()


def learner() -> Learner:
    """The user this run works for: SUDO_UID when root runs for someone, else ourselves."""
    sudo = tuple(os.environ.get(f"SUDO_{key}", "") for key in ("UID", "GID", "USER"))
    return _learner_of(os.geteuid(), os.getegid(), *sudo)


# Asked for every build and every learner file (passwd and group lookups,
# ~0.15 ms): kept per identity, like the groups sudo gave the session. The
# sudo user's name is part of it: a new account may get a deleted one's uid.
@functools.lru_cache(maxsize=8)
def _learner_of(euid: int, egid: int, uid: str, gid: str, _sudo_user: str) -> Learner:
    if euid == 0 and uid.isdigit() and gid.isdigit() and int(uid) != 0:
        try:
            name = pwd.getpwuid(int(uid)).pw_name
            groups = tuple(os.getgrouplist(name, int(gid)))
        except KeyError:  # a uid without a passwd entry: its own group only
            name, groups = uid, (int(gid),)
        return Learner(int(uid), int(gid), groups, name)
    return Learner(euid, egid, (), _name_of(euid))


def user(name: str) -> Learner:
    """Another login user (the instructor's view reads each learner's progress as them)."""
    entry = pwd.getpwnam(name)
    if os.geteuid() != 0:  # cannot switch: only the ownership checks apply
        return Learner(entry.pw_uid, entry.pw_gid, (), name)
    return Learner(entry.pw_uid, entry.pw_gid, tuple(os.getgrouplist(name, entry.pw_gid)), name)


def _name_of(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


@contextlib.contextmanager
def as_learner(who: Learner | None = None) -> Iterator[Learner]:
    """Inside the block, this thread's file accesses are checked as the learner's (or WHO's)."""
    who = who or learner()
    if os.geteuid() != 0 or not who.is_other or getattr(_switched, "active", False):
        yield who
        return
    saved_groups = os.getgroups()
    _set_thread_groups(who.groups)
    _libc.setfsgid(who.gid)
    _libc.setfsuid(who.uid)
    _switched.active = True
    try:
        if _libc.setfsuid(-1) != who.uid:  # -1 only reports the current fsuid
            raise XdpTuiError(f"cannot act as user {who.name} for their files")
        yield who
    finally:
        _libc.setfsuid(os.geteuid())
        _libc.setfsgid(os.getegid())
        _set_thread_groups(tuple(saved_groups))
        _switched.active = False


def _set_thread_groups(groups: tuple[int, ...]) -> None:
    if _SETGROUPS_SYSCALL is None:
        return  # unknown architecture: fsuid/fsgid still apply
    array = (ctypes.c_uint * max(len(groups), 1))(*groups)
    if _libc.syscall(_SETGROUPS_SYSCALL, len(groups), array) != 0:
        err = ctypes.get_errno()
        raise XdpTuiError(f"cannot switch groups for the learner's files: {os.strerror(err)}")


def learner_command(argv: list[str]) -> list[str]:
    """ARGV run as the learner (their editor must not run as root)."""
    who = learner()
    if not who.is_other:
        return argv
    return [
        "setpriv",
        f"--reuid={who.uid}",
        f"--regid={who.gid}",
        f"--groups={','.join(str(g) for g in who.groups) or who.gid}",
        "--",
        *argv,
    ]


# ---- walking without following links ------------------------------------------

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


@contextlib.contextmanager
def _walk_no_follow(
    base: Path, parts: Sequence[str], *, create_for: User | None = None
) -> Iterator[int]:
    """An fd of the folder BASE/PARTS. BASE is trusted as given; each of PARTS is opened
    with O_NOFOLLOW relative to the one before, so a link on the way is refused (ELOOP or
    ENOTDIR), never followed. CREATE_FOR: missing folders are made, theirs when we are root.
    """
    fd = os.open(base, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for part in parts:
            try:
                next_fd = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except FileNotFoundError:
                if create_for is None:
                    raise
                os.mkdir(part, 0o755, dir_fd=fd)
                if os.geteuid() == 0:
                    os.chown(part, create_for.uid, create_for.gid, dir_fd=fd, follow_symlinks=False)
                next_fd = os.open(part, _DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = next_fd
        yield fd
    finally:
        os.close(fd)


# ---- reading ----------------------------------------------------------------


def read_bytes(
    path: Path,
    limit: int = SOURCE_LIMIT,
    *,
    owner: Learner | None = None,
    owned: bool = True,
    below: Path | None = None,
) -> bytes:
    """PATH's bytes, if it is a regular file of the learner's (or OWNER's) of at most LIMIT bytes.

    owned=False: any regular file the learner may read (a shipped solution).
    below: a folder PATH lies in (a home read for the instructor): that folder and every
    one after it are opened without following a link, besides the switch to OWNER.
    """
    with as_learner(owner) as who:
        try:
            fd = _open_file(path, below)
        except OSError as exc:
            raise (_refusal if below else _located)(path, exc) from None
        try:
            info = os.fstat(fd)
            _check_readable(path, info, who if owned else None, limit)
            return _read_at_most(fd, limit, path)
        finally:
            os.close(fd)


def read_text(
    path: Path,
    limit: int = SOURCE_LIMIT,
    *,
    owner: Learner | None = None,
    below: Path | None = None,
) -> str:
    """PATH as UTF-8 text (see read_bytes); a non-UTF-8 file is refused, located."""
    data = read_bytes(path, limit, owner=owner, owned=in_data_dir(path), below=below)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise XdpTuiError(
            f"not UTF-8 text (byte 0x{data[exc.start]:02x})",
            location=f"{path}:{line}",
            hint="save the file as UTF-8",
        ) from None


def _open_file(path: Path, below: Path | None) -> int:
    if below is None:
        return os.open(path, _FILE_FLAGS)
    # Only BELOW's parent is trusted as given: BELOW itself may be a link too.
    parts = path.parent.relative_to(below.parent).parts
    with _walk_no_follow(below.parent, parts) as folder:
        return os.open(path.name, _FILE_FLAGS, dir_fd=folder)


def _check_readable(path: Path, info: os.stat_result, who: Learner | None, limit: int) -> None:
    if not stat.S_ISREG(info.st_mode):
        raise XdpTuiError("not a regular file", location=str(path))
    if who is not None and info.st_uid != who.uid:
        raise XdpTuiError(f"belongs to uid {info.st_uid}, not to {who.name}", location=str(path))
    if info.st_size > limit:
        raise XdpTuiError(
            f"is {info.st_size} bytes; xdp-tui reads at most {limit} bytes here",
            location=str(path),
        )


def _read_at_most(fd: int, limit: int, path: Path) -> bytes:
    chunks: list[bytes] = []
    total = 0
    while True:
        chunk = os.read(fd, min(1 << 16, limit + 1 - total))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        total += len(chunk)
        if total > limit:  # it grew after fstat
            raise XdpTuiError(f"is over {limit} bytes", location=str(path))


def in_data_dir(path: Path) -> bool:
    """Whether PATH lies in the learner's data folder (their files: owner checked)."""
    from xdp_tui.paths import user_data_dir

    folder = user_data_dir()
    candidates = {folder, Path(os.path.realpath(folder))}
    absolute = Path(os.path.abspath(path))
    return any(absolute == c or c in absolute.parents for c in candidates)


def read_source(path: Path, limit: int = SOURCE_LIMIT) -> bytes:
    """A C source to build or show: as read_bytes, owner checked inside the data folder."""
    return read_bytes(path, limit, owned=in_data_dir(path))


def is_file(path: Path) -> bool:
    """Whether PATH is a regular file (not a link to one), seen as the learner."""
    with as_learner():
        try:
            return stat.S_ISREG(os.lstat(path).st_mode)
        except OSError:
            return False


def lexists(path: Path, *, owner: Learner | None = None) -> bool:
    with as_learner(owner):
        return os.path.lexists(path)


def owner_of(path: Path) -> Learner:
    """The user who owns PATH (a home folder): their files there are read as them."""
    uid = os.lstat(path).st_uid
    if uid == learner().uid:
        return learner()
    try:
        return user(pwd.getpwuid(uid).pw_name)
    except KeyError:
        return Learner(uid, uid, (), str(uid))


# ---- writing ----------------------------------------------------------------


def _inside_data_dir(path: Path) -> None:
    """Root writes for a learner only inside their data folder (their permissions apply too)."""
    if os.geteuid() == 0 and learner().is_other and not in_data_dir(path):
        raise XdpTuiError(
            "outside the learner's data folder; xdp-tui does not write there for them",
            location=str(path),
        )


def make_dirs(path: Path) -> None:
    """Create PATH and missing parents as the learner (a planted link is refused)."""
    _inside_data_dir(path)
    with as_learner():
        try:
            os.makedirs(path, mode=0o755, exist_ok=True)
            if not stat.S_ISDIR(os.lstat(path).st_mode):
                raise XdpTuiError("not a folder", location=str(path))
        except OSError as exc:
            raise _located(path, exc) from None


def write_bytes(path: Path, data: bytes) -> None:
    """Replace PATH with DATA as the learner: a new file renamed over it, never through a link."""
    _inside_data_dir(path)
    with as_learner():
        make_dirs(path.parent)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        try:
            fd = os.open(tmp, flags, 0o644)
        except OSError as exc:
            raise _located(path, exc) from None
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise _located(path, exc) from None


def write_text(path: Path, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def rename_aside(path: Path, suffix: str) -> Path:
    """Move PATH to a free `PATH.SUFFIX[.n]` name (kept for the learner, never overwritten)."""
    _inside_data_dir(path)
    with as_learner():
        for n in range(100):
            target = path.with_name(f"{path.name}.{suffix}" + (f".{n}" if n else ""))
            if os.path.lexists(target):
                continue
            try:
                os.rename(path, target)
            except OSError as exc:
                raise _located(path, exc) from None
            return target
    raise XdpTuiError("too many files set aside already", location=str(path))


def remove_tree(path: Path) -> None:
    """Remove PATH (a folder or file) as the learner; only what they could remove goes."""
    _inside_data_dir(path)
    with as_learner():
        try:
            if stat.S_ISDIR(os.lstat(path).st_mode):
                import shutil  # here: every command imports this module, few remove trees

                shutil.rmtree(path)
            else:
                os.unlink(path)
        except FileNotFoundError:
            return
        except OSError as exc:
            raise _located(path, exc) from None


def _located(path: Path, exc: OSError) -> XdpTuiError:
    if exc.errno == errno.ELOOP:
        return XdpTuiError("is a symbolic link; xdp-tui does not follow it", location=str(path))
    return XdpTuiError(exc.strerror or str(exc), location=str(path))


# ---- settings and remembered state (xdp_tui.config) ---------------------------
#
# These live below the learner's home (~/.config/xdp-tui), outside the data
# folder, and are read before any learner switch is set up. So below the home
# every folder is opened with O_NOFOLLOW, one component at a time relative to
# its parent's fd, and the file itself too; what is written is created beside
# its target and renamed over it (rename replaces a link, never follows it).
# Paths outside the home (an XDP_TUI_* override) are trusted up to their folder.


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
    if create and not parts:
        base.mkdir(parents=True, exist_ok=True)  # a folder we were told to use, as given
    with _walk_no_follow(base, parts, create_for=invoking_user() if create else None) as fd:
        yield fd


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
