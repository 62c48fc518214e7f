"""Root check shared by every command that touches the kernel."""

from __future__ import annotations

import os

from xdp_tui.errors import NotRootError


def is_root() -> bool:
    return os.geteuid() == 0


def require_root(what: str = "xdp-tui") -> None:
    if not is_root():
        raise NotRootError(
            f"{what} needs root: it loads BPF programs and creates network namespaces",
            hint="run it with sudo, e.g. `sudo xdp-tui`",
        )
