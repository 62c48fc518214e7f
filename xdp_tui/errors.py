"""Errors every face (CLI, TUI, checks) shows as a located message, never a traceback."""

from __future__ import annotations

from typing import Literal

Face = Literal["cli", "tui"]


class XdpTuiError(Exception):
    """Base of all expected failures.

    `location` is "file:line[:col]" when the failure points into a source file;
    `hint` says what to do about it; `detail` carries raw text (compiler
    output, verifier log) for those who want it.

    `tui_hint` is the remedy in the TUI's words where `hint` names what only the
    command line has (`--force`, `xdp-tui load ...`): a key, or "from a shell: ...".
    None: `hint` fits both faces; "": no hint in the TUI. Faces ask `hint_for(face)`
    or `render(face)`, never choose between the two themselves.
    """

    exit_code = 1

    def __init__(
        self,
        message: str,
        *,
        location: str | None = None,
        hint: str | None = None,
        tui_hint: str | None = None,
        detail: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.location = location
        self.hint = hint
        self.tui_hint = tui_hint
        self.detail = detail

    def hint_for(self, face: Face) -> str | None:
        """The hint as FACE words it (the TUI's own when there is one)."""
        if face == "tui" and self.tui_hint is not None:
            return self.tui_hint or None
        return self.hint

    def render(self, face: Face = "cli") -> str:
        head = f"{self.location}: {self.message}" if self.location else self.message
        hint = self.hint_for(face)
        return head + (f"\n  hint: {hint}" if hint else "")

    def to_dict(self) -> dict[str, str | None]:
        return {"error": self.message, "location": self.location, "hint": self.hint}


class NotRootError(XdpTuiError):
    exit_code = 2


class NoSuchInterfaceError(XdpTuiError):
    """The interface named does not exist (yet: a lab not created, or removed)."""


class UnsafeInterfaceError(XdpTuiError):
    """Refusing to touch an interface that no lab created (unless forced)."""

    exit_code = 2
