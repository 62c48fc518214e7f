"""One configuration: defaults, the XDP_TUI_* environment variables, the learner's config.toml.

Environment (for admins and tests; read here and nowhere else):
  XDP_TUI_RUN_DIR    runtime state (lab and attach records)   default /run/xdp-tui
  XDP_TUI_DATA_DIR   workspaces, progress, remembered state   default ~/.local/share/xdp-tui
  XDP_TUI_BPFFS      bpffs mount for pins                      default /sys/fs/bpf
  XDP_TUI_CLANG      the compiler                              default clang
  XDP_TUI_THEME      Textual theme, over everything else
  XDP_TUI_CONFIG     the settings file                         default ~/.config/xdp-tui/config.toml
  XDP_TUI_LOCK_DIR   host-wide lock files (root-only folder)   default /run/xdp-tui/locks

The settings file belongs to the learner (SUDO_USER's home under sudo, like
the data folder), so it is read without following symlinks and only if the
learner owns it (`xdp_tui.userfiles`). It may set:

    theme = "textual-light"
    [keymap]                    # binding id = keys, as Textual's App.set_keymap takes
    "workshop.build" = "f5"

A file that cannot be used gives one located problem and the defaults; the
app shows the problem. What the learner chose last (theme, lesson) is kept in
`state.json` in the data folder, written the same careful way.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from xdp_tui.errors import XdpTuiError
from xdp_tui.userfiles import invoking_user, read_user_file, write_user_file

if TYPE_CHECKING:
    import tomllib

ENV_RUN_DIR = "XDP_TUI_RUN_DIR"
ENV_DATA_DIR = "XDP_TUI_DATA_DIR"
ENV_BPFFS = "XDP_TUI_BPFFS"
ENV_CLANG = "XDP_TUI_CLANG"
ENV_THEME = "XDP_TUI_THEME"
ENV_CONFIG = "XDP_TUI_CONFIG"
ENV_LOCK_DIR = "XDP_TUI_LOCK_DIR"

DEFAULT_RUN_DIR = Path("/run/xdp-tui")
DEFAULT_BPFFS = Path("/sys/fs/bpf")
DEFAULT_CLANG = "clang"
CONFIG_MAX_BYTES = 64 * 1024
STATE_MAX_BYTES = 16 * 1024
STATE_FILE = "state.json"

# Textual key names: "f5", "ctrl+b", "question_mark"; a comma separates alternatives.
_KEYS_RE = re.compile(r"[a-z0-9_+]+(,[a-z0-9_+]+)*")
_BINDING_ID_RE = re.compile(r"[A-Za-z0-9_.-]+")


# ---- environment ----------------------------------------------------------


def run_dir() -> Path:
    return Path(os.environ.get(ENV_RUN_DIR) or DEFAULT_RUN_DIR)


def data_dir_override() -> Path | None:
    """XDP_TUI_DATA_DIR when set: data goes there as is (tests, shared machines)."""
    value = os.environ.get(ENV_DATA_DIR)
    return Path(value) if value else None


def data_dir() -> Path:
    """Per-user data that persists: lesson workspaces, progress, remembered state.

    Learners start xdp-tui with sudo; their work belongs in their own home,
    not root's, so SUDO_USER's home wins over $HOME.
    """
    override = data_dir_override()
    if override is not None:
        return override
    if os.environ.get("XDG_DATA_HOME"):
        return Path(os.environ["XDG_DATA_HOME"]) / "xdp-tui"
    return invoking_user().home / ".local" / "share" / "xdp-tui"


def lock_dir() -> Path:
    """Host-wide locks: fixed, not under XDP_TUI_RUN_DIR (labs of every state folder share one kernel)."""
    return Path(os.environ.get(ENV_LOCK_DIR, "/run/xdp-tui/locks"))


def bpffs_root() -> Path:
    return Path(os.environ.get(ENV_BPFFS) or DEFAULT_BPFFS)


def clang() -> str:
    return os.environ.get(ENV_CLANG) or DEFAULT_CLANG


def theme_override() -> str | None:
    return os.environ.get(ENV_THEME) or None


def config_path() -> Path:
    explicit = os.environ.get(ENV_CONFIG)
    if explicit:
        return Path(explicit)
    return invoking_user().home / ".config" / "xdp-tui" / "config.toml"


# ---- the settings file ----------------------------------------------------


@dataclass(frozen=True)
class Settings:
    theme: str | None = None
    keymap: Mapping[str, str] = field(default_factory=dict)
    problems: tuple[XdpTuiError, ...] = ()  # why (part of) the file was not used


def load_settings(path: Path | None = None) -> Settings:
    """The learner's settings; defaults (and the problem) when the file is unusable."""
    path = path or config_path()
    try:
        raw = read_user_file(path, max_bytes=CONFIG_MAX_BYTES)
        return Settings() if raw is None else _parse_settings(raw, path)
    except XdpTuiError as problem:
        return Settings(problems=(problem,))


