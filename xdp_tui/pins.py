"""Which bpffs pins xdp-tui created, so that it removes those and nothing else.

The pin folder `/sys/fs/bpf/<dev>/` is a convention xdp-tui shares with the
original tutorial's loaders and other tools: a map another tool pinned there
must survive our unload, lab teardown and `xdp-tui clean`. So every pin we
create (maps pinned at load, the pinned XDP links) is recorded with its inode
in `run_dir()/pins/<dev>.json`; removal unlinks only a recorded pin whose
inode is still the one we made (a pin removed and made again by someone else
is theirs). The folder goes only when we created it and it is empty.

No libbpf here: lab teardown (testenv) uses it too. Records live on tmpfs
like the pins themselves, so both vanish together at reboot.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from xdp_tui import paths

_thread_lock = threading.Lock()


@dataclass
class PinRecord:
    dev: str
    dir_created: bool = False
    pins: dict[str, int] = field(default_factory=dict)  # pin name -> inode

    def to_json(self) -> str:
        return json.dumps({"dev": self.dev, "dir_created": self.dir_created, "pins": self.pins})


def _records_dir() -> Path:
    return paths.run_dir() / "pins"


def _record_path(dev: str) -> Path:
    return _records_dir() / f"{dev}.json"


@contextlib.contextmanager
def _locked() -> Iterator[None]:
    """One writer at a time, across threads (the lab peer's attach) and processes."""
    folder = _records_dir()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    with _thread_lock:
        fd = os.open(folder / ".lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)


def read(dev: str) -> PinRecord:
    try:
        raw = json.loads(_record_path(dev).read_text())
        pins = {str(k): int(v) for k, v in dict(raw.get("pins", {})).items()}
        return PinRecord(dev, bool(raw.get("dir_created")), pins)
    except (OSError, ValueError, TypeError, AttributeError):
        return PinRecord(dev)


def _write(record: PinRecord) -> None:
    path = _record_path(record.dev)
    if not record.pins and not record.dir_created:
        path.unlink(missing_ok=True)
        return
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(record.to_json())
    tmp.replace(path)


def _inode(pin: Path) -> int | None:
    try:
        return os.lstat(pin).st_ino
    except OSError:
        return None


def record_pins(dev: str, created: Iterable[Path], *, dir_created: bool = False) -> None:
    """CREATED (pins inside DEV's pin folder) and, with DIR_CREATED, the folder
    itself were just made by xdp-tui: one locked update of the record, not one
    per pin (each is a file replaced under a lock)."""
    inodes = {pin.name: ino for pin in created if (ino := _inode(pin)) is not None}
    if not inodes and not dir_created:
        return
    with _locked():
        record = read(dev)
        record.pins.update(inodes)
        record.dir_created = record.dir_created or dir_created
        _write(record)


def record_pin(dev: str, pin: Path) -> None:
    """PIN (inside DEV's pin folder) was just created by xdp-tui."""
    record_pins(dev, [pin])


def record_dir_created(dev: str) -> None:
    record_pins(dev, [], dir_created=True)


def forget_pin(dev: str, pin: Path) -> None:
    with _locked():
        record = read(dev)
        if record.pins.pop(pin.name, None) is not None:
            _write(record)


def is_ours(dev: str, pin: Path) -> bool:
    """PIN is one xdp-tui created (and nobody replaced since)."""
    ino = read(dev).pins.get(pin.name)
    return ino is not None and ino == _inode(pin)


def remove_ours(dev: str) -> list[str]:
    """Unlink DEV's pins that xdp-tui created; the folder too if we made it and it is empty.

    Returns what was removed. Pins of other tools in the folder stay.
    """
    folder = paths.pin_dir(dev)
    removed = []
    with _locked():
        record = read(dev)
        for name, ino in sorted(record.pins.items()):
            pin = folder / name
            if _inode(pin) == ino:
                with contextlib.suppress(FileNotFoundError):
                    pin.unlink()
                    removed.append(str(pin))
        if record.dir_created:
            with contextlib.suppress(OSError):
                folder.rmdir()  # only when empty: another tool's pins keep it
                removed.append(str(folder))
        record.pins.clear()
        record.dir_created = folder.is_dir() and record.dir_created
        _write(record)
    return removed


def recorded_devs() -> list[str]:
    """Interfaces with pins (or a pin folder) xdp-tui created."""
    folder = _records_dir()
    if not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.glob("*.json"))
