"""Lab records on disk, so that every process (CLI, TUI, checks) sees the same labs.

A bottom module (see docs/ARCHITECTURE.md): testenv writes these records when it
builds labs; the engine reads them to tell lab interfaces from the host's.

Layout under `xdp_tui.paths.run_dir()/labs/`:
  <name>.json   one record per lab (what setup created, with its number)
  current       name of the current lab
  highest_num   the last number handed out (numbers pick the address prefix)
  .lock         flock'd while a process changes labs
Every write goes to a temporary file first and is renamed over the target,
so a reader never sees half a file.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from xdp_tui import paths

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


def _lock_path() -> Path:
    """One lock for the whole host: labs of every state directory share the
    kernel's address space, so numbering must not race between them."""
    host_lock_dir = Path("/run/lock")
    if host_lock_dir.is_dir() and os.access(host_lock_dir, os.W_OK):
        return host_lock_dir / "xdp-tui-labs.lock"
    return _ensure_dir() / ".lock"


@contextlib.contextmanager
def locked() -> Iterator[None]:
    """Serialise lab changes between processes (two terminals running setup)."""
    _ensure_dir()
    with open(_lock_path(), "a") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


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
            from xdp_tui.errors import XdpTuiError

            raise XdpTuiError(
                f"all {MAX_NUMBER} lab numbers are in use",
                hint="tear down labs you no longer need: `xdp-tui env teardown --name NAME`",
            )
        candidate = free[0]
    write_atomic(directory / "highest_num", f"{candidate}\n")
    return candidate
