"""Shared output helpers for CLI handlers."""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any


def print_json(data: Any) -> None:
    """One JSON document per call, on one line, flushed (so streams can be piped)."""
    sys.stdout.write(json.dumps(data, default=str) + "\n")
    sys.stdout.flush()


def plain_console() -> Any:
    """A rich Console that prints strings as written.

    By default rich reads every string, table cells too, as markup with emoji codes: a map key
    `fc00:dead:cafe:a::2` printed `:a:` as an emoji and `[x]` in a value vanished. Styles come
    from `Text` objects instead.
    """
    from rich.console import Console

    return Console(markup=False, emoji=False)


def add_command(sub: Any, name: str, handler: Any, *, help: str, needs_root: bool = True) -> Any:
    """Add a subcommand whose handler(args) -> int runs after the root check."""
    parser = sub.add_parser(name, help=help, description=help)
    parser.set_defaults(func=handler, needs_root=needs_root, command_name=name)
    return parser


def default_lab(name: str | None) -> str:
    """The interface/lab a command works on: the one given, else the current lab, else test01."""
    import testenv

    return name or testenv.current() or testenv.DEFAULT_NAME


def number(text: str, kind: type, check: Any, what: str) -> Any:
    """argparse type: TEXT converted by KIND and accepted by CHECK, else a usage error.

    inf and nan are never numbers here: no rate, duration or interval is infinite.
    """
    try:
        value = kind(text)
    except (ValueError, OverflowError):
        raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
    if isinstance(value, float) and not math.isfinite(value) or not check(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not {what}")
    return value


# Bounds no lab command needs to pass: a day of anything, a billion of anything.
MAX_SECONDS = 86400.0
MAX_COUNT = 10**9
MAX_PPS = 100e6


def positive_seconds(text: str) -> float:
    return number(
        text,
        float,
        lambda v: 0 < v <= MAX_SECONDS,
        f"a number of seconds in (0, {MAX_SECONDS:.0f}]",
    )


def rate(text: str) -> float:
    return number(
        text, float, lambda v: 0 < v <= MAX_PPS, f"a rate in (0, {MAX_PPS:.0f}] per second"
    )


def positive_int(text: str) -> int:
    return number(text, int, lambda v: 0 < v <= MAX_COUNT, f"a whole number in 1..{MAX_COUNT}")


def lab_name(text: str) -> str:
    """argparse type: a valid lab name (lab names become interface and namespace names)."""
    from xdp_tui.errors import XdpTuiError
    from xdp_tui.labs import validate_name

    try:
        return validate_name(text)
    except XdpTuiError as exc:
        raise argparse.ArgumentTypeError(f"{exc.message} ({exc.hint})") from None


def interface_name(text: str) -> str:
    """argparse type: a name Linux accepts for an interface (it also names a bpffs folder)."""
    if (
        not 0 < len(text.encode()) < 16
        or text in (".", "..")
        or any(c == "/" or c == ":" or c.isspace() for c in text)
    ):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an interface name (1-15 bytes, no '/', ':' or spaces)"
        )
    return text
