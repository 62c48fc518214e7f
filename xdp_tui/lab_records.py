"""Lab records on disk, so that every process (CLI, TUI, checks) sees the same labs.

A bottom module (see docs/ARCHITECTURE.md): testenv writes these records when it
builds labs; the engine reads them to tell lab interfaces from the host's.

Layout under `xdp_tui.paths.run_dir()/labs/`:
  <name>.json   one record per lab (what setup created, with its number)
  current       name of the current lab
  highest_num   the last number handed out (numbers pick the address prefix)
A process changing labs holds `paths.lock_dir()/labs.lock` (root-only folder).
Every write goes to a temporary file first and is renamed over the target,
so a reader never sees half a file.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from xdp_tui import paths
from xdp_tui.errors import XdpTuiError

# IPv4 numbering uses the number as one octet of 10.11.<n>.0/24.
MAX_NUMBER = 255


def labs_dir() -> Path:
    return paths.run_dir() / "labs"


def _ensure_dir() -> Path:
    directory = labs_dir()
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


# How long a lab change waits for another process's before saying who holds it.
LOCK_WAIT_S = 60.0


def _lock_path() -> Path:
    """One lock for the whole host: labs of every state directory share the
    kernel's address space, so numbering must not race between them. It lives
    in a root-only folder: no other user can open it, so no one can hold it."""
    return paths.lock_dir() / "labs.lock"


@contextlib.contextmanager
def locked(wait_s: float | None = None) -> Iterator[None]:
    """Serialise lab changes between processes (two terminals running setup).

    The wait is bounded: past WAIT_S (default LOCK_WAIT_S) an XdpTuiError
    names the process holding the lock.
    """
    _ensure_dir()
    flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
    with os.fdopen(os.open(_lock_path(), flags, 0o600), "r+") as lock_file:
        _take(lock_file, LOCK_WAIT_S if wait_s is None else wait_s)
        try:
            lock_file.seek(0)
            lock_file.truncate()
            lock_file.write(f"{os.getpid()} {_command_of(os.getpid())}\n")
            lock_file.flush()
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


def _take(lock_file: IO[str], wait_s: float) -> None:
    deadline = time.monotonic() + wait_s
    while True:
        try:
            fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise _busy(lock_file, wait_s) from None
            time.sleep(0.05)


def _busy(lock_file: IO[str], wait_s: float) -> XdpTuiError:
    lock_file.seek(0)
    holder = lock_file.read(300).strip() or "another process"
    return XdpTuiError(
        f"the labs are locked by pid {holder} (waited {wait_s:.0f} s)",
        location=str(_lock_path()),
        hint="wait for that command to finish, or stop it",
    )


def _command_of(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return "?"
    return raw.replace(b"\0", b" ").decode(errors="replace").strip()[:200]


def record_path(name: str) -> Path:
    return labs_dir() / f"{name}.json"


def read_record(name: str) -> dict[str, Any] | None:
    try:
        record = json.loads(record_path(name).read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return None  # a damaged record counts as no record
    return record if isinstance(record, dict) else None


def write_record(name: str, record: dict[str, Any]) -> None:
    _ensure_dir()
    write_atomic(record_path(name), json.dumps(record, indent=2, sort_keys=True) + "\n")


def delete_record(name: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        record_path(name).unlink()


def all_records() -> list[dict[str, Any]]:
    directory = labs_dir()
    if not directory.is_dir():
        return []
    records = []
    for path in sorted(directory.glob("*.json")):
        record = read_record(path.stem)
        if record is not None:
            records.append(record)
    return sorted(records, key=lambda r: (r.get("number", 0), r.get("name", "")))


def read_current() -> str | None:
    try:
        name = (labs_dir() / "current").read_text().strip()
    except OSError:
        return None
    return name or None


def write_current(name: str | None) -> None:
    directory = _ensure_dir()
    if name is None:
        with contextlib.suppress(FileNotFoundError):
            (directory / "current").unlink()
        return
    write_atomic(directory / "current", name + "\n")


def next_number(taken: set[int] | frozenset[int] = frozenset()) -> int:
    """Hand out the next lab number (call under `locked()`).

    Numbers grow like the tutorial's testenv, skipping those recorded labs or
    the host (`taken`: prefixes already on some interface) use; past
    MAX_NUMBER they wrap to the lowest free one, so IPv4 addresses stay valid.
    """
    directory = _ensure_dir()
    try:
        highest = int((directory / "highest_num").read_text().strip())
    except (OSError, ValueError):
        highest = 0
    in_use = {r.get("number") for r in all_records()} | set(taken)
    while highest + 1 <= MAX_NUMBER and highest + 1 in in_use:
        highest += 1
    candidate = highest + 1
    if candidate > MAX_NUMBER or candidate in in_use:
        free = [n for n in range(1, MAX_NUMBER + 1) if n not in in_use]
        if not free:
            raise XdpTuiError(
                f"all {MAX_NUMBER} lab numbers are in use",
                hint="tear down labs you no longer need: `xdp-tui env teardown --name NAME`",
                tui_hint="tear down labs you no longer need, from a shell: "
                "`xdp-tui env teardown --name NAME`",
            )
        candidate = free[0]
    write_atomic(directory / "highest_num", f"{candidate}\n")
    return candidate
