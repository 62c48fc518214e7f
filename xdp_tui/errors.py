"""Errors every face (CLI, TUI, checks) shows as a located message, never a traceback."""

from __future__ import annotations


class XdpTuiError(Exception):
    """Base of all expected failures.

    `location` is "file:line[:col]" when the failure points into a source file;
    `hint` says what to do about it; `detail` carries raw text (compiler
    output, verifier log) for those who want it.
    """

    exit_code = 1

    def __init__(
        self,
        message: str,
        *,
        location: str | None = None,
        hint: str | None = None,
        detail: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.location = location
        self.hint = hint
        self.detail = detail

    def render(self) -> str:
        head = f"{self.location}: {self.message}" if self.location else self.message
        return head + (f"\n  hint: {self.hint}" if self.hint else "")

    def to_dict(self) -> dict[str, str | None]:
        return {"error": self.message, "location": self.location, "hint": self.hint}


class NotRootError(XdpTuiError):
    exit_code = 2


class UnsafeInterfaceError(XdpTuiError):
    """Refusing to touch an interface that no lab created (unless forced)."""

    exit_code = 2
