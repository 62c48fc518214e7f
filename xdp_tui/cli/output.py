"""Shared output helpers for CLI handlers."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def print_json(data: Any) -> None:
    """One JSON document per call, on one line, flushed (so streams can be piped)."""
    sys.stdout.write(json.dumps(data, default=str) + "\n")
    sys.stdout.flush()


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
    """argparse type: TEXT converted by KIND and accepted by CHECK, else a usage error."""
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
    if not check(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not {what}")
    return value


def positive_float(text: str) -> float:
    return number(text, float, lambda v: v > 0, "a positive number")


def positive_int(text: str) -> int:
    return number(text, int, lambda v: v > 0, "a whole number > 0")