def _parse_settings(raw: bytes, path: Path) -> Settings:
    import tomllib  # here: most commands never read the settings (xdp-tui progress, for one)

    try:
        table = tomllib.loads(raw.decode())
    except UnicodeDecodeError:
        raise XdpTuiError("is not UTF-8 text", location=str(path)) from None
    except tomllib.TOMLDecodeError as exc:
        raise _located_toml_error(exc, path) from None
    except RecursionError:  # tomllib recurses into "[[[[...": a damaged file, not a crash
        raise XdpTuiError("arrays or tables nested too deeply", location=str(path)) from None
    problems: list[XdpTuiError] = []
    theme = table.pop("theme", None)
    if theme is not None and not isinstance(theme, str):
        problems.append(XdpTuiError("theme must be a string", location=f"{path}: theme"))
        theme = None
    keymap = _keymap(table.pop("keymap", {}), path, problems)
    for unknown in table:
        problems.append(
            XdpTuiError(
                f"unknown setting '{unknown}' (known: theme, [keymap])",
                location=f"{path}: {unknown}",
            )
        )
    return Settings(theme=theme, keymap=keymap, problems=tuple(problems))


def _keymap(table: object, path: Path, problems: list[XdpTuiError]) -> dict[str, str]:
    if not isinstance(table, dict):
        problems.append(XdpTuiError("keymap must be a table: [keymap]", location=f"{path}: keymap"))
        return {}
    keymap: dict[str, str] = {}
    for binding_id, keys in table.items():
        where = f"{path}: keymap.{binding_id}"
        if not _BINDING_ID_RE.fullmatch(binding_id):
            problems.append(XdpTuiError("not a binding id", location=where))
        elif not isinstance(keys, str) or not _KEYS_RE.fullmatch(keys.replace(" ", "")):
            problems.append(
                XdpTuiError(
                    f'keys must be a string like "f5" or "ctrl+b,f6"; got {keys!r}',
                    location=where,
                )
            )
        else:
            keymap[binding_id] = keys.replace(" ", "")
    return keymap


def _located_toml_error(exc: tomllib.TOMLDecodeError, path: Path) -> XdpTuiError:
    """tomllib says "... (at line 3, column 7)": make that the location."""
    message = str(exc)
    found = re.search(r"\s*\(at line (\d+), column (\d+)\)$", message)
    if found is None:
        return XdpTuiError(f"not valid TOML: {message}", location=str(path))
    line, column = found.groups()
    return XdpTuiError(
        f"not valid TOML: {message[: found.start()]}", location=f"{path}:{line}:{column}"
    )


# ---- remembered state -----------------------------------------------------


@dataclass(frozen=True)
class State:
    """What the learner chose last time: restored at the next start."""

    theme: str | None = None
    last_lesson: str | None = None
    last_tab: str | None = None  # the workshop tab shown last (README, Source, Tasks, ...)


STATE_KEYS = ("theme", "last_lesson", "last_tab")


def state_path() -> Path:
    return data_dir() / STATE_FILE


def load_state() -> State:
    """The remembered state; an empty one when there is none or it is unusable."""
    try:
        raw = read_user_file(state_path(), max_bytes=STATE_MAX_BYTES)
        data = json.loads(raw) if raw else {}
    except (XdpTuiError, ValueError, RecursionError):  # RecursionError: "[[[[..." nests too deep
        return State()  # only remembered choices: losing them is harmless
    if not isinstance(data, dict):
        return State()
    return State(**{key: _text_or_none(data.get(key)) for key in STATE_KEYS})


def save_state(state: State) -> None:
    """Remember STATE (as the learner: see xdp_tui.userfiles); XdpTuiError if refused."""
    data = {key: getattr(state, key) for key in STATE_KEYS}
    write_user_file(state_path(), (json.dumps(data, indent=1, sort_keys=True) + "\n").encode())


def _text_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
